/**
 * Small dense linear algebra on the host, float64, row-major: what causal basis extraction needs
 * besides the compute graph (d × d symmetric eigenvectors for the initialisation, QR for the
 * subspace option, orthonormality checks). Matrices are `{ rows, cols, data }`.
 */

export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function mat(rows: number, cols: number, data?: ArrayLike<number>): Mat {
  const m = { rows, cols, data: new Float64Array(rows * cols) };
  if (data) {
    if (data.length !== rows * cols) throw new Error(`mat: ${data.length} values for ${rows} × ${cols}`);
    m.data.set(data);
  }
  return m;
}

export function matmul(a: Mat, b: Mat, transA = false, transB = false): Mat {
  const [m, k] = transA ? [a.cols, a.rows] : [a.rows, a.cols];
  const [k2, n] = transB ? [b.cols, b.rows] : [b.rows, b.cols];
  if (k !== k2) throw new Error(`matmul: inner dimensions ${k} and ${k2} differ`);
  const out = mat(m, n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = transA ? a.data[p * a.cols + i]! : a.data[i * a.cols + p]!;
      if (aip === 0) continue;
      for (let j = 0; j < n; j++) out.data[i * n + j] += aip * (transB ? b.data[j * b.cols + p]! : b.data[p * b.cols + j]!);
    }
  }
  return out;
}

/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: eigenvalues descending and
 * the matching unit eigenvectors as the columns of `vectors`.
 */
export function symmetricEigen(a: Mat, maxSweeps = 100): { values: Float64Array; vectors: Mat } {
  const n = a.rows;
  if (a.cols !== n) throw new Error('symmetricEigen: the matrix must be square');
  const A = Float64Array.from(a.data);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < n; p++) {
      diag += A[p * n + p]! ** 2;
      for (let q = p + 1; q < n; q++) off += A[p * n + q]! ** 2;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const app = A[p * n + p]!;
        const aqq = A[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < n; r++) {
          const arp = A[r * n + p]!;
          const arq = A[r * n + q]!;
          A[r * n + p] = c * arp - s * arq;
          A[r * n + q] = s * arp + c * arq;
        }
        for (let r = 0; r < n; r++) {
          const apr = A[p * n + r]!;
          const aqr = A[q * n + r]!;
          A[p * n + r] = c * apr - s * aqr;
          A[q * n + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < n; r++) {
          const vrp = V[r * n + p]!;
          const vrq = V[r * n + q]!;
          V[r * n + p] = c * vrp - s * vrq;
          V[r * n + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => A[j * n + j]! - A[i * n + i]!);
  const values = Float64Array.from(order, (i) => A[i * n + i]!);
  const vectors = mat(n, n);
  order.forEach((src, dst) => {
    for (let r = 0; r < n; r++) vectors.data[r * n + dst] = V[r * n + src]!;
  });
  return { values, vectors };
}

/** Thin QR by modified Gram–Schmidt (twice, for float64 orthogonality): x [d, k] = Q [d, k] R [k, k]. */
export function qr(x: Mat): { q: Mat; r: Mat } {
  const { rows: d, cols: k } = x;
  const q = mat(d, k, x.data);
  const r = mat(k, k);
  for (let j = 0; j < k; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        let s = 0;
        for (let t = 0; t < d; t++) s += q.data[t * k + i]! * q.data[t * k + j]!;
        r.data[i * k + j] += s;
        for (let t = 0; t < d; t++) q.data[t * k + j] -= s * q.data[t * k + i]!;
      }
    }
    let nrm = 0;
    for (let t = 0; t < d; t++) nrm += q.data[t * k + j]! ** 2;
    nrm = Math.sqrt(nrm);
    if (nrm === 0) throw new Error(`qr: column ${j} is linearly dependent on the previous ones`);
    r.data[j * k + j] = nrm;
    for (let t = 0; t < d; t++) q.data[t * k + j] /= nrm;
  }
  return { q, r };
}

/** Y = B R⁻ᵀ for B [n, k] and upper-triangular R [k, k] (solves Y Rᵀ = B, last column first). */
export function timesInverseTranspose(b: Mat, r: Mat): Mat {
  const k = r.rows;
  const y = mat(b.rows, k);
  for (let row = 0; row < b.rows; row++) {
    for (let j = k - 1; j >= 0; j--) {
      let s = b.data[row * k + j]!;
      for (let i = j + 1; i < k; i++) s -= y.data[row * k + i]! * r.data[j * k + i]!;
      y.data[row * k + j] = s / r.data[j * k + j]!;
    }
  }
  return y;
}

/** max |VᵀV − I| for the columns of V [d, k]. */
export function orthonormalityError(v: Mat): number {
  const g = matmul(v, v, true, false);
  let m = 0;
  for (let i = 0; i < g.rows; i++) for (let j = 0; j < g.cols; j++) m = Math.max(m, Math.abs(g.data[i * g.cols + j]! - (i === j ? 1 : 0)));
  return m;
}

export function column(m: Mat, j: number): Float64Array {
  return Float64Array.from({ length: m.rows }, (_, r) => m.data[r * m.cols + j]!);
}
