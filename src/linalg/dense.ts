/**
 * The project's one small dense float64 linear algebra, on the host: symmetric eigendecomposition
 * (Householder tridiagonalisation + implicit QL, the EISPACK tred2/tql2 pair), thin QR, triangular
 * solves, and singular vectors of a matrix or of a product of two thin factors. Used by the weight
 * analysis (weights/), causal basis extraction (causal/) and PCA (applications/). Measured against
 * ml-matrix in docs/weights.md: the Gram-matrix route is faster for the shapes we meet and needs no
 * dependency.
 */

/** A dense row-major float64 matrix. */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function mat(rows: number, cols: number, data?: ArrayLike<number>): Mat {
  const out = new Float64Array(rows * cols);
  if (data) {
    if (data.length !== rows * cols) throw new Error(`mat: ${data.length} values for ${rows}×${cols}`);
    out.set(data);
  }
  return { rows, cols, data: out };
}

export function transpose(a: Mat): Mat {
  const out = mat(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out.data[j * a.rows + i] = a.data[i * a.cols + j]!;
  return out;
}

/**
 * op(a) @ op(b), op = transpose where asked. i-k-j loop order so the inner loop runs over contiguous
 * rows; a transposed operand is copied once into that layout first (O(n²) against the product's O(n³)).
 */
export function matmul(a: Mat, b: Mat, transA = false, transB = false): Mat {
  if (transA) a = transpose(a);
  if (transB) b = transpose(b);
  if (a.cols !== b.rows) throw new Error(`matmul: ${a.rows}×${a.cols} @ ${b.rows}×${b.cols}`);
  const out = mat(a.rows, b.cols);
  const { cols: n } = b;
  for (let i = 0; i < a.rows; i++) {
    const o = i * n;
    for (let k = 0; k < a.cols; k++) {
      const aik = a.data[i * a.cols + k]!;
      if (aik === 0) continue;
      const bk = k * n;
      for (let j = 0; j < n; j++) out.data[o + j]! += aik * b.data[bk + j]!;
    }
  }
  return out;
}

/** a @ aᵀ (rows × rows), exploiting symmetry: each entry is one dot product of two contiguous rows. */
export function gramRows(a: Mat): Mat {
  const { rows: m, cols: n } = a;
  const out = mat(m, m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      const oi = i * n;
      const oj = j * n;
      for (let k = 0; k < n; k++) s += a.data[oi + k]! * a.data[oj + k]!;
      out.data[i * m + j] = s;
      out.data[j * m + i] = s;
    }
  }
  return out;
}

export function frobeniusNorm(a: { data: ArrayLike<number> }): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i]! * a.data[i]!;
  return Math.sqrt(s);
}

export interface SymmetricEigen {
  /** Eigenvalues, descending. */
  values: Float64Array;
  /** Eigenvectors as rows: vectors.data[k*n .. k*n+n) belongs to values[k]. */
  vectors: Mat;
}

/**
 * Eigendecomposition of a symmetric matrix: Householder reduction to tridiagonal form, then the
 * implicit QL algorithm with Wilkinson shifts (EISPACK tred2/tql2, as in JAMA). O(n³), about
 * 10 n³ flops with the eigenvectors.
 */
export function symmetricEigen(a: Mat): SymmetricEigen {
  const n = a.rows;
  if (a.cols !== n) throw new Error(`symmetricEigen: matrix is ${a.rows}×${a.cols}`);
  // V[i][j] = V[i * n + j]; column j ends up as eigenvector j.
  const V = Float64Array.from(a.data);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(n, V, d, e);
  // tql2 rotates pairs of columns; transposed storage makes those rows, i.e. contiguous.
  const Vt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Vt[j * n + i] = V[i * n + j]!;
  tql2(n, Vt, d, e);
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y]! - d[x]!);
  const values = Float64Array.from(order, (i) => d[i]!);
  const vectors = mat(n, n);
  order.forEach((src, dst) => vectors.data.set(Vt.subarray(src * n, src * n + n), dst * n));
  return { values, vectors };
}

function tred2(n: number, V: Float64Array, d: Float64Array, e: Float64Array): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j]!;
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[j * n + i] = f;
        g = e[j]! + V[j * n + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j]! * d[k]!;
          e[k]! += V[k * n + j]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) V[k * n + j]! -= f * e[k]! + g * d[k]!;
        d[j] = V[(i - 1) * n + j]!;
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i]!;
    V[i * n + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1]! * V[k * n + j]!;
        for (let k = 0; k <= i; k++) V[k * n + j]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j]!;
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + (n - 1)] = 1;
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (d, e); Vt holds the eigenvectors as rows. */
function tql2(n: number, Vt: Float64Array, d: Float64Array, e: Float64Array): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 100) throw new Error('symmetricEigen: the QL iteration did not converge');
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          const a = i * n;
          const b = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            h = Vt[b + k]!;
            Vt[b + k] = s * Vt[a + k]! + c * h;
            Vt[a + k] = c * Vt[a + k]! - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

