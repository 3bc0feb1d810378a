/**
 * `tuned-lens overthinking`: calibrated accuracy of the lens's answer at every layer for few-shot prompts
 * with true and with false (deranged) demonstration labels, and the figure of both (paper §5.1).
 */
import type { Command } from 'commander';
import { EmptyChoiceError } from '../../applications/choices.js';
import { overthinking, type FewShotExample } from '../../applications/overthinking.js';
import { LogitLens, type Lens } from '../../lens/lens.js';
import { nodeFileSystem } from '../../node/file-system.js';
import { provenance, writeResultJson } from '../../node/provenance.js';
import { writeChart } from '../../viz/chart-file.js';
import { buildLineChart } from '../../viz/line-chart.js';
import { CliError, loadModelForCli, MODEL_OPTION_HELP } from '../common.js';
import { loadLensForCli } from '../lens-loading.js';
import { readJsonLines } from '../prompt-files.js';
import { taskProgress } from '../task-progress.js';

export const OVERTHINKING_SCHEMA_VERSION = 1;

interface OverthinkingOptions {
  task?: string;
  model?: string;
  lens?: string;
  logit?: boolean;
  output?: string;
  seed: number;
  labels?: string;
}

/** Examples of a task file, checked line by line. */
export function readFewShotTask(path: string): FewShotExample[] {
  return readJsonLines(path, '--task').map(({ line, value }) => {
    const where = `--task ${path}, line ${line}`;
    const demos = value.demos;
    if (!Array.isArray(demos) || demos.some((d) => typeof d?.text !== 'string' || typeof d?.label !== 'string')) throw new CliError(`${where}: "demos" must be a list of {"text", "label"} strings`);
    if (typeof value.query !== 'string' || typeof value.label !== 'string') throw new CliError(`${where}: needs "query" and "label" strings`);
    return { demos: demos as FewShotExample['demos'], query: value.query, label: value.label };
  });
}

export function registerOverthinking(program: Command): void {
  program
    .command('overthinking')
    .description('calibrated accuracy per layer of few-shot prompts with true vs. false (seeded derangement) demonstration labels (Halawi et al.; paper §5.1)')
    .option('--task <file>', 'JSON Lines: {"demos": [{"text", "label"}], "query", "label"}')
    .option('-m, --model <model>', MODEL_OPTION_HELP)
    .option('-l, --lens <lens>', 'tuned lens folder or pretrained lens id')
    .option('--logit', 'use the logit lens')
    .option('-o, --output <dir>', 'output folder for overthinking.json, overthinking.svg and overthinking.png')
    .option('--seed <n>', 'seed of the false-label derangements', (v: string) => {
      const x = Number(v);
      if (!Number.isSafeInteger(x) || x < 0) throw new CliError(`--seed must be a non-negative integer, got "${v}"`);
      return x;
    }, 0)
    .option('--labels <words>', 'comma-separated label words (default: every label in the task, in order of appearance)')
    .action(async (opts: OverthinkingOptions) => {
      if (!opts.task) throw new CliError('--task <file> is required');
      if (!opts.output) throw new CliError('--output <dir> is required');
      if (opts.lens && opts.logit) throw new CliError('give either --lens or --logit, not both');
      if (!opts.lens && !opts.logit) throw new CliError('give --lens <lens> (tuned lens) or --logit');
      const examples = readFewShotTask(opts.task);
      const labels = opts.labels ? opts.labels.split(',').map((s) => s.trim()).filter((s) => s !== '') : [...new Set(examples.flatMap((e) => [...e.demos.map((d) => d.label), e.label]))];
      if (labels.length < 2) throw new CliError(`--task ${opts.task}: need at least 2 label words to compare, got ${JSON.stringify(labels)}`);
      const model = await loadModelForCli(opts.model);
      const lens: Lens = opts.lens ? await loadLensForCli(model, opts.lens) : new LogitLens(model);
      const bar = taskProgress('prompts', 2 * examples.length * labels.length);
      let r;
      try {
        r = await overthinking(lens, examples, labels, { seed: opts.seed, onProgress: (d) => bar.update(d) });
      } catch (e) {
        if (e instanceof EmptyChoiceError) throw new CliError(`--task ${opts.task}: example ${e.question + 1}: the label "${labels[e.choice]}" tokenizes to nothing after the prompt`);
        if (e instanceof Error && /label|example/.test(e.message)) throw new CliError(`--task ${opts.task}: ${e.message}`);
        throw e;
      } finally {
        bar.stop();
      }
      const L = model.nLayers;
      const layerNames = [...Array.from({ length: L }, (_, i) => String(i)), 'output'];
      await nodeFileSystem.mkdirp(opts.output);
      const lensName = opts.lens ? 'tuned lens' : 'logit lens';
      const pts = (acc: (number | null)[]) => acc.flatMap((a, i) => (a === null ? [] : [[i, a] as [number, number]]));
      const figure = buildLineChart({
        title: `Calibrated accuracy per layer — ${model.name}, ${lensName} (n = ${r.n})`,
        xName: 'layer',
        yName: 'calibrated accuracy',
        xLabels: layerNames,
        yRange: [0, 1],
        series: [
          { name: 'true demonstrations', points: pts(r.trueDemos), color: '#0072B2' },
          { name: 'false demonstrations', points: pts(r.falseDemos), color: '#D55E00' },
          { name: `chance (1/${labels.length})`, points: [[0, 1 / labels.length], [L, 1 / labels.length]], dashed: true, color: '#999999', symbols: false },
        ],
      });
      await writeChart(nodeFileSystem.join(opts.output, 'overthinking.svg'), figure);
      await writeChart(nodeFileSystem.join(opts.output, 'overthinking.png'), figure);
      await writeResultJson(nodeFileSystem.join(opts.output, 'overthinking.json'), {
        provenance: await provenance({
          command: 'overthinking', schemaVersion: OVERTHINKING_SCHEMA_VERSION, model: opts.model ?? 'stories260K', lens: opts.lens ?? null, data: [opts.task], seed: opts.seed,
          settings: { lens_kind: lens.kind, labels, calibration: 'per-layer label probabilities divided by their task mean, renormalised', prompt: 'demos as "text label" lines, then the query; label appended with a space' },
        }),
        layers: layerNames,
        true_demos: r.trueDemos,
        false_demos: r.falseDemos,
        n: r.n,
        labels,
      });
      const f = (xs: (number | null)[]) => xs.map((x) => (x === null ? 'null' : x.toFixed(2))).join(' ');
      process.stdout.write(`${lensName}, calibrated accuracy per layer (${layerNames.join(' ')}):\n  true demos:  ${f(r.trueDemos)}\n  false demos: ${f(r.falseDemos)}\nwrote ${nodeFileSystem.join(opts.output, 'overthinking.json')}\n`);
    });
}
