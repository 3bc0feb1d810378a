/** Runs one benchmark case and prints its result as one JSON line (spawned by bench/run.ts). */
import { matmulCeiling } from './cases/matmul.js';
import { gpt2Forward } from './cases/forward.js';
import { gpt2Training, stories260kTraining } from './cases/train.js';
import { gpt2Eval, stories260kEval } from './cases/eval.js';
import { gpt2Trajectory } from './cases/trajectory.js';
import { webViewer } from './cases/web.js';
import { gpt2CbeDirection, stories260kCbe } from './cases/cbe.js';
import { stories260kWholeProcess } from './cases/startup.js';
import { defaultRuntime } from '../src/node/runtime.js';

const cases: Record<string, () => Promise<unknown>> = {
  matmul: matmulCeiling,
  forward: () => gpt2Forward(),
  'train-stories': stories260kTraining,
  'train-gpt2': () => gpt2Training(),
  'eval-stories': stories260kEval,
  'eval-gpt2': gpt2Eval,
  trajectory: () => gpt2Trajectory(),
  web: webViewer,
  'cbe-stories': stories260kCbe,
  'cbe-gpt2': gpt2CbeDirection,
  'startup-stories': () => stories260kWholeProcess(),
};
const fn = cases[process.argv[2] ?? ''];
if (!fn) throw new Error(`unknown case ${process.argv[2]}; known: ${Object.keys(cases).join(', ')}`);
const result = (await fn()) as Record<string, unknown>;
// Which provider really ran (a GPU provider that cannot start falls back to the CPU unless TUNED_LENS_DEVICE_FALLBACK=0).
result.provider = defaultRuntime().executionProviders.join(',');
console.log(JSON.stringify(result));
