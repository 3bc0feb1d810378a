/** `tuned-lens lens`: a terminal table of what every layer predicts at every input position. */
import type { Command } from 'commander';
import { LogitLens, type Lens } from '../../lens/lens.js';
import { computeTrajectory, type TrajectoryData } from '../../trajectory/compute.js';
import { TokenFormatter } from '../../trajectory/token-formatter.js';
import { vocabularyPieces } from '../../trajectory/token-display.js';
import { loadLensForCli } from '../lens-loading.js';
import { inputIds, loadModelForCli, MODEL_OPTION_HELP, parsePositiveInt } from '../common.js';

const fmt = new TokenFormatter({ maxStringLen: 10 });

/** Pads by display width (code points), so labels with multi-byte characters line up. */
function pad(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - Array.from(s).length));
}

/** Lines of one table: rows = layers (output on top), columns = positions; each cell shows top-k "token prob". */
export function renderLensTable(traj: TrajectoryData, tokens: string[], topK: number, title: string, maxWidth: number): string[] {
  const { rows, positions: T, topK: K } = traj;
  const cell = (r: number, t: number, k: number): string => {
    const i = (r * traj.batch * T + t) * K + k;
    return `${fmt.format(tokens[traj.topIds[i]!] ?? `<${traj.topIds[i]}>`)} ${traj.topProbs[i]!.toFixed(2)}`;
  };
  const colWidth = Math.max(8, ...Array.from({ length: T }, (_, t) => Array.from(fmt.format(tokens[traj.inputIds[0]![t]!] ?? '')).length), ...Array.from({ length: rows * T * topK }, (_, j) => Array.from(cell(Math.floor(j / (T * topK)), Math.floor(j / topK) % T, j % topK)).length)) + 2;
  const labelWidth = Math.max(6, ...traj.rowLabels.map((l) => l.length)) + 2;
  const perChunk = Math.max(1, Math.floor((maxWidth - labelWidth) / colWidth));
  const lines: string[] = [title];
  for (let start = 0; start < T; start += perChunk) {
    const cols = Array.from({ length: Math.min(perChunk, T - start) }, (_, j) => start + j);
    lines.push('');
    for (let r = rows - 1; r >= 0; r--) {
      for (let k = 0; k < topK; k++) {
        const label = k === 0 ? traj.rowLabels[r]! : '';
        lines.push(pad(label, labelWidth) + cols.map((t) => pad(cell(r, t, k), colWidth)).join(''));
      }
    }
    lines.push(pad('input', labelWidth) + cols.map((t) => pad(fmt.format(tokens[traj.inputIds[0]![t]!] ?? ''), colWidth)).join(''));
  }
  return lines;
}

export function registerLens(program: Command): void {
  program
    .command('lens')
    .description('show the top prediction of every layer at every position (logit lens, or a tuned lens with --lens)')
    .argument('[text]', 'input text')
    .option('-m, --model <model>', MODEL_OPTION_HELP)
    .option('--ids <ids>', 'comma-separated token ids instead of text')
    .option('-l, --lens <lens>', 'tuned lens: a folder with config.json + params.pt|params.safetensors, or a pretrained lens id')
    .option('--compare', 'with --lens: show the logit lens and the tuned lens one after the other')
    .option('-k, --top-k <k>', 'tokens shown per cell', parsePositiveInt('--top-k'), 1)
    .option('--width <columns>', 'table width in characters', parsePositiveInt('--width'))
    .action(async (text: string | undefined, opts: { model?: string; ids?: string; lens?: string; compare?: boolean; topK: number; width?: number }) => {
      const model = await loadModelForCli(opts.model);
      const ids = inputIds(model, text, opts.ids);
      const tokens = vocabularyPieces(model.tokenizer, model.config.vocabSize);
      const lenses: [string, Lens][] = [];
      const tuned = opts.lens ? await loadLensForCli(model, opts.lens) : null;
      if (!tuned || opts.compare) lenses.push(['logit lens', new LogitLens(model)]);
      if (tuned) lenses.push([`tuned lens (${opts.lens})`, tuned]);
      const width = opts.width ?? process.stdout.columns ?? 120;
      for (const [name, lens] of lenses) {
        const traj = await computeTrajectory(lens, { ids: [ids] }, { topK: opts.topK });
        const lines = renderLensTable(traj, tokens, opts.topK, `${model.name} — ${name}: top-${opts.topK} prediction per layer (output on top) and probability`, width);
        process.stdout.write(`${lines.join('\n')}\n\n`);
      }
    });
}
