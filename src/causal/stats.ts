/** Small statistics for the causal analyses: numpy-style percentiles, Spearman ρ, seeded Gaussians. */
import { Mt19937 } from '../data/batches.js';

/** numpy.percentile(x, q) with the default linear interpolation between order statistics; NaN for no data. */
export function percentile(x: ArrayLike<number>, q: number): number {
  const s = Float64Array.from(x).sort();
  if (s.length === 0) return NaN;
  const pos = ((s.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Ranks 1..n, ties get the average rank (scipy.stats.rankdata 'average'). */
export function ranks(x: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const r = new Float64Array(x.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && x[idx[j + 1]!] === x[idx[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]!] = avg;
    i = j + 1;
  }
  return r;
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new Error(`pearson: lengths ${n} and ${b.length} differ`);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Spearman rank correlation (Pearson on average ranks, like scipy.stats.spearmanr); NaN when a side is constant. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(ranks(a), ranks(b));
}

/** Standard normal draws from MT19937 (Box–Muller on 53-bit uniforms). */
export class GaussianSource {
  private readonly rng: Mt19937;
  private spare: number | null = null;
  constructor(seed: number) {
    this.rng = new Mt19937(seed);
  }
  private uniform(): number {
    const a = this.rng.nextUint32() >>> 5;
    const b = this.rng.nextUint32() >>> 6;
    return (a * 67108864 + b + 1) / (9007199254740992 + 2); // (0, 1), never 0
  }
  next(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const t = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(t);
    return r * Math.cos(t);
  }
}

/**
 * The paper's chance level (App. C): the 5th percentile of the pairwise cosines of `count` Gaussian
 * vectors of dimension `dim`.
 */
export function randomCosineP5(dim: number, seed: number, count = 250): number {
  const src = new GaussianSource(seed);
  const vs: Float64Array[] = [];
  for (let i = 0; i < count; i++) {
    const v = Float64Array.from({ length: dim }, () => src.next());
    const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    vs.push(v.map((x) => x / n));
  }
  const cos: number[] = [];
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      let s = 0;
      const a = vs[i]!;
      const b = vs[j]!;
      for (let k = 0; k < dim; k++) s += a[k]! * b[k]!;
      cos.push(s);
    }
  }
  return percentile(cos, 5);
}
