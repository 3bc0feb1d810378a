/**
 * A mutation fuzzer for every file parser (issue 7): valid seed files (safetensors, params.pt as stored and
 * deflated zips, llama2.c checkpoints, model and lens config.json, tokenizer.json, tok512.bin, lens folders) are
 * mutated (bit flips, interesting integers at header offsets, truncation, splices, JSON value swaps) and fed to the
 * parser that reads them. Each input must either load or fail with our kind of error: an `Error` whose message names
 * the file. Anything else (a TypeError/RangeError from deep inside, an error that names no file, a hang past the
 * time limit, memory beyond the limit) is a finding.
 *
 * `runFuzz` is used by test/fuzz/fuzz.test.ts (a bounded run in `npm test`) and scripts/fuzz.ts (`npm run fuzz`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileSystem } from '../../src/io/file-system.js';
import { parseHfConfig } from '../../src/formats/hf-config.js';
import { openLlama2cCheckpoint } from '../../src/formats/llama2c.js';
import { openSafetensors, serializeSafetensors } from '../../src/formats/safetensors.js';
import { parseTorchStateDict, serializeTorchStateDict } from '../../src/formats/torch-pickle.js';
import { bytesAsRandomAccessFile, ZipReader } from '../../src/formats/zip.js';
import { readLensFolder } from '../../src/lens/lens-files.js';
import { parseModelConfig } from '../../src/models/load-model.js';
import { checkModelSizes } from '../../src/formats/config-checks.js';
import { loadHfTokenizer } from '../../src/tokenizers/hf-tokenizer.js';
import { parseLlama2cTokenizer } from '../../src/tokenizers/llama2c-tokenizer.js';
import { sharedDir } from '../helpers/shared-data.js';
import { craftZip } from './craft.js';

// ---------------------------------------------------------------------------------------------------------------
// A seeded random source (mulberry32): the same seed gives the same inputs, so a finding can be replayed.

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// An in-memory file system, so that every input is a "file" with a path and no disk is touched.

export class MemoryFileSystem implements FileSystem {
  readonly files = new Map<string, Uint8Array>();
  async open(path: string) {
    return bytesAsRandomAccessFile(path, this.get(path));
  }
  async readBytes(path: string) {
    return this.get(path);
  }
  async readText(path: string) {
    return new TextDecoder().decode(this.get(path));
  }
  async exists(path: string) {
    return this.files.has(path) || (await this.isDirectory(path));
  }
  async isDirectory(path: string) {
    return [...this.files.keys()].some((p) => p.startsWith(`${path}/`));
  }
  async list(dir: string) {
    return [...this.files.keys()].filter((p) => p.startsWith(`${dir}/`)).map((p) => p.slice(dir.length + 1));
  }
  async writeAtomic(): Promise<void> {
    throw new Error('read-only');
  }
  async mkdirp(): Promise<void> {}
  join(...parts: string[]): string {
    return parts.join('/');
  }
  private get(path: string): Uint8Array {
    const b = this.files.get(path);
    if (!b) throw new Error(`${path}: not found`);
    return b;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Mutations

const INTERESTING_INTS = [0, 1, -1, 2, 7, 255, 256, 0x7fff, 0xffff, 0x7fffffff, -0x80000000, 1 << 20, 1 << 24, 1e9, 0x40000000, 3];
const INTERESTING_JSON: unknown[] = [0, -1, 1.5, 1e9, 1e300, -1e9, null, true, '', 'x', '1e9', [], {}, [1, 2], { a: 1 }, 'a'.repeat(300), 2 ** 53, NaN];

/** A byte offset, biased towards headers (the start) and trailers (zip central directories at the end). */
function position(r: Rng, len: number): number {
  if (len === 0) return 0;
  const u = r.next();
  if (u < 0.5) return r.int(Math.min(len, 512));
  if (u < 0.7) return Math.max(0, len - 1 - r.int(Math.min(len, 256)));
  return r.int(len);
}

