/**
 * Local Outlier Factor (Breunig et al. 2000) in novelty mode, as scikit-learn's
 * `LocalOutlierFactor(novelty=True)` defaults (k = 20 neighbours, clipped to n − 1; Euclidean distance):
 *   k-distance(o) = distance from training row o to its k-th nearest other training row;
 *   reach(a, o)   = max(k-distance(o), d(a, o));
 *   lrd(a)        = 1 / (mean over a's k nearest training rows o of reach(a, o) + 1e-10);
 *   LOF(x)        = mean of lrd(o) over x's k nearest training rows / lrd(x).
 * A new row x never counts itself; training rows exclude themselves when their own k-distance and lrd
 * are computed. LOF ≈ 1 inside the data, larger for outliers (sklearn's `score_samples` is −LOF).
 */

export interface LofModel {
  kind: 'lof';
  k: number;
  /** Training rows (the model is the data). */
  train: number[][];
  kDistance: number[];
  lrd: number[];
}

function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return Math.sqrt(s);
}

/** Indices and distances of the k nearest training rows (ties broken by index), skipping `exclude`. */
function nearest(train: readonly ArrayLike<number>[], x: ArrayLike<number>, k: number, exclude = -1): { idx: number[]; dist: number[] } {
  const all: [number, number][] = [];
  train.forEach((r, i) => {
    if (i !== exclude) all.push([distance(r, x), i]);
  });
  all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const top = all.slice(0, k);
  return { idx: top.map((t) => t[1]), dist: top.map((t) => t[0]) };
}

const lrdOf = (idx: number[], dist: number[], kDistance: readonly number[]): number =>
  1 / (idx.reduce((s, o, j) => s + Math.max(kDistance[o]!, dist[j]!), 0) / idx.length + 1e-10);

export function fitLof(x: readonly ArrayLike<number>[], options: { nNeighbors?: number } = {}): LofModel {
  const n = x.length;
  if (n < 2) throw new Error(`Local Outlier Factor needs at least 2 training rows, got ${n}`);
  const k = Math.min(options.nNeighbors ?? 20, n - 1);
  const neigh = x.map((r, i) => nearest(x, r, k, i));
  const kDistance = neigh.map((nb) => nb.dist[k - 1]!);
  const lrd = neigh.map((nb) => lrdOf(nb.idx, nb.dist, kDistance));
  return { kind: 'lof', k, train: x.map((r) => Array.from(r)), kDistance, lrd };
}

/** LOF of a new row against the training rows; higher = more anomalous. */
export function lofScore(model: LofModel, row: ArrayLike<number>): number {
  if (row.length !== model.train[0]!.length) throw new Error(`Local Outlier Factor: row has ${row.length} features, the model ${model.train[0]!.length}`);
  const { idx, dist } = nearest(model.train, row, model.k);
  const lrdX = lrdOf(idx, dist, model.kDistance);
  return idx.reduce((s, o) => s + model.lrd[o]!, 0) / idx.length / lrdX;
}
