/**
 * Sub-layer reads: the logit lens on the residual stream after each block's attention (before its MLP),
 * as a trajectory — the same statistics and top-k as any trajectory, its output row the model's own.
 * Tuned-lens translators exist only for block outputs, so sub-layer rows are always logit-lens rows.
 */
import { LogitLens } from '../lens/lens.js';
import { computeMidBlockStates } from '../lens/mid-block-states.js';
import type { LanguageModel } from '../models/language-model.js';
import type { Batch } from '../models/position-inputs.js';
import { computeTrajectory, type TrajectoryData, type TrajectoryOptions } from './compute.js';

/** Row label of block ℓ's mid-point: it sits between row ℓ (the block's input) and row ℓ + 1 (its output). */
export function sublayerRowLabel(layer: number): string {
  return `${layer}.attn`;
}

/**
 * Row ℓ (0..L−1) = the logit lens on block ℓ's residual after attention; row L = the model output.
 * Throws (with the reason) for architectures whose attention and MLP run in parallel.
 */
export async function computeSublayerTrajectory(
  model: LanguageModel,
  batch: Batch,
  options: Omit<TrajectoryOptions, 'hiddenStates' | 'compareWith'> = {},
): Promise<TrajectoryData> {
  const data = await computeTrajectory(new LogitLens(model), batch, { ...options, hiddenStates: (b) => computeMidBlockStates(model, b) });
  return { ...data, rowLabels: [...Array.from({ length: model.nLayers }, (_, i) => sublayerRowLabel(i)), 'output'] };
}
