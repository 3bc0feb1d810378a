/**
 * Writes a random checkpoint with GPT-2-small shapes (12 layers, d 768, 12 heads, vocab 50257, 1024
 * positions) to bench/out/gpt2-small-random/, once; later calls reuse it. Not committed: ~500 MB.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { nodeFileSystem } from '../src/node/file-system.js';
import { writeSafetensors } from '../src/formats/safetensors.js';
import type { HostTensor } from '../src/formats/weights.js';

/** bench/ of the repository, from the sources (bench/) or from their compiled copy (dist/bench/). */
export const BENCH_SOURCE_DIR = basename(dirname(import.meta.dirname)) === 'dist' ? join(import.meta.dirname, '..', '..', 'bench') : import.meta.dirname;
export const GPT2_SMALL_DIR = join(BENCH_SOURCE_DIR, 'out', 'gpt2-small-random');

/** Fast deterministic normal-ish numbers (sum of uniforms) so generating 124M values takes seconds. */
function randomTensor(shape: number[], std: number, seed: number): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let k = 0; k < 4; k++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      acc += (s >>> 0) / 4294967296;
    }
    data[i] = (acc - 2) * std * 1.7320508;
  }
  return { shape, data };
}

const ones = (n: number): HostTensor => ({ shape: [n], data: new Float32Array(n).fill(1) });
const zeros = (n: number): HostTensor => ({ shape: [n], data: new Float32Array(n) });

export async function makeGpt2Small(dir = GPT2_SMALL_DIR): Promise<string> {
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  mkdirSync(dir, { recursive: true });
  const d = 768;
  const L = 12;
  const V = 50257;
  const config = { model_type: 'gpt2', n_embd: d, n_layer: L, n_head: 12, n_positions: 1024, n_ctx: 1024, vocab_size: V, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new', tie_word_embeddings: true };
  const t: Record<string, HostTensor> = {
    'transformer.wte.weight': randomTensor([V, d], 0.02, 1),
    'transformer.wpe.weight': randomTensor([1024, d], 0.01, 2),
    'transformer.ln_f.weight': ones(d),
    'transformer.ln_f.bias': zeros(d),
  };
  for (let i = 0; i < L; i++) {
    const p = `transformer.h.${i}`;
    t[`${p}.ln_1.weight`] = ones(d);
    t[`${p}.ln_1.bias`] = zeros(d);
    t[`${p}.attn.c_attn.weight`] = randomTensor([d, 3 * d], 0.02, 10 + i);
    t[`${p}.attn.c_attn.bias`] = zeros(3 * d);
    t[`${p}.attn.c_proj.weight`] = randomTensor([d, d], 0.02 / Math.sqrt(2 * L), 30 + i);
    t[`${p}.attn.c_proj.bias`] = zeros(d);
    t[`${p}.ln_2.weight`] = ones(d);
    t[`${p}.ln_2.bias`] = zeros(d);
    t[`${p}.mlp.c_fc.weight`] = randomTensor([d, 4 * d], 0.02, 50 + i);
    t[`${p}.mlp.c_fc.bias`] = zeros(4 * d);
    t[`${p}.mlp.c_proj.weight`] = randomTensor([4 * d, d], 0.02 / Math.sqrt(2 * L), 70 + i);
    t[`${p}.mlp.c_proj.bias`] = zeros(d);
  }
  await writeSafetensors(nodeFileSystem, join(dir, 'model.safetensors'), t);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await makeGpt2Small());
}
