/**
 * Seeded randomness for the applications (detectors, splits, bootstrap, derangements): the project's
 * MT19937 (src/data/batches.ts) behind a few convenience draws, so every result is reproducible from
 * its `--seed`.
 */
import { Mt19937 } from '../data/batches.js';

export class SeededRandom {
  private readonly mt: Mt19937;
  constructor(seed: number) {
    this.mt = new Mt19937(seed);
  }

  /** Uniform in [0, 1) with 53 random bits (Python's `random.random()` construction). */
  float(): number {
    const a = this.mt.nextUint32() >>> 5;
    const b = this.mt.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`SeededRandom.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.float() * n);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    return p;
  }

  /** `k` distinct indices of 0..n-1 in random order. */
  sample(n: number, k: number): number[] {
    if (k > n) throw new Error(`SeededRandom.sample: cannot draw ${k} of ${n} without replacement`);
    return this.permutation(n).slice(0, k);
  }
}

/**
 * A uniformly random derangement of 0..n-1 (no fixed point), by rejection: a random permutation is a
 * derangement with probability ≈ 1/e, so a few draws suffice. n = 1 has none.
 */
export function derangement(n: number, rng: SeededRandom): number[] {
  if (n === 1) throw new Error('a single item cannot be deranged');
  for (;;) {
    const p = rng.permutation(n);
    if (p.every((v, i) => v !== i)) return p;
  }
}
