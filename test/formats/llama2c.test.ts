import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeFileSystem as fs } from '../../src/node/file-system.js';
import { sharedDir } from '../helpers/shared-data.js';
import { openLlama2cCheckpoint } from '../../src/formats/llama2c.js';
import type { WeightSource } from '../../src/formats/weights.js';

const modelPath = join(sharedDir(), 'models', 'stories260K', 'stories260K.bin');
const goldenDir = join(sharedDir(), 'golden', 'stories260K');
const tmp = mkdtempSync(join(tmpdir(), 'tl-llama2c-'));

interface Prompt {
  input_ids: number[];
  hidden_states: number[][][];
  final_norm_input: number[][];
}
const prompts: Prompt[] = [0, 1, 2].map((k) => JSON.parse(readFileSync(join(goldenDir, `prompt_${k}.json`), 'utf8')));

test('stories260K: HF-style config and tensor names/shapes', async () => {
  const { config, header, weights } = await openLlama2cCheckpoint(fs, modelPath);
  try {
    assert.deepEqual(
      { ...config },
      {
        model_type: 'llama',
        architectures: ['LlamaForCausalLM'],
        hidden_size: 64,
        intermediate_size: 172,
        num_hidden_layers: 5,
        num_attention_heads: 8,
        num_key_value_heads: 4,
        vocab_size: 512,
        max_position_embeddings: 512,
        rms_norm_eps: 1e-5,
        rope_theta: 10000,
        tie_word_embeddings: true,
        hidden_act: 'silu',
        bos_token_id: 1,
        eos_token_id: 2,
      },
    );
    assert.equal(header.version, 0);
    assert.equal(weights.names().length, 1 + 5 * 9 + 1 + 1);
    const expect: Record<string, number[]> = {
      'model.embed_tokens.weight': [512, 64],
      'model.layers.0.input_layernorm.weight': [64],
      'model.layers.4.self_attn.q_proj.weight': [64, 64],
      'model.layers.4.self_attn.k_proj.weight': [32, 64],
      'model.layers.4.self_attn.v_proj.weight': [32, 64],
      'model.layers.4.self_attn.o_proj.weight': [64, 64],
      'model.layers.2.post_attention_layernorm.weight': [64],
      'model.layers.2.mlp.gate_proj.weight': [172, 64],
      'model.layers.2.mlp.down_proj.weight': [64, 172],
      'model.layers.2.mlp.up_proj.weight': [172, 64],
      'model.norm.weight': [64],
      'lm_head.weight': [512, 64],
    };
    for (const [name, shape] of Object.entries(expect)) {
      assert.deepEqual(weights.shape(name), shape, name);
      assert.equal(weights.dtype(name), 'F32');
    }
    // Shared classifier: lm_head is the embedding.
    assert.deepEqual((await weights.readFloat32('lm_head.weight')).data, (await weights.readFloat32('model.embed_tokens.weight')).data);
    await assert.rejects(weights.readFloat32('model.norm.weight', [65]), {
      message: `${modelPath}: tensor 'model.norm.weight' has shape [64], expected [65]`,
    });
    assert.throws(() => weights.shape('model.layers.5.mlp.up_proj.weight'), /no tensor named 'model\.layers\.5\.mlp\.up_proj\.weight'; available: 'model\.layers\.\d\.mlp\.up_proj\.weight'/);
  } finally {
    await weights.close();
  }
});

