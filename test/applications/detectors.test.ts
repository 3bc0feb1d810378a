/**
 * The detector maths against hand-computed cases: Isolation Forest's c(n) and path lengths, LOF on tiny
 * sets worked out on paper, PCA against the eigen-equation of the covariance, the seeded helpers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { averagePathLength, fitIsolationForest, isolationForestScore, pathLength, type IsolationTree } from '../../src/applications/isolation-forest.js';
import { fitLof, lofScore } from '../../src/applications/lof.js';
import { fitPca, pcaTransform } from '../../src/applications/pca.js';
import { derangement, SeededRandom } from '../../src/applications/random.js';
import { splitNormal } from '../../src/applications/injection.js';

const close = (a: number, b: number, tol = 1e-9, msg = '') => assert.ok(Math.abs(a - b) <= tol, `${msg} ${a} vs ${b}`);

test('Isolation Forest c(n): 0, 1, then 2(ln(n−1) + γ) − 2(n−1)/n (sklearn _average_path_length)', () => {
  assert.equal(averagePathLength(0), 0);
  assert.equal(averagePathLength(1), 0);
  assert.equal(averagePathLength(2), 1);
  // c(3) = 2(ln 2 + γ) − 4/3 = 2(0.69314718056 + 0.57721566490) − 1.33333333333
  close(averagePathLength(3), 1.2073923575896, 1e-12);
  close(averagePathLength(256), 10.244770920119917, 1e-12);
  // Against the harmonic-number form 2H(n−1) − 2(n−1)/n, which it approximates to O(1/n).
  let h = 0;
  for (let i = 1; i < 1000; i++) h += 1 / i;
  close(averagePathLength(1000), 2 * h - (2 * 999) / 1000, 2e-3);
});

test('Isolation Forest path length: depth to the leaf plus c(leaf size)', () => {
  // root: x0 ≤ 0.5 → leaf of 1 row; else node 2: x1 ≤ 2 → leaf of 3 rows, else leaf of 2 rows.
  const tree: IsolationTree = { feature: [0, -1, 1, -1, -1], threshold: [0.5, 0, 2, 0, 0], left: [1, -1, 3, -1, -1], right: [2, -1, 4, -1, -1], size: [6, 1, 5, 3, 2] };
  assert.equal(pathLength(tree, [0, 9]), 1 + 0);
  close(pathLength(tree, [1, 1]), 2 + 1.2073923575896, 1e-12);
  assert.equal(pathLength(tree, [1, 3]), 2 + 1);
});

test('Isolation Forest: an obvious outlier scores highest, scores in (0, 1], same seed → same forest', () => {
  const rng = new SeededRandom(3);
  const x = Array.from({ length: 200 }, () => Float64Array.from([rng.float(), rng.float(), rng.float()]));
  const model = fitIsolationForest(x, { seed: 1 });
  assert.equal(model.maxSamples, 200);
  assert.equal(model.trees.length, 100);
  const inlier = isolationForestScore(model, [0.5, 0.5, 0.5]);
  const outlier = isolationForestScore(model, [5, -4, 0.5]);
  assert.ok(outlier > 0.6 && outlier <= 1, `outlier ${outlier}`);
  assert.ok(inlier < 0.5, `inlier ${inlier}`);
  assert.deepEqual(fitIsolationForest(x, { seed: 1 }), model);
  assert.notDeepEqual(fitIsolationForest(x, { seed: 2 }).trees[0], model.trees[0]);
  // ψ = min(256, n); constant data cannot be split: every tree is one leaf, h = c(ψ), s = 2^-1.
  const flat = fitIsolationForest(Array.from({ length: 10 }, () => Float64Array.from([1, 1])), { seed: 0 });
  close(isolationForestScore(flat, [1, 1]), 0.5, 1e-12);
  close(isolationForestScore(flat, [7, 7]), 0.5, 1e-12);
});

test('LOF (novelty) on the unit square, k = 2, by hand', () => {
  // Every corner's two nearest others are its neighbours at distance 1: k-distance 1, lrd 1.
  const sq = [[0, 0], [1, 0], [0, 1], [1, 1]];
  const m = fitLof(sq, { nNeighbors: 2 });
  assert.deepEqual(m.kDistance, [1, 1, 1, 1]);
  m.lrd.forEach((v) => close(v, 1, 1e-9));
  // Centre: distance √½ to all, reach = max(1, √½) = 1 → lrd 1 → LOF 1.
  close(lofScore(m, [0.5, 0.5]), 1, 1e-9);
  // (3, 0): nearest (1,0) at 2 and (1,1) at √5; reach 2 and √5 → lrd = 2/(2+√5); LOF = 1/lrd = (2+√5)/2.
  close(lofScore(m, [3, 0]), (2 + Math.sqrt(5)) / 2, 1e-9);
});

test('LOF (novelty) on the line {0, 1, 3}, k = 1, by hand', () => {
  const m = fitLof([[0], [1], [3]], { nNeighbors: 1 });
  assert.deepEqual(m.kDistance, [1, 1, 2]);
  // lrd(0) = 1/max(kd(1)=1, 1) = 1; lrd(1) = 1/max(kd(0)=1, 1) = 1; lrd(3) = 1/max(kd(1)=1, 2) = ½.
  [1, 1, 0.5].forEach((v, i) => close(m.lrd[i]!, v, 1e-9));
  // 7: nearest 3 at 4 → reach max(2, 4) = 4 → lrd ¼ → LOF = ½ / ¼ = 2.
  close(lofScore(m, [7]), 2, 1e-8);
  // 3.5: nearest 3 at ½ → reach max(2, ½) = 2 → lrd ½ → LOF = 1.
  close(lofScore(m, [3.5]), 1, 1e-8);
  // k is clipped to n − 1, as sklearn does.
  assert.equal(fitLof([[0], [1], [3]]).k, 2);
  assert.throws(() => fitLof([[0]]), /at least 2/);
});

test('PCA: a hand case (variances 8/3 and 2/3 along the 45° axes), and both solver paths satisfy C v = λ v', () => {
  const r = Math.SQRT1_2;
  // (±2, 0) and (0, ±1), rotated by 45°: mean 0, variances 8/3 and 2/3 (n − 1 = 3).
  const pts = [[2, 0], [-2, 0], [0, 1], [0, -1]].map(([a, b]) => [r * a! - r * b!, r * a! + r * b!]);
  const p = fitPca(pts, 2);
  close(p.explainedVariance[0]!, 8 / 3, 1e-12);
  close(p.explainedVariance[1]!, 2 / 3, 1e-12);
  close(p.explainedVarianceRatio[0]!, 0.8, 1e-12);
  close(Math.abs(p.components[0]![0]!), r, 1e-12);
  close(p.components[0]![0]! * p.components[0]![1]!, 0.5, 1e-12);
  const z = pcaTransform(p, [r * 2, r * 2]); // (2, 0) rotated → ±2 on the first axis, 0 on the second
  close(Math.abs(z[0]!), 2, 1e-12);
  close(z[1]!, 0, 1e-12);

  const rng = new SeededRandom(5);
  for (const [n, D] of [[5, 8], [12, 4]] as const) {
    // n ≤ D uses the Gram matrix, n > D the covariance: check each against C v = λ (n−1) v directly.
    const x = Array.from({ length: n }, () => Array.from({ length: D }, () => rng.float() * (1 + rng.float())));
    const q = fitPca(x, 3);
    const xc = x.map((row) => row.map((v, j) => v - q.mean[j]!));
    q.components.forEach((v, c) => {
      const cv = new Array<number>(D).fill(0);
      for (const row of xc) {
        const dot = row.reduce((s, a, j) => s + a * v[j]!, 0);
        row.forEach((a, j) => (cv[j]! += a * dot));
      }
      cv.forEach((val, j) => close(val, q.explainedVariance[c]! * (n - 1) * v[j]!, 1e-9, `n=${n} axis ${c}`));
      close(Math.hypot(...v), 1, 1e-12);
    });
    assert.ok(q.explainedVariance[0]! >= q.explainedVariance[1]! && q.explainedVariance[1]! >= q.explainedVariance[2]!);
  }
});

test('seeded helpers: derangements have no fixed point; splits are disjoint, sized, and checked', () => {
  const rng = new SeededRandom(9);
  for (let n = 2; n < 9; n++) {
    const d = derangement(n, rng);
    assert.deepEqual([...d].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    d.forEach((v, i) => assert.notEqual(v, i));
  }
  assert.throws(() => derangement(1, rng), /cannot be deranged/);
  const s = splitNormal(10, 0.75, 4);
  assert.equal(s.train.length, 7);
  assert.equal(s.heldOut.length, 3);
  assert.deepEqual([...s.train, ...s.heldOut].sort((a, b) => a - b), Array.from({ length: 10 }, (_, i) => i));
  assert.deepEqual(splitNormal(10, 0.75, 4), s);
  assert.throws(() => splitNormal(2, 0.75, 0), /too few/);
  assert.throws(() => splitNormal(3, 0.5, 0), /too few/); // 1 would train
});
