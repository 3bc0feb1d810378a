/**
 * The pieces a transformer block is made of (norm, attention, MLP) and the layouts that compose them,
 * each reading top to bottom like llama2.c's run.c. Which layout and which options a block uses is
 * decided by its ModelConfig only.
 */
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import { decomposition, isFused } from '../graph/op-set.js';
import type { ModelConfig, NormSpec, ResidualKind } from './model-config.js';
import { W } from './load-weights.js';
import type { PositionValues, WeightInputs } from './graph-inputs.js';

export function applyNorm(x: Value, spec: NormSpec, w: Value | null, b: Value | null): Value {
  return spec.kind === 'layernorm' ? op.layerNorm(x, w, b, spec.eps) : op.rmsNorm(x, w, spec.eps, spec.weightOffset ?? 0);
}

export function activation(x: Value, kind: ModelConfig['activation']): Value {
  switch (kind) {
    case 'relu':
      return op.relu(x);
    case 'silu':
      return op.mul(x, op.sigmoid(x));
    case 'gelu':
      return op.mul(op.mul(x, 0.5), op.add(op.erf(op.mul(x, Math.SQRT1_2)), 1));
    case 'gelu_new':
      return op.geluTanh(x);
    case 'bloom_gelu': {
      const inner = op.mul(op.mul(x, 0.79788456), op.add(op.mul(op.square(x), 0.044715), 1));
      return op.mul(op.mul(x, 0.5), op.add(op.tanh(inner), 1));
    }
  }
}

/** c·tanh(x/c): Gemma-2's soft cap of attention scores and logits. */
export function softcap(x: Value, cap: number): Value {
  return op.mul(op.tanh(op.div(x, cap)), cap);
}

/** Rotate-half rotary embedding on the first rotaryDim features of x [B, T, H, hd]; cos/sin are [B, T, 1, rotaryDim]. */
function applyRotary(x: Value, cos: Value, sin: Value, rotaryDim: number): Value {
  const hd = x.shape[3]!;
  const rot = op.slice(x, 3, 0, rotaryDim);
  const half = rotaryDim / 2;
  const rotated = op.concat([op.neg(op.slice(rot, 3, half, rotaryDim)), op.slice(rot, 3, 0, half)], 3);
  const out = op.add(op.mul(rot, cos), op.mul(rotated, sin));
  return rotaryDim === hd ? out : op.concat([out, op.slice(x, 3, rotaryDim, hd)], 3);
}

/**
 * Queries per attention kernel call on long inputs (ops.ts `AttentionOptions.queryChunk`). GPT-2-small at
 * 1024 tokens: the forward pass's arena (beyond its outputs) 152 → 134 MiB, and causal chunks skip three quarters
 * of the masked half of the scores.
 */
export const ATTENTION_QUERY_CHUNK = 256;

/** Causal self-attention of block `i` on the normed input x [B, T, d]. */
export function attention(cfg: ModelConfig, w: WeightInputs, i: number, x: Value, pos: PositionValues): Value {
  const [B, T] = x.shape as [number, number, number];
  const { nHeads: H, nKvHeads: Hkv, headDim: hd } = cfg;
  const key = (p: string): string => W.layer(i, p);
  const qkv = op.linear(x, w.get(key('qkv.w')), w.maybe(key('qkv.b')));
  // Heads stay in [B, T, heads, hd] layout (no transposes); attention takes them flat as [B, T, heads·hd].
  const heads = (start: number, n: number): Value => op.reshape(op.slice(qkv, 2, start, start + n * hd), [B, T, n, hd]);
  let q = heads(0, H);
  let k = heads(H * hd, Hkv);
  let v = heads((H + Hkv) * hd, Hkv);
  if (cfg.qkNorm) {
    q = applyNorm(q, cfg.norm, w.get(key('q_norm.w')), null);
    k = applyNorm(k, cfg.norm, w.get(key('k_norm.w')), null);
  }
  if (cfg.position.kind === 'rotary') {
    q = applyRotary(q, pos.cos!, pos.sin!, cfg.position.rotaryDim);
    k = applyRotary(k, pos.cos!, pos.sin!, cfg.position.rotaryDim);
  }
  const scale = cfg.attnScale / (cfg.scaleByInverseLayer ? i + 1 : 1);
  const mask = pos.masks.get(cfg.localWindow[i] ?? null)!;
  const bias = pos.alibi ? op.add(mask, pos.alibi) : mask;
  const past = pos.past?.get(i);
  if (past) {
    // Decoding with a cache: the new key/value goes into its slot, attention reads every slot.
    k = op.add(op.mul(past.k, past.keep), op.mul(k, past.write));
    v = op.add(op.mul(past.v, past.keep), op.mul(v, past.write));
    past.present = { k, v };
  }
  const flat = (t: Value, n: number): Value => op.reshape(t, [B, t.shape[1]!, n * hd]);
  // Grouped-query attention: query head h reads kv head floor(h / (H / Hkv)).
  const attn = op.attention(flat(q, H), flat(k, Hkv), flat(v, Hkv), {
    numHeads: H, numKvHeads: Hkv, scale, bias, softcap: cfg.attnSoftcap, queryChunk: ATTENTION_QUERY_CHUNK, causal: !past,
  });
  // Gradients flow through either form; the explicit decomposition keeps the fused kernel out of the graph.
  const ctx = !pos.fusedAttention && isFused(attn) ? decomposition(attn).output : attn;
  return op.linear(ctx, w.get(key('o.w')), w.maybe(key('o.b')));
}

