/**
 * Layer surgery as block plans (the reference's delete_layers / permute_layers, §11.3): a plan lists the
 * blocks to run in order, each with its own weights and attention settings (window, ALiBi slope, layer
 * scaling); a block left out is deleted, one listed twice is duplicated.
 */

function checkIndices(what: string, indices: readonly number[], nLayers: number): void {
  for (const i of indices) if (!Number.isInteger(i) || i < 0 || i >= nLayers) throw new Error(`${what}: ${i} is not a block index (0..${nLayers - 1})`);
}

/** Every block except `deleted`. */
export function deletePlan(nLayers: number, deleted: readonly number[]): number[] {
  checkIndices('delete', deleted, nLayers);
  const gone = new Set(deleted);
  return Array.from({ length: nLayers }, (_, i) => i).filter((i) => !gone.has(i));
}

/** Every block, with each of `duplicated` run twice in a row. */
export function duplicatePlan(nLayers: number, duplicated: readonly number[]): number[] {
  checkIndices('duplicate', duplicated, nLayers);
  return Array.from({ length: nLayers }, (_, i) => i).flatMap((i) => (duplicated.includes(i) ? [i, i] : [i]));
}

/** Blocks in the given order; like the reference's permute_layers it may also drop or repeat blocks. */
export function permutePlan(nLayers: number, order: readonly number[]): number[] {
  checkIndices('permute', order, nLayers);
  if (order.length === 0) throw new Error('permute: the plan runs no block');
  return [...order];
}
