/**
 * `tuned-lens iterative`: do transformers perform iterative inference (paper App. C, Fig. 19)?
 * Writes DIR/residual_alignment.json (+ residual_alignment.{svg,png,html}) and DIR/layer_deletion.json
 * (+ layer_deletion.{svg,png,html}).
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { nodeFileSystem } from '../../node/file-system.js';
import { provenance, writeResultJson } from '../../node/provenance.js';
import { layerDeletion, residualAlignment, summarize } from '../../causal/iterative.js';
import { randomCosineP5, percentile } from '../../causal/stats.js';
import { alignmentBoxPlot, deletionBars } from '../../viz/causal-charts.js';
import { writeBuiltFigure } from '../../viz/render.js';
import { loadModelForCli, MODEL_OPTION_HELP, parsePositiveInt } from '../common.js';
import { loadSequences } from '../sequence-data.js';
import { parseSeed } from './causal-basis.js';

export const ITERATIVE_SCHEMA_VERSION = 1;

interface IterativeFlags {
  model?: string;
  data: string;
  output: string;
  seqLen?: number;
  tokens?: number;
  seed: number;
  format?: 'auto' | 'text' | 'jsonl' | 'tokens';
  textField?: string;
}

function progressBar(label: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar({ format: `${label} |{bar}| {value}/{total}`, stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000 }, cliProgress.Presets.shades_classic);
}

export function registerIterative(program: Command): void {
  program
    .command('iterative')
    .description('iterative inference (paper App. C): residual–gradient alignment per layer and the loss with each layer deleted')
    .option('-m, --model <model>', MODEL_OPTION_HELP)
    .requiredOption('-d, --data <file>', 'text (.txt / .jsonl) or pre-tokenized .jsonl ({"input_ids": [...]}, lines may differ in length)')
    .requiredOption('-o, --output <dir>', 'folder for residual_alignment.json, layer_deletion.json and their figures')
    .option('--seq-len <n>', 'tokens per sequence when chunking text (default: min(model context, 2048))', parsePositiveInt('--seq-len'))
    .option('--tokens <n>', 'use the first n tokens of the data in file order (default: all)', parsePositiveInt('--tokens'))
    .option('--seed <n>', 'seed of the random-vector baseline', parseSeed, 0)
    .option('--format <format>', 'auto | text | jsonl | tokens', 'auto')
    .option('--text-field <name>', 'JSON Lines field holding the text', 'text')
    .action(async (f: IterativeFlags) => {
      const model = await loadModelForCli(f.model);
      const data = await loadSequences(model, { data: f.data, seqLen: f.seqLen, tokens: f.tokens, format: f.format, textField: f.textField });
      const fs = nodeFileSystem;
      await fs.mkdirp(f.output);
      const settings = { seq_len: data.seqLen, tokens: data.tokens, sequences: data.sequences.length, seed: f.seed };
      const prov = await provenance({ command: 'iterative', schemaVersion: ITERATIVE_SCHEMA_VERSION, model: f.model ?? 'stories260K', data: [f.data], seed: f.seed, settings });

      const bar = progressBar('residual alignment (sequences)');
      bar.start(data.sequences.length, 0);
      let alignment;
      try {
        alignment = await residualAlignment(model, data.sequences, { onBatch: (done) => bar.update(done) });
      } finally {
        bar.stop();
      }
      const dim = model.config.dModel * data.seqLen;
      const randomP5 = randomCosineP5(dim, f.seed);
      const layers = alignment.cosines.map((c, layer) => ({ layer, cosines: c, ...summarize(c), p25: percentile(c, 25), p75: percentile(c, 75) }));
      await writeResultJson(fs.join(f.output, 'residual_alignment.json'), {
        provenance: prov,
        description: 'cosine between block ℓ\'s update h_{ℓ+1} − h_ℓ and ∂L/∂h_ℓ per sequence (L = that sequence\'s mean next-token CE), flattened over sequence × hidden; h_L = final_norm_input; percentiles numpy-linear; random_p5 = 5th percentile of pairwise cosines of 250 Gaussian vectors of dimension dim (hidden × seq_len)',
        layers,
        random_p5: randomP5,
        dim,
        sequence_index: alignment.sequences,
      });
      const title = `Residual–gradient alignment (${model.name}, ${data.tokens} tokens)`;
      for (const ext of ['svg', 'png', 'html']) await writeBuiltFigure(fs.join(f.output, `residual_alignment.${ext}`), () => alignmentBoxPlot(layers, randomP5, title), title);

      const bar2 = progressBar('layer deletion (layers)');
      bar2.start(model.nLayers + 1, 0);
      let deletion;
      try {
        deletion = await layerDeletion(model, data.sequences, { onLayer: (done) => bar2.update(done) });
      } finally {
        bar2.stop();
      }
      await writeResultJson(fs.join(f.output, 'layer_deletion.json'), {
        provenance: prov,
        description: 'next-token cross-entropy (nats per predicted token, mean over all predicted tokens) of the intact model and with each block replaced by the identity',
        baseline_ce: deletion.baselineCe,
        ce_without_layer: deletion.ceWithoutLayer,
        tokens: deletion.predictedTokens,
        input_tokens: data.tokens,
      });
      const title2 = `Loss with each layer deleted (${model.name})`;
      for (const ext of ['svg', 'png', 'html']) await writeBuiltFigure(fs.join(f.output, `layer_deletion.${ext}`), () => deletionBars(deletion.ceWithoutLayer, deletion.baselineCe, title2), title2);

      const lines = layers.map((l) => `layer ${l.layer}: median ${l.median.toExponential(2)}  p5 ${l.p5.toExponential(2)}  p95 ${l.p95.toExponential(2)}  negative ${(100 * l.frac_negative).toFixed(0)}%   CE without it ${deletion.ceWithoutLayer[l.layer]!.toFixed(4)}`);
      process.stdout.write(`${lines.join('\n')}\nrandom 5th percentile ${randomP5.toExponential(2)} (dim ${dim}); intact CE ${deletion.baselineCe.toFixed(4)}\nwrote ${f.output}/residual_alignment.json, layer_deletion.json and figures\n`);
    });
}
