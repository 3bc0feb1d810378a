/** `tuned-lens eval`: per-layer CE, entropy and KL of the logit lens and a tuned lens, in the reference layout. */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { nodeFileSystem } from '../../node/file-system.js';
import { evaluateLenses, mapLayout, type MetricsLayout, type NamedLens } from '../../eval/evaluate.js';
import { LogitLens } from '../../lens/lens.js';
import { CliError, loadModelForCli, MODEL_OPTION_HELP, parsePositiveInt } from '../common.js';
import { loadChunks } from '../data-loading.js';
import { loadLensForCli } from '../lens-loading.js';
import { checkOutputDir } from '../output-paths.js';

interface EvalFlags {
  model?: string;
  data: string;
  output: string;
  lens?: string;
  logit: boolean;
  tokens?: number;
  seqLen?: number;
  layerTransfer?: boolean;
  logitStats?: boolean;
  textField?: string;
  format?: 'auto' | 'text' | 'jsonl' | 'tokens';
}

function table(nats: MetricsLayout, lenses: string[], layers: number): string {
  const lines = [`layer  ${lenses.flatMap((l) => [`${l} ce`, `${l} kl`, `${l} entropy`]).map((h) => h.padStart(15)).join('')}`];
  for (let j = 0; j < layers; j++) {
    lines.push(`${String(j).padEnd(7)}${lenses.flatMap((l) => ['ce', 'kl', 'entropy'].map((m) => nats[l]![m]![`layer_${j}`]!.toFixed(4).padStart(15))).join('')}`);
  }
  lines.push(`model  ce ${nats.baseline!.ce!.final!.toFixed(4)}  entropy ${nats.baseline!.entropy!.final!.toFixed(4)}  (nats per token)`);
  return lines.join('\n');
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluate the logit lens and a tuned lens per layer: next-token cross-entropy, entropy, KL(final‖lens)')
    .option('-m, --model <model>', MODEL_OPTION_HELP)
    .requiredOption('-d, --data <file>', 'evaluation text (.txt / .jsonl) or pre-tokenized .jsonl')
    .requiredOption('-o, --output <dir>', 'folder for aggregate_metrics.json (bits per byte, text input), aggregate_metrics_nats.json and batches.jsonl')
    .option('-l, --lens <lens>', 'tuned lens folder or pretrained id (without it only the logit lens is evaluated)')
    .option('--no-logit', 'skip the logit lens')
    .option('--tokens <n>', 'evaluate on the first n tokens (whole sequences) only', parsePositiveInt('--tokens'))
    .option('--seq-len <n>', 'tokens per sequence (default: min(model context, 2048))', parsePositiveInt('--seq-len'))
    .option('--layer-transfer', 'also evaluate every translator on every layer (writes layer_transfer.json)')
    .option('--logit-stats', 'record each layer\'s marginal token distribution (writes logit_stats.json)')
    .option('--text-field <name>', 'JSON Lines field holding the text', 'text')
    .option('--format <format>', 'auto | text | jsonl | tokens', 'auto')
    .action(async (f: EvalFlags) => {
      // Found out now, not after the whole evaluation has run.
      await checkOutputDir('--output', f.output);
      const model = await loadModelForCli(f.model);
      const lenses: NamedLens[] = [];
      if (f.logit) lenses.push({ name: 'logit', lens: new LogitLens(model) });
      if (f.lens) lenses.push({ name: 'tuned', lens: await loadLensForCli(model, f.lens) });
      if (lenses.length === 0) throw new CliError('nothing to evaluate: --no-logit needs --lens');
      const data = await loadChunks(model, { data: f.data, seqLen: f.seqLen, format: f.format, textField: f.textField }, 1);
      let chunks = data.chunks;
      if (f.tokens !== undefined) {
        const n = Math.floor(f.tokens / data.seqLen);
        if (n < 1) throw new CliError(`--tokens ${f.tokens} is less than one sequence of ${data.seqLen} tokens`);
        if (n > chunks.length) throw new CliError(`Requested to evaluate on ${f.tokens} tokens (${n} sequences of ${data.seqLen}), but the dataset has only ${chunks.length} sequences (${chunks.length * data.seqLen} tokens)`);
        chunks = chunks.slice(0, n);
      }
      const bar = new cliProgress.SingleBar({ format: 'eval {value}/{total} batches |{bar}|', stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000 }, cliProgress.Presets.shades_classic);
      bar.start(chunks.length, 0);
      let r;
      try {
        r = await evaluateLenses(model, chunks, { lenses, layerTransfer: f.layerTransfer, logitStats: f.logitStats, onBatch: (d) => bar.update(d) });
      } finally {
        bar.stop();
      }
      const fs = nodeFileSystem;
      const out = (name: string): string => fs.join(f.output, name);
      await fs.mkdirp(f.output);
      await fs.writeAtomic(out('aggregate_metrics_nats.json'), `${JSON.stringify(r.nats, null, 2)}\n`);
      if (data.natsToBpb !== null) {
        const k = data.natsToBpb;
        await fs.writeAtomic(out('aggregate_metrics.json'), `${JSON.stringify(mapLayout(r.nats, (_l, _m, _y, v) => v * k), null, 2)}\n`);
      }
      await fs.writeAtomic(out('batches.jsonl'), r.perBatch.map((b, i) => JSON.stringify({ batch: i, ...b })).join('\n') + '\n');
      await fs.writeAtomic(out('eval_info.json'), `${JSON.stringify({ model: model.name, lens: f.lens ?? null, data: f.data, tokens: r.tokens, batches: r.batches, seq_len: data.seqLen, nats_to_bpb: data.natsToBpb, units: { 'aggregate_metrics.json': 'bits per byte (nats per token × nats_to_bpb), like the reference', 'aggregate_metrics_nats.json': 'nats per token' } }, null, 2)}\n`);
      if (r.transfer) await fs.writeAtomic(out('layer_transfer.json'), `${JSON.stringify({ description: 'ce[i][j], kl[i][j]: translator i applied to hidden state j (nats per token); kl is KL(lens_j(h_j) ‖ lens_i(h_j))', ...r.transfer }, null, 2)}\n`);
      if (r.marginals) {
        const stats: Record<string, { layer: number; entropy: number; top: { id: number; prob: number }[] }[]> = {};
        for (const [name, layers] of Object.entries(r.marginals)) {
          stats[name] = layers.map((p, layer) => {
            let h = 0;
            for (const x of p) if (x > 0) h -= x * Math.log(x);
            const top = Array.from(p.keys()).sort((a, b) => p[b]! - p[a]!).slice(0, 20).map((id) => ({ id, prob: p[id]! }));
            return { layer, entropy: h, top };
          });
        }
        await fs.writeAtomic(out('logit_stats.json'), `${JSON.stringify(stats, null, 2)}\n`);
      }
      process.stdout.write(`${table(r.nats, lenses.map((l) => l.name), model.nLayers)}\nwrote ${f.output}/aggregate_metrics_nats.json${data.natsToBpb !== null ? ', aggregate_metrics.json' : ''}, batches.jsonl\n`);
    });
}
