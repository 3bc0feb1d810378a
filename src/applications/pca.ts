/**
 * Principal component analysis fitted on training rows (the normal prompts), applied to any row:
 * project (x − mean) on the top-k principal axes. Exact: the eigenvectors of the smaller of the Gram
 * matrix Xc Xcᵀ (n × n) and the covariance Xcᵀ Xc (D × D) (linalg/dense.ts), so a few hundred
 * prompts × thousands of log-prob features cost one small eigenproblem. Signs are fixed so that each
 * axis's largest-magnitude entry is positive (results do not depend on the solver's sign choices).
 */
import { mat, symmetricEigen } from '../linalg/dense.js';

export interface PcaModel {
  kind: 'pca';
  mean: number[];
  /** k rows of length D, unit norm, orthogonal. */
  components: number[][];
  /** Variance along each axis (divided by n − 1, as sklearn). */
  explainedVariance: number[];
  /** Share of the total variance along each axis. */
  explainedVarianceRatio: number[];
}

export function fitPca(x: readonly ArrayLike<number>[], k: number): PcaModel {
  const n = x.length;
  if (n < 2) throw new Error(`PCA needs at least 2 rows, got ${n}`);
  const D = x[0]!.length;
  if (!Number.isInteger(k) || k < 1) throw new Error(`PCA: the number of components must be a positive integer, got ${k}`);
  const kk = Math.min(k, n - 1, D);
  const mean = new Float64Array(D);
  for (const r of x) for (let j = 0; j < D; j++) mean[j]! += r[j]! / n;
  const xc = x.map((r) => Float64Array.from({ length: D }, (_, j) => r[j]! - mean[j]!));
  let totalVar = 0;
  for (const r of xc) for (let j = 0; j < D; j++) totalVar += r[j]! ** 2;
  const useGram = n <= D;
  const m = useGram ? n : D;
  const M = new Float64Array(m * m);
  if (useGram) {
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) {
      let s = 0;
      const a = xc[i]!;
      const b = xc[j]!;
      for (let f = 0; f < D; f++) s += a[f]! * b[f]!;
      M[i * n + j] = M[j * n + i] = s;
    }
  } else {
    for (const r of xc) for (let i = 0; i < D; i++) {
      const ri = r[i]!;
      if (ri === 0) continue;
      for (let j = 0; j < D; j++) M[i * D + j]! += ri * r[j]!;
    }
  }
  const { values, vectors: rows } = symmetricEigen(mat(m, m, M)); // one eigenvector per row, descending
  const vector = (c: number): Float64Array => rows.data.subarray(c * m, (c + 1) * m);
  const components: number[][] = [];
  const variance: number[] = [];
  for (let c = 0; c < kk; c++) {
    const lambda = Math.max(values[c]!, 0);
    let axis: Float64Array;
    if (useGram) {
      // v = Xcᵀ u / ‖Xcᵀ u‖ (= / sqrt(λ) in exact arithmetic; normalising directly is more robust).
      axis = new Float64Array(D);
      const u = vector(c);
      xc.forEach((r, i) => {
        const ui = u[i]!;
        for (let f = 0; f < D; f++) axis[f]! += ui * r[f]!;
      });
      const norm = Math.hypot(...axis);
      if (norm > 0) for (let f = 0; f < D; f++) axis[f]! /= norm;
    } else axis = vector(c);
    let big = 0;
    for (let f = 0; f < D; f++) if (Math.abs(axis[f]!) > Math.abs(axis[big]!)) big = f;
    const sign = axis[big]! < 0 ? -1 : 1;
    components.push(Array.from(axis, (v) => v * sign));
    variance.push(lambda / (n - 1));
  }
  return {
    kind: 'pca',
    mean: Array.from(mean),
    components,
    explainedVariance: variance,
    explainedVarianceRatio: variance.map((v) => (totalVar > 0 ? (v * (n - 1)) / totalVar : 0)),
  };
}

export function pcaTransform(model: PcaModel, row: ArrayLike<number>): Float64Array {
  const D = model.mean.length;
  if (row.length !== D) throw new Error(`PCA: row has ${row.length} features, the model ${D}`);
  return Float64Array.from(model.components, (axis) => {
    let s = 0;
    for (let f = 0; f < D; f++) s += (row[f]! - model.mean[f]!) * axis[f]!;
    return s;
  });
}
