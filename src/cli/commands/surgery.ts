/** `tuned-lens surgery`: the cross-entropy cost of deleting, permuting or duplicating blocks on a data set. */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { jsonSafe, provenance } from '../../node/provenance.js';
import { crossEntropyOnData } from '../../surgery/cross-entropy.js';
import { deletePlan, duplicatePlan, permutePlan } from '../../surgery/plans.js';
import { CliError, loadModelForCli, MODEL_OPTION_HELP, parsePositiveInt } from '../common.js';
import { loadChunks } from '../data-loading.js';

interface SurgeryFlags {
  model?: string;
  data: string;
  delete?: string;
  permute?: string;
  duplicate?: string;
  tokens?: number;
  seqLen?: number;
  textField?: string;
  format?: 'auto' | 'text' | 'jsonl' | 'tokens';
}

function indexList(flag: string, v: string): number[] {
  const items = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const out = items.map(Number);
  if (items.length === 0 || out.some((n) => !Number.isInteger(n) || n < 0)) throw new CliError(`${flag} must be a comma-separated list of block indices, got "${v}"`);
  return out;
}

export function registerSurgery(program: Command): void {
  program
    .command('surgery')
    .description('cross-entropy of the model on a data set after deleting, permuting or duplicating blocks (each block keeps its own settings); prints {"baseline_ce", "ce", "change"} in nats per predicted token')
    .option('-m, --model <model>', MODEL_OPTION_HELP)
    .requiredOption('-d, --data <file>', 'text (.txt / .jsonl) or pre-tokenized .jsonl')
    .option('--delete <blocks>', 'blocks to delete, e.g. 3,4')
    .option('--permute <order>', 'blocks to run, in order, e.g. 0,2,1,3,4 (may drop or repeat blocks)')
    .option('--duplicate <blocks>', 'blocks to run twice in a row')
    .option('--tokens <n>', 'use the first n tokens (whole sequences) only', parsePositiveInt('--tokens'))
    .option('--seq-len <n>', 'tokens per sequence (default: min(model context, 2048))', parsePositiveInt('--seq-len'))
    .option('--text-field <name>', 'JSON Lines field holding the text', 'text')
    .option('--format <format>', 'auto | text | jsonl | tokens', 'auto')
    .action(async (f: SurgeryFlags) => {
      const given = [f.delete, f.permute, f.duplicate].filter((x) => x !== undefined).length;
      if (given !== 1) throw new CliError('give exactly one of --delete, --permute, --duplicate');
      const model = await loadModelForCli(f.model);
      const L = model.nLayers;
      let plan: number[];
      try {
        if (f.delete !== undefined) plan = deletePlan(L, indexList('--delete', f.delete));
        else if (f.permute !== undefined) plan = permutePlan(L, indexList('--permute', f.permute));
        else plan = duplicatePlan(L, indexList('--duplicate', f.duplicate!));
      } catch (e) {
        throw new CliError(`${(e as Error).message} (${model.name} has ${L} blocks)`);
      }
      const data = await loadChunks(model, { data: f.data, seqLen: f.seqLen, format: f.format, textField: f.textField }, 1);
      let chunks = data.chunks;
      if (f.tokens !== undefined) {
        const n = Math.floor(f.tokens / data.seqLen);
        if (n < 1) throw new CliError(`--tokens ${f.tokens} is less than one sequence of ${data.seqLen} tokens`);
        chunks = chunks.slice(0, n);
      }
      const bar = new cliProgress.SingleBar({ format: 'surgery {value}/{total} sequences |{bar}|', stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000 }, cliProgress.Presets.shades_classic);
      bar.start(2 * chunks.length, 0);
      let baseline;
      let edited;
      try {
        baseline = await crossEntropyOnData(model, chunks, { onProgress: (d) => bar.update(d) });
        edited = await crossEntropyOnData(model, chunks, { plan, onProgress: (d) => bar.update(chunks.length + d) });
      } finally {
        bar.stop();
      }
      const result = {
        baseline_ce: baseline.ce,
        ce: edited.ce,
        change: edited.ce - baseline.ce,
        plan,
        tokens: edited.tokens,
        sequences: edited.sequences,
        units: 'nats per predicted token',
        provenance: await provenance({ command: 'surgery', schemaVersion: 1, model: f.model ?? 'stories260K', data: [f.data], settings: { plan, delete: f.delete ?? null, permute: f.permute ?? null, duplicate: f.duplicate ?? null, seq_len: data.seqLen, tokens: f.tokens ?? null } }),
      };
      process.stdout.write(`${JSON.stringify(jsonSafe(result), null, 2)}\n`);
    });
}
