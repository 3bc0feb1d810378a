/**
 * The residual-space vectors f_i(W) of one block (App. E.1), read from the canonical tensors of
 * load-weights.ts, so one code path serves every architecture:
 *
 * | source | tensor(s) | vectors | side |
 * |---|---|---|---|
 * | ov_svd_left / ov_svd_right | per query head h: W_O^h = `o.w[:, h·hd:(h+1)·hd]`, W_V^g = v rows of kv head g = ⌊h·Hkv/H⌋ in `qkv.w` | singular vectors of W_O^h W_V^g | left: written, right: read |
 * | qk_svd_left / qk_svd_right | W_Q^h (q rows of head h), W_K^g (k rows of kv head g) in `qkv.w` | singular vectors of W_Q^hᵀ W_K^g (query side / key side) | read |
 * | w_in_svd, w_in_columns | `up.w` [dFF, d] | right singular vectors; its rows (one per neuron) | read |
 * | w_in_gate_svd, w_in_gate_columns | `gate.w` (gated MLPs only) | the same for the gate | read |
 * | w_out_svd, w_out_rows | `down.w` [d, dFF] | left singular vectors; its columns (one per neuron) | written |
 *
 * `qkv.w` is [q heads | k heads | v heads] × d for every layout: GPT-2's `c_attn` (Conv1D, transposed at
 * load), NeoX's / BLOOM's per-head `query_key_value` (reordered at load), Phi-3's `qkv_proj`, separate q/k/v projections
 * (Llama, Mistral, Qwen, Gemma, OPT, GPT-Neo, GPT-J) and GQA (fewer k/v heads); Phi-3's `gate_up_proj` is
 * split into `gate.w` and `up.w` at load. Rotary and q/k norms are
 * position- or input-dependent and not part of the static QK circuit; block input norms are not folded in.
 * Singular vectors come in both signs (index 2j is +v_j, 2j+1 is −v_j).
 */
import type { HostTensor } from '../formats/weights.js';
import { W, type ModelWeights } from '../models/load-weights.js';
import type { ModelConfig } from '../models/model-config.js';
import { frobeniusNorm, mat, productSvd, singularVectors, transpose, type Mat } from '../linalg/dense.js';
import type { SeededRandom } from './random.js';

export const SOURCES = ['ov_svd_left', 'ov_svd_right', 'qk_svd_left', 'qk_svd_right', 'w_in_svd', 'w_in_columns', 'w_out_svd', 'w_out_rows', 'w_in_gate_svd', 'w_in_gate_columns'] as const;
export type SourceName = (typeof SOURCES)[number];

/** Table 3's column titles. */
export const SOURCE_TITLES: Record<SourceName, string> = {
  ov_svd_left: 'OV SVD (L)',
  ov_svd_right: 'OV SVD (R)',
  qk_svd_left: 'QK SVD (L)',
  qk_svd_right: 'QK SVD (R)',
  w_in_svd: 'W in SVD',
  w_in_columns: 'W in columns',
  w_out_svd: 'W out SVD',
  w_out_rows: 'W out rows',
  w_in_gate_svd: 'W in SVD (gate)',
  w_in_gate_columns: 'W in columns (gate)',
};

/** Whether the block reads the vector from its input (decoded with translator ℓ) or writes it to its output (ℓ + 1). */
export const SOURCE_SIDE: Record<SourceName, 'read' | 'write'> = {
  ov_svd_left: 'write',
  ov_svd_right: 'read',
  qk_svd_left: 'read',
  qk_svd_right: 'read',
  w_in_svd: 'read',
  w_in_columns: 'read',
  w_out_svd: 'write',
  w_out_rows: 'write',
  w_in_gate_svd: 'read',
  w_in_gate_columns: 'read',
};

export interface VectorInfo {
  /** Attention head (query head) for OV/QK, else null. */
  head: number | null;
  /** Singular-vector or neuron index within the head / matrix. */
  component: number;
  sign: 1 | -1;
  singularValue: number | null;
}