export interface SingularVectors {
  /** Singular values, descending. */
  values: Float64Array;
  /** One singular vector per row, matching `values`. */
  vectors: Mat;
}

/**
 * Singular values and the singular vectors that live in the space of `a`'s rows ("right", length
 * cols) or columns ("left", length rows), from the eigendecomposition of the Gram matrix of that
 * side. Float64 keeps the squared condition number harmless for float32 weights.
 */
export function singularVectors(a: Mat, side: 'left' | 'right'): SingularVectors {
  const { values, vectors } = symmetricEigen(side === 'left' ? gramRows(a) : gramRows(transpose(a)));
  return { values: values.map((v) => Math.sqrt(Math.max(v, 0))), vectors };
}

/**
 * Thin QR of a tall matrix (rows ≥ cols) by modified Gram-Schmidt run twice (stable in float64): Q has
 * orthonormal columns, R is upper triangular with a non-negative diagonal. A column that depends on the
 * previous ones becomes a zero column of Q, or an error with `requireFullRank`.
 */
export function thinQr(a: Mat, options: { requireFullRank?: boolean } = {}): { q: Mat; r: Mat } {
  const { rows: m, cols: n } = a;
  if (m < n) throw new Error(`thinQr: needs rows ≥ cols, got ${m}×${n}`);
  // Work on columns as contiguous rows.
  const qt = transpose(a);
  const r = mat(n, n);
  for (let j = 0; j < n; j++) {
    const qj = qt.data.subarray(j * m, j * m + m);
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        const qi = qt.data.subarray(i * m, i * m + m);
        let dot = 0;
        for (let k = 0; k < m; k++) dot += qi[k]! * qj[k]!;
        for (let k = 0; k < m; k++) qj[k]! -= dot * qi[k]!;
        r.data[i * n + j]! += dot;
      }
    }
    let norm = 0;
    for (let k = 0; k < m; k++) norm += qj[k]! * qj[k]!;
    norm = Math.sqrt(norm);
    r.data[j * n + j] = norm;
    if (norm === 0 && options.requireFullRank) throw new Error(`thinQr: column ${j} is linearly dependent on the previous ones`);
    if (norm > 0) for (let k = 0; k < m; k++) qj[k]! /= norm;
  }
  return { q: transpose(qt), r };
}

export interface ProductSvd {
  values: Float64Array;
  /** Left singular vectors (length a.rows), one per row. */
  left: Mat;
  /** Right singular vectors (length b.cols), one per row. */
  right: Mat;
}

/**
 * Thin SVD of the product a @ b with a [m, r], b [r, n] and r small (one attention head's OV or QK
 * circuit): with a = Qa Ra and bᵀ = Qb Rb, a b = Qa (Ra Rbᵀ) Qbᵀ, so only an r × r problem is solved.
 * Directions whose singular value is below 1e-10 × the largest are dropped (they are arbitrary).
 */
export function productSvd(a: Mat, b: Mat): ProductSvd {
  if (a.cols !== b.rows) throw new Error(`productSvd: ${a.rows}×${a.cols} @ ${b.rows}×${b.cols}`);
  const { q: qa, r: ra } = thinQr(a);
  const { q: qb, r: rb } = thinQr(transpose(b));
  const m = matmul(ra, transpose(rb));
  const { values, vectors: vm } = singularVectors(m, 'right');
  const r = a.cols;
  const keep = Array.from(values).filter((s) => s > 1e-10 * (values[0] ?? 0)).length;
  const left = mat(keep, a.rows);
  const right = mat(keep, b.cols);
  for (let j = 0; j < keep; j++) {
    const v = mat(r, 1, vm.data.subarray(j * r, j * r + r));
    // u = M v / σ in the r-dimensional basis, then mapped back by Qa; v is mapped back by Qb.
    const u = matmul(m, v);
    for (let i = 0; i < r; i++) u.data[i]! /= values[j]!;
    left.data.set(matmul(qa, u).data, j * a.rows);
    right.data.set(matmul(qb, v).data, j * b.cols);
  }
  return { values: values.slice(0, keep), left, right };
}

/** Y = B R⁻ᵀ for B [n, k] and upper-triangular R [k, k] (solves Y Rᵀ = B, last column first). */
export function timesInverseTranspose(b: Mat, r: Mat): Mat {
  const k = r.rows;
  if (r.cols !== k || b.cols !== k) throw new Error(`timesInverseTranspose: B ${b.rows}×${b.cols}, R ${r.rows}×${r.cols}`);
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

/** Column j of m, as a new array. */
export function column(m: Mat, j: number): Float64Array {
  return Float64Array.from({ length: m.rows }, (_, r) => m.data[r * m.cols + j]!);
}
