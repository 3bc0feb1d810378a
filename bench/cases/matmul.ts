/**
 * The ceiling: a plain fp32 matmul through the same runtime and provider (TUNED_LENS_DEVICE), best of a few
 * shapes including the workloads' largest, the unembedding of 2048 rows (2048×768 · 768×50257), each as
 * the kernel runs inside a graph (common.ts `matmulKernelGflops`).
 */
import { matmulKernelGflops, type CaseResult } from './common.js';

export async function matmulCeiling(): Promise<CaseResult> {
  let best = 0;
  const shapes: [number, number, number][] = [[1024, 768, 3072], [2048, 2048, 2048], [1024, 3072, 768], [2048, 768, 50257]];
  const detail: string[] = [];
  for (const [M, K, N] of shapes) {
    const gflops = await matmulKernelGflops(M, K, N, { repeats: 5 });
    detail.push(`${M}x${K}x${N}: ${gflops.toFixed(1)}`);
    best = Math.max(best, gflops);
  }
  // What returning the unembedding's whole product costs (a fresh output array faulted in at every run).
  const asOutput = await matmulKernelGflops(2048, 768, 50257, { asOutput: true });
  detail.push(`2048x768x50257 returned as a fresh output: ${asOutput.toFixed(1)}`);
  return { name: 'matmul ceiling', gflops: best, asOutputGflops: asOutput, detail: detail.join(', ') };
}
