/** AUROC, ROC curve and the bootstrap interval against hand-computed values, ties included. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auroc, bootstrapAuroc, percentile, rocCurve } from '../../src/applications/roc.js';

test('AUROC by hand: sklearn\'s example, ties counted half, one class → null', () => {
  // Positives 0.35 and 0.8 against negatives 0.1 and 0.4: 0.35 beats 0.1, loses to 0.4; 0.8 beats both → 3/4.
  assert.equal(auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
  // Positive 0.5 ties negative 0.5 (½) and beats 0.2; 0.9 beats both → (½ + 1 + 1 + 1) / 4.
  assert.equal(auroc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]), 0.875);
  // All tied → ½.
  assert.equal(auroc([0, 1, 1, 0], [3, 3, 3, 3]), 0.5);
  assert.equal(auroc([1, 1, 0], [0.1, 0.2, 0.9]), 0);
  assert.equal(auroc([1, 1], [0.1, 0.2]), null);
  assert.equal(auroc([], []), null);
  assert.throws(() => auroc([0, 2], [1, 2]), /0 or 1/);
});

test('ROC curve: tied scores form one step; (0,0) to (1,1)', () => {
  const pts = rocCurve([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]).map((p) => [p.fpr, p.tpr]);
  assert.deepEqual(pts, [[0, 0], [0, 0.5], [0.5, 1], [1, 1]]);
  assert.deepEqual(rocCurve([1, 1], [1, 2]), []);
});

test('percentile follows numpy\'s linear interpolation', () => {
  assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
  assert.ok(Math.abs(percentile([1, 2, 3, 4], 2.5) - 1.075) < 1e-12);
  assert.ok(Math.abs(percentile([1, 2, 3, 4], 97.5) - 3.925) < 1e-12);
});

test('bootstrap interval: deterministic for a seed, brackets the AUROC, [1, 1] for perfect separation', () => {
  const labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
  const scores = [0.1, 0.3, 0.2, 0.6, 0.45, 0.5, 0.7, 0.4, 0.9, 0.8];
  const a = bootstrapAuroc(labels, scores, { seed: 7 });
  assert.deepEqual(bootstrapAuroc(labels, scores, { seed: 7 }), a);
  assert.notDeepEqual(bootstrapAuroc(labels, scores, { seed: 8, samples: 20 }).ci95, bootstrapAuroc(labels, scores, { seed: 7, samples: 20 }).ci95);
  assert.equal(a.samples, 1000);
  const point = auroc(labels, scores)!;
  assert.ok(a.ci95![0] < point && point < a.ci95![1], `${a.ci95} around ${point}`);
  assert.deepEqual(bootstrapAuroc([0, 0, 1, 1], [0, 1, 2, 3], { seed: 1, samples: 200 }).ci95, [1, 1]);
  // One class only: every resample is skipped and the interval is null (never NaN).
  const none = bootstrapAuroc([1, 1, 1], [1, 2, 3], { samples: 10 });
  assert.equal(none.ci95, null);
  assert.equal(none.skipped, 10);
});
