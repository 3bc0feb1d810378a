/**
 * Forward-pass interventions: the named points inside a block where reads and edits attach, the edit
 * callbacks the forward pass calls while it builds the graph, block plans (run blocks in any order,
 * drop or repeat them), and the extra graph inputs an edit may declare (a mean vector, a direction).
 *
 * Edits change the graph, not the numbers after the fact: the model runs on from the edited value, and
 * gradients flow through the edit like through any other op.
 */
import type { Graph, Value } from '../graph/graph.js';
import type { HostData } from '../graph/runtime.js';

/** Which block is running: `step` is its position in the plan, `layer` the block whose weights and settings it uses. */
export interface BlockRef {
  step: number;
  layer: number;
}

/**
 * The named values of one block as it ran (all [B, T, d]). For parallel blocks (GPT-J, NeoX) the MLP
 * reads the block input, not `residMid`; `residMid` is still `residIn + attnOut`.
 */
export interface BlockSites extends BlockRef {
  /** The residual entering the block: hidden_states[step] after any residual edit. */
  residIn: Value;
  /** Attention branch output, as added to the residual (after gemma2's post-attention norm), after any edit. */
  attnOut: Value;
  /** residIn + attnOut. */
  residMid: Value;
  /** MLP branch output, as added to the residual, after any edit. */
  mlpOut: Value;
  /** The block's update F(h) = block(h) − h (attnOut + mlpOut), after any blockUpdate edit. */
  update: Value;
  /** Block output, before the residual edit of the next index. */
  residOut: Value;
}

/**
 * Edit callbacks, called while the graph is built. Each returns the value to use instead of the one it
 * received (same shape); returning the argument itself leaves the model unchanged.
 */
export interface ForwardEdits {
  /**
   * Replaces hidden_states[index]: 0 = embedding output, i = output of plan step i−1, plan.length = the
   * residual entering the final norm (final_norm_input).
   */
  residual?: (index: number, x: Value, inputs: ExtraInputs) => Value;
  /** Replaces a block's attention output before it joins the residual stream. */
  attnOut?: (block: BlockRef, attn: Value, inputs: ExtraInputs) => Value;
  /** Replaces a block's MLP output before it joins the residual stream. */
  mlpOut?: (block: BlockRef, mlp: Value, inputs: ExtraInputs) => Value;
  /**
   * Replaces a block's whole update F(h) = block(h) − h; the block then outputs h + edited. Zero = skip
   * the block; a mean or a resampled update = mean/resample ablation.
   */
  blockUpdate?: (block: BlockRef, update: Value, residIn: Value, inputs: ExtraInputs) => Value;
}

/** What the forward pass takes besides the ids and positions. */
export interface ForwardOptions {
  /** false: stop after the final norm (logits = the normed residual). */
  logits?: boolean;
  /** true (default): the fused attention op (onnxruntime's kernel where it applies); false: its decomposition, built explicitly. Both differentiate. */
  fusedAttention?: boolean;
  /** Block indices to run in order (omit = delete, repeat = duplicate); default 0..L−1. */
  plan?: readonly number[];
  edits?: ForwardEdits;
}

/**
 * Graph inputs that callers (usually edit callbacks) declare next to the model's own: data given here
 * is fed on every run of the graph; data can also be set later, or passed per run as an extra feed.
 */
export class ExtraInputs {
  private readonly data = new Map<string, HostData>();
  private readonly values = new Map<string, Value>();

  constructor(readonly g: Graph) {}

  /** Declares a float32 input `name` of `shape`, fed with `data` when given. */
  input(name: string, shape: readonly number[], data?: Float32Array): Value {
    const v = this.g.input(name, 'float32', shape);
    this.values.set(name, v);
    if (data) this.set(name, data);
    return v;
  }

  /** Sets (or replaces) the data fed to a declared input. */
  set(name: string, data: HostData): void {
    const v = this.values.get(name);
    if (!v) throw new Error(`'${name}' is not an extra input of this graph (declared: ${[...this.values.keys()].join(', ') || 'none'})`);
    if (data.length !== v.size) throw new Error(`extra input '${name}' is [${v.shape.join(', ')}] (${v.size} values), got ${data.length}`);
    this.data.set(name, data);
  }

  feeds(): Record<string, HostData> {
    return Object.fromEntries(this.data);
  }
}

/** Checks a plan against the model's block count; the default plan runs every block once, in order. */
export function resolvePlan(plan: readonly number[] | undefined, nLayers: number): number[] {
  if (!plan) return Array.from({ length: nLayers }, (_, i) => i);
  for (const i of plan) {
    if (!Number.isInteger(i) || i < 0 || i >= nLayers) throw new Error(`block plan: ${i} is not a block index of this model (0..${nLayers - 1})`);
  }
  return [...plan];
}

/** An edit must give back a value of the shape it received, in the same graph. */
export function checkEdit(what: string, before: Value, after: Value): Value {
  if (after.graph !== before.graph) throw new Error(`${what} edit returned a value from another graph`);
  if (after.shape.length !== before.shape.length || after.shape.some((d, i) => d !== before.shape[i]) || after.dtype !== before.dtype) {
    throw new Error(`${what} edit must return [${before.shape.join(', ')}] ${before.dtype}, got [${after.shape.join(', ')}] ${after.dtype}`);
  }
  return after;
}
