/**
 * Causal basis extraction (CBE, paper §4; reference `extract_causal_bases`, reference-spec §11.1).
 *
 * For one lens layer: k orthonormal directions, found one after another, each maximising the lens
 * influence E(v) = mean_t KL(p_lens(h_t) ‖ p_lens(h_t with v ablated)) while orthogonal to the ones
 * found before; sorted by energy, descending. The optimiser is the reference's: torch-style L-BFGS with
 * strong-Wolfe line search on the projected vector `project(v) = P v / (‖P v‖ + ε)`, P = I − V Vᵀ,
 * the same hyper-parameters and the same outer stopping rule (|Δenergy / energy| < 1e-4 between the
 * last two evaluations, or 100 evaluations).
 *
 * Differences from the reference, each deliberate (docs/differences-from-the-python-reference.md):
 * - the saved energy is the objective evaluated at the saved vector (the reference keeps the value of
 *   the last line-search evaluation, which can be at another point);
 * - the initialisation works for tuned lenses too (the reference has a shape bug): the top left singular
 *   vectors of (W_U (I + W_i))ᵀ, the directions of h that move the lens logits most to first order; for
 *   the logit lens (W_i = 0) that is the reference's W_Uᵀ.
 *
 * `subspace: true` is the paper's suggested speed-up: optimise the whole k-dimensional subspace at once
 * (maximise the KL with the whole subspace ablated), then report single-direction energies of a basis
 * of it.
 */
import type { Lens } from '../lens/lens.js';
import { TunedLens } from '../lens/lens.js';
import { W } from '../models/load-weights.js';
import type { AblationMode } from './ablation.js';
import { Lbfgs } from './lbfgs.js';
import { LensInfluence, type HiddenRows } from './lens-influence.js';
import { column, mat, matmul, symmetricEigen, thinQr, timesInverseTranspose, type Mat } from '../linalg/dense.js';

/** torch.finfo(float32).eps: the reference's guard in `project`. */
const FLOAT32_EPS = 1.1920928955078125e-7;

export interface CbeOptions {
  k: number;
  mode?: AblationMode;
  /** Closure-call budget per direction (the reference's max_iter, default 100). */
  maxIter?: number;
  blockTokens?: number;
  /** Optimise the k-subspace at once instead of one direction after another. */
  subspace?: boolean;
  /** Resample mode: the derangement of the tokens. */
  perm?: Int32Array;
  /** Mean for mean ablation (default: the mean of the hidden states given). */
  mean?: Float32Array;
  onDirection?: (info: { layer: number; found: number; k: number; energy: number; evaluations: number }) => void;
}

export interface CausalBasis {
  layer: number;
  /** [d, k] row-major: column j is direction j (unit), sorted by energy descending. */
  vectors: Float32Array;
  /** [k] nats: lens influence of each direction alone, evaluated at the saved vector. */
  energies: Float32Array;
  /** [d]: the mean used for mean ablation. */
  mean: Float32Array;
  d: number;
  k: number;
  /** The initial vectors [d, k] before optimisation. */
  init: Float32Array;
  /** Objective evaluations (graph runs over all tokens) spent. */
  evaluations: number;
  /** Matmul FLOPs of those evaluations. */
  flops: number;
  /** Lens influence with the whole k-subspace ablated at once. */
  subspaceEnergy: number;
  seconds: number;
}

/**
 * The initial directions: top-k left singular vectors of (W_U (I + W_i))ᵀ [d, V], i.e. the top
 * eigenvectors of (I + W_i)ᵀ W_Uᵀ W_U (I + W_i).
 */
export function cbeInit(lens: Lens, layer: number, k: number, gram: Mat = lensSensitivityGram(lens, layer)): Mat {
  const d = lens.model.config.dModel;
  const { vectors } = symmetricEigen(gram); // one eigenvector per row, largest eigenvalue first
  const out = mat(d, k);
  for (let r = 0; r < d; r++) for (let j = 0; j < k; j++) out.data[r * k + j] = vectors.data[j * d + r]!;
  return out;
}

