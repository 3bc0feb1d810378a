/**
 * Prediction depth (paper §5.3, Fig. 11; Baldock et al. 2021 for the idea): the earliest layer from which
 * the lens's top-1 prediction already equals the model's final top-1 and stays equal at every later layer.
 * With L lens layers, depth i ∈ 0..L−1, and depth L when only the model's output has it ("learned at the
 * last block"). The same rule serves tokens (top-1 over the vocabulary) and multiple-choice examples (the
 * preferred choice).
 */
import type { Lens } from '../lens/lens.js';
import { computeTrajectory } from '../trajectory/compute.js';
import { predictionDepth } from './prediction-depth.js';

// The rule itself has no dependencies, so the viewer's page bundle can use it without the compute code.
export { predictionDepth } from './prediction-depth.js';

export interface TokenDepths {
  inputIds: number[];
  /** depth[t]: the depth of the prediction made at position t (of token t + 1). */
  depth: number[];
  /** The model's own top-1 at each position. */
  finalTop1: number[];
  /** Top-1 of every lens layer, [L][T]. */
  lensTop1: number[][];
  nLayers: number;
}

/** Token-level prediction depths of one sequence (top-1 per row from the trajectory computation). */
export async function tokenPredictionDepths(lens: Lens, ids: number[]): Promise<TokenDepths> {
  const L = lens.model.nLayers;
  const tr = await computeTrajectory(lens, { ids: [ids] }, { topK: 1 });
  const T = ids.length;
  // topIds is [rows][batch = 1][T][K = 1]; row L is the model's output.
  const top = (r: number): number[] => Array.from({ length: T }, (_, t) => tr.topIds[r * T + t]!);
  const lensTop1 = Array.from({ length: L }, (_, r) => top(r));
  const finalTop1 = top(L);
  const depth = finalTop1.map((f, t) => predictionDepth(lensTop1.map((row) => row[t]!), f));
  return { inputIds: ids, depth, finalTop1, lensTop1, nLayers: L };
}
