/**
 * PyTorch's `torch.optim.LBFGS` with `line_search_fn="strong_wolfe"` (torch 1.13, the version the golden
 * causal bases were made with), step for step: the two-loop recursion with `history_size` pairs, the
 * `min(1, 1/‖g‖₁)·lr` first step, the strong-Wolfe bracketing + zoom line search with cubic
 * interpolation, and the same stopping tests. The reference's causal basis extraction depends on the
 * optimiser's path (see shared/golden/causal/README.md, "Path dependence"), so this is a port, not a
 * re-design. Arithmetic is float64 on the host; the objective may be float32.
 *
 * State (history, last direction and step) persists across `step` calls, like torch's optimizer state.
 */

/** Objective value and gradient at x (the gradient array is owned by the caller of evaluate). */
export type Closure = (x: Float64Array) => Promise<{ loss: number; grad: Float64Array }>;

export interface LbfgsOptions {
  lr?: number;
  maxIter?: number;
  /** Default maxIter · 5/4, like torch. */
  maxEval?: number;
  toleranceGrad?: number;
  toleranceChange?: number;
  historySize?: number;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

function cubicInterpolate(x1: number, f1: number, g1: number, x2: number, f2: number, g2: number, bounds?: [number, number]): number {
  const [xminBound, xmaxBound] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2Square = d1 * d1 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minPos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return Math.min(Math.max(minPos, xminBound), xmaxBound);
  }
  return (xminBound + xmaxBound) / 2;
}

type DirectionalEval = (t: number) => Promise<{ loss: number; grad: Float64Array }>;

/** torch.optim.lbfgs._strong_wolfe. */
async function strongWolfe(
  obj: DirectionalEval,
  t0: number,
  d: Float64Array,
  f: number,
  g: Float64Array,
  gtd: number,
  c1 = 1e-4,
  c2 = 0.9,
  toleranceChange = 1e-9,
  maxLs = 25,
): Promise<{ loss: number; grad: Float64Array; t: number; evals: number }> {
  let t = t0;
  const dNorm = maxAbs(d);
  let { loss: fNew, grad: gNew } = await obj(t);
  let evals = 1;
  let gtdNew = dot(gNew, d);

  let tPrev = 0;
  let fPrev = f;
  let gPrev = g;
  let gtdPrev = gtd;
  let done = false;
  let lsIter = 0;
  let bracket: number[] = [];
  let bracketF: number[] = [];
  let bracketG: Float64Array[] = [];
  let bracketGtd: number[] = [];
  while (lsIter < maxLs) {
    if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
      bracket = [tPrev, t];
      bracketF = [fPrev, fNew];
      bracketG = [gPrev, gNew];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      bracket = [t];
      bracketF = [fNew];
      bracketG = [gNew];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      bracket = [tPrev, t];
      bracketF = [fPrev, fNew];
      bracketG = [gPrev, gNew];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    const minStep = t + 0.01 * (t - tPrev);
    const maxStep = t * 10;
    const tmp = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
    tPrev = tmp;
    fPrev = fNew;
    gPrev = gNew;
    gtdPrev = gtdNew;
    ({ loss: fNew, grad: gNew } = await obj(t));
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;
  }
  if (lsIter === maxLs) {
    bracket = [0, t];
    bracketF = [f, fNew];
    bracketG = [g, gNew];
  }

  // Zoom: refine the bracket until a point satisfies the strong Wolfe conditions.
  let insufProgress = false;
  let [lowPos, highPos] = bracketF[0]! <= bracketF[bracketF.length - 1]! ? [0, 1] : [1, 0];
  while (!done && lsIter < maxLs) {
    if (Math.abs(bracket[1]! - bracket[0]!) * dNorm < toleranceChange) break;
    t = cubicInterpolate(bracket[0]!, bracketF[0]!, bracketGtd[0]!, bracket[1]!, bracketF[1]!, bracketGtd[1]!);
    const bMax = Math.max(...bracket);
    const bMin = Math.min(...bracket);
    const eps = 0.1 * (bMax - bMin);
    if (Math.min(bMax - t, t - bMin) < eps) {
      if (insufProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
        insufProgress = false;
      } else insufProgress = true;
    } else insufProgress = false;

    ({ loss: fNew, grad: gNew } = await obj(t));
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;

    if (fNew > f + c1 * t * gtd || fNew >= bracketF[lowPos]!) {
      bracket[highPos] = t;
      bracketF[highPos] = fNew;
      bracketG[highPos] = gNew;
      bracketGtd[highPos] = gtdNew;
      [lowPos, highPos] = bracketF[0]! <= bracketF[1]! ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) done = true;
      else if (gtdNew * (bracket[highPos]! - bracket[lowPos]!) >= 0) {
        bracket[highPos] = bracket[lowPos]!;
        bracketF[highPos] = bracketF[lowPos]!;
        bracketG[highPos] = bracketG[lowPos]!;
        bracketGtd[highPos] = bracketGtd[lowPos]!;
      }
      bracket[lowPos] = t;
      bracketF[lowPos] = fNew;
      bracketG[lowPos] = gNew;
      bracketGtd[lowPos] = gtdNew;
    }
  }
  return { loss: bracketF[lowPos]!, grad: bracketG[lowPos]!, t: bracket[lowPos]!, evals };
}

