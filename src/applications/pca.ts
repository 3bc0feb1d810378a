/**
 * Principal component analysis fitted on training rows (the normal prompts), applied to any row:
 * project (x − mean) on the top-k principal axes. Exact: the eigenvectors of the smaller of the Gram
 * matrix Xc Xcᵀ (n × n) and the covariance Xcᵀ Xc (D × D), by cyclic Jacobi rotations, so a few hundred
 * prompts × thousands of log-prob features cost one small eigenproblem. Signs are fixed so that each
 * axis's largest-magnitude entry is positive (results do not depend on rotation order quirks).
 */

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

/** Eigen-decomposition of a symmetric matrix (row-major m × m) by cyclic Jacobi; eigenvalues descending. */
export function symmetricEigen(a: Float64Array, m: number): { values: number[]; vectors: Float64Array[] } {
  const A = Float64Array.from(a);
  const V = new Float64Array(m * m);
  for (let i = 0; i < m; i++) V[i * m + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < m; i++) {
      diag += A[i * m + i]! ** 2;
      for (let j = i + 1; j < m; j++) off += A[i * m + j]! ** 2;
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = A[p * m + q]!;
        if (apq === 0) continue;
        const app = A[p * m + p]!;
        const aqq = A[q * m + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < m; r++) {
          const arp = A[r * m + p]!;
          const arq = A[r * m + q]!;
          A[r * m + p] = c * arp - s * arq;
          A[r * m + q] = s * arp + c * arq;
        }
        for (let r = 0; r < m; r++) {
          const apr = A[p * m + r]!;
          const aqr = A[q * m + r]!;
          A[p * m + r] = c * apr - s * aqr;
          A[q * m + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < m; r++) {
          const vrp = V[r * m + p]!;
          const vrq = V[r * m + q]!;
          V[r * m + p] = c * vrp - s * vrq;
          V[r * m + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  const order = Array.from({ length: m }, (_, i) => i).sort((x, y) => A[y * m + y]! - A[x * m + x]! || x - y);
  return {
    values: order.map((i) => A[i * m + i]!),
    vectors: order.map((i) => Float64Array.from({ length: m }, (_, r) => V[r * m + i]!)),
  };
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
  const { values, vectors } = symmetricEigen(M, m);
  const components: number[][] = [];
  const variance: number[] = [];
  for (let c = 0; c < kk; c++) {
    const lambda = Math.max(values[c]!, 0);
    let axis: Float64Array;
    if (useGram) {
      // v = Xcᵀ u / ‖Xcᵀ u‖ (= / sqrt(λ) in exact arithmetic; normalising directly is more robust).
      axis = new Float64Array(D);
      xc.forEach((r, i) => {
        const ui = vectors[c]![i]!;
        for (let f = 0; f < D; f++) axis[f]! += ui * r[f]!;
      });
      const norm = Math.hypot(...axis);
      if (norm > 0) for (let f = 0; f < D; f++) axis[f]! /= norm;
    } else axis = vectors[c]!;
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
