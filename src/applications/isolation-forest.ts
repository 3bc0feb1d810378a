/**
 * Isolation Forest (Liu, Ting & Zhou 2008) as scikit-learn's `IsolationForest` defaults: 100 trees, each
 * grown on `min(256, n)` training rows drawn without replacement, to depth ⌈log2(ψ)⌉; every split picks a
 * random non-constant feature and a threshold uniform between its min and max in the node. A row's
 * anomaly score is s = 2^(−E[h] / c(ψ)), where h = depth of its leaf + c(rows in that leaf): near 1 for
 * rows isolated quickly (anomalies), well below ½ for ordinary rows. sklearn's `score_samples` is −s.
 * No npm package was used: the ones published are unmaintained, and the algorithm is short.
 */
import { SeededRandom } from './random.js';

const EULER_GAMMA = 0.5772156649015329;

/**
 * c(n): the average path length of an unsuccessful search in a binary search tree of n rows, the
 * normaliser of the paper and sklearn (`_average_path_length`): 0 for n ≤ 1, 1 for n = 2, otherwise
 * 2 (ln(n − 1) + γ) − 2 (n − 1) / n.
 */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

/** A tree in flat arrays: node i is a leaf when feature[i] = −1 (then size[i] rows ended there). */
export interface IsolationTree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  size: number[];
}

export interface IsolationForestModel {
  kind: 'iforest';
  /** Rows per tree (ψ). */
  maxSamples: number;
  nFeatures: number;
  trees: IsolationTree[];
}

export interface IsolationForestOptions {
  /** Default 100 (sklearn). */
  nEstimators?: number;
  /** Rows per tree; default min(256, n) (sklearn's "auto"). */
  maxSamples?: number;
  seed?: number;
}

function growTree(x: readonly Float64Array[], rows: number[], maxDepth: number, rng: SeededRandom): IsolationTree {
  const t: IsolationTree = { feature: [], threshold: [], left: [], right: [], size: [] };
  const D = x[0]!.length;
  const build = (idx: number[], depth: number): number => {
    const node = t.feature.length;
    t.feature.push(-1);
    t.threshold.push(0);
    t.left.push(-1);
    t.right.push(-1);
    t.size.push(idx.length);
    if (depth >= maxDepth || idx.length <= 1) return node;
    // Draw features without replacement until one varies within the node (sklearn's random splitter).
    const candidates = Array.from({ length: D }, (_, i) => i);
    for (let remaining = D; remaining > 0; remaining--) {
      const pick = rng.int(remaining);
      const f = candidates[pick]!;
      candidates[pick] = candidates[remaining - 1]!;
      let lo = Infinity;
      let hi = -Infinity;
      for (const r of idx) {
        const v = x[r]![f]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (!(hi > lo)) continue;
      let thr = lo + rng.float() * (hi - lo);
      if (thr >= hi) thr = lo; // guard against rounding: keep both sides non-empty
      const l = idx.filter((r) => x[r]![f]! <= thr);
      const rr = idx.filter((r) => x[r]![f]! > thr);
      t.feature[node] = f;
      t.threshold[node] = thr;
      t.left[node] = build(l, depth + 1);
      t.right[node] = build(rr, depth + 1);
      return node;
    }
    return node; // every feature is constant here: a leaf
  };
  build(rows, 0);
  return t;
}

export function fitIsolationForest(x: readonly Float64Array[], options: IsolationForestOptions = {}): IsolationForestModel {
  const n = x.length;
  if (n === 0) throw new Error('Isolation Forest: no training rows');
  const D = x[0]!.length;
  if (x.some((r) => r.length !== D)) throw new Error('Isolation Forest: rows differ in length');
  const psi = Math.min(options.maxSamples ?? 256, n);
  const maxDepth = Math.ceil(Math.log2(Math.max(psi, 2)));
  const rng = new SeededRandom(options.seed ?? 0);
  const trees = Array.from({ length: options.nEstimators ?? 100 }, () => growTree(x, rng.sample(n, psi), maxDepth, rng));
  return { kind: 'iforest', maxSamples: psi, nFeatures: D, trees };
}

/** Path length h(x) in one tree: edges to the leaf plus c(rows that ended in that leaf). */
export function pathLength(tree: IsolationTree, row: ArrayLike<number>): number {
  let node = 0;
  let depth = 0;
  while (tree.feature[node]! >= 0) {
    node = row[tree.feature[node]!]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
    depth++;
  }
  return depth + averagePathLength(tree.size[node]!);
}

/** Anomaly score s = 2^(−mean h / c(ψ)) in (0, 1]; higher = more anomalous. */
export function isolationForestScore(model: IsolationForestModel, row: ArrayLike<number>): number {
  if (row.length !== model.nFeatures) throw new Error(`Isolation Forest: row has ${row.length} features, the model ${model.nFeatures}`);
  let sum = 0;
  for (const t of model.trees) sum += pathLength(t, row);
  const c = averagePathLength(model.maxSamples);
  return c === 0 ? 0.5 : 2 ** (-(sum / model.trees.length) / c);
}
