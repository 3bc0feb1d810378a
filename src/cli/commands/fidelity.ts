/**
 * `tuned-lens fidelity`: causal fidelity of a causal basis (paper Fig. 20). Reads DIR/bases.json and
 * DIR/bases.safetensors from `causal-basis` (lens kind, mode and sequence length come from there), and
 * writes DIR2/fidelity.json plus fidelity.{svg,png,html}.
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { nodeFileSystem } from '../../node/file-system.js';
import { provenance, writeResultJson } from '../../node/provenance.js';
import { readCausalBases, type CausalBases } from '../../causal/bases-file.js';
import { LogitLens, type Lens } from '../../lens/lens.js';
import { causalFidelity, type FidelityLayer } from '../../causal/fidelity.js';
import { collectHidden, derangement } from '../../causal/sequences.js';
import { fidelityScatter } from '../../viz/causal-charts.js';
import { writeBuiltFigure } from '../../viz/render.js';
import { CliError, loadModelForCli, MODEL_OPTION_HELP, parsePositiveInt } from '../common.js';
import { loadLensForCli } from '../lens-loading.js';
import { loadSequences } from '../sequence-data.js';
import { parseSeed } from './causal-basis.js';

export const FIDELITY_SCHEMA_VERSION = 1;

interface FidelityFlags {
  model?: string;
  lens?: string;
  bases: string;
  data: string;
  output: string;
  seed: number;
  tokens?: number;
  format?: 'auto' | 'text' | 'jsonl' | 'tokens';
  textField?: string;
}


export function registerFidelity(program: Command): void {
  program
    .command('fidelity')
    .description('causal fidelity (paper Fig. 20): influence of each causal basis direction on the lens and on the model, Spearman ρ per layer')
    .option('-m, --model <model>', MODEL_OPTION_HELP)
    .option('-l, --lens <lens>', 'the tuned lens the bases were extracted for (not needed for logit-lens bases)')
    .requiredOption('--bases <dir>', 'output folder of `tuned-lens causal-basis` (bases.json + bases.safetensors)')
    .requiredOption('-d, --data <file>', 'text (.txt / .jsonl) or pre-tokenized .jsonl; influences are means over all its tokens')
    .requiredOption('-o, --output <dir>', 'folder for fidelity.json and fidelity.{svg,png,html}')
    .option('--seed <n>', 'seed of the resample derangement (resample bases only)', parseSeed, 0)
    .option('--tokens <n>', 'use the first n tokens of the data in file order (default: all)', parsePositiveInt('--tokens'))
    .option('--format <format>', 'auto | text | jsonl | tokens', 'auto')
    .option('--text-field <name>', 'JSON Lines field holding the text', 'text')
    .action(async (f: FidelityFlags) => {
      const fs = nodeFileSystem;
      const basesST = fs.join(f.bases, 'bases.safetensors');
      const model = await loadModelForCli(f.model);
      let bases: CausalBases;
      try {
        bases = await readCausalBases(fs, f.bases, { name: model.name, dModel: model.config.dModel, nLayers: model.nLayers });
      } catch (e) {
        throw new CliError(`--bases ${f.bases}: ${(e as Error).message}`, { cause: e });
      }
      const { lensKind: kind, mode } = bases;
      if (kind === 'tuned' && !f.lens) throw new CliError(`the bases in ${f.bases} were extracted for a tuned lens: give it with --lens`);
      const lens: Lens = kind === 'tuned' ? await loadLensForCli(model, f.lens!) : new LogitLens(model);
      const layers = bases.layers.map((l) => ({ layer: l.layer, vectors: l.vectors, k: l.k }));
      const data = await loadSequences(model, { data: f.data, seqLen: bases.seqLen ?? undefined, tokens: f.tokens, format: f.format, textField: f.textField });

      const bar = new cliProgress.SingleBar({ format: 'fidelity |{bar}| {value}/{total} layers', stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000 }, cliProgress.Presets.shades_classic);
      const results: FidelityLayer[] = [];
      const started = performance.now();
      bar.start(layers.length, 0);
      try {
        for (const basis of layers) {
          const hidden = await collectHidden(model, data.sequences, basis.layer);
          const perm = mode === 'resample' ? derangement(hidden.n, f.seed) : undefined;
          results.push(await causalFidelity(lens, data.sequences, basis, hidden, { mode, perm }));
          bar.increment();
        }
      } finally {
        bar.stop();
      }
      await fs.mkdirp(f.output);
      const settings = { lens_kind: kind, mode, seq_len: data.seqLen, tokens: data.tokens, sequences: data.sequences.length, seed: f.seed, bases: f.bases };
      await writeResultJson(fs.join(f.output, 'fidelity.json'), {
        provenance: await provenance({ command: 'fidelity', schemaVersion: FIDELITY_SCHEMA_VERSION, model: f.model ?? 'stories260K', lens: f.lens ?? null, data: [f.data, basesST], seed: f.seed, settings }),
        description: 'per layer i and basis direction v: lens_influence = mean KL(p_lens(h) ‖ p_lens(h with v ablated)), model_influence = mean KL(p_model ‖ p_model with v ablated in hidden_states[i]); nats, means over every token of the data; spearman = rank correlation over the directions of the layer',
        settings,
        seconds: (performance.now() - started) / 1000,
        layers: results,
      });
      const title = `Causal fidelity (${model.name}, ${kind} lens, ${data.tokens} tokens)`;
      const panels = results.map((r) => ({ layer: r.layer, lensInfluence: r.lens_influence, modelInfluence: r.model_influence, spearman: Number.isFinite(r.spearman) ? r.spearman : null }));
      for (const ext of ['svg', 'png', 'html']) await writeBuiltFigure(fs.join(f.output, `fidelity.${ext}`), () => fidelityScatter(panels, title), title);
      process.stdout.write(`${results.map((r) => `layer ${r.layer}: Spearman ρ = ${r.spearman.toFixed(3)}`).join('\n')}\nwrote ${f.output}/fidelity.json and fidelity.{svg,png,html}\n`);
    });
}
