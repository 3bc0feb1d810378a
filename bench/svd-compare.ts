/**
 * SVD timing: ml-matrix (a maintained package) against our Gram-matrix route (src/linalg/dense.ts)
 * on the GPT-2-small shapes the weight analysis meets (768×768, 768×3072). Run with
 * ML_MATRIX=/path/to/node_modules/ml-matrix node --import tsx bench/svd-compare.ts (ml-matrix is not a
 * dependency; install it anywhere to compare). Results are in docs/weights.md.
 */
import { mat, singularVectors, matmul, transpose } from '../src/linalg/dense.js';
import { SeededRandom } from '../src/weights/random.js';

async function main(): Promise<void> {
  const rng = new SeededRandom(0);
  for (const [m, n] of [[768, 768], [3072, 768]] as const) {
    const a = mat(m, n, Array.from({ length: m * n }, () => rng.gaussian() / Math.sqrt(n)));
    let t = performance.now();
    const ours = singularVectors(a, 'right');
    const oursMs = performance.now() - t;
    // accuracy: ‖A v‖ = σ for the top and bottom vectors
    const check = (k: number): number => {
      const v = mat(n, 1, ours.vectors.data.subarray(k * n, k * n + n));
      return Math.abs(Math.hypot(...matmul(a, v).data) - ours.values[k]!);
    };
    let line = `${m}×${n}: ours (Gram + tred2/tql2, float64) ${oursMs.toFixed(0)} ms, |‖Av‖-σ| top ${check(0).toExponential(1)} bottom ${check(n - 1).toExponential(1)}`;
    const mlPath = process.env.ML_MATRIX;
    if (mlPath) {
      const ml = (await import(mlPath)) as { Matrix: { from1DArray(r: number, c: number, d: number[]): unknown }; SingularValueDecomposition: new (m: unknown, o?: Record<string, unknown>) => { diagonal: number[] } };
      const M = ml.Matrix.from1DArray(m, n, Array.from(a.data));
      t = performance.now();
      const svd = new ml.SingularValueDecomposition(M, { computeLeftSingularVectors: false, computeRightSingularVectors: true, autoTranspose: true });
      const mlMs = performance.now() - t;
      line += `; ml-matrix SVD ${mlMs.toFixed(0)} ms, max |σ diff| ${Math.max(...svd.diagonal.map((s, i) => Math.abs(s - ours.values[i]!))).toExponential(1)}`;
    }
    console.log(line);
    void transpose;
  }
}
void main();
