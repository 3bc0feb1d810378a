/**
 * Reader and writer for the safetensors format (https://github.com/huggingface/safetensors):
 *
 *   [8 bytes: little-endian u64 N][N bytes: UTF-8 JSON header][data section]
 *
 * The header maps tensor names to `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to the first data
 * byte) plus an optional `"__metadata__"` object of string → string.
 *
 * Checkpoints can be many GB, so the reader only loads the header when a file is opened and fetches each tensor with
 * one ranged read when asked. Everything goes through the `FileSystem` abstraction so the same code runs in a browser.
 */
import type { FileSystem, RandomAccessFile } from '../io/file-system.js';
import { numel, type HostTensor, type WeightSource } from './weights.js';

/** Bytes per element of every dtype the safetensors spec defines. */
const DTYPE_SIZES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** The dtypes `readFloat32` converts (all exactly representable in, or correctly rounded to, float32). */
const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16']);

/** A header larger than this is certainly corruption (real headers of 100B-parameter shards are a few MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Typed-array views below reinterpret file bytes in host order; the format is little-endian. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** Byte range relative to the start of the data section. */
  begin: number;
  end: number;
}

/** A tensor's stored bytes, for dtypes that are not converted to float (BOOL masks, integer buffers, ...). */
export interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** A WeightSource with the extras every safetensors-backed source offers (single file or sharded). */
export interface SafetensorsWeights extends WeightSource {
  /** As WeightSource.readFloat32; if `expectedShape` is given and differs, throws naming file, tensor and shapes. */
  readFloat32(name: string, expectedShape?: readonly number[]): Promise<HostTensor>;
  /** The tensor's stored bytes, unconverted, from one ranged read. */
  readRaw(name: string): Promise<RawTensor>;
  /** The `__metadata__` object (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
}

function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Error text for an unknown tensor name, listing a few available names. The usual mistake is a wrong prefix
 * (`transformer.` vs `model.`) or layer index, so names sharing the most dotted/underscored parts come first.
 */
export function unknownTensorMessage(path: string, name: string, available: readonly string[]): string {
  const parts = (s: string) => s.split(/[._]/);
  const wanted = new Set(parts(name));
  const ranked = available
    .map((n, i) => ({ n, i, score: parts(n).filter((p) => wanted.has(p)).length }))
    .sort((x, y) => y.score - x.score || x.i - y.i)
    .slice(0, 6)
    .map((r) => `'${r.n}'`);
  const more = available.length > ranked.length ? `, ... (${available.length} in all)` : '';
  return `${path}: no tensor named '${name}'; available: ${ranked.length ? ranked.join(', ') + more : 'none'}`;
}

// ---------------------------------------------------------------------------------------------------------------
// dtype conversion

/** f16 bit pattern → f32 bit pattern, exact for every input (subnormals, ±0, ±inf, NaN payloads). Built on first use. */
let f16ToF32Bits: Uint32Array | null = null;

function f16Table(): Uint32Array {
  if (f16ToF32Bits) return f16ToF32Bits;
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    let bits: number;
    if (exp === 0) {
      if (mant === 0) {
        bits = sign;
      } else {
        // Subnormal half: shift the mantissa up until its leading 1 is the implicit bit, adjusting the exponent.
        let e = -14;
        while ((mant & 0x400) === 0) {
          mant <<= 1;
          e--;
        }
        bits = sign | ((e + 127) << 23) | ((mant & 0x3ff) << 13);
      }
    } else if (exp === 0x1f) {
      bits = sign | 0x7f800000 | (mant << 13); // inf / NaN, payload kept
    } else {
      bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    }
    t[h] = bits >>> 0;
  }
  f16ToF32Bits = t;
  return t;
}

/** Returns `bytes` itself when its offset suits a typed array of `align`-byte elements, else an aligned copy. */
function aligned(bytes: Uint8Array, align: number): Uint8Array {
  return bytes.byteOffset % align === 0 ? bytes : bytes.slice();
}

/**
 * Converts little-endian F64/F32/F16/BF16 bytes to a Float32Array: a new one, or, when the caller hands the
 * bytes over (`handOver`: nothing else holds them) and they are F32 filling a buffer of their own, a view of
 * that buffer. Callers have checked the dtype and that `bytes.length === n * size`.
 */
