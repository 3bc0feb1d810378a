/**
 * The model's graph inputs: weights (declared on first use, so a graph takes only the tensors it needs)
 * and the position-dependent inputs (masks, position ids, rotary tables, ALiBi) fed from position-inputs.ts.
 */
import type { Graph, Value } from '../graph/graph.js';
import type { ModelConfig } from './model-config.js';
import type { ModelWeights } from './load-weights.js';
import { distinctWindows, maskInputName } from './position-inputs.js';

/** Declares model weights as graph inputs on first use, so graphs only take the tensors they need. */
export class WeightInputs {
  private readonly cache = new Map<string, Value>();
  constructor(
    readonly g: Graph,
    readonly weights: ModelWeights,
  ) {}

  get(name: string): Value {
    let v = this.cache.get(name);
    if (!v) {
      const t = this.weights.get(name);
      if (!t) throw new Error(`model weight '${name}' is not loaded`);
      v = this.g.input(name, 'float32', t.shape);
      this.g.fixedInputData.set(name, t.data);
      this.cache.set(name, v);
    }
    return v;
  }

  maybe(name: string): Value | null {
    return this.weights.has(name) ? this.get(name) : null;
  }

  /** The Float32Arrays to feed for every weight this graph declared. */
  feeds(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const name of this.cache.keys()) out[name] = this.weights.get(name)!.data;
    return out;
  }
}

/** Position-dependent graph inputs; built by `positionInputs` and fed from position-inputs.ts. */
export interface PositionValues {
  masks: Map<number | null, Value>;
  /** Use the fused attention op (onnxruntime's kernel where it applies); false builds its decomposition explicitly. */
  fusedAttention: boolean;
  positionIds?: Value;
  cos?: Value;
  sin?: Value;
  alibi?: Value;
  /** Key/value caches by block index, for one-token decoding steps (src/surgery/kv-cache.ts). */
  past?: Map<number, PastKeyValues>;
}

/**
 * A block's key/value cache of `capacity` slots: `k`, `v` [B, capacity, kv heads, hd] (after rotary and
 * q/k norms). The step's new key/value goes to the slot where `write` ([1, capacity, 1, 1], one-hot) is 1
 * (`keep` = 1 − write); the attention piece then attends over all slots (the mask hides unused ones) and
 * stores the updated cache in `present`, which the caller returns as graph outputs.
 */
export interface PastKeyValues {
  k: Value;
  v: Value;
  write: Value;
  keep: Value;
  present?: { k: Value; v: Value };
}

export function positionInputs(g: Graph, cfg: ModelConfig, B: number, T: number, fusedAttention = true): PositionValues {
  const masks = new Map<number | null, Value>();
  for (const w of distinctWindows(cfg)) masks.set(w, g.input(maskInputName(w), 'float32', [B, 1, T, T]));
  const p: PositionValues = { masks, fusedAttention };
  if (cfg.position.kind === 'learned') p.positionIds = g.input('position_ids', 'int64', [B, T]);
  if (cfg.position.kind === 'rotary') {
    p.cos = g.input('rope_cos', 'float32', [B, T, 1, cfg.position.rotaryDim]);
    p.sin = g.input('rope_sin', 'float32', [B, T, 1, cfg.position.rotaryDim]);
  }
  if (cfg.position.kind === 'alibi') p.alibi = g.input('alibi', 'float32', [B, cfg.nHeads, 1, T]);
  return p;
}