/** All vectors of one source in one layer: `vectors` is [info.length, d] row-major. */
export interface SourceGroup {
  source: SourceName;
  layer: number;
  vectors: Float32Array;
  info: VectorInfo[];
}

/** The matrices the sources are computed from: either the model's own or random stand-ins. */
interface LayerMatrices {
  /** Per query head: W_O^h [d, hd], W_V^g [hd, d], W_Q^hᵀ [d, hd], W_K^g [hd, d]. */
  heads: { o: Mat; v: Mat; qT: Mat; k: Mat }[];
  up: Mat;
  gate: Mat | null;
  down: Mat;
}

function tensorMat(t: HostTensor): Mat {
  if (t.shape.length !== 2) throw new Error(`expected a matrix, got shape [${t.shape.join(', ')}]`);
  return mat(t.shape[0]!, t.shape[1]!, t.data);
}

function rowsOf(m: Mat, start: number, count: number): Mat {
  return mat(count, m.cols, m.data.subarray(start * m.cols, (start + count) * m.cols));
}

function colsOf(m: Mat, start: number, count: number): Mat {
  const out = mat(m.rows, count);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < count; j++) out.data[i * count + j] = m.data[i * m.cols + start + j]!;
  return out;
}

function layerMatrices(cfg: ModelConfig, weights: ModelWeights, layer: number): LayerMatrices {
  const get = (part: string): Mat => {
    const t = weights.get(W.layer(layer, part));
    if (!t) throw new Error(`model weight '${W.layer(layer, part)}' is not loaded`);
    return tensorMat(t);
  };
  const { nHeads: H, nKvHeads: Hkv, headDim: hd } = cfg;
  const qkv = get('qkv.w');
  const o = get('o.w');
  const heads = Array.from({ length: H }, (_, h) => {
    const g = Math.floor((h * Hkv) / H);
    return {
      o: colsOf(o, h * hd, hd),
      v: rowsOf(qkv, (H + Hkv + g) * hd, hd),
      qT: transpose(rowsOf(qkv, h * hd, hd)),
      k: rowsOf(qkv, (H + g) * hd, hd),
    };
  });
  return { heads, up: get('up.w'), gate: cfg.gatedMlp && weights.has(W.layer(layer, 'gate.w')) ? get('gate.w') : null, down: get('down.w') };
}

/** A Gaussian matrix of the same shape and Frobenius norm. */
function randomLike(m: Mat, rng: SeededRandom): Mat {
  const out = mat(m.rows, m.cols);
  for (let i = 0; i < out.data.length; i++) out.data[i] = rng.gaussian();
  const scale = frobeniusNorm(m) / (frobeniusNorm(out) || 1);
  for (let i = 0; i < out.data.length; i++) out.data[i]! *= scale;
  return out;
}

function randomMatrices(real: LayerMatrices, rng: SeededRandom): LayerMatrices {
  return {
    heads: real.heads.map((h) => ({ o: randomLike(h.o, rng), v: randomLike(h.v, rng), qT: randomLike(h.qT, rng), k: randomLike(h.k, rng) })),
    up: randomLike(real.up, rng),
    gate: real.gate ? randomLike(real.gate, rng) : null,
    down: randomLike(real.down, rng),
  };
}

class GroupBuilder {
  private readonly rows: Float32Array[] = [];
  readonly info: VectorInfo[] = [];
  constructor(
    readonly source: SourceName,
    readonly layer: number,
  ) {}

  add(v: ArrayLike<number>, info: VectorInfo): void {
    this.rows.push(Float32Array.from(v));
    this.info.push(info);
  }

  /** Adds +v and −v. */
  addBothSigns(v: ArrayLike<number>, head: number | null, component: number, singularValue: number): void {
    this.add(v, { head, component, sign: 1, singularValue });
    this.add(Array.from(v, (x) => -x), { head, component, sign: -1, singularValue });
  }

