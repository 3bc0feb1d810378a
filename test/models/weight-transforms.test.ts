/** The in-place transpose against the definition, on shapes with long and short permutation cycles. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transpose2dInPlace } from '../../src/models/weight-transforms.js';

for (const [r, c] of [[1, 1], [1, 7], [7, 1], [2, 2], [3, 5], [5, 3], [4, 6], [13, 17], [64, 48], [96, 384]] as const) {
  test(`transpose2dInPlace [${r}, ${c}] equals out[j][i] = in[i][j], in the same array`, () => {
    const data = Float32Array.from({ length: r * c }, (_, i) => i * 0.5 - 3);
    const original = data.slice();
    const t = transpose2dInPlace({ shape: [r, c], data });
    assert.deepEqual(t.shape, [c, r]);
    assert.equal(t.data, data);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) assert.equal(t.data[j * r + i], original[i * c + j], `element [${i}, ${j}]`);
  });
}