/** (I + W_i)ᵀ W_Uᵀ W_U (I + W_i) [d, d]: the lens logits' first-order sensitivity to a direction of h. */
export function lensSensitivityGram(lens: Lens, layer: number): Mat {
  const model = lens.model;
  const d = model.config.dModel;
  const head = model.weights.get(W.lmHead);
  if (!head) throw new Error(`${model.name}: the output head is not loaded`);
  const wu = mat(head.shape[0]!, head.shape[1]!, head.data);
  if (wu.cols !== d) throw new Error(`${model.name}: the output head is [${head.shape.join(', ')}], CBE needs [vocab, ${d}] (project_out models are not supported)`);
  let gram = matmul(wu, wu, true, false);
  if (lens instanceof TunedLens) {
    const t = lens.translators[layer]!.weight;
    const m = mat(d, d, t.data);
    for (let i = 0; i < d; i++) m.data[i * d + i] += 1;
    gram = matmul(m, matmul(gram, m), true, false);
  }
  return gram;
}

/** P x / (‖P x‖ + ε) with P = I − V Vᵀ for the found columns V. */
function projector(found: Float64Array[]): { apply(x: Float64Array): Float64Array; grad(x: Float64Array, g: Float64Array): Float64Array } {
  const proj = (x: Float64Array): Float64Array => {
    const y = Float64Array.from(x);
    for (const v of found) {
      let s = 0;
      for (let i = 0; i < x.length; i++) s += v[i]! * x[i]!;
      for (let i = 0; i < x.length; i++) y[i] -= s * v[i]!;
    }
    return y;
  };
  const norm = (u: Float64Array): number => Math.sqrt(u.reduce((a, b) => a + b * b, 0));
  return {
    apply(x) {
      const u = proj(x);
      const n = norm(u) + FLOAT32_EPS;
      return u.map((v) => v / n);
    },
    /** Chain rule through project: dE/dx from dE/dv̂ (P is symmetric). */
    grad(x, g) {
      const u = proj(x);
      const nu = norm(u);
      const n = nu + FLOAT32_EPS;
      let ug = 0;
      for (let i = 0; i < u.length; i++) ug += u[i]! * g[i]!;
      const du = u.map((ui, i) => g[i]! / n - (nu > 0 ? (ui * ug) / (nu * n * n) : 0));
      return proj(du);
    },
  };
}

