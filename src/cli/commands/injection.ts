/**
 * `tuned-lens injection`: prompt-injection detection from prediction trajectories (paper §5.2). Fits
 * Isolation Forest and LOF on the lens's last-position log-probabilities of normal prompts (a seeded
 * `--train-fraction` of them), scores the held-out normal and every suspect prompt, and reports AUROC with
 * a bootstrap 95% interval, for the lens and for a baseline that sees only the model's output.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DETECTORS, checkDetectorFits, evaluateScores, fitDetectors, injectionFeatures, scoreDetectors, splitNormal, type DetectorEvaluation, type DetectorName, type SavedInjectionDetector } from '../../applications/injection.js';
import { LogitLens, type Lens } from '../../lens/lens.js';
import { nodeFileSystem } from '../../node/file-system.js';
import { provenance, writeResultJson } from '../../node/provenance.js';
import { buildLineChart, type LineSeries } from '../../viz/line-chart.js';
import { writeChart } from '../../viz/chart-file.js';
import { CliError, loadModelForCli, MODEL_OPTION_HELP, parsePositiveInt } from '../common.js';
import { loadLensForCli } from '../lens-loading.js';
import { readPrompts } from '../prompt-files.js';
import { taskProgress } from '../task-progress.js';

export const INJECTION_SCHEMA_VERSION = 1;

interface InjectionOptions {
  model?: string;
  lens?: string;
  logit?: boolean;
  normal?: string;
  suspect?: string;
  output?: string;
  seed: number;
  trainFraction: number;
  pca?: number;
  bootstrap: number;
  saveDetector?: string;
  detector?: string;
}

function parseFraction(v: string): number {
  const x = Number(v);
  if (!(x > 0 && x < 1)) throw new CliError(`--train-fraction must be a number strictly between 0 and 1, got "${v}"`);
  return x;
}

function parseSeed(v: string): number {
  const x = Number(v);
  if (!Number.isSafeInteger(x) || x < 0) throw new CliError(`--seed must be a non-negative integer, got "${v}"`);
  return x;
}

function rocSeries(label: string, ev: DetectorEvaluation, dashed: boolean, colors: Record<DetectorName, string>): LineSeries[] {
  return DETECTORS.filter((d) => ev.roc[d].length > 0).map((d) => ({
    name: `${label} ${d === 'iforest' ? 'Isolation Forest' : 'LOF'} (AUROC ${ev.auroc[d]?.toFixed(3) ?? 'n/a'})`,
    points: ev.roc[d].map((p) => [p.fpr, p.tpr] as [number, number]),
    step: true,
    dashed,
    color: colors[d],
  }));
}

export function registerInjection(program: Command): void {
  program
    .command('injection')
    .description('detect prompt injections from prediction trajectories: Isolation Forest and LOF fitted on normal prompts, AUROC on held-out normal + suspect prompts (paper §5.2)')
    .option('-m, --model <model>', MODEL_OPTION_HELP)
    .option('-l, --lens <lens>', 'tuned lens folder or pretrained lens id')
    .option('--logit', 'use the logit lens')
    .option('--normal <file>', 'normal prompts, JSON Lines with "text" or "input_ids"')
    .option('--suspect <file>', 'suspect prompts, same format')
    .option('-o, --output <dir>', 'output folder for injection.json, roc.svg and roc.png')
    .option('--seed <n>', 'seed of the split, the Isolation Forest and the bootstrap', parseSeed, 0)
    .option('--train-fraction <f>', 'share of the normal prompts that fits the detectors', parseFraction, 0.75)
    .option('--pca <k>', 'project the features on k principal axes of the normal training prompts first (default: raw log-probs)', parsePositiveInt('--pca'))
    .option('--bootstrap <n>', 'bootstrap resamples for the 95% interval', parsePositiveInt('--bootstrap'), 1000)
    .option('--save-detector <file>', 'also write the fitted detectors (JSON) for later --detector runs')
    .option('--detector <file>', 'score with a saved detector instead of fitting: every given prompt is scored')
    .action(async (opts: InjectionOptions) => {
      if (!opts.output) throw new CliError('--output <dir> is required');
      if (opts.lens && opts.logit) throw new CliError('give either --lens or --logit, not both');
      if (!opts.lens && !opts.logit) throw new CliError('give --lens <lens> (tuned lens) or --logit');
      if (opts.detector && opts.saveDetector) throw new CliError('--detector scores with a saved detector; --save-detector only applies when fitting');
      if (!opts.detector && (!opts.normal || !opts.suspect)) throw new CliError('--normal <file> and --suspect <file> are required (with --detector, at least one of them)');
      if (opts.detector && !opts.normal && !opts.suspect) throw new CliError('give prompts to score: --normal and/or --suspect');

      const model = await loadModelForCli(opts.model);
      const lens: Lens = opts.lens ? await loadLensForCli(model, opts.lens) : new LogitLens(model);
      const normal = opts.normal ? readPrompts(opts.normal, '--normal', model) : [];
      const suspect = opts.suspect ? readPrompts(opts.suspect, '--suspect', model) : [];
      let saved: SavedInjectionDetector | null = null;
      if (opts.detector) {
        try {
          saved = JSON.parse(readFileSync(opts.detector, 'utf8')) as SavedInjectionDetector;
          checkDetectorFits(saved, lens);
        } catch (e) {
          throw new CliError(`--detector ${opts.detector}: ${(e as Error).message}`);
        }
      }
      let split: { train: number[]; heldOut: number[] };
      try {
        split = saved ? { train: [], heldOut: normal.map((_, i) => i) } : splitNormal(normal.length, opts.trainFraction, opts.seed);
      } catch (e) {
        throw new CliError(`--normal ${opts.normal}: ${(e as Error).message}`);
      }

      const all = [...normal.map((p) => p.ids), ...suspect.map((p) => p.ids)];
      const bar = taskProgress('trajectories', all.length);
      let features;
      try {
        features = await injectionFeatures(lens, all, (done) => bar.update(done));
      } finally {
        bar.stop();
      }
      const pick = (rows: Float64Array[], idx: number[]) => idx.map((i) => rows[i]!);
      const tested = [...split.heldOut, ...suspect.map((_, j) => normal.length + j)];
      const labels = tested.map((i) => (i >= normal.length ? 1 : 0));
      let detectors: SavedInjectionDetector;
      if (saved) detectors = saved;
      else {
        process.stderr.write(`fitting Isolation Forest and LOF on ${split.train.length} normal prompts; scoring ${split.heldOut.length} held-out normal and ${suspect.length} suspect prompts\n`);
        detectors = {
          format: 'tuned-lens-injection-detector', version: 1, lensKind: lens.kind, nLayers: model.nLayers, vocabSize: model.config.vocabSize,
          trajectory: fitDetectors(pick(features.trajectory, split.train), { pcaComponents: opts.pca ?? null, seed: opts.seed }),
          baseline: fitDetectors(pick(features.output, split.train), { pcaComponents: opts.pca ?? null, seed: opts.seed }),
        };
      }
      const scores = scoreDetectors(detectors.trajectory, pick(features.trajectory, tested));
      const baseScores = scoreDetectors(detectors.baseline, pick(features.output, tested));
      const evalOpts = { seed: opts.seed, bootstrapSamples: opts.bootstrap };
      const ev = evaluateScores(labels, scores, evalOpts);
      const base = evaluateScores(labels, baseScores, evalOpts);

      await nodeFileSystem.mkdirp(opts.output);
      const lensName = opts.lens ? 'tuned lens' : 'logit lens';
      const figure = buildLineChart({
        title: `Prompt-injection detection — ${model.name}, ${lensName}`,
        xName: 'false positive rate',
        yName: 'true positive rate',
        xRange: [0, 1],
        yRange: [0, 1],
        width: 680,
        height: 560,
        legend: 'inside-lower-right',
        series: [
          ...rocSeries(lensName, ev, false, { iforest: '#0072B2', lof: '#D55E00' }),
          ...rocSeries('output only', base, true, { iforest: '#56B4E9', lof: '#E69F00' }),
          { name: 'chance', points: [[0, 0], [1, 1]], dashed: true, color: '#999999', symbols: false },
        ],
      });
      if (labels.includes(0) && labels.includes(1)) {
        await writeChart(nodeFileSystem.join(opts.output, 'roc.svg'), figure);
        await writeChart(nodeFileSystem.join(opts.output, 'roc.png'), figure);
      } else process.stderr.write('warning: the scored prompts are all of one kind, so there is no ROC curve (AUROC is null)\n');
      if (opts.saveDetector) await nodeFileSystem.writeAtomic(opts.saveDetector, JSON.stringify(detectors));

      const setOf = (i: number) => (i >= normal.length ? { set: 'suspect' as const, index: suspect[i - normal.length]!.index } : { set: 'normal' as const, index: normal[i]!.index });
      const result = {
        provenance: await provenance({
          command: 'injection',
          schemaVersion: INJECTION_SCHEMA_VERSION,
          model: opts.model ?? 'stories260K',
          lens: opts.lens ?? null,
          data: [opts.normal, opts.suspect, opts.detector].filter((p): p is string => p !== undefined),
          seed: opts.seed,
          settings: {
            lens_kind: lens.kind, train_fraction: saved ? null : opts.trainFraction, features: opts.pca ? `pca-${opts.pca}` : 'raw-log-probs',
            bootstrap_samples: opts.bootstrap, iforest: { n_estimators: 100, max_samples: detectors.trajectory.iforest.maxSamples }, lof: { n_neighbors: detectors.trajectory.lof.k, novelty: true },
            detector: opts.detector ?? null,
          },
        }),
        n: { train_normal: split.train.length, held_out_normal: split.heldOut.length, suspect: suspect.length },
        auroc: ev.auroc,
        ci95: ev.ci95,
        baseline: { auroc: base.auroc, ci95: base.ci95 },
        scores: tested.map((i, j) => ({ ...setOf(i), iforest: scores.iforest[j]!, lof: scores.lof[j]!, baseline_iforest: baseScores.iforest[j]!, baseline_lof: baseScores.lof[j]! })),
      };
      await writeResultJson(nodeFileSystem.join(opts.output, 'injection.json'), result);
      const fmt = (x: number | null) => (x === null ? 'null' : x.toFixed(3));
      const ci = (c: [number, number] | null) => (c ? `[${c[0].toFixed(3)}, ${c[1].toFixed(3)}]` : 'null');
      process.stdout.write(
        `${lensName}: AUROC iforest ${fmt(ev.auroc.iforest)} ${ci(ev.ci95.iforest)}, lof ${fmt(ev.auroc.lof)} ${ci(ev.ci95.lof)}; ` +
          `output-only baseline: iforest ${fmt(base.auroc.iforest)}, lof ${fmt(base.auroc.lof)}\nwrote ${nodeFileSystem.join(opts.output, 'injection.json')}\n`,
      );
    });
}
