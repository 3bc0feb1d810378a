/** Pure functions that bring checkpoint tensors to the layouts the forward pass expects. */
import type { HostTensor } from '../formats/weights.js';

/**
 * Transposes a 2-D tensor in its own array (which the caller must own). In place, because a transposed
 * copy would leave the read buffer behind as freed heap that glibc keeps: GPT-2-small's 48 Conv1D weights
 * left 39 MiB of resident memory after loading, which the forward's peak carried.
 * Element i of the row-major [r, c] array belongs at (i · r) mod (r·c − 1); each cycle of that
 * permutation is followed once (a byte per element marks those done). As fast as the copy (35–70 ms for
 * 768 × 3072 here).
 */
export function transpose2dInPlace(t: HostTensor): HostTensor {
  const [r, c] = t.shape as [number, number];
  const a = t.data;
  const n = r * c;
  if (r > 1 && c > 1) {
    const m = n - 1;
    const done = new Uint8Array(n);
    for (let start = 1; start < m; start++) {
      if (done[start]) continue;
      let i = start;
      let carried = a[i]!;
      do {
        const j = (i * r) % m; // < 2^53 for any array that fits in memory
        const next = a[j]!;
        a[j] = carried;
        carried = next;
        done[i] = 1;
        i = j;
      } while (i !== start);
    }
  }
  return { shape: [c, r], data: a };
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
