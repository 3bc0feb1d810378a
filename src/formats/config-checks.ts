/**
 * Range checks for the sizes that configs and headers declare (model config.json, llama2.c headers, lens
 * config.json). Sizes decide how much is allocated and how many tensors are looked for, so a corrupt or hostile
 * value (1e9 layers, 1.5 heads, -1) must fail here, with the file and key named, before anything is built from it.
 * The bounds are far above every real model; they only rule out values no checkpoint could back.
 */

/** Inclusive upper bounds per kind of size. */
export const SIZE_LIMITS = {
  layers: 10_000,
  heads: 65_536,
  /** Hidden sizes, head sizes, embedding widths. */
  width: 1 << 20,
  /** MLP widths. */
  ffn: 1 << 22,
  vocab: 1 << 24,
  /** Context lengths and attention windows. */
  positions: 1 << 27,
} as const;

export type SizeKind = keyof typeof SIZE_LIMITS;

/** A user-facing description of a JSON value for error messages (short, never the whole value). */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const s = typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : String(v);
  return typeof v === 'number' ? s : `${typeof v} ${s}`;
}

/**
 * `value` as an integer in [min, SIZE_LIMITS[kind]]; otherwise an error `<where>: "<key>" must be an integer
 * from min to max, got …`. `where` is the file (and whatever else locates the value).
 */
export function checkSize(where: string, key: string, value: unknown, kind: SizeKind, min = 1): number {
  const max = SIZE_LIMITS[kind];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${where}: "${key}" must be an integer from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

/** The sizes of a normalised model description (ModelConfig's fields), whatever config they came from. */
export interface ModelSizes {
  nLayers: number;
  dModel: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  dFF: number;
  vocabSize: number;
  maxPositions: number;
}

/**
 * Checks the sizes an architecture derived from its config (a defaulted or computed value, e.g. head_dim =
 * hidden / heads, is checked too), and that the checkpoint has the layers the config claims: a config saying 10,000
 * layers over a 2-layer checkpoint fails here, not after loading half of it. `tensorNames` are the checkpoint's
 * tensor names; the highest number that appears as a name segment bounds the layer count.
 */
export function checkModelSizes(cfg: ModelSizes, where: string, tensorNames: readonly string[], checkpoint: string): void {
  checkSize(where, 'number of layers', cfg.nLayers, 'layers');
  checkSize(where, 'hidden size', cfg.dModel, 'width');
  checkSize(where, 'attention heads', cfg.nHeads, 'heads');
  checkSize(where, 'key/value heads', cfg.nKvHeads, 'heads');
  checkSize(where, 'head size', cfg.headDim, 'width');
  checkSize(where, 'MLP width', cfg.dFF, 'ffn');
  checkSize(where, 'vocabulary size', cfg.vocabSize, 'vocab');
  checkSize(where, 'context length', cfg.maxPositions, 'positions');
  if (cfg.nHeads % cfg.nKvHeads !== 0) throw new Error(`${where}: ${cfg.nHeads} attention heads are not a multiple of ${cfg.nKvHeads} key/value heads`);
  let highest = -1;
  for (const name of tensorNames) {
    for (const seg of name.split('.')) if (/^\d{1,6}$/.test(seg)) highest = Math.max(highest, Number(seg));
  }
  if (highest >= 0 && cfg.nLayers > highest + 1) {
    throw new Error(`${where}: the config declares ${cfg.nLayers} layers, but ${checkpoint} holds tensors for at most ${highest + 1}`);
  }
}