/** One layer's causal basis from its hidden states (rows = tokens). */
export async function extractCausalBasis(lens: Lens, layer: number, hidden: HiddenRows, opts: CbeOptions): Promise<CausalBasis> {
  const started = performance.now();
  const d = hidden.d;
  const k = opts.k < 1 ? d : opts.k;
  if (k > d) throw new Error(`k = ${k} exceeds the hidden size ${d}`);
  const mode = opts.mode ?? 'mean';
  const influence = new LensInfluence(lens, layer, hidden, { mode, mean: opts.mean, perm: opts.perm, blockTokens: opts.blockTokens });
  const gram = lensSensitivityGram(lens, layer);
  const init = cbeInit(lens, layer, k, gram);
  const maxIter = opts.maxIter ?? 100;

  // The objective's sessions hold memory arenas: released when this layer is done (or fails).
  try {
    let vectors: Float64Array[];
    if (opts.subspace) vectors = await optimiseSubspace(influence, init, gram, k, maxIter);
    else {
      vectors = [];
      for (let j = 0; j < k; j++) {
        vectors.push(await optimiseDirection(influence, column(init, j), vectors, maxIter));
        opts.onDirection?.({ layer, found: j + 1, k, energy: NaN, evaluations: influence.evaluations });
      }
    }
    // Energies at the saved vectors (one evaluation each).
    const energies: number[] = [];
    for (const v of vectors) energies.push((await influence.evaluate(Float32Array.from(v), 1)).value);
    const order = energies.map((_, i) => i).sort((a, b) => energies[b]! - energies[a]!);
    const out = new Float32Array(d * k);
    order.forEach((src, dst) => {
      for (let r = 0; r < d; r++) out[r * k + dst] = vectors[src]![r]!;
    });
    const subspaceEnergy = (await influence.evaluate(out, k)).value;
    return {
      layer,
      vectors: out,
      energies: Float32Array.from(order, (i) => energies[i]!),
      mean: influence.mean,
      d,
      k,
      init: Float32Array.from(init.data),
      evaluations: influence.evaluations,
      flops: influence.flops,
      subspaceEnergy,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await influence.release();
  }
}

/** The reference's inner loop for direction j. */
async function optimiseDirection(influence: LensInfluence, init: Float64Array, found: Float64Array[], maxIter: number): Promise<Float64Array> {
  const project = projector(found);
  const x = project.apply(init);
  let nfev = 0;
  let lastEnergy = 0;
  let energyDelta = 0;
  const opt = new Lbfgs({ maxIter, lr: 1, toleranceGrad: 1e-7, toleranceChange: 1e-9, historySize: 100 });
  const closure = async (v: Float64Array): Promise<{ loss: number; grad: Float64Array }> => {
    nfev++;
    const unit = project.apply(v);
    const { value, grad } = await influence.evaluate(Float32Array.from(unit), 1);
    energyDelta = value - lastEnergy;
    lastEnergy = value;
    if (!Number.isFinite(value)) return { loss: 0, grad: new Float64Array(v.length) };
    // Loss = −energy (L-BFGS minimises).
    return { loss: -value, grad: project.grad(v, grad).map((g) => -g) };
  };
  while (nfev < maxIter) {
    await opt.step(x, closure);
    x.set(project.apply(x));
    if (Math.abs(energyDelta / lastEnergy) < 1e-4) break;
  }
  return project.apply(x);
}

/**
 * Maximises E(span X) over X [d, k] with the same L-BFGS: the objective depends on the span only,
 * evaluated at Q of X = QR; its gradient with respect to X is (I − QQᵀ) G R⁻ᵀ, G = dE/dA at A = Q.
 * The result is then expressed in the basis of the subspace that diagonalises the first-order lens
 * sensitivity restricted to it (deterministic; energies are then computed per direction).
 */
async function optimiseSubspace(influence: LensInfluence, init: Mat, gram: Mat, k: number, maxIter: number): Promise<Float64Array[]> {
  const d = init.rows;
  const x = Float64Array.from(init.data);
  let nfev = 0;
  let lastEnergy = 0;
  let energyDelta = 0;
  const opt = new Lbfgs({ maxIter, lr: 1, toleranceGrad: 1e-7, toleranceChange: 1e-9, historySize: 100 });
  const closure = async (flat: Float64Array): Promise<{ loss: number; grad: Float64Array }> => {
    nfev++;
    const { q, r } = thinQr(mat(d, k, flat), { requireFullRank: true });
    const { value, grad } = await influence.evaluate(Float32Array.from(q.data), k);
    energyDelta = value - lastEnergy;
    lastEnergy = value;
    const g = mat(d, k, grad);
    // (I − QQᵀ) G
    const qtg = matmul(q, g, true, false);
    const tangent = matmul(q, qtg);
    for (let i = 0; i < g.data.length; i++) g.data[i] -= tangent.data[i]!;
    const y = timesInverseTranspose(g, r);
    return { loss: -value, grad: y.data.map((v) => -v) };
  };
  while (nfev < maxIter) {
    await opt.step(x, closure);
    const { q } = thinQr(mat(d, k, x), { requireFullRank: true });
    x.set(q.data);
    if (Math.abs(energyDelta / lastEnergy) < 1e-4) break;
  }
  const { q } = thinQr(mat(d, k, x), { requireFullRank: true });
  const rotation = symmetricEigen(matmul(q, matmul(gram, q), true, false)).vectors; // eigenvectors as rows
  const basis = matmul(q, rotation, false, true);
  return Array.from({ length: k }, (_, j) => column(basis, j));
}