export class Lbfgs {
  private readonly lr: number;
  private readonly maxIter: number;
  private readonly maxEval: number;
  private readonly toleranceGrad: number;
  private readonly toleranceChange: number;
  private readonly historySize: number;
  /** Optimiser state (torch keeps it between step() calls). */
  private nIter = 0;
  funcEvals = 0;
  private d: Float64Array | null = null;
  private t = 0;
  private oldDirs: Float64Array[] = [];
  private oldStps: Float64Array[] = [];
  private ro: number[] = [];
  private hDiag = 1;
  private prevFlatGrad: Float64Array | null = null;

  constructor(opts: LbfgsOptions = {}) {
    this.lr = opts.lr ?? 1;
    this.maxIter = opts.maxIter ?? 20;
    this.maxEval = opts.maxEval ?? Math.floor((this.maxIter * 5) / 4);
    this.toleranceGrad = opts.toleranceGrad ?? 1e-7;
    this.toleranceChange = opts.toleranceChange ?? 1e-9;
    this.historySize = opts.historySize ?? 100;
  }

  /** Total L-BFGS iterations so far (torch's state['n_iter']). */
  get iterations(): number {
    return this.nIter;
  }

  /** One `optimizer.step(closure)`: updates `x` in place and returns the loss at the starting point. */
  async step(x: Float64Array, closure: Closure): Promise<number> {
    const n = x.length;
    const first = await closure(x);
    const origLoss = first.loss;
    let loss = first.loss;
    let flatGrad: Float64Array = Float64Array.from(first.grad);
    let currentEvals = 1;
    this.funcEvals++;
    if (maxAbs(flatGrad) <= this.toleranceGrad) return origLoss;

    let nIter = 0;
    while (nIter < this.maxIter) {
      nIter++;
      this.nIter++;
      let d: Float64Array;
      if (this.nIter === 1) {
        d = flatGrad.map((v) => -v);
        this.oldDirs = [];
        this.oldStps = [];
        this.ro = [];
        this.hDiag = 1;
      } else {
        const y = new Float64Array(n);
        const s = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          y[i] = flatGrad[i]! - this.prevFlatGrad![i]!;
          s[i] = this.d![i]! * this.t;
        }
        const ys = dot(y, s);
        if (ys > 1e-10) {
          if (this.oldDirs.length === this.historySize) {
            this.oldDirs.shift();
            this.oldStps.shift();
            this.ro.shift();
          }
          this.oldDirs.push(y);
          this.oldStps.push(s);
          this.ro.push(1 / ys);
          this.hDiag = ys / dot(y, y);
        }
        const numOld = this.oldDirs.length;
        const al = new Array<number>(numOld);
        const q = flatGrad.map((v) => -v);
        for (let i = numOld - 1; i >= 0; i--) {
          al[i] = dot(this.oldStps[i]!, q) * this.ro[i]!;
          const dir = this.oldDirs[i]!;
          for (let j = 0; j < n; j++) q[j] -= al[i]! * dir[j]!;
        }
        d = q.map((v) => v * this.hDiag);
        for (let i = 0; i < numOld; i++) {
          const beI = dot(this.oldDirs[i]!, d) * this.ro[i]!;
          const stp = this.oldStps[i]!;
          for (let j = 0; j < n; j++) d[j] += (al[i]! - beI) * stp[j]!;
        }
      }
      this.d = d;
      this.prevFlatGrad = Float64Array.from(flatGrad);
      const prevLoss = loss;

      if (this.nIter === 1) {
        let l1 = 0;
        for (const v of flatGrad) l1 += Math.abs(v);
        this.t = Math.min(1, 1 / l1) * this.lr;
      } else this.t = this.lr;

      const gtd = dot(flatGrad, d);
      if (gtd > -this.toleranceChange) break;

      const xInit = Float64Array.from(x);
      const trial = new Float64Array(n);
      const directional: DirectionalEval = async (t) => {
        for (let i = 0; i < n; i++) trial[i] = xInit[i]! + t * d[i]!;
        const r = await closure(trial);
        return { loss: r.loss, grad: Float64Array.from(r.grad) };
      };
      const ls = await strongWolfe(directional, this.t, d, loss, flatGrad, gtd);
      loss = ls.loss;
      flatGrad = ls.grad;
      this.t = ls.t;
      for (let i = 0; i < n; i++) x[i] = xInit[i]! + this.t * d[i]!;
      const optCond = maxAbs(flatGrad) <= this.toleranceGrad;
      currentEvals += ls.evals;
      this.funcEvals += ls.evals;

      if (nIter === this.maxIter) break;
      if (currentEvals >= this.maxEval) break;
      if (optCond) break;
      if (maxAbs(d) * Math.abs(this.t) <= this.toleranceChange) break;
      if (Math.abs(loss - prevLoss) < this.toleranceChange) break;
    }
    return origLoss;
  }
}
