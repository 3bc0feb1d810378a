/**
 * Reads a checkpoint into the canonical tensor set the forward pass uses, applying the few layout
 * conversions architectures need (Conv1D transpose, fused-qkv reordering, interleaved rotary).
 */
import type { HostTensor, WeightSource } from '../formats/weights.js';
import type { Architecture } from './architecture.js';
import type { ModelConfig } from './model-config.js';
import { concatRows, fusedPerHeadToQkv, interleavedToHalfRotary, transpose2dInPlace } from './weight-transforms.js';

export type ModelWeights = Map<string, HostTensor>;

/** Canonical tensor names; graph inputs carry these names. */
export const W = {
  embed: 'embed',
  positions: 'positions',
  embedNormW: 'embed_norm.w',
  embedNormB: 'embed_norm.b',
  projectIn: 'project_in',
  projectOut: 'project_out',
  finalNormW: 'final_norm.w',
  finalNormB: 'final_norm.b',
  lmHead: 'lm_head.w',
  lmHeadB: 'lm_head.b',
  layer: (i: number, part: string): string => `layers.${i}.${part}`,
};

class CheckpointReader {
  constructor(private readonly src: WeightSource) {}

  /** Finds `name` in the file, also without the base-model prefix (hub GPT-2 stores "h.0..." not "transformer.h.0..."). */
  resolve(name: string): string | null {
    if (this.src.has(name)) return name;
    const dot = name.indexOf('.');
    if (dot > 0 && this.src.has(name.slice(dot + 1))) return name.slice(dot + 1);
    return null;
  }

  has(name: string): boolean {
    return this.resolve(name) !== null;
  }

  async read(name: string): Promise<HostTensor> {
    const actual = this.resolve(name);
    if (!actual) {
      const sample = this.src.names().slice(0, 8).join(', ');
      throw new Error(`${this.src.path}: tensor '${name}' is missing (the file has e.g. ${sample})`);
    }
    return this.src.readFloat32(actual);
  }

  async readOptional(name: string): Promise<HostTensor | null> {
    return this.has(name) ? this.read(name) : null;
  }
}

