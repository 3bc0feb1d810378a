/**
 * The two residual-stream edits of the reference's `tuned_lens.causal` (reference-spec §11), as graph
 * functions: they take graph values and return the edited value, so they plug into any place of a
 * graph (a lens input, or a hidden state inside the model's forward pass) and autodiff goes through them.
 *
 * - `removeSubspace`: the reference's `remove_subspace(u, A, mode, orthonormal=True)`.
 * - `ablatedUpdate`: the reference's `ablate_layer` hook body, on a block's update F(h) = block(h) − h.
 *
 * Statistics that the reference takes over "all vectors of the batch" (mean, derangement) are explicit
 * arguments here, so a caller that processes data in blocks of tokens can pass the mean of the whole data.
 */
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';

export type AblationMode = 'zero' | 'mean' | 'resample';
export const ABLATION_MODES: readonly AblationMode[] = ['zero', 'mean', 'resample'];

/**
 * What an ablated component is replaced by ("the dummy" of the reference):
 * - `zero`: nothing (the component is projected out);
 * - `mean`: `replacement` is the mean vector [d] (broadcast to every token);
 * - `resample`: `replacement` holds, for every token, the vector of the token it is resampled from
 *   (same shape as the edited tensor: h[perm]).
 */
export interface Replacement {
  mode: AblationMode;
  replacement?: Value;
}

/**
 * Removes the information of `h` [..., d] along the column space of the orthonormal `basis` [d, k]:
 * `h + A Aᵀ (r − h)` with r = 0 (zero), the mean (mean) or the resampled vectors (resample).
 * Exactly the reference's `remove_subspace(h, A, mode, orthonormal=True)`.
 */
export function removeSubspace(h: Value, basis: Value, how: Replacement): Value {
  const d = h.shape[h.rank - 1]!;
  if (basis.rank !== 2 || basis.shape[0] !== d) h.graph.fail('remove_subspace', `basis ${basis.describe()} must be [${d}, k] for ${h.describe()}`);
  const target = dummy(h, how);
  // coefficients of (r − h) on the basis, then back to the residual space: [..., k] @ [k, d]
  const coeff = matmulLast(target, basis);
  return op.add(h, matmulLast(coeff, op.transpose(basis, [1, 0])));
}

/** r − h for the chosen mode (the reference's `dummy`). */
function dummy(h: Value, how: Replacement): Value {
  switch (how.mode) {
    case 'zero':
      return op.neg(h);
    case 'mean':
    case 'resample':
      if (!how.replacement) h.graph.fail('remove_subspace', `${how.mode} ablation needs the replacement vectors`);
      return op.sub(how.replacement!, h);
  }
}

/** x [..., n] @ w [n, m] for any rank of x (a 2-D matmul on the flattened leading axes). */
function matmulLast(x: Value, w: Value): Value {
  const lead = x.shape.slice(0, -1);
  const flat = op.reshape(x, [-1, x.shape[x.rank - 1]!]);
  return op.reshape(op.matmul(flat, w), [...lead, w.shape[1]!]);
}

export type BlockAblationMode = 'batch' | 'token';

/**
 * The reference's `ablate_layer` on a block's update r = y − x [B, T, d] (x = block input, y = output):
 * - `zero`: 0 (the block is skipped; `mode` is ignored);
 * - `mean`, batch: the mean of r over the B sequences, per position; token: the mean over all B·T tokens;
 * - `resample`: r[perm], `perm` (int64) a derangement of the B sequences (batch) or of the B·T
 *   flattened tokens (token).
 * Means and derangements are over the batch given, exactly like the reference's hook.
 */
export function ablatedUpdate(r: Value, method: AblationMode, mode: BlockAblationMode = 'batch', perm?: Value): Value {
  const [B, T, d] = r.shape as [number, number, number];
  if (method === 'zero') return op.mul(r, 0);
  if (method === 'mean') return op.expand(mode === 'batch' ? op.reduceMean(r, [0], true) : op.reduceMean(r, [0, 1], true), r.shape);
  if (!perm) r.graph.fail('ablated_update', 'resample ablation needs a permutation');
  if (mode === 'batch') return op.gather(r, perm!, 0);
  return op.reshape(op.gather(op.reshape(r, [B * T, d]), perm!, 0), [B, T, d]);
}

/**
 * The replacement the reference takes from the edited tensor itself (`remove_subspace` on a whole
 * batch): the mean over every token of `h` [..., d], or `h` at the flattened tokens `perm` (int64).
 */
export function replacementFromBatch(h: Value, mode: AblationMode, perm?: Value): Replacement {
  const d = h.shape[h.rank - 1]!;
  const flat = op.reshape(h, [-1, d]);
  if (mode === 'zero') return { mode };
  if (mode === 'mean') return { mode, replacement: op.reduceMean(flat, [0], true) };
  if (!perm) h.graph.fail('replacement_from_batch', 'resample ablation needs a permutation');
  return { mode, replacement: op.reshape(op.gather(flat, perm!, 0), h.shape) };
}
