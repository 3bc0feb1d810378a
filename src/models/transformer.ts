/**
 * The one forward pass shared by every architecture, driven by ModelConfig: token embedding, the
 * blocks of a plan (each composed by its layout in blocks.ts), the final norm and the output head. It
 * exposes every hidden state with Hugging Face's indexing and every block's named sites, and applies
 * the edits of interventions.ts where they attach.
 */
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import type { ModelConfig } from './model-config.js';
import { W } from './load-weights.js';
import { applyNorm, BLOCK_LAYOUTS, blockPieces, softcap } from './blocks.js';
import type { PositionValues, WeightInputs } from './graph-inputs.js';
import { checkEdit, ExtraInputs, resolvePlan, type BlockRef, type BlockSites, type ForwardEdits, type ForwardOptions } from './interventions.js';

export { applyNorm } from './blocks.js';
export { positionInputs, WeightInputs, type PositionValues } from './graph-inputs.js';

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
export function block(cfg: ModelConfig, w: WeightInputs, ref: BlockRef, x: Value, pos: PositionValues, edits: ForwardEdits = {}, inputs = new ExtraInputs(x.graph)): BlockSites {
  const pieces = blockPieces(cfg, w, ref.layer, pos, {
    attnOut: (a) => (edits.attnOut ? checkEdit('attnOut', a, edits.attnOut(ref, a, inputs)) : a),
    mlpOut: (m) => (edits.mlpOut ? checkEdit('mlpOut', m, edits.mlpOut(ref, m, inputs)) : m),
  });
  const { attnOut, residMid, mlpOut } = BLOCK_LAYOUTS[cfg.residual](pieces, x);
  let update = op.add(attnOut, mlpOut);
  let residOut: Value;
  if (edits.blockUpdate) {
    update = checkEdit('blockUpdate', update, edits.blockUpdate(ref, update, x, inputs));
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

/**
 * The output head on normed states: lm_head (+ bias), then Gemma-2's final soft cap, which is part of
 * the model's head and so of every lens; `{ softcap: false }` gives the uncapped logits.
 */
export function outputHead(cfg: ModelConfig, w: WeightInputs, normed: Value, options: { softcap?: boolean } = {}): Value {
  const logits = op.linear(normed, w.get(W.lmHead), cfg.lmHeadBias ? w.maybe(W.lmHeadB) : null);
  return cfg.finalSoftcap !== null && options.softcap !== false ? softcap(logits, cfg.finalSoftcap) : logits;
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
