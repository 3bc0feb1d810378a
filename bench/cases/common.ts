/** Shared helpers for benchmark cases: timing, FLOP counts, memory. */
export interface CaseResult {
  name: string;
  [key: string]: number | string | null;
}

/** Median seconds of `repeats` runs of `fn` after `warmup` unmeasured runs. */
export async function timeIt(fn: () => Promise<unknown>, repeats = 3, warmup = 1): Promise<number> {
  // Collect garbage between runs (children run with --expose-gc) so peak RSS reflects one run,
  // not results of earlier runs that the collector has not reclaimed yet.
  // A macrotask first: until the current one ends, V8 may still reach the last result from the
  // resolved promise, and gc() would keep it.
  const collect = async (): Promise<void> => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) return;
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  };
  for (let i = 0; i < warmup; i++) {
    await fn();
    await collect();
  }
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    await collect();
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Matmul FLOPs of a decoder forward pass over T tokens: 2·params·T for the dense layers plus attention. */
export function forwardFlops(cfg: { dModel: number; nLayers: number; dFF: number; vocabSize: number; nHeads: number; headDim: number; nKvHeads: number; gatedMlp: boolean }, T: number): number {
  const { dModel: d, nLayers: L, dFF, vocabSize: V, nHeads: H, headDim: hd, nKvHeads: Hkv } = cfg;
  const perLayerDense = d * (H + 2 * Hkv) * hd + H * hd * d + (cfg.gatedMlp ? 3 : 2) * d * dFF;
  const attention = 2 * H * T * T * hd; // QKᵀ and PV, full (unmasked) square as the kernels compute it
  return L * (2 * perLayerDense * T + 2 * attention) + 2 * d * V * T;
}

/**
 * GFLOP/s of our fp32 MatMul [M, K] · [K, N] through the default runtime, as the kernel runs inside a
 * graph: the product is an intermediate (only its first column leaves the graph), so it lives in memory
 * the session already holds, as every product of our workloads does. Returned as a graph output instead,
 * a fresh [M, N] array is faulted in page by page at every run, which on the VMs we measure on costs as
 * much as the MatMul itself (`asOutput`: the same product returned whole, for comparison).
 */
export async function matmulKernelGflops(M: number, K: number, N: number, options: { asOutput?: boolean; repeats?: number } = {}): Promise<number> {
  const { Graph } = await import('../../src/graph/graph.js');
  const op = await import('../../src/graph/ops.js');
  const { defaultRuntime } = await import('../../src/node/runtime.js');
  const g = new Graph();
  const y = op.matmul(g.input('a', 'float32', [M, K]), g.input('b', 'float32', [K, N]));
  const c = await defaultRuntime().compile({ y: options.asOutput ? y : op.slice(y, 1, 0, 1) });
  const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i) * 0.01);
  const b = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i) * 0.01);
  const s = await timeIt(() => c.run({ a, b }), options.repeats ?? 3, 2);
  await c.release();
  return (2 * M * K * N) / s / 1e9;
}

/**
 * The ceiling as the issue defines it: our own fp32 MatMul on the workloads' largest shape, the
 * unembedding of 2048 rows (2048×768 · 768×50257), through the same runtime, in the calling process.
 */
export async function unembeddingCeilingGflops(): Promise<number> {
  return matmulKernelGflops(2048, 768, 50257);
}

/**
 * Memory bandwidth in GB/s: bytes read plus bytes written per second by a 256 MB copy (memcpy through
 * TypedArray.set; best of 3 after a warm-up). A JavaScript summing loop, used until 2026-12-01, measured the
 * loop (5 GB/s here) rather than the memory (23–29 GB/s), which made the trajectory's floor too easy.
 */
export function streamingBandwidthGBs(): number {
  const src = new Float32Array(64 * 2 ** 20).fill(1);
  const dst = new Float32Array(src.length).fill(2);
  let best = Infinity;
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now();
    dst.set(src);
    if (r > 0) best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return (2 * src.byteLength) / best / 1e9;
}
