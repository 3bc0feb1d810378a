/**
 * The stories260K reference recipe as a whole process, startup included: the compiled CLI
 * (`bin/tuned-lens.js`, after `npm run build`) on the golden training chunks as pre-tokenized JSON Lines,
 * against the PyTorch baseline's whole process (`baseline.py train-stories --repeats 1`: one training
 * run, as ours does) where torch is installed. The two alternate run by run, so both see the same minutes
 * of a shared machine; every run records the load average it started under.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedDir } from '../../test/helpers/shared-data.js';
import type { CaseResult } from './common.js';
import { BENCH_SOURCE_DIR } from '../make-gpt2-small.js';

const ROOT = join(BENCH_SOURCE_DIR, '..');
const GNU_TIME = '/usr/bin/time';

export interface ProcessRun {
  wallSeconds: number;
  /** User + system CPU seconds and peak RSS, where GNU time is installed (else null). */
  cpuSeconds: number | null;
  peakRssMb: number | null;
  loadAverage1m: number;
}

/** One run of `cmd args`, timed whole (startup included); throws with its stderr when it fails. */
export function timeProcess(cmd: string, args: string[]): ProcessRun {
  const gnuTime = existsSync(GNU_TIME);
  const [exe, argv] = gnuTime ? [GNU_TIME, ['-f', 'tuned-lens-time %U %S %M', cmd, ...args]] : [cmd, args];
  const loadAverage1m = loadavg()[0]!;
  const t0 = performance.now();
  const r = spawnSync(exe, argv, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const wallSeconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  const m = /tuned-lens-time (\S+) (\S+) (\d+)/.exec(r.stderr);
  return { wallSeconds, cpuSeconds: m ? Number(m[1]) + Number(m[2]) : null, peakRssMb: m ? Number(m[3]) / 1024 : null, loadAverage1m };
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const medianOf = (runs: ProcessRun[], key: 'wallSeconds' | 'cpuSeconds' | 'peakRssMb'): number | null =>
  runs.every((r) => r[key] !== null) ? median(runs.map((r) => r[key]!)) : null;

/** The baseline script, when this machine has torch (see ../shared/bench/torch-baseline/README.md). */
export function torchBaseline(): string | null {
  const script = join(sharedDir(), 'bench', 'torch-baseline', 'baseline.py');
  return existsSync(script) && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0 ? script : null;
}

export async function stories260kWholeProcess(repeats = 3): Promise<CaseResult> {
  const cli = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(cli)) throw new Error('the whole-process case runs the compiled CLI: run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'tuned-lens-startup-'));
  try {
    const golden = JSON.parse(readFileSync(join(sharedDir(), 'golden', 'reference-lens', 'data_chunks.json'), 'utf8')) as { train_chunks_in_order: number[][] };
    const data = join(dir, 'train.jsonl');
    writeFileSync(data, golden.train_chunks_in_order.map((ids) => JSON.stringify({ input_ids: ids })).join('\n') + '\n');
    const bin = join(ROOT, 'bin', 'tuned-lens.js');
    const train = (i: number): string[] => [bin, 'train', '--model', 'stories260K', '--data', data, '--num-steps', '100', '--tokens-per-step', '768', '--seq-len', '256', '--no-shuffle', '--output', join(dir, `lens-${i}`)];
    const baselineScript = torchBaseline();
    const baselineArgs = [baselineScript ?? '', 'train-stories', '--threads', '2', '--blas-threads', '1', '--openblas-coretype', 'SkylakeX', '--repeats', '1'];
    const ours: ProcessRun[] = [];
    const help: ProcessRun[] = [];
    const baseline: ProcessRun[] = [];
    for (let i = 0; i < repeats; i++) {
      ours.push(timeProcess(process.execPath, train(i)));
      help.push(timeProcess(process.execPath, [bin, '--help']));
      if (baselineScript) baseline.push(timeProcess('/usr/bin/python3', baselineArgs));
    }
    const oursWall = medianOf(ours, 'wallSeconds')!;
    const baselineWall = baselineScript ? medianOf(baseline, 'wallSeconds') : null;
    return {
      name: 'stories260K reference recipe, whole process (CLI train, 100 steps x 768 tokens)',
      seconds: oursWall,
      cpuSeconds: medianOf(ours, 'cpuSeconds'),
      peakRssMb: medianOf(ours, 'peakRssMb'),
      cliHelpSeconds: medianOf(help, 'wallSeconds'),
      cliHelpCpuSeconds: medianOf(help, 'cpuSeconds'),
      baselineSeconds: baselineWall,
      baselineCpuSeconds: baselineScript ? medianOf(baseline, 'cpuSeconds') : null,
      speedupOverBaseline: baselineWall === null ? null : baselineWall / oursWall,
      baseline: baselineScript ? `python3 baseline.py ${baselineArgs.slice(1).join(' ')}` : 'torch is not installed here',
      loadAverage1m: `${[...ours, ...baseline].map((r) => r.loadAverage1m.toFixed(1)).join(' ')}`,
      runs: JSON.stringify({ ours: ours.map((r) => r.wallSeconds.toFixed(2)), baseline: baseline.map((r) => r.wallSeconds.toFixed(2)) }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
