/** `tuned-lens plot`: the prediction-trajectory figure of one input, written as SVG, PNG or HTML. */
import * as nodePath from 'node:path';
import type { Command } from 'commander';
import { LogitLens, type Lens } from '../../lens/lens.js';
import type { LanguageModel } from '../../models/language-model.js';
import type { StatisticName } from '../../trajectory/prediction-trajectory.js';
import { normalizePiece } from '../../trajectory/token-display.js';
import { TokenFormatter } from '../../trajectory/token-formatter.js';
import { loadLensForCli } from '../lens-loading.js';
import { checkInputGiven, checkTopK, CliError, inputIds, loadModelForCli, MODEL_OPTION_HELP, parsePositiveInt } from '../common.js';
import { checkOutputFile } from '../output-paths.js';

/** What `--statistic` accepts: the per-lens statistics (comparisons between lenses are library-only). */
export const PLOT_STATISTICS = ['entropy', 'ce', 'kl', 'max-prob', 'rank', 'log-prob-diff'] as const satisfies readonly StatisticName[];
type PlotStatistic = (typeof PLOT_STATISTICS)[number];

const OUT_EXTENSIONS = ['.svg', '.png', '.html', '.htm'];

function parseStatistic(v: string): PlotStatistic {
  if (!(PLOT_STATISTICS as readonly string[]).includes(v)) throw new CliError(`--statistic must be one of ${PLOT_STATISTICS.join(', ')}; got "${v}"`);
  return v as PlotStatistic;
}

/**
 * `--range a:b` → [a, b), Python-style: either end may be omitted (":5", "3:") and negative counts from
 * the end. The bounds are checked against the prompt length later, once it is tokenized.
 */
export function parseRange(v: string): { start: number; end: number | undefined } {
  const m = /^\s*(-?\d+)?\s*:\s*(-?\d+)?\s*$/.exec(v);
  if (!m) throw new CliError(`--range must look like start:end (e.g. 3:10, -5:, :8), got "${v}"`);
  return { start: m[1] === undefined ? 0 : Number(m[1]), end: m[2] === undefined ? undefined : Number(m[2]) };
}

/**
 * A token given on the command line: `#id`, or a single vocabulary token written as stored (" She",
 * "ĠShe", "▁She") or as the figure shows it ("_She"). Tried in that order, so an exact piece always wins.
 */
