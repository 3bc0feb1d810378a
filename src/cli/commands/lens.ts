/** `tuned-lens lens`: a terminal table of what every layer predicts at every input position. */
import type { Command } from 'commander';
import { LogitLens, type Lens } from '../../lens/lens.js';
import { computeTrajectory, type TrajectoryData } from '../../trajectory/compute.js';
import { TokenFormatter } from '../../trajectory/token-formatter.js';
import { vocabularyPieces } from '../../trajectory/token-display.js';
import { loadLensForCli } from '../lens-loading.js';
import { checkInputGiven, checkTopK, CliError, inputIds, loadModelForCli, MODEL_OPTION_HELP, parsePositiveInt } from '../common.js';

const fmt = new TokenFormatter({ maxStringLen: 10 });

/** Pads by display width (code points), so labels with multi-byte characters line up. */
function pad(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - Array.from(s).length));
}

/**
 * Lines of a table: rows = layers (output on top), columns = positions; each cell shows top-k
 * "token prob". With several trajectories (--compare), their columns sit side by side per position
 * block, separated by "│".
 */
export function renderLensTable(trajs: TrajectoryData[], names: string[], tokens: string[], topK: number, title: string, maxWidth: number): string[] {
  const first = trajs[0]!;
  const { rows, positions: T } = first;
  const cell = (traj: TrajectoryData, r: number, t: number, k: number): string => {
    const i = (r * traj.batch * T + t) * traj.topK + k;
    return `${fmt.format(tokens[traj.topIds[i]!] ?? `<${traj.topIds[i]}>`)} ${traj.topProbs[i]!.toFixed(2)}`;
  };
  const width = (s: string): number => Array.from(s).length;
  let colWidth = 8;
  for (let t = 0; t < T; t++) colWidth = Math.max(colWidth, width(fmt.format(tokens[first.inputIds[0]![t]!] ?? '')));
  for (const traj of trajs) for (let r = 0; r < rows; r++) for (let t = 0; t < T; t++) for (let k = 0; k < topK; k++) colWidth = Math.max(colWidth, width(cell(traj, r, t, k)));
  colWidth += 2;
  const labelWidth = Math.max(6, ...first.rowLabels.map((l) => l.length)) + 2;
  const sep = trajs.length > 1 ? ' │ ' : '';
  const perChunk = Math.max(1, Math.floor((maxWidth - labelWidth - sep.length * (trajs.length - 1)) / (colWidth * trajs.length)));
  const lines: string[] = [title];
  for (let start = 0; start < T; start += perChunk) {
    const cols = Array.from({ length: Math.min(perChunk, T - start) }, (_, j) => start + j);
    const block = (f: (t: number) => string): string => cols.map((t) => pad(f(t), colWidth)).join('');
    lines.push('');
    if (trajs.length > 1) lines.push(pad('', labelWidth) + names.map((n) => pad(n, colWidth * cols.length)).join(sep));
    for (let r = rows - 1; r >= 0; r--) {
      for (let k = 0; k < topK; k++) {
        lines.push(pad(k === 0 ? first.rowLabels[r]! : '', labelWidth) + trajs.map((traj) => block((t) => cell(traj, r, t, k))).join(sep));
      }
    }
    const inputs = block((t) => fmt.format(tokens[first.inputIds[0]![t]!] ?? ''));
    lines.push(pad('input', labelWidth) + trajs.map(() => inputs).join(sep));
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
      checkInputGiven(text, opts.ids);
      if (opts.compare && !opts.lens) throw new CliError('--compare puts a tuned lens beside the logit lens: it needs --lens');
      const model = await loadModelForCli(opts.model);
      checkTopK(model, opts.topK);
      const ids = inputIds(model, text, opts.ids);
      const tokens = vocabularyPieces(model.tokenizer, model.config.vocabSize);
      const lenses: [string, Lens][] = [];
      const tuned = opts.lens ? await loadLensForCli(model, opts.lens) : null;
      if (!tuned || opts.compare) lenses.push(['logit lens', new LogitLens(model)]);
      if (tuned) lenses.push([`tuned lens (${opts.lens})`, tuned]);
      const width = opts.width ?? process.stdout.columns ?? 120;
      const trajs: TrajectoryData[] = [];
      for (const [, lens] of lenses) trajs.push(await computeTrajectory(lens, { ids: [ids] }, { topK: opts.topK }));
      const names = lenses.map(([n]) => n);
      const lines = renderLensTable(trajs, names, tokens, opts.topK, `${model.name} — ${names.join(' vs ')}: top-${opts.topK} prediction per layer (output on top) and probability`, width);
      process.stdout.write(`${lines.join('\n')}\n\n`);
    });
}
