/**
 * The one forward pass shared by every architecture, driven by ModelConfig. It builds graph values
 * for the token embedding, every block, the final norm and the output head, and exposes every hidden
 * state with Hugging Face's indexing.
 */
import type { Graph, Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import type { ModelConfig, NormSpec } from './model-config.js';
import { W, type ModelWeights } from './load-weights.js';
import { distinctWindows, maskInputName } from './position-inputs.js';
import { checkEdit, ExtraInputs, resolvePlan, type BlockRef, type BlockSites, type ForwardEdits, type ForwardOptions } from './interventions.js';

export interface ForwardValues {
  /**
   * HF `hidden_states`: [0] embeddings, [i] output of plan step i-1 (block i-1 without a plan), [n] after
   * the final norm (and project_out); residual edits are included.
   */
  hiddenStates: Value[];
  /** Residual stream after the last block, before the final norm. */
  finalNormInput: Value;
  logits: Value;
  /** Per plan step: the block's named values (residual in/mid/out, attention and MLP outputs, update). */
  sites: BlockSites[];
  /** The block indices that ran, in order. */
  plan: number[];
}

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

export function applyNorm(x: Value, spec: NormSpec, w: Value | null, b: Value | null): Value {
  return spec.kind === 'layernorm' ? op.layerNorm(x, w, b, spec.eps) : op.rmsNorm(x, w, spec.eps, spec.weightOffset ?? 0);
}

function activation(x: Value, kind: ModelConfig['activation']): Value {
  switch (kind) {
    case 'relu':
      return op.relu(x);
    case 'silu':
      return op.mul(x, op.sigmoid(x));
    case 'gelu':
      return op.mul(op.mul(x, 0.5), op.add(op.erf(op.mul(x, Math.SQRT1_2)), 1));
    case 'gelu_new': {
      const inner = op.mul(op.add(x, op.mul(op.mul(op.square(x), x), 0.044715)), Math.sqrt(2 / Math.PI));
      return op.mul(op.mul(x, 0.5), op.add(op.tanh(inner), 1));
    }
    case 'bloom_gelu': {
      const inner = op.mul(op.mul(x, 0.79788456), op.add(op.mul(op.square(x), 0.044715), 1));
      return op.mul(op.mul(x, 0.5), op.add(op.tanh(inner), 1));
    }
    default:
      throw new Error(`unsupported activation '${String(kind)}' (supported: relu, silu, gelu, gelu_new, gelu_pytorch_tanh)`);
  }
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

/** Position-dependent graph inputs; built by `positionInputs` and fed from position-inputs.ts. */
export interface PositionValues {
  masks: Map<number | null, Value>;
  /** Use onnxruntime's fused attention kernel (forward only); false builds the differentiable decomposition. */
  fusedAttention: boolean;
  positionIds?: Value;
  cos?: Value;
  sin?: Value;
  alibi?: Value;
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

function attention(cfg: ModelConfig, w: WeightInputs, i: number, x: Value, pos: PositionValues): Value {
  const [B, T] = x.shape as [number, number, number];
  const { nHeads: H, nKvHeads: Hkv, headDim: hd } = cfg;
  const key = (p: string): string => W.layer(i, p);
  const qkv = op.linear(x, w.get(key('qkv.w')), w.maybe(key('qkv.b')));
  // Heads stay in [B, T, heads, hd] layout: the fused kernel wants it, and it needs no transposes.
  const heads = (start: number, n: number): Value => op.reshape(op.slice(qkv, 2, start, start + n * hd), [B, T, n, hd]);
  let q = heads(0, H);
  let k = heads(H * hd, Hkv);
  let v = heads((H + Hkv) * hd, Hkv);
  if (cfg.modelType === 'qwen3') {
    q = op.rmsNorm(q, w.get(key('q_norm.w')), cfg.norm.eps);
    k = op.rmsNorm(k, w.get(key('k_norm.w')), cfg.norm.eps);
  }
  if (cfg.position.kind === 'rotary') {
    q = applyRotary(q, pos.cos!, pos.sin!, cfg.position.rotaryDim);
    k = applyRotary(k, pos.cos!, pos.sin!, cfg.position.rotaryDim);
  }
  if (Hkv !== H) {
    // Grouped-query attention: query head h reads kv head floor(h / (H / Hkv)).
    const rep = H / Hkv;
    const repeat = (t: Value): Value => op.reshape(op.expand(op.reshape(t, [B, T, Hkv, 1, hd]), [B, T, Hkv, rep, hd]), [B, T, H, hd]);
    k = repeat(k);
    v = repeat(v);
  }
  const scale = cfg.attnScale / (cfg.scaleByInverseLayer ? i + 1 : 1);
  const mask = pos.masks.get(cfg.localWindow[i] ?? null)!;
  const bias = pos.alibi ? op.add(mask, pos.alibi) : mask;
  let ctx: Value;
  if (pos.fusedAttention) {
    ctx = op.fusedAttention(op.reshape(q, [B, T, H * hd]), op.reshape(k, [B, T, H * hd]), op.reshape(v, [B, T, H * hd]), bias, H, scale);
  } else {
    // Scaling q (T × hd values) instead of the scores (T × T) is the same product with fewer multiplies.
    const qh = op.transpose(scale !== 1 ? op.mul(q, scale) : q, [0, 2, 1, 3]);
    const kh = op.transpose(k, [0, 2, 3, 1]);
    const probs = op.maskedSoftmax(op.matmul(qh, kh), bias);
    ctx = op.reshape(op.transpose(op.matmul(probs, op.transpose(v, [0, 2, 1, 3])), [0, 2, 1, 3]), [B, T, H * hd]);
  }
  return op.linear(ctx, w.get(key('o.w')), w.maybe(key('o.b')));
}

function mlp(cfg: ModelConfig, w: WeightInputs, i: number, x: Value): Value {
  const key = (p: string): string => W.layer(i, p);
  const up = op.linear(x, w.get(key('up.w')), w.maybe(key('up.b')));
  const hidden = cfg.gatedMlp ? op.mul(activation(op.linear(x, w.get(key('gate.w')), w.maybe(key('gate.b'))), cfg.activation), up) : activation(up, cfg.activation);
  return op.linear(hidden, w.get(key('down.w')), w.maybe(key('down.b')));
}

/** Token (and learned position) embedding: HF hidden_states[0]. */
export function embed(cfg: ModelConfig, w: WeightInputs, ids: Value, pos: PositionValues): Value {
  let x = op.gather(w.get(W.embed), ids);
  if (cfg.projectInOut) x = op.linear(x, w.get(W.projectIn));
  if (cfg.position.kind === 'learned') {
    const idx = cfg.position.offset ? op.add(pos.positionIds!, op.scalar(ids.graph, cfg.position.offset, 'int64')) : pos.positionIds!;
    x = op.add(x, op.gather(w.get(W.positions), idx));
  }
  if (cfg.embedScale !== null) x = op.mul(x, cfg.embedScale);
  if (cfg.embedNorm) x = applyNorm(x, cfg.norm, w.get(W.embedNormW), w.maybe(W.embedNormB));
  return x;
}

/** One block at `ref.layer`'s weights and settings on residual x, with its named sites and any edits applied. */
export function block(cfg: ModelConfig, w: WeightInputs, ref: BlockRef, x: Value, pos: PositionValues, edits: ForwardEdits = {}, inputs?: ExtraInputs): BlockSites {
  const i = ref.layer;
  const key = (p: string): string => W.layer(i, p);
  const extra = (): ExtraInputs => inputs ?? new ExtraInputs(x.graph);
  const ln1 = applyNorm(x, cfg.norm, w.get(key('ln1.w')), w.maybe(key('ln1.b')));
  let attnOut = attention(cfg, w, i, ln1, pos);
  if (edits.attnOut) attnOut = checkEdit('attnOut', attnOut, edits.attnOut(ref, attnOut, extra()));
  const residMid = op.add(x, attnOut);
  // Sequential blocks feed the MLP the residual after attention; parallel ones the block input.
  const mlpIn =
    cfg.residual === 'parallel-shared-norm' ? ln1 : applyNorm(cfg.residual === 'sequential' ? residMid : x, cfg.norm, w.get(key('ln2.w')), w.maybe(key('ln2.b')));
  let mlpOut = mlp(cfg, w, i, mlpIn);
  if (edits.mlpOut) mlpOut = checkEdit('mlpOut', mlpOut, edits.mlpOut(ref, mlpOut, extra()));
  let update = op.add(attnOut, mlpOut);
  let residOut: Value;
  if (edits.blockUpdate) {
    update = checkEdit('blockUpdate', update, edits.blockUpdate(ref, update, x, extra()));
    residOut = op.add(x, update);
  } else {
    // (x + attn) + mlp, the order of the reference implementations' additions.
    residOut = op.add(residMid, mlpOut);
  }
  return { ...ref, residIn: x, attnOut, residMid, mlpOut, update, residOut };
}

/** The model's own final norm (and OPT's project_out): what every lens applies before the head. */
export function finalNorm(cfg: ModelConfig, w: WeightInputs, h: Value): Value {
  let x = applyNorm(h, cfg.norm, w.get(W.finalNormW), w.maybe(W.finalNormB));
  if (cfg.projectInOut) x = op.linear(x, w.get(W.projectOut));
  return x;
}

export function outputHead(cfg: ModelConfig, w: WeightInputs, normed: Value): Value {
  return op.linear(normed, w.get(W.lmHead), cfg.lmHeadBias ? w.maybe(W.lmHeadB) : null);
}

/** Final norm then output head: the unembedding every lens uses. */
export function unembed(cfg: ModelConfig, w: WeightInputs, h: Value): Value {
  return outputHead(cfg, w, finalNorm(cfg, w, h));
}

/**
 * Builds the whole forward pass for int64 ids [B, T]: the blocks of `options.plan` in order (default:
 * all, in order), with `options.edits` applied where they attach.
 */
export function forwardGraph(cfg: ModelConfig, w: WeightInputs, ids: Value, pos: PositionValues, options: ForwardOptions = {}, inputs = new ExtraInputs(ids.graph)): ForwardValues {
  const g = ids.graph;
  const plan = resolvePlan(options.plan, cfg.nLayers);
  const edits = options.edits ?? {};
  const editResidual = (index: number, x: Value): Value => (edits.residual ? checkEdit('residual', x, edits.residual(index, x, inputs)) : x);
  let x = editResidual(0, g.scope('embed', () => embed(cfg, w, ids, pos)));
  const hiddenStates = [x];
  const sites: BlockSites[] = [];
  plan.forEach((layer, step) => {
    const s = g.scope(`layers.${layer}`, () => block(cfg, w, { step, layer }, x, pos, edits, inputs));
    sites.push(s);
    x = editResidual(step + 1, s.residOut);
    hiddenStates.push(x);
  });
  const finalNormInput = x;
  const normed = g.scope('final_norm', () => finalNorm(cfg, w, x));
  hiddenStates[plan.length] = normed;
  const logits = options.logits === false ? normed : g.scope('lm_head', () => outputHead(cfg, w, normed));
  return { hiddenStates, finalNormInput, logits, sites, plan };
}
