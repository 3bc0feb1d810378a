/**
 * Probe (not a bench case): the 2048×768 · 768×50257 MatMul with a fresh output array per run vs one reused
 * output (`CompiledGraph.run(feeds, into)`), with system time and minor page faults.
 * `node --import tsx bench/probe-output-reuse.mts`
 */
import { Graph } from '../src/graph/graph.js';
import * as op from '../src/graph/ops.js';
import { defaultRuntime } from '../src/node/runtime.js';
const [M, K, N] = [2048, 768, 50257];
const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i) * 0.01);
const b = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i) * 0.01);
const g = new Graph();
const c = await defaultRuntime().compile({ y: op.matmul(g.input('a', 'float32', [M, K]), g.input('b', 'float32', [K, N])) });
const out = new Float32Array(M * N);
await c.run({ a, b }, { y: out });
for (const mode of ['fresh', 'reused', 'fresh', 'reused']) {
  const t = performance.now(); const r0 = process.resourceUsage();
  if (mode === 'fresh') await c.run({ a, b }); else await c.run({ a, b }, { y: out });
  const s = (performance.now() - t) / 1000; const r1 = process.resourceUsage();
  console.log(mode, s.toFixed(3), 's', ((2 * M * K * N) / s / 1e9).toFixed(1), 'GFLOP/s', 'sys', ((r1.systemCPUTime - r0.systemCPUTime) / 1e6).toFixed(2), 'user', ((r1.userCPUTime - r0.userCPUTime) / 1e6).toFixed(2), 'minflt', r1.minorPageFault - r0.minorPageFault);
}
