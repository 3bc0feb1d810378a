import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDir } from '../helpers/shared-data.js';
import { mat, singularVectors } from '../../src/linalg/dense.js';
import { SeededRandom } from '../../src/weights/random.js';
import { buildPpmiVectors, parseWordVectors, ppmiMatrix, splitWords, truncatedSvd, type Csr } from '../../src/weights/word-vectors.js';
import { interpretabilityScore, pieceToWord } from '../../src/weights/score.js';

function entry(m: Csr, r: number, c: number): number {
  for (let p = m.rowStart[r]!; p < m.rowStart[r + 1]!; p++) if (m.col[p] === c) return m.value[p]!;
  return 0;
}

test('word2vec (header) and GloVe (no header) text formats parse to unit vectors; bad lines name file and line', () => {
  const w2v = parseWordVectors('2 3\ncat 1 0 0\ndog 3 4 0\n', 'w.txt');
  assert.equal(w2v.size, 2);
  const dog = w2v.get('dog')!;
  assert.ok(Math.abs(dog[0]! - 0.6) < 1e-7 && Math.abs(dog[1]! - 0.8) < 1e-7 && dog[2] === 0);
  const glove = parseWordVectors('cat 1 0\ndog 0 2\n', 'g.txt');
  assert.equal(glove.dim, 2);
  assert.equal(glove.get('bird'), null);
  assert.throws(() => parseWordVectors('cat 1 0\ndog 0\n', 'bad.txt'), /bad\.txt:2/);
  assert.throws(() => parseWordVectors('cat 1 x\n', 'bad.txt'), /"x" is not a number/);
  const round = parseWordVectors(w2v.toText(), 'r.txt');
  assert.deepEqual(round.words, ['cat', 'dog']);
});

test('PPMI by hand on "a b a b c a" with window 1', () => {
  assert.deepEqual(splitWords("A b, don't!"), ['a', 'b', "don't"]);
  // pairs: (a,b) 3, (b,a) 3, (b,c) 1, (c,b) 1, (c,a) 1, (a,c) 1; row sums a 4, b 4, c 2; total 10.
  const plain = ppmiMatrix(['a b a b c a'], { minCount: 1, window: 1, alpha: 1 });
  assert.deepEqual(plain.words, ['a', 'b', 'c']);
  const [a, b, c] = [0, 1, 2];
  assert.ok(Math.abs(entry(plain.ppmi, a, b) - Math.log((3 * 10) / (4 * 4))) < 1e-12);
  assert.ok(Math.abs(entry(plain.ppmi, a, c) - Math.log(10 / (4 * 2))) < 1e-12);
  assert.ok(Math.abs(entry(plain.ppmi, c, a) - Math.log(10 / (2 * 4))) < 1e-12);
  assert.equal(entry(plain.ppmi, a, a), 0);
  // Smoothed context distribution: #c^0.75 / Σ #c'^0.75.
  const smooth = ppmiMatrix(['a b a b c a'], { minCount: 1, window: 1, alpha: 0.75 });
  const total = 2 * 4 ** 0.75 + 2 ** 0.75;
  assert.ok(Math.abs(entry(smooth.ppmi, a, c) - Math.log(total / (4 * 2 ** 0.75))) < 1e-12);
  // A negative PMI is clipped (not stored): (b, c) = log(1 · total / (4 · 2^0.75)) > 0 here, but with alpha 1 and
  // an extra frequent context it would fall below zero.
  const clipped = ppmiMatrix(['a b a b a b a b c'], { minCount: 1, window: 1, alpha: 1 });
  const bi = clipped.words.indexOf('b');
  const ci = clipped.words.indexOf('c');
  assert.ok(entry(clipped.ppmi, bi, ci) > 0);
  assert.equal(entry(clipped.ppmi, clipped.words.indexOf('a'), clipped.words.indexOf('a')), 0);
});

test('truncatedSvd finds the top singular values of a sparse matrix like the dense decomposition', () => {
  const rng = new SeededRandom(5);
  const n = 60;
  const dense = mat(n, n);
  const rowStart = new Int32Array(n + 1);
  const col: number[] = [];
  const value: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (rng.uniform() < 0.15) {
        const v = rng.uniform() * (1 + (i % 5));
        dense.data[i * n + j] = v;
        col.push(j);
        value.push(v);
      }
    }
    rowStart[i + 1] = col.length;
  }
  const sparse: Csr = { rows: n, cols: n, rowStart, col: Int32Array.from(col), value: Float64Array.from(value) };
  const exact = singularVectors(dense, 'left');
  const approx = truncatedSvd(sparse, 5, 1, 8);
  for (let j = 0; j < 5; j++) assert.ok(Math.abs(approx.values[j]! - exact.values[j]!) < 1e-6 * exact.values[0]!, `σ${j}: ${approx.values[j]} vs ${exact.values[j]}`);
  // The top left singular vector agrees up to sign.
  let dot = 0;
  for (let i = 0; i < n; i++) dot += approx.left.data[i * 5]! * exact.vectors.data[i]!;
  assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-6);
});

test('PPMI + SVD vectors of the TinyStories sample put related words closer than unrelated ones', () => {
  const text = readFileSync(join(sharedDir(), 'corpora', 'tinystories_sample.txt'), 'utf8');
  const wv = buildPpmiVectors([text], { dim: 50 });
  const cos = (x: string, y: string): number => {
    const a = wv.get(x)!;
    const b = wv.get(y)!;
    return a.reduce((s, v, i) => s + v * b[i]!, 0);
  };
  assert.ok(cos('boy', 'girl') > cos('boy', 'very') + 0.2, `boy/girl ${cos('boy', 'girl')} vs boy/very ${cos('boy', 'very')}`);
  assert.ok(cos('happy', 'sad') > cos('happy', 'tree'));
  // Score of a coherent list beats a mixed one.
  for (const [coherentList, mixedList] of [
    [['▁dog', '▁cat', '▁bird', '▁fish'], ['▁dog', '▁said', '▁very', '▁under']],
    [['▁red', '▁blue', '▁green'], ['▁red', '▁ran', '▁very']],
  ]) {
    const coherent = interpretabilityScore(coherentList!, wv).score!;
    const mixed = interpretabilityScore(mixedList!, wv).score!;
    assert.ok(coherent > mixed + 0.1, `${coherent} vs ${mixed}`);
  }
});

test('interpretability score: hand-built vectors, duplicate words once, pieces without vectors skipped and counted', () => {
  assert.equal(pieceToWord('▁Lily'), 'lily');
  assert.equal(pieceToWord('Ġthe'), 'the');
  assert.equal(pieceToWord(' happy'), 'happy');
  assert.equal(pieceToWord('<0x0A>'), null);
  assert.equal(pieceToWord('▁'), null);
  const wv = parseWordVectors('a 1 0\nb 0 1\nc 1 1\n', 'v.txt');
  // pairs: a·b = 0, a·c = b·c = 1/√2 → mean √2/3.
  const s = interpretabilityScore(['▁a', 'b', 'Ġc', '▁A', 'zzz', '<0x0A>'], wv);
  assert.ok(Math.abs(s.score! - Math.SQRT2 / 3) < 1e-6);
  assert.equal(s.used, 3);
  assert.equal(s.skipped, 2);
  assert.equal(interpretabilityScore(['a', 'zzz'], wv).score, null);
});
