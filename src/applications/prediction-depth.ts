/**
 * The prediction-depth rule (paper §5.3, Fig. 11), on its own: no imports, so both the compute side
 * (applications/depth.ts) and the viewer page (viewer/grid-modes.ts) call this one definition.
 */

/**
 * Depth of one prediction from the per-layer answers `layerAnswers[0..L−1]` and the final answer: the
 * smallest i such that layerAnswers[j] = final for every j ≥ i; L when layerAnswers[L−1] differs.
 */
export function predictionDepth(layerAnswers: readonly number[], finalAnswer: number): number {
  let depth = layerAnswers.length;
  while (depth > 0 && layerAnswers[depth - 1] === finalAnswer) depth--;
  return depth;
}
