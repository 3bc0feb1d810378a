/**
 * Reading the output folder of `tuned-lens causal-basis` (DIR/bases.json + DIR/bases.safetensors) and
 * checking it against the model it is used with: hidden size, layer indices, the lens kind and the
 * shapes of every tensor. Every problem is an error naming the file. Used by `tuned-lens fidelity` and by
 * the viewer's causal-basis panel (`tuned-lens serve --bases DIR`).
 *
 * Core code: files go through io/file-system.ts.
 */
import type { FileSystem } from '../io/file-system.js';
import { openSafetensors } from '../formats/safetensors.js';
import { ABLATION_MODES, type AblationMode } from './ablation.js';

/** A direction's top token as bases.json lists it. */
export interface BasesToken {
  id: number;
  token: string;
  score: number;
}

export interface BasesDirection {
  index: number;
  /** Lens influence in nats (the energy). */
  energy: number;
  plus: BasesToken[];
  minus: BasesToken[];
}

export interface BasesLayer {
  layer: number;
  d: number;
  k: number;
  /** [d, k] row-major: column j is direction j (unit), sorted by energy descending. */
  vectors: Float32Array;
  energies: Float32Array;
  /** [d]: the mean of hidden_states[layer] over the extraction data (for mean ablation). */
  mean: Float32Array;
  /** Top tokens of ±v per direction (empty lists if bases.json has none for this layer). */
  directions: BasesDirection[];
}

export interface CausalBases {
  dir: string;
  lensKind: 'logit' | 'tuned';
  mode: AblationMode;
  seqLen: number | null;
  /** The lens the bases were extracted with, as provenance recorded it (null for the logit lens). */
  lens: { spec: string; sha256: string | null } | null;
  layers: BasesLayer[];
}

interface BasesJsonLayer {
  layer?: unknown;
  directions?: { index?: unknown; energy?: unknown; top_tokens_plus?: unknown; top_tokens_minus?: unknown }[];
}

interface BasesJson {
  settings?: { lens_kind?: unknown; mode?: unknown; seq_len?: unknown };
  provenance?: { lens?: { spec?: unknown; sha256?: unknown } | null };
  layers?: BasesJsonLayer[];
}

/** Column j of a [d, k] row-major matrix. */
export function basisColumn(layer: BasesLayer, j: number): Float32Array {
  if (!Number.isInteger(j) || j < 0 || j >= layer.k) throw new Error(`direction ${j} is outside 0..${layer.k - 1}`);
  return Float32Array.from({ length: layer.d }, (_, r) => layer.vectors[r * layer.k + j]!);
}

function tokens(v: unknown, file: string, where: string): BasesToken[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`${file}: ${where} must be a list of tokens`);
  return v.map((t: { id?: unknown; token?: unknown; score?: unknown }, i) => {
    if (typeof t !== 'object' || t === null || !Number.isInteger(t.id) || typeof t.token !== 'string') throw new Error(`${file}: ${where}[${i}] must be {"id", "token", "score"}`);
    return { id: t.id as number, token: t.token, score: typeof t.score === 'number' ? t.score : NaN };
  });
}

/**
 * Reads and checks a causal-basis folder for a model with hidden size `dModel` and `nLayers` layers.
 * `only`: restrict to these layers (all stored layers by default).
 */
export async function readCausalBases(fs: FileSystem, dir: string, model: { name: string; dModel: number; nLayers: number }, only?: readonly number[]): Promise<CausalBases> {
  const jsonPath = fs.join(dir, 'bases.json');
  const stPath = fs.join(dir, 'bases.safetensors');
  for (const p of [jsonPath, stPath]) if (!(await fs.exists(p))) throw new Error(`${p} is missing (is ${dir} an output folder of tuned-lens causal-basis?)`);
  let meta: BasesJson;
  try {
    meta = JSON.parse(await fs.readText(jsonPath)) as BasesJson;
  } catch (e) {
    throw new Error(`${jsonPath}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof meta !== 'object' || meta === null) throw new Error(`${jsonPath}: must hold a JSON object`);
  const kind = meta.settings?.lens_kind;
  if (kind !== 'logit' && kind !== 'tuned') throw new Error(`${jsonPath}: settings.lens_kind must be "logit" or "tuned", got ${JSON.stringify(kind)}`);
  const mode = meta.settings?.mode ?? 'mean';
  if (!(ABLATION_MODES as readonly unknown[]).includes(mode)) throw new Error(`${jsonPath}: settings.mode must be one of ${ABLATION_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  const seqLen = meta.settings?.seq_len;
  const lensRecord = meta.provenance?.lens;

  const jsonLayers = new Map<number, BasesJsonLayer>();
  for (const l of meta.layers ?? []) if (Number.isInteger(l.layer)) jsonLayers.set(l.layer as number, l);

  const d = model.dModel;
  const st = await openSafetensors(fs, stPath);
  const layers: BasesLayer[] = [];
  try {
    for (const name of st.names()) {
      const m = /^layers\.(\d+)\.vectors$/.exec(name);
      if (!m) continue;
      const layer = Number(m[1]);
      if (only && !only.includes(layer)) continue;
      if (layer >= model.nLayers) throw new Error(`${stPath}: layer ${layer} does not exist in ${model.name} (${model.nLayers} layers: 0..${model.nLayers - 1})`);
      const v = await st.readFloat32(name);
      if (v.shape.length !== 2 || v.shape[0] !== d || v.shape[1]! < 1) throw new Error(`${stPath}: ${name} is [${v.shape.join(', ')}], expected [${d}, k] for ${model.name} (hidden size ${d})`);
      const k = v.shape[1]!;
      for (const part of ['energies', 'mean']) if (!st.has(`layers.${layer}.${part}`)) throw new Error(`${stPath}: layers.${layer}.${part} is missing`);
      const energies = await st.readFloat32(`layers.${layer}.energies`, [k]);
      const mean = await st.readFloat32(`layers.${layer}.mean`, [d]);
      for (const [what, t] of [['vectors', v.data], ['energies', energies.data], ['mean', mean.data]] as const) {
        if (t.some((x) => !Number.isFinite(x))) throw new Error(`${stPath}: layers.${layer}.${what} holds NaN or infinite values`);
      }
      const entry = jsonLayers.get(layer);
      const directions: BasesDirection[] = Array.from({ length: k }, (_, j) => {
        const dj = entry?.directions?.find((x) => x.index === j);
        return {
          index: j,
          energy: energies.data[j]!,
          plus: tokens(dj?.top_tokens_plus, jsonPath, `layers[${layer}].directions[${j}].top_tokens_plus`),
          minus: tokens(dj?.top_tokens_minus, jsonPath, `layers[${layer}].directions[${j}].top_tokens_minus`),
        };
      });
      layers.push({ layer, d, k, vectors: v.data, energies: energies.data, mean: mean.data, directions });
    }
  } finally {
    await st.close();
  }
  if (layers.length === 0) throw new Error(`${stPath}: no layers.{i}.vectors tensors${only ? ` for layers ${only.join(', ')}` : ''}`);
  layers.sort((a, b) => a.layer - b.layer);
  return {
    dir,
    lensKind: kind,
    mode: mode as AblationMode,
    seqLen: typeof seqLen === 'number' && Number.isInteger(seqLen) ? seqLen : null,
    lens:
      lensRecord && typeof lensRecord.spec === 'string'
        ? { spec: lensRecord.spec, sha256: typeof lensRecord.sha256 === 'string' ? lensRecord.sha256 : null }
        : null,
    layers,
  };
}
