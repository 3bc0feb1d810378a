/**
 * Sequence-length buckets. Graphs have static shapes, so every new prompt length would compile a new
 * onnxruntime session (tens to hundreds of milliseconds). Padding a sequence at its end to the next
 * bucket, running, and trimming the outputs back gives the same numbers for the real positions of a
 * causal model (a position never attends to later ones), with a handful of sessions for all lengths:
 *
 *   const Tb = bucketLength(ids.length, maxPositions);
 *   const padded = padAxis({ data: ids64, shape: [1, T] }, 1, Tb, 0n);   // any valid token
 *   const logits = trimAxis(run(padded).logits, 1, T);
 */
import type { HostArray, HostData } from './runtime.js';

/** Buckets run 8, 12, 16, 24, 32, 48, 64, …: powers of two and their midpoints, so at most a third of a bucket is padding. */
export function bucketLength(length: number, maxLength = Infinity): number {
  if (!Number.isInteger(length) || length < 0) throw new Error(`bucketLength: ${length} is not a sequence length`);
  let bucket = 8;
  while (bucket < length) bucket = isPowerOfTwo(bucket) ? (bucket * 3) / 2 : (bucket * 4) / 3;
  // Past the limit (e.g. learned positions) the caller's own check reports the length.
  return Math.max(length, Math.min(bucket, maxLength));
}

function isPowerOfTwo(n: number): boolean {
  return (n & (n - 1)) === 0;
}

function sameKindOfArray(like: HostData, n: number): HostData {
  return new (like.constructor as new (n: number) => HostData)(n);
}

/** `a` lengthened to `length` along `axis`, the new entries set to `fill` (the original entries keep their indices). */
export function padAxis(a: HostArray, axis: number, length: number, fill: number | bigint = 0): HostArray {
  const n = a.shape[axis]!;
  if (length < n) throw new Error(`padAxis: cannot pad axis ${axis} of [${a.shape.join(', ')}] to ${length}`);
  if (length === n) return a;
  const shape = a.shape.map((d, i) => (i === axis ? length : d));
  const inner = a.shape.slice(axis + 1).reduce((x, y) => x * y, 1);
  const outer = a.shape.slice(0, axis).reduce((x, y) => x * y, 1);
  const data = sameKindOfArray(a.data, outer * length * inner);
  if (data instanceof BigInt64Array) data.fill(BigInt(fill));
  else data.fill(Number(fill));
  for (let o = 0; o < outer; o++) (data as Float32Array).set((a.data as Float32Array).subarray(o * n * inner, (o + 1) * n * inner), o * length * inner);
  return { data, shape };
}

/** The first `length` entries of `a` along `axis` (undoes `padAxis` on a result). */
export function trimAxis(a: HostArray, axis: number, length: number): HostArray {
  const n = a.shape[axis]!;
  if (length > n) throw new Error(`trimAxis: axis ${axis} of [${a.shape.join(', ')}] is shorter than ${length}`);
  if (length === n) return a;
  const shape = a.shape.map((d, i) => (i === axis ? length : d));
  const inner = a.shape.slice(axis + 1).reduce((x, y) => x * y, 1);
  const outer = a.shape.slice(0, axis).reduce((x, y) => x * y, 1);
  const data = sameKindOfArray(a.data, outer * length * inner);
  for (let o = 0; o < outer; o++) (data as Float32Array).set((a.data as Float32Array).subarray(o * n * inner, o * n * inner + length * inner), o * length * inner);
  return { data, shape };
}
