import { test } from 'node:test';
import assert from 'node:assert/strict';
import { column, mat, matmul, orthonormalityError, productSvd, singularVectors, symmetricEigen, thinQr, timesInverseTranspose, transpose, type Mat } from '../../src/linalg/dense.js';
import { SeededRandom } from '../../src/weights/random.js';

function randomMat(rng: SeededRandom, r: number, c: number): Mat {
  return mat(r, c, Array.from({ length: r * c }, () => rng.gaussian()));
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('symmetricEigen: hand case [[2,1],[1,2]] has eigenvalues 3 and 1 with vectors (1,1)/√2, (1,-1)/√2', () => {
  const { values, vectors } = symmetricEigen(mat(2, 2, [2, 1, 1, 2]));
  assert.ok(Math.abs(values[0]! - 3) < 1e-14 && Math.abs(values[1]! - 1) < 1e-14);
  assert.ok(Math.abs(Math.abs(vectors.data[0]!) - Math.SQRT1_2) < 1e-14);
  assert.ok(Math.abs(vectors.data[0]! - vectors.data[1]!) < 1e-14);
  assert.ok(Math.abs(vectors.data[2]! + vectors.data[3]!) < 1e-14);
});

test('symmetricEigen: A v = λ v and orthonormal vectors on a random 40×40 (with a repeated eigenvalue block)', () => {
  const rng = new SeededRandom(1);
  const b = randomMat(rng, 40, 12); // rank 12: 28 zero eigenvalues
  const a = matmul(b, transpose(b));
  const { values, vectors } = symmetricEigen(a);
  for (let k = 1; k < 40; k++) assert.ok(values[k - 1]! >= values[k]!);
  for (let k = 0; k < 40; k++) {
    const v = vectors.data.subarray(k * 40, k * 40 + 40);
    const av = matmul(a, mat(40, 1, v)).data;
    assert.ok(maxAbs(av, v.map((x) => x * values[k]!)) < 1e-10 * values[0]!, `eigenpair ${k}`);
  }
  const vvT = matmul(vectors, transpose(vectors));
  const eye = mat(40, 40);
  for (let i = 0; i < 40; i++) eye.data[i * 41] = 1;
  assert.ok(maxAbs(vvT.data, eye.data) < 1e-12);
  for (let k = 12; k < 40; k++) assert.ok(Math.abs(values[k]!) < 1e-10);
});

test('singularVectors: both sides reconstruct the singular values of a wide 6×15 matrix', () => {
  const a = randomMat(new SeededRandom(2), 6, 15);
  const left = singularVectors(a, 'left');
  const right = singularVectors(a, 'right');
  assert.equal(left.vectors.cols, 6);
  assert.equal(right.vectors.cols, 15);
  for (let k = 0; k < 6; k++) {
    // σ_k = |uᵀ A v| for matching pairs, and ‖Aᵀ u‖ = σ.
    const u = mat(1, 6, left.vectors.data.subarray(k * 6, k * 6 + 6));
    const atu = matmul(u, a).data;
    const norm = Math.hypot(...atu);
    assert.ok(Math.abs(norm - left.values[k]!) < 1e-10);
    assert.ok(Math.abs(left.values[k]! - right.values[k]!) < 1e-10);
  }
  for (let k = 6; k < 15; k++) assert.ok(right.values[k]! < 1e-6);
});

test('thinQr and productSvd: Q orthonormal, QR = A, Σ σ u vᵀ = A B for a rank-5 product', () => {
  const rng = new SeededRandom(3);
  const a = randomMat(rng, 20, 5);
  const b = randomMat(rng, 5, 17);
  const { q, r } = thinQr(a);
  assert.ok(maxAbs(matmul(q, r).data, a.data) < 1e-12);
  const { values, left, right } = productSvd(a, b);
  assert.equal(values.length, 5);
  const rebuilt = mat(20, 17);
  for (let k = 0; k < 5; k++) {
    for (let i = 0; i < 20; i++) for (let j = 0; j < 17; j++) rebuilt.data[i * 17 + j]! += values[k]! * left.data[k * 20 + i]! * right.data[k * 17 + j]!;
  }
  assert.ok(maxAbs(rebuilt.data, matmul(a, b).data) < 1e-10);
});

test('matmul with transposed operands equals the product of explicit transposes', () => {
  const rng = new SeededRandom(4);
  const a = randomMat(rng, 5, 3);
  const b = randomMat(rng, 4, 5);
  assert.ok(maxAbs(matmul(a, b, true, true).data, matmul(transpose(a), transpose(b)).data) === 0);
  assert.ok(maxAbs(matmul(a, a, true, false).data, matmul(transpose(a), a).data) === 0);
  assert.throws(() => matmul(a, b), /matmul: 5×3 @ 4×5/);
});

test('thinQr with requireFullRank refuses a dependent column; without it that column of Q is zero', () => {
  const a = mat(3, 2, [1, 2, 2, 4, 3, 6]); // column 1 = 2 × column 0
  assert.throws(() => thinQr(a, { requireFullRank: true }), /column 1 is linearly dependent/);
  const { q, r } = thinQr(a);
  assert.ok(Math.abs(r.data[3]!) < 1e-12);
  assert.ok(Math.abs(Math.hypot(...column(q, 0)) - 1) < 1e-14);
});

test('timesInverseTranspose solves Y Rᵀ = B; orthonormalityError measures max |VᵀV − I|', () => {
  const rng = new SeededRandom(5);
  const { q, r } = thinQr(randomMat(rng, 6, 4));
  assert.ok(orthonormalityError(q) < 1e-14);
  const b = randomMat(rng, 7, 4);
  const y = timesInverseTranspose(b, r);
  assert.ok(maxAbs(matmul(y, r, false, true).data, b.data) < 1e-12);
  // Hand case: columns (1, 0) and (1, 1)/√2 have VᵀV off-diagonal 1/√2.
  assert.ok(Math.abs(orthonormalityError(mat(2, 2, [1, Math.SQRT1_2, 0, Math.SQRT1_2])) - Math.SQRT1_2) < 1e-15);
});
