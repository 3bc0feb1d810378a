/**
 * The stories260K reference recipe as a whole process, startup included: the compiled CLI
 * (`bin/tuned-lens.js`, after `npm run build`) on the golden training chunks as pre-tokenized JSON Lines,
 * against the PyTorch baseline's whole process (`baseline.py train-stories`) where torch is installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedDir } from '../../test/helpers/shared-data.js';
import type { CaseResult } from './common.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Wall seconds of one run of `cmd args`; throws with its stderr when it fails. */
function timeProcess(cmd: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  return (performance.now() - t0) / 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function stories260kWholeProcess(repeats = 3): Promise<CaseResult> {
  const cli = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(cli)) throw new Error('the whole-process case runs the compiled CLI: run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'tuned-lens-startup-'));
  try {
    const golden = JSON.parse(readFileSync(join(sharedDir(), 'golden', 'reference-lens', 'data_chunks.json'), 'utf8')) as { train_chunks_in_order: number[][] };
    const data = join(dir, 'train.jsonl');
    writeFileSync(data, golden.train_chunks_in_order.map((ids) => JSON.stringify({ input_ids: ids })).join('\n') + '\n');
    const train = (i: number): string[] => [join(ROOT, 'bin', 'tuned-lens.js'), 'train', '--model', 'stories260K', '--data', data, '--num-steps', '100', '--tokens-per-step', '768', '--seq-len', '256', '--no-shuffle', '--output', join(dir, `lens-${i}`)];
    const ours = median(Array.from({ length: repeats }, (_, i) => timeProcess(process.execPath, train(i))));
    const help = median(Array.from({ length: repeats }, () => timeProcess(process.execPath, [join(ROOT, 'bin', 'tuned-lens.js'), '--help'])));
    // The PyTorch baseline's whole process, when this machine has torch (see ../shared/bench/torch-baseline/README.md).
    const baselineScript = join(sharedDir(), 'bench', 'torch-baseline', 'baseline.py');
    const hasTorch = existsSync(baselineScript) && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
    const baseline = hasTorch
      ? median(Array.from({ length: repeats }, () => timeProcess('/usr/bin/python3', [baselineScript, 'train-stories', '--threads', '2', '--blas-threads', '1', '--openblas-coretype', 'SkylakeX'])))
      : null;
    return {
      name: 'stories260K reference recipe, whole process (CLI train, 100 steps x 768 tokens)',
      seconds: ours,
      cliHelpSeconds: help,
      baselineSeconds: baseline,
      speedupOverBaseline: baseline === null ? null : baseline / ours,
      baseline: hasTorch ? 'baseline.py train-stories --threads 2 --blas-threads 1 --openblas-coretype SkylakeX' : 'torch is not installed here',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