export function resolveToken(model: LanguageModel, spec: string, flag: string): number {
  const V = model.config.vocabSize;
  const idMatch = /^#(\d+)$/.exec(spec);
  if (idMatch) {
    const id = Number(idMatch[1]);
    if (id >= V) throw new CliError(`${flag} ${spec}: id is outside the vocabulary (0..${V - 1})`);
    return id;
  }
  const pieces = Array.from({ length: V }, (_, i) => model.tokenizer.idToPiece(i));
  const display = new TokenFormatter({ maxStringLen: null });
  const tiers: ((p: string) => string)[] = [(p) => p, normalizePiece, (p) => display.format(normalizePiece(p))];
  for (const view of tiers) {
    const hits = pieces.flatMap((p, i) => (view(p) === spec ? [i] : []));
    if (hits.length === 1) return hits[0]!;
    if (hits.length > 1) throw new CliError(`${flag} "${spec}" matches several tokens (${hits.map((i) => `#${i}`).join(', ')}); pick one by id`);
  }
  throw new CliError(`${flag} "${spec}" is not a single token of ${model.name}'s vocabulary; give a vocabulary piece (e.g. "_She" or " She") or an id like #123`);
}

interface PlotOptions {
  model?: string;
  ids?: string;
  lens?: string;
  logit?: boolean;
  statistic: PlotStatistic;
  stride: number;
  range?: { start: number; end: number | undefined };
  topK: number;
  title?: string;
  target?: string;
  antiTarget?: string;
  out?: string;
}

export function registerPlot(program: Command): void {
  program
    .command('plot')
    .description('draw the prediction-trajectory heatmap (layers × input positions, top-1 token per cell) to an .svg, .png or interactive .html file')
    .argument('[text]', 'input text')
    .option('-m, --model <model>', MODEL_OPTION_HELP)
    .option('--ids <ids>', 'comma-separated token ids instead of text')
    .option('-l, --lens <lens>', 'tuned lens: a folder with config.json + params.pt|params.safetensors, or a pretrained lens id')
    .option('--logit', 'use the logit lens (the default when no --lens is given)')
    .option('-s, --statistic <name>', `colour statistic: ${PLOT_STATISTICS.join(', ')}`, parseStatistic, 'entropy' as PlotStatistic)
    .option('--stride <k>', 'show every k-th layer (the output row is always shown)', parsePositiveInt('--stride'), 1)
    .option('--range <start:end>', 'input positions to show, Python-style, e.g. 3:10 or -8: (default: all)', parseRange)
    .option('-k, --top-k <k>', 'tokens listed in each tooltip', parsePositiveInt('--top-k'), 10)
    .option('--title <title>', 'figure title (default: model and lens)')
    .option('--target <token>', 'target token at every position, for ce / rank / log-prob-diff (default: the next input token); a piece like "_She" or #id')
    .option('--anti-target <token>', 'with --statistic log-prob-diff: the token the target is compared with, at every position')
    .option('-o, --out <file>', 'output file: .svg, .png or .html (self-contained, with tooltips)')
    .action(async (text: string | undefined, opts: PlotOptions) => {
      // Everything that can be checked without the model is checked first, so mistakes fail fast.
      if (!opts.out) throw new CliError('--out <file> is required (.svg, .png or .html)');
      const ext = nodePath.extname(opts.out).toLowerCase();
      if (!OUT_EXTENSIONS.includes(ext)) throw new CliError(`--out ${opts.out}: the file name must end in .svg, .png or .html (got "${ext || 'no extension'}")`);
      if (opts.lens && opts.logit) throw new CliError('give either --lens or --logit, not both');
      checkInputGiven(text, opts.ids);
      if (opts.statistic === 'log-prob-diff' && !opts.antiTarget) throw new CliError('--statistic log-prob-diff needs --anti-target <token> (and optionally --target)');
      if (opts.antiTarget && opts.statistic !== 'log-prob-diff') throw new CliError('--anti-target only applies to --statistic log-prob-diff');

      await checkOutputFile('--out', opts.out);

      const model = await loadModelForCli(opts.model);
      checkTopK(model, opts.topK);
      const ids = inputIds(model, text, opts.ids);
      const T = ids.length;
      const lens: Lens = opts.lens ? await loadLensForCli(model, opts.lens) : new LogitLens(model);
      const lensName = opts.lens ? `tuned lens (${opts.lens})` : 'logit lens';
      const everywhere = (flag: string, spec: string | undefined): number[][] | undefined =>
        spec === undefined ? undefined : [new Array<number>(T).fill(resolveToken(model, spec, flag))];
      const targets = everywhere('--target', opts.target);
      const antiTargets = everywhere('--anti-target', opts.antiTarget);

      // Figure code (ECharts, resvg) loads only when a figure is drawn, not at every CLI start.
      const [{ PredictionTrajectory }, { writeFigure }] = await Promise.all([import('../../trajectory/prediction-trajectory.js'), import('../../viz/render.js')]);
      let traj = await PredictionTrajectory.compute(lens, { ids: [ids] }, { topK: opts.topK, ...(targets ? { targets } : {}), ...(antiTargets ? { antiTargets } : {}) });
      if (opts.range) {
        try {
          traj = traj.slice(opts.range.start, opts.range.end ?? T);
        } catch (e) {
          throw new CliError(`--range: ${(e as Error).message}`);
        }
      }
      traj = traj.stride(opts.stride);
      const data = traj.toHeatmap(opts.statistic, { title: opts.title ?? `${model.name} — ${lensName}`, topK: opts.topK });
      await writeFigure(opts.out, data);
      process.stdout.write(`${nodePath.resolve(opts.out)}\n`);
    });
}
