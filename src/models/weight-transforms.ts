/** Pure functions that bring checkpoint tensors to the layouts the forward pass expects. */
import type { HostTensor } from '../formats/weights.js';

export function transpose2d(t: HostTensor): HostTensor {
  const [r, c] = t.shape as [number, number];
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j]!;
  return { shape: [c, r], data: out };
}

/** Concatenates tensors along axis 0. */
export function concatRows(ts: HostTensor[]): HostTensor {
  const rest = ts[0]!.shape.slice(1);
  const total = ts.reduce((n, t) => n + t.shape[0]!, 0);
  const out = new Float32Array(ts.reduce((n, t) => n + t.data.length, 0));
  let o = 0;
  for (const t of ts) {
    out.set(t.data, o);
    o += t.data.length;
  }
  return { shape: [total, ...rest], data: out };
}

/** Reorders axis-0 blocks: row block `order[k]` of size `rowSize` becomes block k. */
function permuteRowBlocks(t: HostTensor, rowSize: number, order: number[]): HostTensor {
  const stride = t.data.length / t.shape[0]!;
  const out = new Float32Array(t.data.length);
  order.forEach((src, dst) => {
    out.set(t.data.subarray(src * rowSize * stride, (src + 1) * rowSize * stride), dst * rowSize * stride);
  });
  return { shape: [...t.shape], data: out };
}

/**
 * Fused qkv stored per head as [head][q,k,v][headDim] rows (NeoX, BLOOM) → [q heads | k heads | v heads].
 */
export function fusedPerHeadToQkv(t: HostTensor, nHeads: number, headDim: number): HostTensor {
  const order: number[] = [];
  for (let part = 0; part < 3; part++) for (let h = 0; h < nHeads; h++) order.push(h * 3 + part);
  return permuteRowBlocks(t, headDim, order);
}

/**
 * Rotary on interleaved pairs (2i, 2i+1) equals rotate-half rotary after moving, within each head's
 * first `rotaryDim` rows, row 2i to i and row 2i+1 to i + rotaryDim/2 — applied to q and k alike, so
 * attention scores are unchanged (this is how HF converts llama2.c checkpoints).
 */
export function interleavedToHalfRotary(t: HostTensor, nHeads: number, headDim: number, rotaryDim: number): HostTensor {
  const order: number[] = [];
  for (let h = 0; h < nHeads; h++) {
    const base = h * headDim;
    for (let i = 0; i < rotaryDim / 2; i++) order.push(base + 2 * i);
    for (let i = 0; i < rotaryDim / 2; i++) order.push(base + 2 * i + 1);
    for (let i = rotaryDim; i < headDim; i++) order.push(base + i);
  }
  return permuteRowBlocks(t, 1, order);
}
