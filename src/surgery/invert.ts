/**
 * Unembedding inversion (the reference's `Unembed.invert`, spec §2.3): find a residual h whose
 * unembedding softmax(head(final_norm(h))) matches target logits, minimising KL(p ‖ q) with L-BFGS.
 * The logits and the gradient come from compiled graphs (reverse-mode autodiff through the final norm
 * and the head); the KL and the optimiser run in float64 in JavaScript.
 *
 * Differences from the reference: its L-BFGS uses a strong-Wolfe line search; ours uses backtracking
 * (Armijo) and skips curvature pairs with sᵀy ≤ 0, which is enough for this smooth, low-dimensional
 * problem. Like the reference, h0 defaults to zeros and the loop ends when the evaluations reach
 * `maxEvaluations`, the gradient norm or the loss fall below `tolerance`. The final norm removes scale
 * (RMSNorm) or shift and scale (LayerNorm), so h is only determined up to those.
 */
import { Graph } from '../graph/graph.js';
import { gradients } from '../graph/autodiff.js';
import type { LanguageModel } from '../models/language-model.js';
import { finalNorm, outputHead, WeightInputs } from '../models/transformer.js';

export interface InversionOptions {
  /** Start point (length d); default zeros, like the reference. */
  h0?: ArrayLike<number>;
  /** Stop after this many loss evaluations. Default 1000. */
  maxEvaluations?: number;
  /** Stop when the gradient norm or the loss is below this. Default 1e-3 (the reference's). */
  tolerance?: number;
  /** L-BFGS memory. Default 10. */
  history?: number;
}

export interface Inversion {
  /** The residual found (before the final norm), length d. */
  hidden: Float32Array;
  /** final_norm(hidden) (and OPT's project_out): what the reference returns as `preimage`. */
  preimage: Float32Array;
  /** KL(p ‖ q) in nats at `hidden`. */
  kl: number;
  gradNorm: number;
  evaluations: number;
  iterations: number;
  /** True when it stopped on the tolerance rather than on the evaluation budget. */
  converged: boolean;
}

function logSoftmax64(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += Math.exp(logits[i]! - max);
  const lz = max + Math.log(z);
  return Float64Array.from(logits, (x) => x - lz);
}

const dot = (a: Float64Array, b: Float64Array): number => a.reduce((s, x, i) => s + x * b[i]!, 0);

export async function invertUnembedding(model: LanguageModel, targetLogits: ArrayLike<number>, options: InversionOptions = {}): Promise<Inversion> {
  const cfg = model.config;
  const d = cfg.dModel;
  const V = cfg.vocabSize;
  if (targetLogits.length !== V) throw new Error(`invertUnembedding: ${targetLogits.length} target logits for a vocabulary of ${V}`);
  const maxEvaluations = options.maxEvaluations ?? 1000;
  const tol = options.tolerance ?? 1e-3;
  const m = options.history ?? 10;

  // Logits come from the graph in float32; softmax, KL and dKL/dlogits = q − p are computed here in
  // float64 (near the optimum the float32 sum of Σ p (log p − log q) is noise of ~1e-6 nats, which stalls
  // any line search), and the gradient is pulled back through the final norm and head by autodiff with
  // q − p as the seed: two runs per evaluation, both tiny.
  const g = new Graph();
  const w = new WeightInputs(g, model.weights);
  const h = g.input('h', 'float32', [1, d]);
  const seed = g.input('seed', 'float32', [1, V]);
  const normed = finalNorm(cfg, w, h);
  const logits = outputHead(cfg, w, normed);
  const [grad] = gradients(logits, [h], seed);
  const forward = await model.runtime.compile({ logits, normed });
  const backward = await model.runtime.compile({ grad: grad! });
  const weightFeeds = w.feeds();
  const lp = logSoftmax64(targetLogits);
  const p = lp.map(Math.exp);

  let evaluations = 0;
  const evaluate = async (x: Float64Array): Promise<{ f: number; g: Float64Array; normed: Float32Array }> => {
    evaluations++;
    const hx = Float32Array.from(x);
    const r = await forward.run({ ...weightFeeds, h: hx });
    const lq = logSoftmax64(r.logits!.data as Float32Array);
    let f = 0;
    const dLogits = new Float32Array(V);
    for (let i = 0; i < V; i++) {
      if (p[i]! > 0) f += p[i]! * (lp[i]! - lq[i]!);
      dLogits[i] = Math.exp(lq[i]!) - p[i]!;
    }
    const b = await backward.run({ ...weightFeeds, h: hx, seed: dLogits });
    return { f, g: Float64Array.from(b.grad!.data as Float32Array), normed: Float32Array.from(r.normed!.data as Float32Array) };
  };

  let x = options.h0 ? Float64Array.from(options.h0) : new Float64Array(d);
  if (x.length !== d) throw new Error(`invertUnembedding: h0 has ${x.length} entries, the model needs ${d}`);
  let cur = await evaluate(x);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  let iterations = 0;
  let converged = false;
  for (;;) {
    const gNorm = Math.sqrt(dot(cur.g, cur.g));
    if (gNorm < tol || cur.f < tol) {
      converged = true;
      break;
    }
    if (evaluations >= maxEvaluations) break;
    iterations++;
    // Two-loop recursion: direction = −H g.
    const q = Float64Array.from(cur.g);
    const alpha: number[] = [];
    for (let i = S.length - 1; i >= 0; i--) {
      const a = dot(S[i]!, q) / dot(Y[i]!, S[i]!);
      alpha[i] = a;
      for (let j = 0; j < d; j++) q[j]! -= a * Y[i]![j]!;
    }
    const gamma = S.length ? dot(S[S.length - 1]!, Y[Y.length - 1]!) / dot(Y[Y.length - 1]!, Y[Y.length - 1]!) : 1 / Math.max(gNorm, 1e-12);
    for (let j = 0; j < d; j++) q[j]! *= gamma;
    for (let i = 0; i < S.length; i++) {
      const b = dot(Y[i]!, q) / dot(Y[i]!, S[i]!);
      for (let j = 0; j < d; j++) q[j]! += S[i]![j]! * (alpha[i]! - b);
    }
    let dir = q.map((v) => -v);
    let slope = dot(dir, cur.g);
    if (!(slope < 0)) {
      // Not a descent direction (memory went stale): restart from steepest descent.
      S.length = 0;
      Y.length = 0;
      dir = cur.g.map((v) => -v / Math.max(gNorm, 1e-12));
      slope = dot(dir, cur.g);
    }
    // Backtracking line search with the Armijo condition.
    let t = 1;
    let next: Awaited<ReturnType<typeof evaluate>> | null = null;
    let xNext = x;
    while (evaluations < maxEvaluations) {
      xNext = x.map((v, j) => v + t * dir[j]!);
      const trial = await evaluate(xNext);
      if (Number.isFinite(trial.f) && trial.f <= cur.f + 1e-4 * t * slope) {
        next = trial;
        break;
      }
      t /= 2;
      if (t < 1e-20) break;
    }
    if (!next) break;
    const s = xNext.map((v, j) => v - x[j]!);
    const y = next.g.map((v, j) => v - cur.g[j]!);
    if (dot(s, y) > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      S.push(s);
      Y.push(y);
      if (S.length > m) {
        S.shift();
        Y.shift();
      }
    }
    x = xNext;
    cur = next;
  }
  return { hidden: Float32Array.from(x), preimage: cur.normed, kl: cur.f, gradNorm: Math.sqrt(dot(cur.g, cur.g)), evaluations, iterations, converged };
}
