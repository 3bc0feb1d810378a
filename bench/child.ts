/** Runs one benchmark case and prints its result as one JSON line (spawned by bench/run.ts). */
import { defaultRuntime } from '../src/node/runtime.js';

// Each case is imported on its own, so a case's process (and its peak RSS) holds only its own modules.
const cases: Record<string, () => Promise<unknown>> = {
  matmul: async () => (await import('./cases/matmul.js')).matmulCeiling(),
  forward: async () => (await import('./cases/forward.js')).gpt2Forward(),
  'train-stories': async () => (await import('./cases/train.js')).stories260kTraining(),
  'train-gpt2': async () => (await import('./cases/train.js')).gpt2Training(),
  'eval-stories': async () => (await import('./cases/eval.js')).stories260kEval(),
  'eval-gpt2': async () => (await import('./cases/eval.js')).gpt2Eval(),
  trajectory: async () => (await import('./cases/trajectory.js')).gpt2Trajectory(),
  web: async () => (await import('./cases/web.js')).webViewer(),
  'cbe-stories': async () => (await import('./cases/cbe.js')).stories260kCbe(),
  'cbe-gpt2': async () => (await import('./cases/cbe.js')).gpt2CbeDirection(),
  'startup-stories': async () => (await import('./cases/startup.js')).stories260kWholeProcess(),
};
const fn = cases[process.argv[2] ?? ''];
if (!fn) throw new Error(`unknown case ${process.argv[2]}; known: ${Object.keys(cases).join(', ')}`);
const result = (await fn()) as Record<string, unknown>;
// Which provider really ran (a GPU provider that cannot start falls back to the CPU unless TUNED_LENS_DEVICE_FALLBACK=0).
result.provider = defaultRuntime().executionProviders.join(',');
console.log(JSON.stringify(result));
