/** `tuned-lens forward`: logits and every hidden state of one sequence, as JSON (a stable debugging contract). */
import type { Command } from 'commander';
import type { HostArray } from '../../graph/runtime.js';
import { checkInputGiven, float32Repr, inputIds, loadModelForCli, MODEL_OPTION_HELP } from '../common.js';

/** Writes a [rows][cols] float32 matrix (rows = first dim, cols = product of the rest per row) as JSON. */
function matrixJson(a: HostArray, rowOffset = 0, rows = a.shape[a.shape.length - 2]!): string {
  const cols = a.shape[a.shape.length - 1]!;
  const d = a.data as Float32Array;
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    const base = (rowOffset + r) * cols;
    const cells: string[] = new Array(cols);
    for (let c = 0; c < cols; c++) cells[c] = float32Repr(d[base + c]!);
    out.push(`[${cells.join(',')}]`);
  }
  return `[${out.join(',')}]`;
}

export function registerForward(program: Command): void {
  program
    .command('forward')
    .description('run the model on one sequence and print input ids, tokens, logits, all hidden states (HF indexing) and the pre-final-norm residual')
    .argument('[text]', 'input text (tokenized with the model tokenizer, BOS added by its convention)')
    .option('-m, --model <model>', MODEL_OPTION_HELP)
    .option('--ids <ids>', 'comma-separated token ids instead of text')
    .option('--json', 'print JSON (the only output format; kept for a stable interface)')
    .action(async (text: string | undefined, opts: { model?: string; ids?: string; json?: boolean }) => {
      checkInputGiven(text, opts.ids);
      const model = await loadModelForCli(opts.model);
      const ids = inputIds(model, text, opts.ids);
      const r = await model.forward({ ids: [ids] });
      const T = ids.length;
      const parts = [
        `"input_ids":${JSON.stringify(ids)}`,
        `"tokens":${JSON.stringify(ids.map((i) => model.tokenizer.idToPiece(i)))}`,
        `"logits":${matrixJson(r.logits, 0, T)}`,
        `"hidden_states":[${r.hiddenStates.map((h) => matrixJson(h, 0, T)).join(',')}]`,
        `"final_norm_input":${matrixJson(r.finalNormInput, 0, T)}`,
      ];
      process.stdout.write(`{${parts.join(',')}}\n`);
    });
}