  build(): SourceGroup {
    const d = this.rows[0]?.length ?? 0;
    const vectors = new Float32Array(this.rows.length * d);
    this.rows.forEach((r, i) => vectors.set(r, i * d));
    return { source: this.source, layer: this.layer, vectors, info: this.info };
  }
}

function svdGroup(source: SourceName, layer: number, m: Mat, side: 'left' | 'right'): SourceGroup {
  const b = new GroupBuilder(source, layer);
  const { values, vectors } = singularVectors(m, side);
  const n = Math.min(m.rows, m.cols);
  const len = vectors.cols;
  for (let j = 0; j < n; j++) b.addBothSigns(vectors.data.subarray(j * len, (j + 1) * len), null, j, values[j]!);
  return b.build();
}

function rowsGroup(source: SourceName, layer: number, m: Mat): SourceGroup {
  const b = new GroupBuilder(source, layer);
  for (let i = 0; i < m.rows; i++) b.add(m.data.subarray(i * m.cols, (i + 1) * m.cols), { head: null, component: i, sign: 1, singularValue: null });
  return b.build();
}

function groupsOf(layer: number, m: LayerMatrices, only?: ReadonlySet<SourceName>): SourceGroup[] {
  const want = (s: SourceName): boolean => !only || only.has(s);
  const out: SourceGroup[] = [];
  for (const [circuit, pick] of [
    ['ov', (h: LayerMatrices['heads'][number]) => [h.o, h.v]],
    ['qk', (h: LayerMatrices['heads'][number]) => [h.qT, h.k]],
  ] as const) {
    const leftName = `${circuit}_svd_left` as SourceName;
    const rightName = `${circuit}_svd_right` as SourceName;
    if (!want(leftName) && !want(rightName)) continue;
    const left = new GroupBuilder(leftName, layer);
    const right = new GroupBuilder(rightName, layer);
    m.heads.forEach((h, hi) => {
      const [a, b] = pick(h);
      const svd = productSvd(a, b);
      for (let j = 0; j < svd.values.length; j++) {
        left.addBothSigns(svd.left.data.subarray(j * svd.left.cols, (j + 1) * svd.left.cols), hi, j, svd.values[j]!);
        right.addBothSigns(svd.right.data.subarray(j * svd.right.cols, (j + 1) * svd.right.cols), hi, j, svd.values[j]!);
      }
    });
    if (want(leftName)) out.push(left.build());
    if (want(rightName)) out.push(right.build());
  }
  if (want('w_in_svd')) out.push(svdGroup('w_in_svd', layer, m.up, 'right'));
  if (want('w_in_columns')) out.push(rowsGroup('w_in_columns', layer, m.up));
  if (m.gate && want('w_in_gate_svd')) out.push(svdGroup('w_in_gate_svd', layer, m.gate, 'right'));
  if (m.gate && want('w_in_gate_columns')) out.push(rowsGroup('w_in_gate_columns', layer, m.gate));
  if (want('w_out_svd')) out.push(svdGroup('w_out_svd', layer, m.down, 'left'));
  if (want('w_out_rows')) out.push(rowsGroup('w_out_rows', layer, transpose(m.down)));
  return out;
}

/** The source vectors of block `layer` of the model. */
export function layerSources(cfg: ModelConfig, weights: ModelWeights, layer: number, only?: ReadonlySet<SourceName>): SourceGroup[] {
  return groupsOf(layer, layerMatrices(cfg, weights, layer), only);
}

/**
 * The random baseline of block `layer`: every matrix replaced by Gaussian entries of the same shape and
 * Frobenius norm (OV and QK: random factors, then their product), drawn from `rng`.
 */
export function randomLayerSources(cfg: ModelConfig, weights: ModelWeights, layer: number, rng: SeededRandom, only?: ReadonlySet<SourceName>): SourceGroup[] {
  return groupsOf(layer, randomMatrices(layerMatrices(cfg, weights, layer), rng), only);
}
