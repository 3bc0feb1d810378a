/**
 * The reference's optimizers with PyTorch's exact update rules, on flat Float32Arrays (the lens
 * parameters are small next to the model, so updating them in JavaScript costs little).
 */

export interface OptimizerConfig {
  kind: 'sgd' | 'adam';
  /** The reference's learning-rate convention: SGD lr = lrScale × (1 − momentum); Adam lr = lrScale × 1e-3. */
  lrScale: number;
  momentum: number;
  weightDecay: number;
}

export interface OptimizerState {
  step: number;
  /** SGD momentum buffers, or Adam [m, v, vMax] per parameter. */
  buffers: Float32Array[][];
}

export function baseLearningRate(cfg: OptimizerConfig): number {
  return cfg.kind === 'sgd' ? cfg.lrScale * (1 - cfg.momentum) : cfg.lrScale * 1e-3;
}

/**
 * HF get_linear_schedule_with_warmup multiplier at 0-based step k. Unlike the reference (which passes
 * numSteps − warmup as the total, so the rate hits 0 `warmup` steps early), the decay ends at numSteps.
 */
export function linearScheduleFactor(k: number, numSteps: number, warmup: number): number {
  if (k < warmup) return k / Math.max(1, warmup);
  return Math.max(0, (numSteps - k) / Math.max(1, numSteps - warmup));
}

export class Optimizer {
  readonly state: OptimizerState;

  constructor(
    readonly cfg: OptimizerConfig,
    readonly params: Float32Array[],
    state?: OptimizerState,
  ) {
    const nBuf = cfg.kind === 'sgd' ? 1 : 3;
    this.state = state ?? { step: 0, buffers: params.map((p) => Array.from({ length: nBuf }, () => new Float32Array(p.length))) };
  }

  /** One update with learning rate `lr`; `grads[i]` pairs with `params[i]`. */
  step(grads: Float32Array[], lr: number): void {
    const { momentum: mu, weightDecay: wd, kind } = this.cfg;
    const first = this.state.step === 0;
    this.state.step++;
    const f = Math.fround;
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i]!;
      const g0 = grads[i]!;
      const bufs = this.state.buffers[i]!;
      if (kind === 'sgd') {
        // PyTorch SGD, nesterov, dampening 0: g += wd·p; buf = μ·buf + g (buf = g at first); d = g + μ·buf.
        const buf = bufs[0]!;
        for (let j = 0; j < p.length; j++) {
          const g = f(g0[j]! + f(wd * p[j]!));
          const b = first ? g : f(f(mu * buf[j]!) + g);
          buf[j] = b;
          p[j] = f(p[j]! - f(lr * f(g + f(mu * b))));
        }
      } else {
        // PyTorch Adam with amsgrad and coupled L2 weight decay (betas 0.9, 0.999, eps 1e-8).
        const [m, v, vmax] = bufs as [Float32Array, Float32Array, Float32Array];
        const b1 = 0.9;
        const b2 = 0.999;
        const t = this.state.step;
        const bc1 = 1 - b1 ** t;
        const bc2 = Math.sqrt(1 - b2 ** t);
        for (let j = 0; j < p.length; j++) {
          const g = f(g0[j]! + f(wd * p[j]!));
          m[j] = f(b1 * m[j]! + (1 - b1) * g);
          v[j] = f(b2 * v[j]! + (1 - b2) * g * g);
          vmax[j] = Math.max(vmax[j]!, v[j]!);
          const denom = f(Math.sqrt(vmax[j]!) / bc2 + 1e-8);
          p[j] = f(p[j]! - (lr / bc1) * (m[j]! / denom));
        }
      }
    }
  }
}

/** PyTorch clip_grad_norm_: one global L2 norm over all gradients; scales in place; returns the norm before clipping. */
export function clipGradNorm(grads: Float32Array[], maxNorm: number): number {
  let sq = 0;
  for (const g of grads) for (let j = 0; j < g.length; j++) sq += g[j]! * g[j]!;
  const norm = Math.sqrt(sq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of grads) for (let j = 0; j < g.length; j++) g[j] = Math.fround(g[j]! * coef);
  return norm;
}