export function mutateBytes(r: Rng, src: Uint8Array): Uint8Array {
  let b = src.slice();
  const rounds = 1 + r.int(4);
  for (let k = 0; k < rounds; k++) {
    const len = b.length;
    switch (r.int(8)) {
      case 0: // flip a bit
        if (len) b[position(r, len)]! ^= 1 << r.int(8);
        break;
      case 1: // an interesting byte
        if (len) b[position(r, len)] = r.pick([0, 0xff, 0x7f, 0x80, 0x0a, 0x22, 0x7b]);
        break;
      case 2: { // an interesting little-endian int32 (sizes, counts, offsets)
        if (len >= 4) new DataView(b.buffer, b.byteOffset).setInt32(Math.min(position(r, len), len - 4), r.pick(INTERESTING_INTS) | 0, true);
        break;
      }
      case 3: // truncate
        b = b.slice(0, position(r, len));
        break;
      case 4: { // append random bytes
        const extra = new Uint8Array(1 + r.int(64)).map(() => r.int(256));
        const out = new Uint8Array(len + extra.length);
        out.set(b);
        out.set(extra, len);
        b = out;
        break;
      }
      case 5: { // copy a chunk over another place
        if (len > 8) {
          const from = r.int(len - 4);
          const n = Math.min(1 + r.int(32), len - from);
          b.copyWithin(position(r, len - n), from, from + n);
        }
        break;
      }
      case 6: { // delete a chunk
        if (len > 8) {
          const at = position(r, len - 1);
          const n = Math.min(1 + r.int(16), len - at);
          const out = new Uint8Array(len - n);
          out.set(b.subarray(0, at));
          out.set(b.subarray(at + n), at);
          b = out;
        }
        break;
      }
      default: // random bytes over a stretch
        if (len) {
          const at = position(r, len);
          for (let i = at; i < Math.min(len, at + 1 + r.int(8)); i++) b[i] = r.int(256);
        }
    }
  }
  return b;
}

/** Mutates a JSON document structurally (swap a value, drop or add a key, deeply), else falls back to bytes. */
export function mutateJson(r: Rng, src: Uint8Array): Uint8Array {
  if (r.next() < 0.3) return mutateBytes(r, src);
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(src));
  } catch {
    return mutateBytes(r, src);
  }
  const containers: (Record<string, unknown> | unknown[])[] = [];
  const walk = (v: unknown): void => {
    if (v && typeof v === 'object') {
      containers.push(v as Record<string, unknown>);
      for (const x of Object.values(v)) walk(x);
    }
  };
  walk(doc);
  const rounds = 1 + r.int(3);
  for (let k = 0; k < rounds && containers.length; k++) {
    const c = r.pick(containers);
    const keys = Object.keys(c);
    const value = r.pick(INTERESTING_JSON);
    if (keys.length && r.next() < 0.7) {
      const key = r.pick(keys);
      if (r.next() < 0.15 && !Array.isArray(c)) delete (c as Record<string, unknown>)[key];
      else (c as Record<string, unknown>)[key] = value;
    } else if (!Array.isArray(c)) {
      c[r.pick(['extra', '__proto__', 'n_layer', 'num_hidden_layers', 'head_dim', 'model_type'])] = value;
    }
  }
  return new TextEncoder().encode(r.next() < 0.5 ? JSON.stringify(doc) : JSON.stringify(doc, null, 1));
}

// ---------------------------------------------------------------------------------------------------------------
// Targets: a seed corpus and the parser that reads it

export interface Target {
  name: string;
  seeds: Uint8Array[];
  mutate: (r: Rng, seed: Uint8Array) => Uint8Array;
  /** Parses `bytes` as the file at `path` (and uses the result, so that lazy parsers read everything). */
  run: (bytes: Uint8Array, path: string) => Promise<unknown>;
}

const gpt2Tokenizer = {
  version: '1.0',
  added_tokens: [{ id: 0, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false,
    vocab: { '<|endoftext|>': 0, h: 1, e: 2, l: 3, o: 4, 'Ġ': 5, w: 6, r: 7, d: 8, he: 9, ll: 10, hell: 11, hello: 12, 'Ġw': 13, or: 14, ld: 15, 'Ġwor': 16, 'Ġworld': 17, '!': 18 },
    merges: ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'o r', 'l d', 'Ġw or', 'Ġwor ld'],
  },
};

function lensTensors(d: number, layers: number): Record<string, { shape: number[]; data: Float32Array }> {
  const sd: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (let i = 0; i < layers; i++) {
    sd[`${i}.weight`] = { shape: [d, d], data: new Float32Array(d * d).map((_, j) => (j % (d + 1) === 0 ? 1 : 0.01 * i)) };
    sd[`${i}.bias`] = { shape: [d], data: new Float32Array(d).fill(0.5) };
  }
  return sd;
}