test('stories260K: embedding rows equal golden hidden_states[0] bitwise', async () => {
  const { weights } = await openLlama2cCheckpoint(fs, modelPath);
  const emb = await weights.readFloat32('model.embed_tokens.weight', [512, 64]);
  await weights.close();
  for (const p of prompts) {
    p.input_ids.forEach((id, t) => {
      const row = emb.data.subarray(id * 64, id * 64 + 64);
      assert.deepEqual([...row], p.hidden_states[0]![t]!.map(Math.fround), `token ${id} at ${t}`);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// A plain float64 HF-Llama forward (rotate-half RoPE, GQA) over the converted weights. Matching the golden hidden
// states checks every tensor mapping, including the wq/wk RoPE row permutation, which embeddings alone cannot.

async function forward(w: WeightSource, ids: number[]): Promise<{ hidden: Float64Array[][]; finalNormInput: Float64Array[] }> {
  const D = 64, H = 8, KV = 4, hs = 8, F = 172, L = 5, eps = 1e-5;
  const get = async (n: string) => Float64Array.from((await w.readFloat32(n)).data);
  const matvec = (m: Float64Array, x: Float64Array, rows: number, cols: number) => {
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += m[r * cols + c]! * x[c]!;
      out[r] = s;
    }
    return out;
  };
  const rms = (x: Float64Array, g: Float64Array) => {
    let ss = 0;
    for (const v of x) ss += v * v;
    const k = 1 / Math.sqrt(ss / x.length + eps);
    return x.map((v, i) => v * k * g[i]!);
  };
  const rope = (v: Float64Array, nHeads: number, pos: number) => {
    const out = new Float64Array(v.length);
    for (let h = 0; h < nHeads; h++) {
      for (let i = 0; i < hs / 2; i++) {
        const theta = pos * Math.pow(10000, (-2 * i) / hs);
        const a = v[h * hs + i]!, b = v[h * hs + i + hs / 2]!;
        out[h * hs + i] = a * Math.cos(theta) - b * Math.sin(theta);
        out[h * hs + i + hs / 2] = b * Math.cos(theta) + a * Math.sin(theta);
      }
    }
    return out;
  };
  const emb = await get('model.embed_tokens.weight');
  let x = ids.map((id) => emb.slice(id * D, id * D + D));
  const hidden: Float64Array[][] = [x];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}`;
    const [g1, wq, wk, wv, wo, g2, w1, w2, w3] = await Promise.all(
      ['input_layernorm', 'self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'post_attention_layernorm', 'mlp.gate_proj', 'mlp.down_proj', 'mlp.up_proj'].map((n) => get(`${p}.${n}.weight`)),
    );
    const xn = x.map((v) => rms(v, g1!));
    const q = xn.map((v, t) => rope(matvec(wq!, v, D, D), H, t));
    const k = xn.map((v, t) => rope(matvec(wk!, v, KV * hs, D), KV, t));
    const vv = xn.map((v) => matvec(wv!, v, KV * hs, D));
    x = x.map((res, t) => {
      const att = new Float64Array(D);
      for (let h = 0; h < H; h++) {
        const kh = Math.floor(h / (H / KV));
        const scores = Array.from({ length: t + 1 }, (_, s) => {
          let d = 0;
          for (let i = 0; i < hs; i++) d += q[t]![h * hs + i]! * k[s]![kh * hs + i]!;
          return d / Math.sqrt(hs);
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let s = 0; s <= t; s++) for (let i = 0; i < hs; i++) att[h * hs + i]! += (e[s]! / z) * vv[s]![kh * hs + i]!;
      }
      const h1 = res.map((v, i) => v + matvec(wo!, att, D, D)[i]!);
      const hn = rms(h1, g2!);
      const gate = matvec(w1!, hn, F, D);
      const up = matvec(w3!, hn, F, D);
      const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
      const down = matvec(w2!, act, D, F);
      return h1.map((v, i) => v + down[i]!);
    });
    hidden.push(x);
  }
  return { hidden, finalNormInput: x };
}

test('stories260K: a forward pass over the converted weights reproduces the golden hidden states', async () => {
  const { weights } = await openLlama2cCheckpoint(fs, modelPath);
  const norm = Float64Array.from((await weights.readFloat32('model.norm.weight')).data);
  try {
    for (const p of prompts) {
      const { hidden, finalNormInput } = await forward(weights, p.input_ids);
      let maxDiff = 0;
      for (let l = 1; l < 5; l++) {
        hidden[l]!.forEach((row, t) => row.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - p.hidden_states[l]![t]![i]!)))));
      }
      finalNormInput.forEach((row, t) => row.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - p.final_norm_input[t]![i]!)))));
      // hidden_states[5] is after the final RMSNorm.
      finalNormInput.forEach((row, t) => {
        const ms = row.reduce((a, v) => a + v * v, 0) / 64;
        row.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs((v / Math.sqrt(ms + 1e-5)) * norm[i]! - p.hidden_states[5]![t]![i]!))));
      });
      assert.ok(maxDiff < 2e-5, `max abs diff ${maxDiff}`);
    }
  } finally {
    await weights.close();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Synthetic variants built from the real file: version 1 layout and an unshared classifier.

const legacy = new Uint8Array(readFileSync(modelPath));
const f32 = (byteOffset: number, n: number) => legacy.subarray(byteOffset, byteOffset + 4 * n);

/** Byte ranges of the legacy stories260K blocks, in file order. */
function legacyBlocks() {
  const D = 64, F = 172, L = 5, V = 512, KVD = 32, S = 512, hs = 8;
  const sizes: [string, number][] = [
    ['emb', V * D], ['attnNorm', L * D], ['wq', L * D * D], ['wk', L * KVD * D], ['wv', L * KVD * D], ['wo', L * D * D],
    ['ffnNorm', L * D], ['w1', L * F * D], ['w2', L * D * F], ['w3', L * F * D], ['norm', D], ['freqs', S * hs],
  ];
  const out: Record<string, Uint8Array> = {};
  let pos = 28;
  for (const [k, n] of sizes) {
    out[k] = f32(pos, n);
    pos += 4 * n;
  }
  assert.equal(pos, legacy.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

async function assertSameTensors(a: WeightSource, b: WeightSource, skip: string[] = []) {
  assert.deepEqual(a.names().sort(), b.names().sort());
  for (const n of a.names()) {
    if (skip.includes(n)) continue;
    assert.deepEqual(a.shape(n), b.shape(n), n);
    assert.deepEqual((await a.readFloat32(n)).data, (await b.readFloat32(n)).data, n);
  }
}

test('version 1 ("ak42") export gives the same tensors as the legacy file', async () => {
  const b = legacyBlocks();
  const header = new Uint8Array(256);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, 0x616b3432, true);
  dv.setInt32(4, 1, true);
  [64, 172, 5, 8, 4, 512, 512].forEach((v, i) => dv.setInt32(8 + 4 * i, v, true));
  header[36] = 1; // shared classifier
  const v1 = concat([header, b.attnNorm!, b.ffnNorm!, b.norm!, b.emb!, b.wq!, b.wk!, b.wv!, b.wo!, b.w1!, b.w2!, b.w3!]);
  const path = join(tmp, 'v1.bin');
  writeFileSync(path, v1);
  const a = await openLlama2cCheckpoint(fs, modelPath);
  const c = await openLlama2cCheckpoint(fs, path);
  try {
    assert.equal(c.header.version, 1);
    assert.deepEqual(c.config, a.config);
    await assertSameTensors(a.weights, c.weights);
  } finally {
    await a.weights.close();
    await c.weights.close();
  }

  const bad = new Uint8Array(v1);
  new DataView(bad.buffer).setInt32(4, 2, true);
  writeFileSync(join(tmp, 'v2.bin'), bad);
  await assert.rejects(openLlama2cCheckpoint(fs, join(tmp, 'v2.bin')), /v2\.bin: llama2\.c checkpoint version 2 is not supported/);
});

test('legacy file with a negative vocab_size has an unshared classifier at the end', async () => {
  const wcls = new Float32Array(512 * 64).map((_, i) => i * 0.5);
  const bytes = concat([legacy, new Uint8Array(wcls.buffer)]);
  new DataView(bytes.buffer).setInt32(20, -512, true);
  const path = join(tmp, 'unshared.bin');
  writeFileSync(path, bytes);
  const a = await openLlama2cCheckpoint(fs, modelPath);
  const c = await openLlama2cCheckpoint(fs, path);
  try {
    assert.equal(c.config.tie_word_embeddings, false);
    assert.equal(c.config.vocab_size, 512);
    assert.deepEqual((await c.weights.readFloat32('lm_head.weight', [512, 64])).data, wcls);
    await assertSameTensors(a.weights, c.weights, ['lm_head.weight']);
  } finally {
    await a.weights.close();
    await c.weights.close();
  }
});

test('truncated or padded llama2.c file: error names the file and both sizes', async () => {
  const path = join(tmp, 'truncated.bin');
  writeFileSync(path, legacy.subarray(0, legacy.length - 1000));
  await assert.rejects(openLlama2cCheckpoint(fs, path), {
    message: `${path}: llama2.c checkpoint size does not match its header: expected 1056540 bytes, found 1055540 (the file is truncated)`,
  });
  const padded = join(tmp, 'padded.bin');
  writeFileSync(padded, concat([legacy, new Uint8Array(4)]));
  await assert.rejects(openLlama2cCheckpoint(fs, padded), /padded\.bin: .*expected 1056540 bytes, found 1056544 \(extra bytes/);
  const tiny = join(tmp, 'tiny.bin');
  writeFileSync(tiny, legacy.subarray(0, 10));
  await assert.rejects(openLlama2cCheckpoint(fs, tiny), /tiny\.bin: not a llama2\.c checkpoint: 10 bytes is shorter than the 28-byte header/);
  const garbage = join(tmp, 'garbage.bin');
  writeFileSync(garbage, new Uint8Array(1000).fill(0xff));
  await assert.rejects(openLlama2cCheckpoint(fs, garbage), /garbage\.bin: not a valid llama2\.c checkpoint: dim = -1 is out of range/);
});
