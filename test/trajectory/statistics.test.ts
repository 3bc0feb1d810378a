/**
 * Every trajectory statistic against hand-computed values on tiny constant distributions, without a
 * language model: the graph functions of row-statistics.ts run through onnxruntime on small log-prob
 * tensors, and PredictionTrajectory is built from their outputs (exactly the arrays computeTrajectory
 * produces, in the same [row][batch][position] layout).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, type Value } from '../../src/graph/graph.js';
import { createRuntime } from '../../src/node/runtime.js';
import { jsOf, klOf, rowStatistics, tvOf } from '../../src/trajectory/row-statistics.js';
import type { TrajectoryData } from '../../src/trajectory/compute.js';
import { PredictionTrajectory, strideKeepLast } from '../../src/trajectory/prediction-trajectory.js';
import { tokenLabels } from '../../src/trajectory/token-display.js';
import type { Tokenizer } from '../../src/tokenizers/tokenizer.js';

const rt = createRuntime({ intraOpNumThreads: 1 });
const LN2 = Math.LN2;
/** float32 graph arithmetic on O(1) values. */
const TOL = 2e-6;

function close(actual: number, expected: number, what: string, tol = TOL): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected}`);
}

/** Runs `build` on float32 log-prob inputs of shape [N, T, V] (and optional int64 [N, T] id inputs). */
async function runGraph(
  floats: Record<string, { data: number[][][] }>,
  ints: Record<string, number[][]>,
  build: (inputs: Record<string, Value>) => Record<string, Value>,
): Promise<Record<string, Float32Array>> {
  const g = new Graph();
  const inputs: Record<string, Value> = {};
  const feeds: Record<string, Float32Array | BigInt64Array> = {};
  for (const [name, { data }] of Object.entries(floats)) {
    inputs[name] = g.input(name, 'float32', [data.length, data[0]!.length, data[0]![0]!.length]);
    feeds[name] = Float32Array.from(data.flat(2));
  }
  for (const [name, data] of Object.entries(ints)) {
    inputs[name] = g.input(name, 'int64', [data.length, data[0]!.length]);
    feeds[name] = BigInt64Array.from(data.flat(), (v) => BigInt(v < 0 ? 0 : v));
  }
  const res = await rt.run(build(inputs), feeds);
  // int64 outputs (top-k ids) are small integers: as float32 they read the same and keep the types simple.
  return Object.fromEntries(Object.entries(res).map(([k, v]) => [k, v.data instanceof BigInt64Array ? Float32Array.from(v.data, Number) : (v.data as Float32Array)]));
}

const logOf = (p: number[]): number[] => p.map(Math.log);

// Distributions over a 4-token vocabulary.
const A = [0.5, 0.25, 0.15, 0.1];
const B = [0.1, 0.2, 0.3, 0.4];
const C = [0.2, 0.6, 0.15, 0.05];
const E = [0.7, 0.1, 0.15, 0.05];
const P = [0.4, 0.4, 0.1, 0.1];
const Q = [0.1, 0.1, 0.4, 0.4];

test('row statistics: entropy, max-prob, forward KL, target log-prob (CE), rank, anti-target, top-k', async () => {
  // One row, one batch item, two positions: [A, B]; the "model output" is [E, E].
  const out = await runGraph({ logp: { data: [[logOf(A), logOf(B)]] }, outp: { data: [[logOf(E), logOf(E)]] } }, { tgt: [[2, 3]], anti: [[0, 1]] }, (x) => {
    const s = rowStatistics({ logp: x.logp!, outputLogp: x.outp!, targets: x.tgt!, antiTargets: x.anti!, topK: 2 });
    return { entropy: s.entropy, maxProb: s.maxProb, kl: s.forwardKl!, tl: s.targetLogp!, rank: s.rank!, al: s.antiTargetLogp!, tp: s.topProbs!, ti: s.topIds! };
  });
  // H(A) = −(.5 ln .5 + .25 ln .25 + .15 ln .15 + .1 ln .1)
  close(out.entropy![0]!, 0.5 * LN2 + 0.25 * 2 * LN2 - 0.15 * Math.log(0.15) - 0.1 * Math.log(0.1), 'H(A)');
  close(out.entropy![1]!, -(0.1 * Math.log(0.1) + 0.2 * Math.log(0.2) + 0.3 * Math.log(0.3) + 0.4 * Math.log(0.4)), 'H(B)');
  close(out.maxProb![0]!, 0.5, 'max p(A)');
  close(out.maxProb![1]!, 0.4, 'max p(B)');
  // Forward KL is KL(output ‖ row) = Σ E (ln E − ln row).
  close(out.kl![0]!, 0.7 * Math.log(0.7 / 0.5) + 0.1 * Math.log(0.1 / 0.25) + 0.15 * Math.log(0.15 / 0.15) + 0.05 * Math.log(0.05 / 0.1), 'KL(E‖A)');
  close(out.kl![1]!, 0.7 * Math.log(7) + 0.1 * Math.log(0.5) + 0.15 * Math.log(0.5) + 0.05 * Math.log(0.125), 'KL(E‖B)');
  // Cross entropy = −log p[target]: target 2 of A (0.15), target 3 of B (0.4).
  close(-out.tl![0]!, -Math.log(0.15), 'CE A');
  close(-out.tl![1]!, -Math.log(0.4), 'CE B');
  // Ranks are 1-based: 0.15 is third in A, 0.4 first in B.
  assert.deepEqual([...out.rank!], [3, 1]);
  // Log-prob difference target − anti-target.
  close(out.tl![0]! - out.al![0]!, Math.log(0.15 / 0.5), 'lpd A');
  close(out.tl![1]! - out.al![1]!, Math.log(0.4 / 0.2), 'lpd B');
  assert.deepEqual([...out.ti!], [0, 1, 3, 2]);
  [0.5, 0.25, 0.4, 0.3].forEach((p, i) => close(out.tp![i]!, p, `top prob ${i}`));
});

test('rank: the reference example (1×2×2×3, targets [0, 1]) gives ranks 3, 2, 2, 2', async () => {
  // tests/plotting/test_prediction_trajectory.py::test_rank_correctness, (batch, layer, seq, vocab). The
  // values are not normalised, which rank does not care about. The reference's own assertions (2, 1, 1, 1)
  // are 0-based; the statistic it plots (spec §10.1) is 1-based, as here.
  const logProbs = [
    [[0.1, 0.2, 0.3], [0.6, 0.5, 0.4]],
    [[0.85, 0.8, 0.9], [1.0, 1.1, 1.2]],
  ];
  // Layers go on the leading axis, so each layer is one "batch" row of the graph.
  const out = await runGraph({ logp: { data: logProbs } }, { tgt: [[0, 1], [0, 1]] }, (x) => ({ rank: rowStatistics({ logp: x.logp!, targets: x.tgt! }).rank! }));
  assert.deepEqual([...out.rank!], [3, 2, 2, 2]);
});

test('rank counts only strictly more probable tokens, so ties share the best rank', async () => {
  // P = [.4, .4, .1, .1]: targets 3 and 2 are tied third, targets 1 and 0 tied first.
  const out = await runGraph({ logp: { data: [[logOf(P), logOf(P), logOf(P), logOf(P)]] } }, { tgt: [[3, 2, 1, 0]] }, (x) => ({
    rank: rowStatistics({ logp: x.logp!, targets: x.tgt! }).rank!,
  }));
  assert.deepEqual([...out.rank!], [3, 3, 1, 1]);
});

test('KL, Jensen–Shannon and total variation between two distributions are the true definitions', async () => {
  const out = await runGraph({ p: { data: [[logOf(P), logOf(A)]] }, q: { data: [[logOf(Q), logOf(A)]] } }, {}, (x) => ({
    kl: klOf(x.p!, x.q!),
    klBack: klOf(x.q!, x.p!),
    js: jsOf(x.p!, x.q!),
    tv: tvOf(x.p!, x.q!),
  }));
  // KL(P‖Q) = 2·0.4 ln 4 + 2·0.1 ln ¼ = 0.6 ln 4.
  close(out.kl![0]!, 1.2 * LN2, 'KL(P‖Q)');
  close(out.klBack![0]!, 1.2 * LN2, 'KL(Q‖P)');
  // m = (P+Q)/2 is uniform, so JS = ln 4 − H(P) = 2 ln 2 − 0.8 ln 2.5 − 0.2 ln 10 ≈ 0.1927.
  const js = 2 * LN2 - 0.8 * Math.log(2.5) - 0.2 * Math.log(10);
  close(out.js![0]!, js, 'JS(P, Q)');
  // The reference's "JS" would be the symmetrised KL ½KL(P‖Q) + ½KL(Q‖P) = 1.2 ln 2 ≈ 0.83: different.
  assert.ok(Math.abs(out.js![0]! - 1.2 * LN2) > 0.5);
  // TV = ½ Σ|P − Q| = ½ · 4 · 0.3 = 0.6; the reference's max-abs would give 0.3.
  close(out.tv![0]!, 0.6, 'TV(P, Q)');
  // Identical distributions: everything 0.
  for (const k of ['kl', 'klBack', 'js', 'tv']) close(out[k]![1]!, 0, `${k}(A, A)`);
});

// ---------------------------------------------------------------------------------------------------
// PredictionTrajectory on graph-computed data

/** A tokenizer with a fixed 4-piece vocabulary, to get labels through tokenLabels / TokenFormatter. */
const fakeTokenizer: Tokenizer = {
  vocabSize: 4,
  bosId: 0,
  eosId: null,
  encode: () => [],
  decode: () => '',
  idToPiece: (id) => ['<s>', 'Ġthe', 'Ċ', 'ThisIsALongToken'][id]!,
};
const LABELS = tokenLabels(fakeTokenizer);

interface Cells {
  /** [row][batch][position] → distribution. */
  logp: number[][][][];
  other?: number[][][][];
  inputIds: number[][];
  targets: number[][];
  antiTargets?: number[][];
}

/** What computeTrajectory returns, built from explicit distributions (the last row is the model output). */
async function trajectoryData(c: Cells): Promise<TrajectoryData> {
  const R = c.logp.length;
  const Bn = c.logp[0]!.length;
  const T = c.logp[0]![0]!.length;
  const V = c.logp[0]![0]![0]!.length;
  const flatRows = (x: number[][][][]): number[][][] => x.flatMap((r) => r.map((b) => b.map(logOf)));
  const rep = <X>(m: X[]): X[] => Array.from({ length: R }, () => m).flat();
  // Every row is compared with the output row (forward KL), so the output is repeated once per row.
  const floats: Record<string, { data: number[][][] }> = {
    logp: { data: flatRows(c.logp) },
    outp: { data: flatRows(Array.from({ length: R }, () => c.logp[R - 1]!)) },
  };
  if (c.other) floats.other = { data: flatRows(c.other) };
  const ints: Record<string, number[][]> = { tgt: rep(c.targets) };
  if (c.antiTargets) ints.anti = rep(c.antiTargets);
  const o = await runGraph(floats, ints, (x) => {
    const s = rowStatistics({ logp: x.logp!, outputLogp: x.outp!, targets: x.tgt!, antiTargets: x.anti, topK: V });
    const res: Record<string, Value> = { entropy: s.entropy, maxProb: s.maxProb, kl: s.forwardKl!, tl: s.targetLogp!, rank: s.rank!, tp: s.topProbs!, ti: s.topIds! };
    if (s.antiTargetLogp) res.al = s.antiTargetLogp;
    if (x.other) Object.assign(res, { ckl: klOf(x.logp!, x.other), cjs: jsOf(x.logp!, x.other), ctv: tvOf(x.logp!, x.other) });
    return res;
  });
  const f = (k: string): Float32Array => o[k]!;
  // As computeTrajectory does: cells without a target are NaN.
  const ce = new Float32Array(R * Bn * T);
  const rank = f('rank');
  const lpd = c.antiTargets ? new Float32Array(R * Bn * T) : null;
  for (let r = 0; r < R; r++) {
    for (let b = 0; b < Bn; b++) {
      for (let t = 0; t < T; t++) {
        const i = (r * Bn + b) * T + t;
        const has = c.targets[b]![t]! >= 0;
        ce[i] = has ? -f('tl')[i]! : NaN;
        if (!has) rank[i] = NaN;
        if (lpd) lpd[i] = has && c.antiTargets![b]![t]! >= 0 ? f('tl')[i]! - f('al')[i]! : NaN;
      }
    }
  }
  return {
    lensKind: 'logit',
    inputIds: c.inputIds,
    targets: c.targets,
    antiTargets: c.antiTargets ?? null,
    rowLabels: [...Array.from({ length: R - 1 }, (_, i) => String(i)), 'output'],
    rows: R,
    batch: Bn,
    positions: T,
    topK: V,
    entropy: f('entropy'),
    maxProb: f('maxProb'),
    forwardKl: f('kl'),
    crossEntropy: ce,
    rank,
    logProbDiff: lpd,
    topIds: Int32Array.from(o.ti!),
    topProbs: f('tp'),
    comparison: c.other ? { kl: f('ckl'), js: f('cjs'), tv: f('ctv') } : null,
  };
}

// float64 references for the batch-averaged checks.
const H = (p: number[]): number => -p.reduce((s, x) => s + x * Math.log(x), 0);
const KL = (p: number[], q: number[]): number => p.reduce((s, x, i) => s + x * Math.log(x / q[i]!), 0);
const JS = (p: number[], q: number[]): number => {
  const m = p.map((x, i) => (x + q[i]!) / 2);
  return (KL(p, m) + KL(q, m)) / 2;
};
const TV = (p: number[], q: number[]): number => p.reduce((s, x, i) => s + Math.abs(x - q[i]!), 0) / 2;
const mean = (...xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

// 3 rows (layers 0, 1 + output) × 2 batch items × 2 positions.
const CELLS: Cells = {
  logp: [
    [[B, A], [B, C]],
    [[A, C], [C, C]],
    [[E, C], [E, A]],
  ],
  other: [
    [[A, A], [A, A]],
    [[B, B], [B, B]],
    [[E, C], [E, A]],
  ],
  inputIds: [[1, 2], [1, 3]],
  // Batch item 0 has no target at position 1 (−1): its cells are NaN and skipped by the batch mean.
  targets: [[2, -1], [0, 3]],
  antiTargets: [[3, 0], [1, 0]],
};

test('batch-averaged statistics match hand values; NaN cells are skipped', async () => {
  const traj = PredictionTrajectory.fromData(await trajectoryData(CELLS), LABELS);
  assert.equal(traj.rows, 3);
  assert.equal(traj.batch, 2);
  assert.deepEqual(traj.rowLabels, ['0', '1', 'output']);
  const check = (name: Parameters<typeof traj.statistic>[0], expected: (number | null)[][], tol = TOL): void => {
    const s = traj.statistic(name);
    assert.deepEqual(s.rowLabels, ['0', '1', 'output']);
    s.values.forEach((row, r) =>
      row.forEach((v, t) => {
        const e = expected[r]![t]!;
        if (e === null) assert.equal(v, null, `${name}[${r}][${t}]`);
        else close(v!, e, `${name}[${r}][${t}]`, tol);
      }),
    );
  };
  check('entropy', [
    [H(B), mean(H(A), H(C))],
    [mean(H(A), H(C)), H(C)],
    [H(E), mean(H(C), H(A))],
  ]);
  check('max-prob', [
    [0.4, mean(0.5, 0.6)],
    [mean(0.5, 0.6), 0.6],
    [0.7, mean(0.6, 0.5)],
  ]);
  check('kl', [
    [KL(E, B), mean(KL(C, A), KL(A, C))],
    [mean(KL(E, A), KL(E, C)), mean(KL(C, C), KL(A, C))],
    [0, 0],
  ]);
  // Targets: item 0 → [2, none], item 1 → [0, 3]. Position 1 averages item 1 alone.
  check('ce', [
    [mean(-Math.log(B[2]!), -Math.log(B[0]!)), -Math.log(C[3]!)],
    [mean(-Math.log(A[2]!), -Math.log(C[0]!)), -Math.log(C[3]!)],
    [mean(-Math.log(E[2]!), -Math.log(E[0]!)), -Math.log(A[3]!)],
  ]);
  check('rank', [
    [mean(2, 4), 4],
    [mean(3, 2), 4],
    [mean(2, 1), 4],
  ]);
  const lpd = (p: number[], t: number, a: number): number => Math.log(p[t]! / p[a]!);
  const lpdCells = [
    [mean(lpd(B, 2, 3), lpd(B, 0, 1)), lpd(C, 3, 0)],
    [mean(lpd(A, 2, 3), lpd(C, 0, 1)), lpd(C, 3, 0)],
    [mean(lpd(E, 2, 3), lpd(E, 0, 1)), lpd(A, 3, 0)],
  ];
  check('log-prob-diff', lpdCells);
  const delta = traj.statistic('log-prob-diff-delta');
  assert.equal(delta.name, 'Δ Log Prob Difference');
  assert.equal(delta.includesOutput, false);
  assert.deepEqual(delta.rowLabels, ['0→1', '1→output']);
  // Position 0 has no NaN, so the delta of means equals the mean of deltas there.
  close(delta.values[0]![0]!, lpdCells[1]![0]! - lpdCells[0]![0]!, 'delta 0→1');
  close(delta.values[1]![1]!, lpdCells[2]![1]! - lpdCells[1]![1]!, 'delta 1→output');
  const O = CELLS.other!;
  const pair = (f: (p: number[], q: number[]) => number): number[][] =>
    CELLS.logp.map((row, r) => [0, 1].map((t) => mean(f(row[0]![t]!, O[r]![0]![t]!), f(row[1]![t]!, O[r]![1]![t]!))));
  check('kl-other', pair(KL));
  check('js-other', pair(JS));
  check('tv-other', pair(TV));
});

test('statistic names, units and natural ranges follow the reference', async () => {
  const traj = PredictionTrajectory.fromData(await trajectoryData(CELLS), LABELS);
  const expect: [Parameters<typeof traj.statistic>[0], string, string, number | undefined, number | undefined][] = [
    ['entropy', 'Entropy', 'nats', 0, Math.log(4)],
    ['ce', 'Cross Entropy', 'nats', 0, Math.log(4)],
    ['kl', 'Forward KL', 'nats', 0, undefined],
    ['max-prob', 'Max Probability', 'probs', 0, 1],
    ['rank', 'Rank', '', 1, 4],
    ['log-prob-diff', 'Log Prob Difference', 'nats', undefined, undefined],
    ['kl-other', 'KL(Self | Other)', 'nats', 0, undefined],
    ['js-other', 'JS(Self | Other)', 'nats', 0, undefined],
    ['tv-other', 'TV(Self | Other)', 'probs', 0, 1],
  ];
  for (const [key, name, units, min, max] of expect) {
    const s = traj.statistic(key);
    assert.equal(s.name, name);
    assert.equal(s.units, units);
    assert.equal(s.min, min, `${key} min`);
    assert.equal(s.max, max, `${key} max`);
    assert.equal(s.includesOutput, true);
  }
  // Heatmap ranges: natural bounds, data where there are none, symmetric for log-prob differences.
  assert.deepEqual(traj.toHeatmap('entropy').range, [0, Math.log(4)]);
  assert.deepEqual(traj.toHeatmap('max-prob').range, [0, 1]);
  const rank = traj.toHeatmap('rank');
  assert.equal(rank.logScale, true);
  assert.deepEqual(rank.range, [1, 4]);
  const kl = traj.toHeatmap('kl');
  assert.equal(kl.range![0], 0);
  assert.ok(Math.abs(kl.range![1] - Math.max(...traj.statistic('kl').values.flat().map((v) => v!))) < 1e-12);
  const lpd = traj.toHeatmap('log-prob-diff');
  assert.equal(lpd.range![0], -lpd.range![1]);
  const delta = traj.toHeatmap('log-prob-diff-delta', { title: 'Δ' });
  assert.equal(delta.title, 'Δ');
  assert.deepEqual(delta.rowLabels, ['0→1', '1→output']);
  assert.deepEqual(delta.cellLabels, [['', ''], ['', '']]);
  assert.equal(delta.hover, undefined);
});

test('-other statistics and log-prob differences say what they need', async () => {
  const traj = PredictionTrajectory.fromData(await trajectoryData({ ...CELLS, other: undefined, antiTargets: undefined }), LABELS);
  assert.equal(traj.hasComparison, false);
  for (const s of ['kl-other', 'js-other', 'tv-other'] as const) assert.throws(() => traj.statistic(s), /compareWith/);
  assert.throws(() => traj.statistic('log-prob-diff'), /anti-?targets/i);
  assert.throws(() => traj.statistic('log-prob-diff-delta'), /anti-?targets/i);
  assert.throws(() => traj.statistic('bogus' as never), /unknown statistic "bogus"/);
});

test('cell labels are the top-1 token, "*" where the batch disagrees; hover is batch item 0; columns formatted', async () => {
  const traj = PredictionTrajectory.fromData(await trajectoryData(CELLS), LABELS);
  // Top-1 ids: A→0, B→3, C→1, E→0.
  assert.deepEqual(LABELS, ['<s>', '_the', '\\n', 'ThisIs…']);
  assert.deepEqual(traj.cellLabels(), [
    ['ThisIs…', '*'], // [B, A] vs [B, C]
    ['*', '_the'], // [A, C] vs [C, C]
    ['<s>', '*'], // [E, C] vs [E, A]
  ]);
  // Inputs [1, 2] and [1, 3]: the second position differs.
  assert.deepEqual(traj.columnLabels(), ['_the', '*']);
  const hover = traj.hover(2);
  assert.deepEqual(hover[0]![1]!.tokens, ['<s>', '_the']); // item 0 at (row 0, pos 1) is A
  hover[0]![1]!.probs.forEach((p, i) => close(p, A[i]!, `hover prob ${i}`));
  assert.equal(traj.hover().at(0)!.at(0)!.tokens.length, 4, 'topK is capped at what was kept');
  assert.throws(() => traj.hover(0), /positive integer/);
  // A single sequence shows every formatter rule in the column labels: Ġ → _, Ċ → \n, truncation to 7.
  const single = PredictionTrajectory.fromData(
    await trajectoryData({ logp: [[[A, B, C, E]], [[E, E, E, E]]], inputIds: [[0, 1, 2, 3]], targets: [[1, 2, 3, -1]] }),
    LABELS,
  );
  assert.deepEqual(single.columnLabels(), ['<s>', '_the', '\\n', 'ThisIs…']);
  const hm = single.toHeatmap('entropy', { topK: 3 });
  assert.deepEqual(hm.columnLabels, ['<s>', '_the', '\\n', 'ThisIs…']);
  assert.deepEqual(hm.cellLabels, [['<s>', 'ThisIs…', '_the', '<s>'], ['<s>', '<s>', '<s>', '<s>']]);
  assert.equal(hm.hover![0]![0]!.tokens.length, 3);
  assert.equal(hm.colorScale, 'rdbu_r');
  assert.equal(hm.statisticName, 'Entropy');
  assert.equal(hm.units, 'nats');
});

// ---------------------------------------------------------------------------------------------------
// stride and slice, on data whose values encode their own coordinates

/** R rows × B × T with every per-cell value = 100·row + 10·batch + position, and top-1 id = row mod V. */
function coordinateData(R: number, Bn: number, T: number): TrajectoryData {
  const n = R * Bn * T;
  const code = Float32Array.from({ length: n }, (_, i) => {
    const t = i % T;
    const b = Math.floor(i / T) % Bn;
    const r = Math.floor(i / (T * Bn));
    return 100 * r + 10 * b + t;
  });
  const K = 2;
  return {
    lensKind: 'tuned',
    inputIds: Array.from({ length: Bn }, () => Array.from({ length: T }, (_, t) => t % 4)),
    targets: Array.from({ length: Bn }, () => Array.from({ length: T }, () => 0)),
    antiTargets: null,
    rowLabels: [...Array.from({ length: R - 1 }, (_, i) => String(i)), 'output'],
    rows: R,
    batch: Bn,
    positions: T,
    topK: K,
    entropy: code,
    maxProb: code.slice(),
    forwardKl: code.slice(),
    crossEntropy: code.slice(),
    rank: code.slice(),
    logProbDiff: code.slice(),
    topIds: Int32Array.from({ length: n * K }, (_, j) => Math.floor(j / (K * Bn * T)) % 4),
    topProbs: new Float32Array(n * K).fill(0.5),
    comparison: null,
  };
}

test('stride keeps rows 0, k, 2k, … below the output plus the output row (reference _stride_keep_last)', () => {
  // The reference's own cases on [1..5]: k=1 identity, 2 → [1,3,5], 3 → [1,4,5], 4 or 5 → [1,5].
  const oneBased = (k: number): number[] => strideKeepLast(5, k).map((r) => r + 1);
  assert.deepEqual(oneBased(1), [1, 2, 3, 4, 5]);
  assert.deepEqual(oneBased(2), [1, 3, 5]);
  assert.deepEqual(oneBased(3), [1, 4, 5]);
  assert.deepEqual(oneBased(4), [1, 5]);
  assert.deepEqual(oneBased(5), [1, 5]);
  assert.deepEqual(strideKeepLast(1, 3), [0]);

  const traj = PredictionTrajectory.fromData(coordinateData(7, 2, 3), LABELS); // layers 0..5 + output
  const s = traj.stride(2);
  assert.deepEqual(s.rowLabels, ['0', '2', '4', 'output']);
  const ent = s.statistic('entropy');
  // Batch mean of 100r + 10b + t over b ∈ {0, 1} = 100r + 5 + t.
  assert.deepEqual(ent.values, [0, 2, 4, 6].map((r) => [0, 1, 2].map((t) => 100 * r + 5 + t)));
  assert.deepEqual(s.cellLabels().map((row) => row[0]), ['<s>', '\\n', '<s>', '\\n']); // top ids 0, 2, 0, 2
  assert.deepEqual(traj.stride(3).rowLabels, ['0', '3', 'output']);
  assert.deepEqual(traj.stride(6).rowLabels, ['0', 'output']);
  assert.deepEqual(traj.stride(100).rowLabels, ['0', 'output']);
  assert.equal(traj.stride(1), traj);
  // Delta rows are between consecutive *shown* rows.
  assert.deepEqual(s.statistic('log-prob-diff-delta').rowLabels, ['0→2', '2→4', '4→output']);
  assert.deepEqual(s.statistic('log-prob-diff-delta').values[2], [200, 200, 200]);
  assert.throws(() => traj.stride(0), /positive integer/);
  assert.throws(() => traj.stride(1.5), /positive integer/);
});

test('slice keeps positions [start, end), negative from the end, and rejects empty or out-of-range ranges', () => {
  const traj = PredictionTrajectory.fromData(coordinateData(3, 1, 6), LABELS);
  const mid = traj.slice(1, 4);
  assert.equal(mid.positions, 3);
  assert.deepEqual(mid.statistic('rank').values[2], [201, 202, 203]);
  assert.deepEqual(mid.columnLabels(), ['_the', '\\n', 'ThisIs…']);
  assert.deepEqual(mid.data.inputIds, [[1, 2, 3]]);
  assert.deepEqual(traj.slice(-2).statistic('entropy').values[0], [4, 5]);
  assert.deepEqual(traj.slice(-3, -1).statistic('entropy').values[1], [103, 104]);
  assert.equal(traj.slice(0, 6), traj);
  // Slicing and striding compose.
  assert.deepEqual(traj.slice(2, 3).stride(2).statistic('max-prob').values, [[2], [202]]);
  assert.throws(() => traj.slice(3, 3), /empty/);
  assert.throws(() => traj.slice(4, 2), /empty/);
  assert.throws(() => traj.slice(0, 7), /outside the 6 input positions/);
  assert.throws(() => traj.slice(-7, 2), /outside the 6 input positions/);
  assert.throws(() => traj.slice(6), /outside/);
});

test('fromData rejects arrays that do not match the declared shape', () => {
  const d = coordinateData(3, 1, 4);
  assert.throws(() => PredictionTrajectory.fromData({ ...d, entropy: new Float32Array(5) }, LABELS), /entropy: 5 values, expected 12/);
  assert.throws(() => PredictionTrajectory.fromData({ ...d, rowLabels: ['0'] }, LABELS), /row labels/);
  assert.throws(() => PredictionTrajectory.fromData(d, ['a', 'b']), /no label/);
});