export function bytesToFloat32(dtype: string, bytes: Uint8Array, n: number, handOver = false): Float32Array {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('safetensors: big-endian hosts are not supported');
  // Copying a fresh read of exactly this tensor would leave the read buffer behind as garbage: a checkpoint's
  // worth while loading (GPT-2-small: 611 → 578 MiB after loading, and a fifth less load time).
  if (handOver && dtype === 'F32' && bytes.byteOffset === 0 && bytes.buffer.byteLength === n * 4 && bytes.buffer instanceof ArrayBuffer) {
    return new Float32Array(bytes.buffer, 0, n);
  }
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32': {
      const b = aligned(bytes, 4);
      out.set(new Float32Array(b.buffer, b.byteOffset, n));
      return out;
    }
    case 'F64': {
      const b = aligned(bytes, 8);
      out.set(new Float64Array(b.buffer, b.byteOffset, n)); // Float32Array.set rounds to nearest, as torch does
      return out;
    }
    case 'BF16': {
      // bf16 is the top half of an f32: shifting the bits into place is exact.
      const b = aligned(bytes, 2);
      const src = new Uint16Array(b.buffer, b.byteOffset, n);
      const dst = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) dst[i] = src[i]! << 16;
      return out;
    }
    case 'F16': {
      const table = f16Table();
      const b = aligned(bytes, 2);
      const src = new Uint16Array(b.buffer, b.byteOffset, n);
      const dst = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) dst[i] = table[src[i]!]!;
      return out;
    }
    default:
      throw new Error(`cannot convert dtype ${dtype} to float32`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// reader

/** One opened .safetensors file. Holds the file open until `close()`. */
export class SafetensorsFile implements SafetensorsWeights {
  private constructor(
    private readonly file: RandomAccessFile,
    /** Absolute file offset of the data section (8 + header length). */
    private readonly dataStart: number,
    private readonly entries: ReadonlyMap<string, SafetensorsEntry>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  get path(): string {
    return this.file.path;
  }

  /** Opens `path` and validates its header; reads nothing else. */
  static async open(fs: FileSystem, path: string): Promise<SafetensorsFile> {
    const file = await fs.open(path);
    try {
      const { entries, metadata, dataStart } = await readHeader(file);
      return new SafetensorsFile(file, dataStart, entries, metadata);
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The header entry of `name` (dtype, shape, byte range); throws if there is none. */
  entry(name: string): SafetensorsEntry {
    const e = this.entries.get(name);
    if (!e) throw new Error(unknownTensorMessage(this.path, name, this.names()));
    return e;
  }

  dtype(name: string): string {
    return this.entry(name).dtype;
  }

  shape(name: string): number[] {
    return [...this.entry(name).shape];
  }

  async readRaw(name: string): Promise<RawTensor> {
    const e = this.entry(name);
    const bytes = await this.file.read(this.dataStart + e.begin, e.end - e.begin);
    return { dtype: e.dtype, shape: [...e.shape], bytes };
  }

  async readFloat32(name: string, expectedShape?: readonly number[]): Promise<HostTensor> {
    const e = this.entry(name);
    if (!FLOAT_DTYPES.has(e.dtype)) {
      throw new Error(
        `${this.path}: tensor '${name}' has dtype ${e.dtype}, which is not a float type (F64, F32, F16, BF16); ` +
          `use readRaw() for non-float tensors`,
      );
    }
    if (expectedShape && !sameShape(e.shape, expectedShape)) {
      throw new Error(`${this.path}: tensor '${name}' has shape ${fmtShape(e.shape)}, expected ${fmtShape(expectedShape)}`);
    }
    const n = numel(e.shape);
    const bytes = n === 0 ? new Uint8Array(0) : await this.file.read(this.dataStart + e.begin, e.end - e.begin);
    // The bytes are this call's own read: handed over.
    return { shape: [...e.shape], data: bytesToFloat32(e.dtype, bytes, n, true) };
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

/** Reads and validates the header. Every error names the file, and the tensor where one is involved. */
async function readHeader(file: RandomAccessFile): Promise<{
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  dataStart: number;
}> {
  const path = file.path;
  if (file.size < 8) {
    throw new Error(`${path}: not a safetensors file: ${file.size} bytes is shorter than the 8-byte header length`);
  }
  const lenBytes = await file.read(0, 8);
  const dv = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8);
  // u64 read as two u32 halves: lengths that need the high half are absurd anyway.
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo;
  if (headerLen > MAX_HEADER_BYTES) {
    throw new Error(`${path}: not a safetensors file or corrupt: header length ${headerLen} bytes is absurd (limit ${MAX_HEADER_BYTES})`);
  }
  if (8 + headerLen > file.size) {
    throw new Error(
      `${path}: corrupt or truncated safetensors file: header length ${headerLen} bytes exceeds the file size ` +
        `(${file.size} bytes)`,
    );
  }
  const headerBytes = await file.read(8, headerLen);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new Error(`${path}: corrupt safetensors header: not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: corrupt safetensors header: not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new Error(`${path}: corrupt safetensors header: expected a JSON object`);
  }

  const dataStart = 8 + headerLen;
  const dataSize = file.size - dataStart;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(path, raw);
      continue;
    }
    const bad = (problem: string) => new Error(`${path}: corrupt safetensors header: tensor '${name}' ${problem}`);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('is not an object');
    const r = raw as Record<string, unknown>;
    if (!('dtype' in r)) throw bad('has no dtype');
    if (!('shape' in r)) throw bad('has no shape');
    if (!('data_offsets' in r)) throw bad('has no data_offsets');
    const { dtype, shape, data_offsets: offsets } = r;
    if (typeof dtype !== 'string') throw bad(`has a dtype that is not a string: ${JSON.stringify(dtype)}`);
    const size = DTYPE_SIZES[dtype];
    if (size === undefined) {
      throw bad(`has unknown dtype '${dtype}' (known: ${Object.keys(DTYPE_SIZES).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
      throw bad(`has an invalid shape ${JSON.stringify(shape)} (expected an array of non-negative integers)`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt) || offsets[0] > offsets[1]) {
      throw bad(`has invalid data_offsets ${JSON.stringify(offsets)} (expected [begin, end] with 0 <= begin <= end)`);
    }
    const [begin, end] = offsets as [number, number];
    const expectedBytes = numel(shape) * size;
    if (end - begin !== expectedBytes) {
      throw bad(
        `has data_offsets [${begin}, ${end}] (${end - begin} bytes) but shape ${fmtShape(shape)} of ${dtype} needs ` +
          `${expectedBytes} bytes`,
      );
    }
    if (end > dataSize) {
      throw new Error(
        `${path}: truncated or corrupt safetensors file: tensor '${name}' ends at data byte ${end}, but the data ` +
          `section has only ${dataSize} bytes (file ${file.size} bytes)`,
      );
    }
    entries.set(name, { dtype, shape: shape as number[], begin, end });
  }
  return { entries, metadata, dataStart };
}

function parseMetadata(path: string, raw: unknown): Record<string, string> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(`${path}: corrupt safetensors header: __metadata__ is not an object`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    // The spec says string → string; tolerate other JSON values (some writers emit them) by stringifying.
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/** Opens one .safetensors file. Only the header is read now; tensors are read on demand. */
export function openSafetensors(fs: FileSystem, path: string): Promise<SafetensorsFile> {
  return SafetensorsFile.open(fs, path);
}

// ---------------------------------------------------------------------------------------------------------------
// sharded checkpoints

/** One WeightSource over the shards of a `model.safetensors.index.json` checkpoint. */
class ShardedSafetensors implements SafetensorsWeights {
  constructor(
    readonly path: string,
    /** tensor name → the shard that holds it, in the index's order. */
    private readonly owner: ReadonlyMap<string, SafetensorsFile>,
    private readonly shards: readonly SafetensorsFile[],
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  private shard(name: string): SafetensorsFile {
    const s = this.owner.get(name);
    if (!s) throw new Error(unknownTensorMessage(this.path, name, this.names()));
    return s;
  }
  names(): string[] {
    return [...this.owner.keys()];
  }
  has(name: string): boolean {
    return this.owner.has(name);
  }
  dtype(name: string): string {
    return this.shard(name).dtype(name);
  }
  shape(name: string): number[] {
    return this.shard(name).shape(name);
  }
  readFloat32(name: string, expectedShape?: readonly number[]): Promise<HostTensor> {
    return this.shard(name).readFloat32(name, expectedShape);
  }
  readRaw(name: string): Promise<RawTensor> {
    return this.shard(name).readRaw(name);
  }
  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}

/**
 * Opens the weights of a Hugging Face model folder: `model.safetensors`, or `model.safetensors.index.json` and every
 * shard it names, as one WeightSource. `dir` may also be a .safetensors file or an index file itself.
 */
export async function openSafetensorsCheckpoint(fs: FileSystem, dir: string): Promise<SafetensorsWeights> {
  if (!(await fs.isDirectory(dir))) {
    if (dir.endsWith('.index.json')) return openIndex(fs, dir, parentOf(dir));
    return openSafetensors(fs, dir);
  }
  const single = fs.join(dir, 'model.safetensors');
  if (await fs.exists(single)) return openSafetensors(fs, single);
  const index = fs.join(dir, 'model.safetensors.index.json');
  if (await fs.exists(index)) return openIndex(fs, index, dir);
  let found: string[] = [];
  try {
    found = await fs.list(dir);
  } catch {
    /* listing is only for the message */
  }
  throw new Error(
    `${dir}: no model.safetensors or model.safetensors.index.json found` +
      (found.length ? ` (folder has: ${found.slice(0, 10).join(', ')}${found.length > 10 ? ', ...' : ''})` : ''),
  );
}

/** The folder part of a path, for either separator (FileSystem has no dirname). */
function parentOf(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i < 0 ? '.' : i === 0 ? path.slice(0, 1) : path.slice(0, i);
}

async function openIndex(fs: FileSystem, indexPath: string, dir: string): Promise<SafetensorsWeights> {
  let index: unknown;
  try {
    index = JSON.parse(await fs.readText(indexPath));
  } catch (e) {
    throw new Error(`${indexPath}: cannot read shard index: ${(e as Error).message}`);
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (weightMap === null || typeof weightMap !== 'object' || Array.isArray(weightMap)) {
    throw new Error(`${indexPath}: shard index has no "weight_map" object`);
  }
  const map = weightMap as Record<string, unknown>;
  const shardNames = [...new Set(Object.values(map))];
  for (const s of shardNames) {
    if (typeof s !== 'string') throw new Error(`${indexPath}: weight_map value ${JSON.stringify(s)} is not a file name`);
  }
  const shards: SafetensorsFile[] = [];
  try {
    const byName = new Map<string, SafetensorsFile>();
    for (const s of shardNames as string[]) {
      const f = await openSafetensors(fs, fs.join(dir, s));
      shards.push(f);
      byName.set(s, f);
    }
    const owner = new Map<string, SafetensorsFile>();
    for (const [tensor, s] of Object.entries(map)) {
      const f = byName.get(s as string)!;
      if (!f.has(tensor)) {
        throw new Error(`${indexPath}: weight_map says tensor '${tensor}' is in ${s as string}, but ${f.path} has no such tensor`);
      }
      owner.set(tensor, f);
    }
    const meta = (index as { metadata?: unknown }).metadata;
    const metadata: Record<string, string> = {};
    if (meta && typeof meta === 'object' && !Array.isArray(meta)) {
      for (const [k, v] of Object.entries(meta)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
    }
    return new ShardedSafetensors(indexPath, owner, shards, metadata);
  } catch (e) {
    await Promise.all(shards.map((s) => s.close().catch(() => undefined)));
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// writer

/**
 * Serialises float32 tensors in the standard layout that Python's `safetensors.torch.save_file` produces: tensors
 * sorted by name (all F32, so its (dtype size, name) order reduces to name order), contiguous data, JSON header
 * padded with spaces to a multiple of 8 so the data section is 8-byte aligned, `__metadata__` with `format: "pt"`.
 */
export function serializeSafetensors(tensors: Record<string, HostTensor>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', ...metadata } };
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new Error(`serializeSafetensors: '__metadata__' cannot be a tensor name`);
    const t = tensors[name]!;
    if (!t.shape.every(isNonNegInt)) throw new Error(`serializeSafetensors: tensor '${name}' has an invalid shape ${fmtShape(t.shape)}`);
    const n = numel(t.shape);
    if (t.data.length !== n) {
      throw new Error(`serializeSafetensors: tensor '${name}' has ${t.data.length} values but shape ${fmtShape(t.shape)} needs ${n}`);
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, json.length, true);
  dv.setUint32(4, Math.floor(json.length / 2 ** 32), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('serializeSafetensors: big-endian hosts are not supported');
  for (const name of names) {
    const d = tensors[name]!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/** Writes `tensors` to `path` atomically (a reader never sees half a file). */
export function writeSafetensors(
  fs: FileSystem,
  path: string,
  tensors: Record<string, HostTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  return fs.writeAtomic(path, serializeSafetensors(tensors, metadata));
}