/** The MLP of block `i`: down(act(up(x))), or down(act(gate(x)) * up(x)) when gated. */
export function mlp(cfg: ModelConfig, w: WeightInputs, i: number, x: Value): Value {
  const key = (p: string): string => W.layer(i, p);
  const up = op.linear(x, w.get(key('up.w')), w.maybe(key('up.b')));
  const hidden = cfg.gatedMlp ? op.mul(activation(op.linear(x, w.get(key('gate.w')), w.maybe(key('gate.b'))), cfg.activation), up) : activation(up, cfg.activation);
  return op.linear(hidden, w.get(key('down.w')), w.maybe(key('down.b')));
}

/** The norms a block may have, by canonical weight name. */
export type BlockNorm = 'ln1' | 'ln2' | 'post_attn_norm' | 'post_mlp_norm';

/** One block's pieces with its weights bound, plus the hooks through which edits replace branch outputs. */
export interface BlockPieces {
  norm(which: BlockNorm, x: Value): Value;
  attention(x: Value): Value;
  mlp(x: Value): Value;
  /** The attention branch output as it joins the residual (edits apply here). */
  attnOut(a: Value): Value;
  /** The MLP branch output as it joins the residual (edits apply here). */
  mlpOut(m: Value): Value;
}

export interface BlockBranches {
  attnOut: Value;
  /** x + attnOut */
  residMid: Value;
  mlpOut: Value;
}

export function blockPieces(cfg: ModelConfig, w: WeightInputs, i: number, pos: PositionValues, hooks: Pick<BlockPieces, 'attnOut' | 'mlpOut'>): BlockPieces {
  return {
    norm: (which, x) => applyNorm(x, cfg.norm, w.get(W.layer(i, `${which}.w`)), w.maybe(W.layer(i, `${which}.b`))),
    attention: (x) => attention(cfg, w, i, x, pos),
    mlp: (x) => mlp(cfg, w, i, x),
    ...hooks,
  };
}

/** How each residual kind composes a block; the block output is residMid + mlpOut. */
export const BLOCK_LAYOUTS: Record<ResidualKind, (p: BlockPieces, x: Value) => BlockBranches> = {
  sequential(p, x) {
    const attnOut = p.attnOut(p.attention(p.norm('ln1', x)));
    const residMid = op.add(x, attnOut);
    const mlpOut = p.mlpOut(p.mlp(p.norm('ln2', residMid)));
    return { attnOut, residMid, mlpOut };
  },
  sandwich(p, x) {
    const attnOut = p.attnOut(p.norm('post_attn_norm', p.attention(p.norm('ln1', x))));
    const residMid = op.add(x, attnOut);
    const mlpOut = p.mlpOut(p.norm('post_mlp_norm', p.mlp(p.norm('ln2', residMid))));
    return { attnOut, residMid, mlpOut };
  },
  parallel(p, x) {
    const attnOut = p.attnOut(p.attention(p.norm('ln1', x)));
    const mlpOut = p.mlpOut(p.mlp(p.norm('ln2', x)));
    return { attnOut, residMid: op.add(x, attnOut), mlpOut };
  },
  'parallel-shared-norm'(p, x) {
    const h = p.norm('ln1', x);
    const attnOut = p.attnOut(p.attention(h));
    const mlpOut = p.mlpOut(p.mlp(h));
    return { attnOut, residMid: op.add(x, attnOut), mlpOut };
  },
};

/**
 * Where a layout has a residual stream between attention and MLP (the MLP reads x + attnOut): the point
 * a sub-layer read decodes. In the parallel layouts both branches read the block input, so x + attnOut
 * is a sum that no part of the model ever sees; for them the entry says why there is no such point.
 */
export const MID_BLOCK_RESIDUAL: Readonly<Record<ResidualKind, { exists: true } | { exists: false; reason: string }>> = {
  sequential: { exists: true },
  sandwich: { exists: true },
  parallel: { exists: false, reason: 'its attention and MLP run in parallel on the block input (parallel residual), so there is no residual stream between them' },
  'parallel-shared-norm': { exists: false, reason: 'its attention and MLP run in parallel on one shared norm of the block input, so there is no residual stream between them' },
};

/** null when the model's blocks have a mid-block residual (after attention, before the MLP), else why not. */
export function midBlockResidualUnavailable(cfg: ModelConfig): string | null {
  const entry = MID_BLOCK_RESIDUAL[cfg.residual];
  return entry.exists ? null : `${cfg.modelType} has no mid-block residual: ${entry.reason}`;
}
