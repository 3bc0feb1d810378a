/** Shared helpers for benchmark cases: timing, FLOP counts, memory. */
export interface CaseResult {
  name: string;
  [key: string]: number | string | null;
}

/** Median seconds of `repeats` runs of `fn` after `warmup` unmeasured runs. */
export async function timeIt(fn: () => Promise<unknown>, repeats = 3, warmup = 1): Promise<number> {
  // Collect garbage between runs (children run with --expose-gc) so peak RSS reflects one run,
  // not results of earlier runs that the collector has not reclaimed yet.
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  for (let i = 0; i < warmup; i++) {
    await fn();
    gc();
  }
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    gc();
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
