/**
 * `tuned-lens causal-basis`: causal basis extraction for every lens layer (docs/causal.md).
 * Writes DIR/bases.safetensors (`layers.{i}.vectors` [d, k], `layers.{i}.energies` [k], `layers.{i}.mean` [d])
 * and DIR/bases.json (energies, top tokens of ±v, settings, time). A finished layer is checkpointed in
 * DIR/.causal-basis-partial, so rerunning the same command after an interruption resumes there.
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { rm } from 'node:fs/promises';
import { nodeFileSystem } from '../../node/file-system.js';
import { provenance, writeResultJson } from '../../node/provenance.js';
import { LogitLens, type Lens } from '../../lens/lens.js';
import { openSafetensors, writeSafetensors } from '../../formats/safetensors.js';
import type { HostTensor } from '../../formats/weights.js';
import { extractCausalBasis, type CausalBasis } from '../../causal/cbe.js';
import { collectHidden, derangement } from '../../causal/sequences.js';
import { directionTokens } from '../../causal/read-direction.js';
import { ABLATION_MODES, type AblationMode } from '../../causal/ablation.js';
import { vocabularyPieces } from '../../trajectory/token-display.js';
import { CliError, loadModelForCli, MODEL_OPTION_HELP, parsePositiveInt } from '../common.js';
import { loadLensForCli } from '../lens-loading.js';
import { loadSequences } from '../sequence-data.js';

export const BASES_SCHEMA_VERSION = 1;

interface CausalBasisFlags {
  model?: string;
  lens?: string;
  logit?: boolean;
  data: string;
  output: string;
  k: number;
  layers?: string;
  mode: string;
  tokens: number;
  seqLen?: number;
  seed: number;
  subspace?: boolean;
  maxIter: number;
  format?: 'auto' | 'text' | 'jsonl' | 'tokens';
  textField?: string;
}

export function parseLayers(spec: string | undefined, nLayers: number): number[] {
  if (spec === undefined) return Array.from({ length: nLayers }, (_, i) => i);
  const out = spec.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (out.length === 0 || out.some((l) => !Number.isInteger(l) || l < 0 || l >= nLayers)) throw new CliError(`--layers must list layer indices in 0..${nLayers - 1}, got "${spec}"`);
  return [...new Set(out)].sort((a, b) => a - b);
}

export function parseMode(v: string): AblationMode {
  if (!(ABLATION_MODES as readonly string[]).includes(v)) throw new CliError(`--mode must be one of ${ABLATION_MODES.join(', ')}, got "${v}"`);
  return v as AblationMode;
}

export function parseSeed(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new CliError(`--seed must be a non-negative integer, got "${v}"`);
  return n;
}

const tensorKey = (layer: number, name: string): string => `layers.${layer}.${name}`;

function basisTensors(b: CausalBasis): Record<string, HostTensor> {
  return {
    [tensorKey(b.layer, 'vectors')]: { shape: [b.d, b.k], data: b.vectors },
    [tensorKey(b.layer, 'energies')]: { shape: [b.k], data: b.energies },
    [tensorKey(b.layer, 'mean')]: { shape: [b.d], data: b.mean },
  };
}

interface LayerSummary {
  layer: number;
  subspace_energy: number;
  seconds: number;
  evaluations: number;
}

export function registerCausalBasis(program: Command): void {
  program
    .command('causal-basis')
    .description('causal basis extraction: per lens layer, k orthonormal directions of maximal influence on the lens (expected KL when mean-ablated)')
    .option('-m, --model <model>', MODEL_OPTION_HELP)
    .option('-l, --lens <lens>', 'tuned lens folder or pretrained id')
    .option('--logit', 'use the logit lens')
    .requiredOption('-d, --data <file>', 'text (.txt / .jsonl) or pre-tokenized .jsonl ({"input_ids": [...]}, lines may differ in length)')
    .requiredOption('-o, --output <dir>', 'folder for bases.safetensors and bases.json')
    .option('--k <k>', 'directions per layer (0 = the hidden size, like the reference)', (v) => (v === '0' ? 0 : parsePositiveInt('--k')(v)), 16)
    .option('--layers <list>', 'comma-separated lens layers (default: all)')
    .option('--mode <mode>', 'ablation: mean | zero | resample', 'mean')
    .option('--tokens <n>', 'use the first n tokens of the data in file order', parsePositiveInt('--tokens'), 16384)
    .option('--seq-len <n>', 'tokens per sequence when chunking text (default: min(model context, 2048))', parsePositiveInt('--seq-len'))
    .option('--seed <n>', 'seed of the resample derangement', parseSeed, 0)
    .option('--subspace', 'optimise the whole k-subspace at once (faster; energies are then of a basis of that subspace)')
    .option('--max-iter <n>', 'objective evaluations per direction (the reference\'s max_iter)', parsePositiveInt('--max-iter'), 100)
    .option('--format <format>', 'auto | text | jsonl | tokens', 'auto')
    .option('--text-field <name>', 'JSON Lines field holding the text', 'text')
    .action(async (f: CausalBasisFlags) => {
      if (!f.lens === !f.logit) throw new CliError('give exactly one of --lens L and --logit');
      const mode = parseMode(f.mode);
      const model = await loadModelForCli(f.model);
      const lens: Lens = f.lens ? await loadLensForCli(model, f.lens) : new LogitLens(model);
      const layers = parseLayers(f.layers, model.nLayers);
      const d = model.config.dModel;
      const k = f.k === 0 ? d : f.k;
      if (k > d) throw new CliError(`--k ${k} exceeds the hidden size ${d}`);
      const data = await loadSequences(model, { data: f.data, seqLen: f.seqLen, tokens: f.tokens, format: f.format, textField: f.textField });
      const settings = {
        lens_kind: lens.kind,
        mode,
        seq_len: data.seqLen,
        tokens: data.tokens,
        sequences: data.sequences.length,
        seed: f.seed,
        k,
        layers,
        optimizer: f.subspace ? 'subspace (L-BFGS, strong Wolfe, on the k-subspace)' : 'sequential (L-BFGS, strong Wolfe, as the reference)',
        max_iter: f.maxIter,
      };

      const fs = nodeFileSystem;
      await fs.mkdirp(f.output);
      const partial = fs.join(f.output, '.causal-basis-partial');
      const fingerprint = JSON.stringify({ settings, model: f.model ?? null, lens: f.lens ?? null, data: f.data });
      const fingerprintPath = fs.join(partial, 'settings.json');
      if ((await fs.exists(fingerprintPath)) && (await fs.readText(fingerprintPath)) !== fingerprint) {
        process.stderr.write('tuned-lens: the unfinished run in the output folder used other settings; starting afresh\n');
        await rm(partial, { recursive: true, force: true });
      }
      await fs.mkdirp(partial);
      await fs.writeAtomic(fingerprintPath, fingerprint);

      const bar = new cliProgress.SingleBar(
        { format: 'causal basis |{bar}| {value}/{total} directions | layer {layer} | {info}', stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000 },
        cliProgress.Presets.shades_classic,
      );
      const started = performance.now();
      const bases: CausalBasis[] = [];
      const summaries: LayerSummary[] = [];
      bar.start(layers.length * k, 0, { layer: layers[0], info: '' });
      try {
        for (const [li, layer] of layers.entries()) {
          const ckpt = fs.join(partial, `layer_${layer}.safetensors`);
          const ckptInfo = fs.join(partial, `layer_${layer}.json`);
          let basis: CausalBasis;
          if ((await fs.exists(ckpt)) && (await fs.exists(ckptInfo))) {
            basis = await readCheckpoint(ckpt, ckptInfo, layer);
          } else {
            const hidden = await collectHidden(model, data.sequences, layer);
            const perm = mode === 'resample' ? derangement(hidden.n, f.seed) : undefined;
            basis = await extractCausalBasis(lens, layer, hidden, {
              k,
              mode,
              perm,
              maxIter: f.maxIter,
              subspace: f.subspace,
              onDirection: (info) => bar.update(li * k + info.found, { layer, info: `${info.evaluations} evaluations` }),
            });
            await writeSafetensors(fs, ckpt, { ...basisTensors(basis), [tensorKey(layer, 'init')]: { shape: [d, k], data: basis.init } });
            await fs.writeAtomic(ckptInfo, JSON.stringify({ subspace_energy: basis.subspaceEnergy, seconds: basis.seconds, evaluations: basis.evaluations }));
          }
          bases.push(basis);
          summaries.push({ layer, subspace_energy: basis.subspaceEnergy, seconds: basis.seconds, evaluations: basis.evaluations });
          bar.update((li + 1) * k, { layer, info: `top energy ${basis.energies[0]!.toFixed(4)} nats` });
        }
      } finally {
        bar.stop();
      }

      const tensors: Record<string, HostTensor> = {};
      for (const b of bases) Object.assign(tensors, basisTensors(b));
      await writeSafetensors(fs, fs.join(f.output, 'bases.safetensors'), tensors, { tuned_lens_schema: 'causal-basis', lens_kind: lens.kind, mode });
      const pieces = vocabularyPieces(model.tokenizer, model.config.vocabSize);
      const named = (xs: { id: number; score: number }[]): { id: number; token: string; score: number }[] => xs.map((x) => ({ id: x.id, token: pieces[x.id] ?? String(x.id), score: x.score }));
      const layerEntries = bases.map((b, i) => ({
        layer: b.layer,
        energies: Array.from(b.energies),
        subspace_energy: summaries[i]!.subspace_energy,
        seconds: summaries[i]!.seconds,
        evaluations: summaries[i]!.evaluations,
        directions: Array.from({ length: b.k }, (_, j) => {
          const v = Array.from({ length: b.d }, (_, r) => b.vectors[r * b.k + j]!);
          const t = directionTokens(lens, b.layer, v);
          return { index: j, energy: b.energies[j]!, top_tokens_plus: named(t.positive), top_tokens_minus: named(t.negative) };
        }),
      }));
      const seconds = (performance.now() - started) / 1000;
      await writeResultJson(fs.join(f.output, 'bases.json'), {
        provenance: await provenance({ command: 'causal-basis', schemaVersion: BASES_SCHEMA_VERSION, model: f.model ?? 'stories260K', lens: f.lens ?? null, data: [f.data], seed: f.seed, settings }),
        settings,
        units: 'energies in nats: mean over tokens of KL(p_lens(h) ‖ p_lens(h with the direction ablated)); layer i = hidden_states[i]',
        seconds,
        seconds_computed: summaries.reduce((s, l) => s + l.seconds, 0),
        layers: layerEntries,
      });
      await rm(partial, { recursive: true, force: true });
      const lines = bases.map((b) => `layer ${b.layer}: ${Array.from(b.energies.slice(0, Math.min(6, b.k)), (e) => e.toFixed(4)).join(' ')}${b.k > 6 ? ' …' : ''}`);
      process.stdout.write(`${lines.join('\n')}\nwrote ${f.output}/bases.safetensors, bases.json (${seconds.toFixed(1)} s)\n`);
    });
}

async function readCheckpoint(path: string, infoPath: string, layer: number): Promise<CausalBasis> {
  const fs = nodeFileSystem;
  const st = await openSafetensors(fs, path);
  try {
    const vectors = await st.readFloat32(tensorKey(layer, 'vectors'));
    const energies = await st.readFloat32(tensorKey(layer, 'energies'));
    const mean = await st.readFloat32(tensorKey(layer, 'mean'));
    const init = await st.readFloat32(tensorKey(layer, 'init'));
    const info = JSON.parse(await fs.readText(infoPath)) as { subspace_energy: number; seconds: number; evaluations: number };
    const [d, k] = vectors.shape as [number, number];
    return { layer, vectors: vectors.data, energies: energies.data, mean: mean.data, init: init.data, d, k, evaluations: info.evaluations, flops: 0, subspaceEnergy: info.subspace_energy, seconds: info.seconds };
  } finally {
    await st.close();
  }
}
