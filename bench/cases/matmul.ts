/**
 * The ceiling: a plain fp32 matmul through the same runtime and provider (TUNED_LENS_DEVICE), best of a few
 * shapes including the workloads' largest, the unembedding of 2048 rows (2048×768 · 768×50257).
 */
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { defaultRuntime } from '../../src/node/runtime.js';
import { timeIt, type CaseResult } from './common.js';

export async function matmulCeiling(): Promise<CaseResult> {
  const rt = defaultRuntime();
  let best = 0;
  const shapes: [number, number, number][] = [[1024, 768, 3072], [2048, 2048, 2048], [1024, 3072, 768], [2048, 768, 50257]];
  const detail: string[] = [];
  for (const [M, K, N] of shapes) {
    const g = new Graph();
    const y = op.matmul(g.input('a', 'float32', [M, K]), g.input('b', 'float32', [K, N]));
    const c = await rt.compile({ y });
    const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i) * 0.01);
    const b = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i) * 0.01);
    const s = await timeIt(() => c.run({ a, b }), 5, 2);
    const gflops = (2 * M * K * N) / s / 1e9;
    detail.push(`${M}x${K}x${N}: ${gflops.toFixed(1)}`);
    best = Math.max(best, gflops);
  }
  return { name: 'matmul ceiling', gflops: best, detail: detail.join(', ') };
}