function expectShape(src: WeightSource, name: string, t: HostTensor, shape: number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${src.path}: tensor '${name}' has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}] for this config`);
  }
}

export async function loadWeights(arch: Architecture, cfg: ModelConfig, src: WeightSource): Promise<ModelWeights> {
  const r = new CheckpointReader(src);
  const names = arch.names(cfg);
  const out: ModelWeights = new Map();
  const { dModel: d, dEmbed, headDim, nHeads, nKvHeads, dFF, vocabSize } = cfg;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;

  /** Reads `<prefix>.weight` as a PyTorch Linear weight [out, in] (transposing Conv1D layouts). */
  const linearWeight = async (prefix: string): Promise<HostTensor> => {
    const t = await r.read(`${prefix}.weight`);
    return arch.conv1dWeights ? transpose2dInPlace(t) : t; // the array read is ours alone
  };
  const put = (name: string, srcName: string, t: HostTensor | null, shape: number[]): void => {
    if (!t) return;
    expectShape(src, srcName, t, shape);
    out.set(name, t);
  };
  const putNorm = async (prefix: string, wName: string, bName: string, dim: number): Promise<void> => {
    put(wName, `${prefix}.weight`, await r.read(`${prefix}.weight`), [dim]);
    put(bName, `${prefix}.bias`, await r.readOptional(`${prefix}.bias`), [dim]);
  };

  put(W.embed, `${names.embed}.weight`, await r.read(`${names.embed}.weight`), [vocabSize, dEmbed]);
  if (names.positions && cfg.position.kind === 'learned') {
    const t = await r.read(`${names.positions}.weight`);
    put(W.positions, `${names.positions}.weight`, t, [t.shape[0]!, d]);
  }
  if (cfg.embedNorm && names.embedNorm) await putNorm(names.embedNorm, W.embedNormW, W.embedNormB, d);
  if (cfg.projectInOut) {
    put(W.projectIn, `${names.projectIn}.weight`, await r.read(`${names.projectIn}.weight`), [d, dEmbed]);
    put(W.projectOut, `${names.projectOut}.weight`, await r.read(`${names.projectOut}.weight`), [dEmbed, d]);
  }

  const rotary = cfg.position.kind === 'rotary' ? cfg.position.rotaryDim : 0;
  for (let i = 0; i < cfg.nLayers; i++) {
    const L = arch.names(cfg).layer(i);
    const key = (part: string): string => W.layer(i, part);
    await putNorm(L.ln1, key('ln1.w'), key('ln1.b'), d);
    if (L.ln2) await putNorm(L.ln2, key('ln2.w'), key('ln2.b'), d);
    if (L.postAttnNorm) await putNorm(L.postAttnNorm, key('post_attn_norm.w'), key('post_attn_norm.b'), d);
    if (L.postMlpNorm) await putNorm(L.postMlpNorm, key('post_mlp_norm.w'), key('post_mlp_norm.b'), d);

    let qkvW: HostTensor;
    let qkvB: HostTensor | null;
    if ('fused' in L.qkv) {
      qkvW = await linearWeight(L.qkv.fused);
      qkvB = await r.readOptional(`${L.qkv.fused}.bias`);
      if (arch.fusedQkvPerHead) {
        qkvW = fusedPerHeadToQkv(qkvW, nHeads, headDim);
        if (qkvB) qkvB = fusedPerHeadToQkv(qkvB, nHeads, headDim);
      }
    } else {
      const parts = [L.qkv.q, L.qkv.k, L.qkv.v];
      const ws = await Promise.all(parts.map(linearWeight));
      const bs = await Promise.all(parts.map((p) => r.readOptional(`${p}.bias`)));
      if (arch.interleavedRotary && rotary) {
        ws[0] = interleavedToHalfRotary(ws[0]!, nHeads, headDim, rotary);
        ws[1] = interleavedToHalfRotary(ws[1]!, nKvHeads, headDim, rotary);
        if (bs[0]) bs[0] = interleavedToHalfRotary(bs[0], nHeads, headDim, rotary);
        if (bs[1]) bs[1] = interleavedToHalfRotary(bs[1], nKvHeads, headDim, rotary);
      }
      ws.forEach((w, j) => expectShape(src, `${parts[j]}.weight`, w, [j === 0 ? qDim : kvDim, d]));
      qkvW = concatRows(ws);
      qkvB = bs.every((b) => b) ? concatRows(bs as HostTensor[]) : null;
    }
    const qkvName = 'fused' in L.qkv ? L.qkv.fused : L.qkv.q;
    put(key('qkv.w'), `${qkvName}.weight`, qkvW, [qDim + 2 * kvDim, d]);
    put(key('qkv.b'), `${qkvName}.bias`, qkvB, [qDim + 2 * kvDim]);
    put(key('o.w'), `${L.o}.weight`, await linearWeight(L.o), [d, qDim]);
    put(key('o.b'), `${L.o}.bias`, await r.readOptional(`${L.o}.bias`), [d]);
    if ('fusedGateUp' in L.mlpIn) {
      // One [gate | up] tensor: rows 0..dFF-1 are the gate, the rest the up projection (copied: onnxruntime is fed whole arrays).
      const name = L.mlpIn.fusedGateUp;
      const both = await linearWeight(name);
      expectShape(src, `${name}.weight`, both, [2 * dFF, d]);
      put(key('gate.w'), `${name}.weight`, { shape: [dFF, d], data: both.data.slice(0, dFF * d) }, [dFF, d]);
      put(key('up.w'), `${name}.weight`, { shape: [dFF, d], data: both.data.slice(dFF * d) }, [dFF, d]);
      const bias = await r.readOptional(`${name}.bias`);
      if (bias) {
        expectShape(src, `${name}.bias`, bias, [2 * dFF]);
        put(key('gate.b'), `${name}.bias`, { shape: [dFF], data: bias.data.slice(0, dFF) }, [dFF]);
        put(key('up.b'), `${name}.bias`, { shape: [dFF], data: bias.data.slice(dFF) }, [dFF]);
      }
    } else {
      const { up, gate } = L.mlpIn;
      put(key('up.w'), `${up}.weight`, await linearWeight(up), [dFF, d]);
      put(key('up.b'), `${up}.bias`, await r.readOptional(`${up}.bias`), [dFF]);
      if (gate) {
        put(key('gate.w'), `${gate}.weight`, await linearWeight(gate), [dFF, d]);
        put(key('gate.b'), `${gate}.bias`, await r.readOptional(`${gate}.bias`), [dFF]);
      }
    }
    put(key('down.w'), `${L.down}.weight`, await linearWeight(L.down), [d, dFF]);
    put(key('down.b'), `${L.down}.bias`, await r.readOptional(`${L.down}.bias`), [d]);
    if (cfg.qkNorm) {
      if (!L.qNorm || !L.kNorm) throw new Error(`${src.path}: the config asks for q/k norms but the architecture names no q_norm/k_norm tensors`);
      put(key('q_norm.w'), `${L.qNorm}.weight`, await r.read(`${L.qNorm}.weight`), [headDim]);
      put(key('k_norm.w'), `${L.kNorm}.weight`, await r.read(`${L.kNorm}.weight`), [headDim]);
    }
  }

  await putNorm(names.finalNorm, W.finalNormW, W.finalNormB, d);
  const headInFile = r.has(`${names.lmHead}.weight`);
  if (!cfg.tiedEmbeddings && !headInFile) {
    throw new Error(`${src.path}: the config says the output head is not tied to the embedding, but '${names.lmHead}.weight' is missing`);
  }
  // A tied head is the embedding matrix itself: no second copy in memory.
  out.set(W.lmHead, headInFile && !cfg.tiedEmbeddings ? await r.read(`${names.lmHead}.weight`) : out.get(W.embed)!);
  expectShape(src, `${names.lmHead}.weight`, out.get(W.lmHead)!, [vocabSize, dEmbed]);
  if (cfg.lmHeadBias) put(W.lmHeadB, `${names.lmHead}.bias`, await r.readOptional(`${names.lmHead}.bias`), [vocabSize]);
  return out;
}
