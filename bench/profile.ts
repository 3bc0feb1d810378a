/**
 * Per-op time shares from onnxruntime's own profiler (immune to how busy the machine is, unlike wall
 * clock): `node --import tsx bench/profile.ts [forward|trajectory|train] [T]` on the GPT-2-small-shaped
 * checkpoint (`train-stories`: 10 steps of the stories260K reference recipe). Prints, per ONNX op type, the share of kernel time and the number of kernel calls, plus the
 * kernel time against the session's whole run time (the rest is onnxruntime's own overhead).
 */
import { readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LogitLens, TunedLens } from '../src/lens/lens.js';
import { loadModel } from '../src/node/load-model.js';
import { createRuntime } from '../src/node/runtime.js';
import { computeTrajectory } from '../src/trajectory/compute.js';
import { trainLens } from '../src/train/trainer.js';
import { makeGpt2Small } from './make-gpt2-small.js';

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

const workload = process.argv[2] ?? 'forward';
const T = Number(process.argv[3] ?? 256);
const dir = join(import.meta.dirname, 'out', 'profile');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const runtime = createRuntime({ sessionOptions: { enableProfiling: true, profileFilePrefix: join(dir, workload) } });
const stories = workload === 'train-stories';
const model = await loadModel(stories ? 'stories260K' : await makeGpt2Small(), { runtime });
const ids = [Array.from({ length: T }, (_, i) => (i * 7919 + 13) % model.config.vocabSize)];

if (workload === 'forward') {
  const run = await model.compileForShape({ ids }, (mg) => ({ logits: mg.forward.logits }));
  await run({ ids });
} else if (workload === 'trajectory') {
  await computeTrajectory(new LogitLens(model), { ids }, { topK: 10 });
} else if (workload === 'train') {
  await trainLens(TunedLens.identity(model), [ids[0]!], {
    numSteps: 1, tokensPerStep: T, seqLen: T, microBatchSize: 1, optimizer: { kind: 'sgd', lrScale: 1, momentum: 0.9, weightDecay: 1e-3 },
    warmupSteps: 0, loss: 'kl', biasOnly: false, maxGradNorm: 1, checkpointEvery: 0, checkpointDir: null,
  });
} else if (stories) {
  // The stories260K reference recipe's shapes (3 sequences of 256 per step), 10 steps.
  const chunks = Array.from({ length: 30 }, (_, k) => Array.from({ length: 256 }, (_, i) => (i * 7919 + k * 104729) % model.config.vocabSize));
  await trainLens(TunedLens.identity(model), chunks, {
    numSteps: 10, tokensPerStep: 768, seqLen: 256, microBatchSize: 3, optimizer: { kind: 'sgd', lrScale: 1, momentum: 0.9, weightDecay: 1e-3 },
    warmupSteps: 0, loss: 'kl', biasOnly: false, maxGradNorm: 1, checkpointEvery: 0, checkpointDir: null,
  });
} else throw new Error(`unknown workload ${workload}: forward | trajectory | train | train-stories`);
// Sessions write their profile when profiling ends; releasing them does it for every cached session.
await runtime.releaseAll();

const byOp = new Map<string, { us: number; calls: number }>();
let kernel = 0;
let session = 0;
for (const f of readdirSync(dir)) {
  for (const e of JSON.parse(readFileSync(join(dir, f), 'utf8')) as ProfileEvent[]) {
    if (e.cat === 'Session' && e.name === 'model_run') session += e.dur;
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const k = e.args?.op_name ?? '?';
    const s = byOp.get(k) ?? { us: 0, calls: 0 };
    s.us += e.dur;
    s.calls++;
    byOp.set(k, s);
    kernel += e.dur;
  }
}
console.log(`${workload} T=${T}: session runs ${(session / 1e3).toFixed(0)} ms, kernels ${(kernel / 1e3).toFixed(0)} ms (${((100 * kernel) / session).toFixed(1)}%)`);
for (const [k, s] of [...byOp].sort((a, b) => b[1].us - a[1].us)) {
  console.log(`${k.padEnd(28)} ${((100 * s.us) / kernel).toFixed(1).padStart(5)}%  ${(s.us / 1e3).toFixed(1).padStart(9)} ms  ${String(s.calls).padStart(6)} calls`);
}