/** The stored records of a torch archive, re-packed with every entry deflated (as zip tools other than torch do). */
async function deflatedCopy(pt: Uint8Array): Promise<Uint8Array> {
  const zip = await ZipReader.fromFile(bytesAsRandomAccessFile('x.pt', pt));
  const entries = [];
  for (const e of zip.entries()) entries.push({ name: e.name, data: await zip.read(e.name), deflate: true });
  return craftZip(entries);
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Parsing plus the lazy reads a caller would do next, so truncation past the header is exercised too. */
async function readAllTensors(src: { names(): string[]; readFloat32(n: string): Promise<unknown>; close(): Promise<void> }): Promise<void> {
  try {
    for (const n of src.names().slice(0, 64)) await src.readFloat32(n);
  } finally {
    await src.close();
  }
}

export async function buildTargets(): Promise<Target[]> {
  const shared = sharedDir();
  const file = (...p: string[]): Uint8Array => new Uint8Array(readFileSync(join(shared, ...p)));
  const smallPt = serializeTorchStateDict(lensTensors(4, 2), 'params');
  const goldenPt = file('golden', 'reference-lens', 'lens', 'params.pt');
  const lensConfig = file('golden', 'reference-lens', 'lens', 'config.json');
  const smallLensConfig = utf8(JSON.stringify({ base_model_name_or_path: 'tiny', d_model: 4, num_hidden_layers: 2, bias: true, base_model_revision: null, unembed_hash: null, lens_type: 'linear_tuned_lens' }));
  const tinyModels = ['gpt2', 'gpt_neo', 'gpt_neox', 'gptj', 'opt', 'bloom', 'llama', 'mistral', 'qwen2', 'gemma'];
  const configs = tinyModels.map((m) => file('golden', 'tiny-random', m, 'config.json'));
  const stories = file('models', 'stories260K', 'stories260K.bin');
  // A 2-layer llama2.c file with the same header layout (faster to read in full than the 1 MB model).
  const tinyLlama = (() => {
    const h = [16, 32, 2, 2, 2, 32, 16];
    const headSize = 8;
    const floats = 32 * 16 + 2 * (2 * 16 + 4 * 16 * 16 + 3 * 32 * 16) + 16 + 16 * headSize;
    const out = new Uint8Array(28 + 4 * floats);
    const v = new DataView(out.buffer);
    h.forEach((x, i) => v.setInt32(4 * i, x, true));
    for (let i = 28; i < out.length; i += 4) v.setFloat32(i, ((i * 7919) % 100) / 1000, true);
    return out;
  })();

  return [
    {
      name: 'safetensors',
      seeds: [serializeSafetensors(lensTensors(4, 2)), serializeSafetensors(lensTensors(8, 1), { format: 'pt' }), file('golden', 'tiny-random', 'gpt2', 'model.safetensors')],
      mutate: mutateBytes,
      run: async (bytes, path) => {
        const fs = new MemoryFileSystem();
        fs.files.set(path, bytes);
        await readAllTensors(await openSafetensors(fs, path));
      },
    },
    {
      name: 'params.pt',
      seeds: [smallPt, await deflatedCopy(smallPt), goldenPt, file('golden', 'reference-lens', 'lens_fp16', 'params.pt')],
      mutate: mutateBytes,
      run: (bytes, path) => parseTorchStateDict(bytes, path),
    },
    {
      name: 'llama2.c checkpoint',
      seeds: [tinyLlama, stories],
      mutate: (r, seed) => {
        // Mostly the header: a body mutation of a 1 MB file only changes weights.
        if (seed.length > 100_000 && r.next() < 0.8) {
          const head = mutateBytes(r, seed.subarray(0, 64));
          const out = new Uint8Array(seed.length - 64 + head.length);
          out.set(head);
          out.set(seed.subarray(64), head.length);
          return out;
        }
        return mutateBytes(r, seed);
      },
      run: async (bytes, path) => {
        const fs = new MemoryFileSystem();
        fs.files.set(path, bytes);
        const ckpt = await openLlama2cCheckpoint(fs, path);
        await readAllTensors(ckpt.weights);
      },
    },
    {
      name: 'model config.json',
      seeds: configs,
      mutate: mutateJson,
      run: async (bytes, path) => {
        const hf = parseHfConfig(new TextDecoder().decode(bytes), path);
        const { cfg } = parseModelConfig(hf, path);
        checkModelSizes(cfg, path, ['h.0.w', 'h.1.w', 'h.2.w'], 'model.safetensors');
        return cfg;
      },
    },
    {
      name: 'tokenizer.json',
      seeds: [utf8(JSON.stringify(gpt2Tokenizer))],
      mutate: mutateJson,
      run: async (bytes, path) => {
        const fs = new MemoryFileSystem();
        fs.files.set(path, bytes);
        const tok = await loadHfTokenizer(fs, path.slice(0, path.lastIndexOf('/')));
        const ids = tok.encode('hello world!');
        return tok.decode(ids);
      },
    },
    {
      name: 'tok512.bin',
      seeds: [file('models', 'stories260K', 'tok512.bin')],
      mutate: mutateBytes,
      run: async (bytes, path) => {
        const tok = parseLlama2cTokenizer(bytes, path, 512);
        return tok.decode(tok.encode('Once upon a time, there was a little girl named Lily.'));
      },
    },
    {
      name: 'lens folder',
      // One seed file holds both files of a folder: config.json, a NUL byte, then the parameter file.
      seeds: [concatFolder(lensConfig, goldenPt), concatFolder(smallLensConfig, smallPt), concatFolder(smallLensConfig, serializeSafetensors(lensTensors(4, 2)))],
      mutate: (r, seed) => {
        const [cfg, params] = splitFolder(seed);
        const u = r.next();
        if (u < 0.4) return concatFolder(mutateJson(r, cfg), params);
        if (u < 0.8) return concatFolder(cfg, mutateBytes(r, params));
        return concatFolder(mutateJson(r, cfg), mutateBytes(r, params));
      },
      run: async (bytes, path) => {
        const [cfg, params] = splitFolder(bytes);
        const fs = new MemoryFileSystem();
        fs.files.set(`${path}/config.json`, cfg);
        // safetensors files start with an 8-byte header length; zips with "PK".
        const isZip = params[0] === 0x50 && params[1] === 0x4b;
        fs.files.set(`${path}/${isZip ? 'params.pt' : 'params.safetensors'}`, params);
        return readLensFolder(fs, path, { warn: () => {} });
      },
    },
  ];
}

function concatFolder(config: Uint8Array, params: Uint8Array): Uint8Array {
  const out = new Uint8Array(config.length + 1 + params.length);
  out.set(config);
  out.set(params, config.length + 1);
  return out;
}
function splitFolder(b: Uint8Array): [Uint8Array, Uint8Array] {
  const nul = b.indexOf(0);
  return nul < 0 ? [b, new Uint8Array(0)] : [b.subarray(0, nul), b.subarray(nul + 1)];
}

// ---------------------------------------------------------------------------------------------------------------
// The loop

export interface Finding {
  target: string;
  input: number;
  kind: 'crash' | 'unnamed-error' | 'hang' | 'memory';
  message: string;
  bytes: Uint8Array;
}

export interface FuzzOptions {
  n: number;
  seed: number;
  /** Per-input limit; a parser still running after it is a hang. */
  timeoutMs?: number;
  /** Memory (array buffers + heap) above which an input counts as a blow-up. */
  maxMemoryBytes?: number;
  /** Stop early after this many seconds (long runs). */
  maxSeconds?: number;
  onProgress?: (done: number, findings: number) => void;
}

export interface FuzzReport {
  inputs: number;
  seconds: number;
  loaded: number;
  refused: number;
  perTarget: Record<string, number>;
  findings: Finding[];
}

const HANG = Symbol('hang');

/** Runs `n` mutated inputs round-robin over the targets; returns what ran and every finding. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const targets = await buildTargets();
  const r = new Rng(options.seed);
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxMemory = options.maxMemoryBytes ?? 1.5e9;
  const start = Date.now();
  const report: FuzzReport = { inputs: 0, seconds: 0, loaded: 0, refused: 0, perTarget: {}, findings: [] };
  for (let i = 0; i < options.n; i++) {
    if (options.maxSeconds !== undefined && Date.now() - start > options.maxSeconds * 1000) break;
    const target = targets[i % targets.length]!;
    const bytes = target.mutate(r, r.pick(target.seeds));
    const path = `/fuzz/${target.name.replace(/[^a-z0-9.]+/gi, '-')}/input-${i}${target.name === 'lens folder' ? '' : target.name === 'tokenizer.json' ? '/tokenizer.json' : ''}`;
    const finding = (kind: Finding['kind'], message: string): void => {
      report.findings.push({ target: target.name, input: i, kind, message, bytes });
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const outcome = await Promise.race([
        target.run(bytes, path),
        new Promise<typeof HANG>((resolve) => (timer = setTimeout(() => resolve(HANG), timeoutMs))),
      ]);
      if (outcome === HANG) finding('hang', `still running after ${timeoutMs} ms`);
      else report.loaded++;
    } catch (e) {
      report.refused++;
      const err = e as Error;
      if (!(err instanceof Error) || err.name !== 'Error') finding('crash', `${err?.name ?? typeof e}: ${err?.message ?? String(e)}\n${err?.stack ?? ''}`);
      else if (!err.message.includes(path.split('/').slice(0, 4).join('/'))) finding('unnamed-error', err.message);
    } finally {
      clearTimeout(timer);
    }
    const mem = process.memoryUsage();
    if (mem.arrayBuffers + mem.heapUsed > maxMemory) finding('memory', `${Math.round((mem.arrayBuffers + mem.heapUsed) / 1e6)} MB in use after this input`);
    report.perTarget[target.name] = (report.perTarget[target.name] ?? 0) + 1;
    report.inputs++;
    if (options.onProgress && i % 1000 === 999) options.onProgress(i + 1, report.findings.length);
  }
  report.seconds = (Date.now() - start) / 1000;
  return report;
}
