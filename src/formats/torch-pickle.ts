/**
 * Reading and writing PyTorch `torch.save(state_dict)` files (the zip format of PyTorch ≥ 1.6) without Python.
 *
 * A `.pt` file is a zip archive (see zip.ts) holding:
 *   <archive>/data.pkl       a pickle of the state dict; tensors refer to storages by "persistent id"
 *   <archive>/data/<key>     each storage's raw little-endian bytes
 *   <archive>/version        "3\n"
 * (`<archive>` is the file stem for torch 1.x, `archive` for other torch versions; it is discovered, not assumed.)
 *
 * Pickle is a small stack-machine language that can call any importable Python function, so loading an untrusted
 * pickle in Python can run arbitrary code. This unpickler is *restricted*: it implements only the opcodes a tensor
 * state dict uses, knows only a fixed list of globals, and never executes anything: the "callables" it allows are
 * interpreted by hand (build a dict, describe a tensor). Anything else, e.g. `os.system` or `builtins.eval`, is
 * refused with an error naming the file and the global or opcode.
 *
 * The writer emits exactly the opcode sequence that CPython's pickler produces for `torch.save` of a float tensor
 * state dict at protocol 2 (including which objects are memoised and re-used by BINGET), inside the zip layout of
 * torch's own writer, so our output is byte-identical to `torch.save` (PyTorch 1.13) for the same tensors.
 */
import type { FileSystem, RandomAccessFile } from '../io/file-system.js';
import { bytesToFloat32 } from './safetensors.js';
import { numel, type HostTensor } from './weights.js';
import { ZipReader, ZipWriter, bytesAsRandomAccessFile } from './zip.js';

/** Element types a state dict may hold here (what tuned lenses are saved in). */
export type TorchDType = 'float32' | 'float16' | 'bfloat16';

/** torch's legacy typed-storage class name for each dtype (the name pickled as `torch.<name>`). */
const STORAGE_CLASS: Readonly<Record<TorchDType, string>> = {
  float32: 'FloatStorage',
  float16: 'HalfStorage',
  bfloat16: 'BFloat16Storage',
};
const DTYPE_OF_STORAGE_CLASS: ReadonlyMap<string, TorchDType> = new Map(
  (Object.entries(STORAGE_CLASS) as [TorchDType, string][]).map(([d, c]) => [c, d]),
);
const ITEM_SIZE: Readonly<Record<TorchDType, number>> = { float32: 4, float16: 2, bfloat16: 2 };
/** dtype names as `bytesToFloat32` (safetensors.ts) spells them. */
const SAFETENSORS_DTYPE: Readonly<Record<TorchDType, string>> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------------------------
// Values the restricted unpickler can produce

/** A Python tuple (kept distinct from lists, which are JS arrays). */
class PTuple {
  constructor(readonly items: PValue[]) {}
}
/** A whitelisted global (a class or function reference); never called, only recognised. */
class PGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}
/** A dict or OrderedDict. Keys are compared by JS identity, which is value equality for the str/int keys seen here. */
class PDict {
  readonly map = new Map<PValue, PValue>();
  /** State set by BUILD (torch stores the module `_metadata` there); kept but unused. */
  state: PValue = null;
  constructor(readonly ordered: boolean) {}
}
/** A storage referenced by a persistent id `('storage', torch.<X>Storage, key, location, numel)`. */
export interface TorchStorageRef {
  dtype: TorchDType;
  key: string;
  location: string;
  numel: number;
}
/** A tensor described by `_rebuild_tensor_v2(storage, offset, size, stride, ...)`; its data is read later. */
export interface TorchTensorRef {
  storage: TorchStorageRef;
  offset: number;
  size: number[];
  stride: number[];
}
class PStorage {
  constructor(readonly ref: TorchStorageRef) {}
}
class PTensor {
  constructor(readonly ref: TorchTensorRef) {}
}
type PValue = null | boolean | number | bigint | string | PTuple | PValue[] | PDict | PGlobal | PStorage | PTensor;

/** The globals a state dict needs. Anything else is refused at the GLOBAL opcode, before it could be used. */
const ALLOWED_GLOBALS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  ...Object.values(STORAGE_CLASS).map((c) => `torch.${c}`),
]);

/** Every pickle opcode by byte, so that a refused opcode can be named in the error message. */
const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

function describe(v: PValue): string {
  if (v === null) return 'None';
  if (v instanceof PTuple) return `tuple of ${v.items.length}`;
  if (Array.isArray(v)) return `list of ${v.length}`;
  if (v instanceof PDict) return v.ordered ? 'OrderedDict' : 'dict';
  if (v instanceof PGlobal) return v.qualified;
  if (v instanceof PStorage) return `storage '${v.ref.key}'`;
  if (v instanceof PTensor) return 'tensor';
  return `${typeof v} ${String(v)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Restricted unpickler

/**
 * Interprets a state-dict pickle (`data.pkl`). Returns the entries in pickle order with tensor descriptions; tensor
 * data is not touched. `path` is only used in error messages. Throws on any opcode or global outside the whitelist.
 */
export function parseStateDictPickle(pickle: Uint8Array, path: string): { key: string; tensor: TorchTensorRef }[] {
  const root = unpickle(pickle, path);
  if (!(root instanceof PDict)) throw new Error(`${path}: the pickle holds a ${describe(root)}, not a state dict (a dict of tensors)`);
  const out: { key: string; tensor: TorchTensorRef }[] = [];
  for (const [k, v] of root.map) {
    if (typeof k !== 'string') throw new Error(`${path}: state dict key ${describe(k)} is not a string`);
    if (!(v instanceof PTensor)) throw new Error(`${path}: state dict entry '${k}' is a ${describe(v)}, not a tensor`);
    out.push({ key: k, tensor: v.ref });
  }
  return out;
}

function unpickle(b: Uint8Array, path: string): PValue {
  const fail = (msg: string): never => {
    throw new Error(`${path}: ${msg}`);
  };
  let stack: PValue[] = [];
  const marks: PValue[][] = [];
  const memo = new Map<number, PValue>();
  const storages = new Map<string, PStorage>();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pos = 0;

  const need = (n: number): void => {
    if (pos + n > b.length) fail(`pickle data ends unexpectedly at byte ${b.length} (truncated or corrupt data.pkl)`);
  };
  const readU8 = (): number => (need(1), b[pos++]!);
  const readU16 = (): number => (need(2), (pos += 2), b[pos - 2]! | (b[pos - 1]! << 8));
  const readU32 = (): number => {
    need(4);
    const v = (b[pos]! | (b[pos + 1]! << 8) | (b[pos + 2]! << 16) | (b[pos + 3]! << 24)) >>> 0;
    pos += 4;
    return v;
  };
  const readLine = (): string => {
    const nl = b.indexOf(0x0a, pos);
    if (nl < 0) fail('pickle GLOBAL operand is not newline-terminated (corrupt data.pkl)');
    let s: string;
    try {
      s = decoder.decode(b.subarray(pos, nl));
    } catch {
      return fail(`invalid UTF-8 in a pickle GLOBAL name at byte ${pos} (corrupt data.pkl)`);
    }
    pos = nl + 1;
    return s;
  };
  const readStr = (n: number): string => {
    need(n);
    let s: string;
    try {
      s = decoder.decode(b.subarray(pos, pos + n));
    } catch {
      return fail(`invalid UTF-8 in a pickled string at byte ${pos}`);
    }
    pos += n;
    return s;
  };
  const pop = (): PValue => {
    if (stack.length === 0) fail(`pickle stack underflow at byte ${pos - 1} (corrupt data.pkl)`);
    return stack.pop()!;
  };
  const top = (): PValue => {
    if (stack.length === 0) fail(`pickle stack underflow at byte ${pos - 1} (corrupt data.pkl)`);
    return stack[stack.length - 1]!;
  };
  /** Pops everything since the last MARK (Python's pop_mark). */
  const popMark = (): PValue[] => {
    const items = stack;
    const prev = marks.pop();
    if (!prev) fail(`pickle opcode at byte ${pos - 1} needs a MARK but there is none (corrupt data.pkl)`);
    stack = prev!;
    return items;
  };
  const getMemo = (i: number): PValue => {
    if (!memo.has(i)) fail(`pickle refers to memo entry ${i}, which was never stored (corrupt data.pkl)`);
    return memo.get(i)!;
  };
  const refuseGlobal = (module: string, name: string): never => {
    const q = `${module}.${name}`;
    if (module === 'torch' && name.endsWith('Storage')) {
      fail(`unsupported tensor storage type ${q}: only float32, float16 and bfloat16 tensors (torch.FloatStorage, torch.HalfStorage, torch.BFloat16Storage) can be read`);
    }
    return fail(`refusing to unpickle global '${q}': only ${[...ALLOWED_GLOBALS].join(', ')} are allowed in a tensor state dict (the file is not a plain state dict, or it is malicious)`);
  };
  const global = (module: string, name: string): PGlobal => {
    if (!ALLOWED_GLOBALS.has(`${module}.${name}`)) refuseGlobal(module, name);
    return new PGlobal(module, name);
  };
  const setItems = (dict: PValue, kv: PValue[]): void => {
    if (!(dict instanceof PDict)) fail(`pickle SETITEM(S) on a ${describe(dict)}, not a dict`);
    if (kv.length % 2) fail('pickle SETITEMS with an odd number of items (corrupt data.pkl)');
    for (let i = 0; i < kv.length; i += 2) (dict as PDict).map.set(kv[i]!, kv[i + 1]!);
  };
  const int = (v: PValue, what: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(`${what} is a ${describe(v)}, expected an integer`);
    return v as number;
  };
  const intTuple = (v: PValue, what: string): number[] => {
    if (!(v instanceof PTuple)) return fail(`${what} is a ${describe(v)}, expected a tuple of integers`);
    return v.items.map((x, i) => int(x, `${what}[${i}]`));
  };

  /** Interprets REDUCE for the whitelisted callables. Nothing is executed; each call is modelled by hand. */
  const reduce = (fn: PValue, args: PValue): PValue => {
    if (!(fn instanceof PGlobal)) return fail(`pickle REDUCE calls a ${describe(fn)}, which is not callable here`);
    if (!(args instanceof PTuple)) return fail(`pickle REDUCE arguments for ${fn.qualified} are a ${describe(args)}, not a tuple`);
    const a = args.items;
    switch (fn.qualified) {
      case 'collections.OrderedDict':
        if (a.length !== 0) fail(`collections.OrderedDict is only supported with no arguments (got ${a.length})`);
        return new PDict(true);
      case 'torch._utils._rebuild_tensor_v2': {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (a.length < 6 || a.length > 7) fail(`torch._utils._rebuild_tensor_v2 with ${a.length} arguments (expected 6 or 7)`);
        const storage = a[0]!;
        if (!(storage instanceof PStorage)) return fail(`_rebuild_tensor_v2: first argument is a ${describe(storage)}, not a storage`);
        const offset = int(a[1]!, '_rebuild_tensor_v2 storage offset');
        const size = intTuple(a[2]!, '_rebuild_tensor_v2 size');
        const stride = intTuple(a[3]!, '_rebuild_tensor_v2 stride');
        if (size.length !== stride.length) fail(`_rebuild_tensor_v2: size has ${size.length} dims but stride has ${stride.length}`);
        // backward_hooks / metadata only matter to autograd / tensor subclasses; an OrderedDict or None is expected.
        return new PTensor({ storage: storage.ref, offset, size, stride });
      }
      case 'torch._utils._rebuild_parameter': {
        // (data, requires_grad, backward_hooks): an nn.Parameter wrapping a tensor; we only need the tensor.
        if (a.length !== 3 || !(a[0] instanceof PTensor)) fail('torch._utils._rebuild_parameter: expected (tensor, requires_grad, backward_hooks)');
        return a[0]!;
      }
      default:
        return fail(`refusing to call ${fn.qualified} (it is not a function a state dict needs)`);
    }
  };

  const persistentLoad = (pid: PValue): PStorage => {
    // ('storage', storage_type, key, location, numel)
    if (!(pid instanceof PTuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') {
      return fail(`unsupported persistent id ${describe(pid)} (expected ('storage', type, key, location, numel))`);
    }
    const [, type, key, location, n] = pid.items;
    if (!(type instanceof PGlobal) || type.module !== 'torch' || !DTYPE_OF_STORAGE_CLASS.has(type.name)) {
      return fail(`persistent id has storage type ${describe(type!)}, expected a torch storage class`);
    }
    if (typeof key !== 'string' || typeof location !== 'string') return fail('persistent id storage key/location are not strings');
    const ref: TorchStorageRef = { dtype: DTYPE_OF_STORAGE_CLASS.get(type.name)!, key, location, numel: int(n!, `numel of storage '${key}'`) };
    // Tensors sharing a storage (tied weights) refer to the same key; keep one description per key.
    const prev = storages.get(key);
    if (prev) {
      if (prev.ref.dtype !== ref.dtype || prev.ref.numel !== ref.numel) fail(`storage '${key}' is referenced with conflicting dtype/size`);
      return prev;
    }
    const s = new PStorage(ref);
    storages.set(key, s);
    return s;
  };

  for (;;) {
    const at = pos;
    const op = readU8();
    switch (op) {
      case 0x80: { // PROTO
        const v = readU8();
        if (v < 2 || v > 5) fail(`unsupported pickle protocol ${v}`);
        break;
      }
      case 0x95: // FRAME (protocol 4): an 8-byte frame length; frames are just a read-ahead hint
        need(8);
        pos += 8;
        break;
      case 0x63: { // GLOBAL "module\nname\n"
        const module = readLine();
        const name = readLine();
        stack.push(global(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL (protocol 4): module and name strings on the stack
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('pickle STACK_GLOBAL operands are not strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x71: // BINPUT
        memo.set(readU8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(readU32(), top());
        break;
      case 0x94: // MEMOIZE (protocol 4)
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(getMemo(readU8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(getMemo(readU32()));
        break;
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PTuple([]));
        break;
      case 0x74: { // TUPLE
        // popMark() replaces `stack`, so it must run before `stack.push` is looked up.
        const items = popMark();
        stack.push(new PTuple(items));
        break;
      }
      case 0x85: // TUPLE1
        stack.push(new PTuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const y = pop();
        stack.push(new PTuple([pop(), y]));
        break;
      }
      case 0x87: { // TUPLE3
        const z = pop();
        const y = pop();
        stack.push(new PTuple([pop(), y, z]));
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x61: { // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) fail(`pickle APPEND to a ${describe(l)}, not a list`);
        (l as PValue[]).push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) fail(`pickle APPENDS to a ${describe(l)}, not a list`);
        (l as PValue[]).push(...items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new PDict(false));
        break;
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(readStr(readU32()));
        break;
      case 0x8c: // SHORT_BINUNICODE (protocol 4)
        stack.push(readStr(readU8()));
        break;
      case 0x4b: // BININT1
        stack.push(readU8());
        break;
      case 0x4d: // BININT2
        stack.push(readU16());
        break;
      case 0x4a: // BININT (signed 32-bit)
        stack.push(readU32() | 0);
        break;
      case 0x8a: { // LONG1: n-byte little-endian two's-complement integer
        const n = readU8();
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[pos + i]!);
        if (n > 0 && b[pos + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        pos += n;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: { // BINFLOAT (big-endian double)
        need(8);
        stack.push(new DataView(b.buffer, b.byteOffset + pos, 8).getFloat64(0, false));
        pos += 8;
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop()));
        break;
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(reduce(fn, args));
        break;
      }
      case 0x62: { // BUILD: only torch's `OrderedDict._metadata` state is expected
        const state = pop();
        const obj = top();
        if (!(obj instanceof PDict) || !(state instanceof PDict)) fail(`pickle BUILD of a ${describe(obj)} with a ${describe(state)} state is not supported`);
        (obj as PDict).state = state;
        break;
      }
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length) fail('pickle STOP with a malformed stack (corrupt data.pkl)');
        return stack[0]!;
      default: {
        const name = OPCODE_NAMES[op];
        fail(`refusing pickle opcode ${name ?? 'unknown'} (0x${op.toString(16).padStart(2, '0')}) at byte ${at}: only the opcodes of a tensor state dict are supported (the file is not a plain state dict, is corrupt, or is malicious)`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reader: zip + pickle + storages → HostTensors

/** C-order (contiguous) strides as torch computes them: empty dims count as size 1. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= Math.max(shape[i]!, 1);
  }
  return s;
}

/** True if a tensor of `size`/`stride` walks its storage in C order with no gaps (dims of size ≤ 1 are free). */
function isContiguous(size: readonly number[], stride: readonly number[]): boolean {
  if (size.some((d) => d === 0)) return true;
  const want = contiguousStrides(size);
  return size.every((d, i) => d <= 1 || stride[i] === want[i]);
}

/** Finds `<archive>/data.pkl` (the archive folder name varies by torch version and file name). */
function findArchivePrefix(zip: ZipReader): string {
  for (const e of zip.entries()) {
    const m = /^([^/]+\/)data\.pkl$/.exec(e.name);
    if (m) return m[1]!;
  }
  for (const e of zip.entries()) if (e.name === 'data.pkl') return '';
  throw new Error(`${zip.path}: zip archive has no data.pkl record, so it is not a torch.save checkpoint`);
}

/** Rejects the pre-1.6 (non-zip) torch format with a useful message instead of a zip parsing error. */
async function checkIsZip(file: RandomAccessFile): Promise<void> {
  if (file.size < 4) throw new Error(`${file.path}: file is only ${file.size} bytes; it is truncated or not a torch checkpoint`);
  const head = await file.read(0, Math.min(file.size, 8));
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return;
  if (head[0] === 0x80) {
    throw new Error(`${file.path}: this is the legacy (pre-PyTorch-1.6, non-zip) torch.save format, which is not supported; re-save it with a recent torch or convert it to safetensors`);
  }
  throw new Error(`${file.path}: not a torch zip checkpoint (it does not start with a zip local header)`);
}

/**
 * Reads a `torch.save(state_dict)` file of float32/float16/bfloat16 tensors and returns float32 tensors (f16/bf16
 * widened exactly), in the state dict's order. Honours storage offset, size and stride; non-contiguous tensors are
 * rejected. Never executes pickle code (see the module comment). Errors name the file.
 */
export async function readTorchStateDict(fs: FileSystem, path: string, options: ReadTorchOptions = {}): Promise<Record<string, HostTensor>> {
  const file = await fs.open(path);
  return readTorchStateDictFromFile(file, options);
}

/** As `readTorchStateDict`, for bytes already in memory (e.g. a browser upload). */
export function parseTorchStateDict(bytes: Uint8Array, path: string): Promise<Record<string, HostTensor>> {
  return readTorchStateDictFromFile(bytesAsRandomAccessFile(path, bytes));
}

/** data.pkl of a state dict is a few bytes per tensor; a larger one is not a state dict (or is a zip bomb). */
const MAX_PICKLE_BYTES = 64 * 1024 * 1024;

/** What a state dict declares, before any tensor data is read. */
export interface DeclaredTensor {
  key: string;
  shape: readonly number[];
  dtype: TorchDType;
}

export interface ReadTorchOptions {
  /**
   * Called with the tensors the pickle declares, before their data is read: throw to refuse a file whose tensors
   * are not what the caller expects (e.g. shapes a lens config does not allow), so nothing is inflated for it.
   */
  checkDeclared?: (tensors: readonly DeclaredTensor[]) => void;
}

/** As `readTorchStateDict`, for an open file; the file is closed when done. */
export async function readTorchStateDictFromFile(file: RandomAccessFile, options: ReadTorchOptions = {}): Promise<Record<string, HostTensor>> {
  let zip: ZipReader;
  try {
    await checkIsZip(file);
    zip = await ZipReader.fromFile(file);
  } catch (e) {
    await file.close();
    throw e;
  }
  try {
    const path = zip.path;
    const prefix = findArchivePrefix(zip);
    const entries = parseStateDictPickle(await zip.read(`${prefix}data.pkl`, { maxBytes: MAX_PICKLE_BYTES }), path);
    options.checkDeclared?.(entries.map(({ key, tensor }) => ({ key, shape: tensor.size, dtype: tensor.storage.dtype })));

    // torch ≥ 2.1 records the byte order; older files are little-endian by construction.
    let bigEndian = false;
    if (zip.has(`${prefix}byteorder`)) {
      const order = (await zip.readText(`${prefix}byteorder`, { maxBytes: 16 })).trim();
      if (order !== 'little' && order !== 'big') throw new Error(`${path}: unknown byteorder record '${order}'`);
      bigEndian = order === 'big';
    }

    const storageCache = new Map<string, Uint8Array>();
    const result: Record<string, HostTensor> = {};
    for (const { key, tensor } of entries) {
      const { storage, offset, size, stride } = tensor;
      const what = `${path}: tensor '${key}'`;
      if (size.some((d) => d < 0)) throw new Error(`${what} has a negative size [${size.join(', ')}]`);
      if (!isContiguous(size, stride)) {
        throw new Error(`${what} is not contiguous (size [${size.join(', ')}], stride [${stride.join(', ')}]); save it after .contiguous()`);
      }
      const n = numel(size);
      if (offset < 0 || offset + n > storage.numel) {
        throw new Error(`${what} (offset ${offset}, ${n} elements) does not fit in its storage '${storage.key}' of ${storage.numel} elements`);
      }
      const itemSize = ITEM_SIZE[storage.dtype];
      let bytes = storageCache.get(storage.key);
      if (!bytes) {
        const record = `${prefix}data/${storage.key}`;
        if (!zip.has(record)) throw new Error(`${what} refers to storage record '${record}', which is missing from the archive`);
        // The storage's declared size bounds what is read (and inflated) from its record.
        bytes = await zip.read(record, { maxBytes: storage.numel * itemSize });
        if (bytes.length < storage.numel * itemSize) {
          throw new Error(`${path}: storage record '${record}' has ${bytes.length} bytes, but ${storage.numel} ${storage.dtype} elements need ${storage.numel * itemSize}`);
        }
        // Typed-array views read host byte order; bring the data to it once per storage.
        if (bigEndian === HOST_IS_LITTLE_ENDIAN) bytes = byteSwapped(bytes, itemSize);
        storageCache.set(storage.key, bytes);
      }
      const slice = bytes.subarray(offset * itemSize, (offset + n) * itemSize);
      const data = bytesToFloat32(SAFETENSORS_DTYPE[storage.dtype], slice, n);
      // defineProperty: a key such as "__proto__" must become an own entry, not change the prototype.
      Object.defineProperty(result, key, { value: { shape: [...size], data }, enumerable: true, writable: true, configurable: true });
    }
    return result;
  } finally {
    await zip.close();
  }
}

function byteSwapped(bytes: Uint8Array, itemSize: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i + itemSize <= bytes.length; i += itemSize) for (let j = 0; j < itemSize; j++) out[i + j] = bytes[i + itemSize - 1 - j]!;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Writer

/** Pickle opcodes the writer emits. */
const OP = {
  MARK: 0x28, STOP: 0x2e, BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d, BINPERSID: 0x51, REDUCE: 0x52,
  BINUNICODE: 0x58, BUILD: 0x62, GLOBAL: 0x63, BINGET: 0x68, LONG_BINGET: 0x6a, BINPUT: 0x71, LONG_BINPUT: 0x72,
  SETITEM: 0x73, TUPLE: 0x74, EMPTY_TUPLE: 0x29, SETITEMS: 0x75, EMPTY_DICT: 0x7d, PROTO: 0x80, TUPLE1: 0x85,
  TUPLE2: 0x86, TUPLE3: 0x87, NEWFALSE: 0x89, LONG1: 0x8a,
} as const;

/** CPython's pickler writes dict items in batches of this many (pickle._BATCHSIZE). */
const BATCH_SIZE = 1000;

/**
 * Emits pickle bytes the way CPython's protocol-2 pickler does. CPython memoises every object it saves (BINPUT) and
 * emits BINGET when the *same object* is saved again; `identity` names the objects that are the same Python object
 * in torch.save (the 'storage' and 'cpu' literals, 'version', classes and functions), everything else is fresh.
 */
class PickleEmitter {
  private bytes = new Uint8Array(1024);
  private len = 0;
  private memoCount = 0;
  private readonly identities = new Map<string, number>();
  private readonly encoder = new TextEncoder();

  private ensure(n: number): void {
    if (this.len + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.len + n));
    grown.set(this.bytes.subarray(0, this.len));
    this.bytes = grown;
  }
  op(code: number): void {
    this.ensure(1);
    this.bytes[this.len++] = code;
  }
  raw(data: Uint8Array): void {
    this.ensure(data.length);
    this.bytes.set(data, this.len);
    this.len += data.length;
  }
  u32(v: number): void {
    this.ensure(4);
    new DataView(this.bytes.buffer).setUint32(this.len, v >>> 0, true);
    this.len += 4;
  }
  /** BINPUT/LONG_BINPUT of the object just saved, at the next memo index. */
  memoize(): number {
    const i = this.memoCount++;
    if (i < 256) {
      this.op(OP.BINPUT);
      this.op(i);
    } else {
      this.op(OP.LONG_BINPUT);
      this.u32(i);
    }
    return i;
  }
  /** If the object named `id` was saved before, emits BINGET and returns true. */
  private get(id: string | undefined): boolean {
    const i = id === undefined ? undefined : this.identities.get(id);
    if (i === undefined) return false;
    if (i < 256) {
      this.op(OP.BINGET);
      this.op(i);
    } else {
      this.op(OP.LONG_BINGET);
      this.u32(i);
    }
    return true;
  }
  private remember(id: string | undefined, i: number): void {
    if (id !== undefined) this.identities.set(id, i);
  }
  /** A str (BINUNICODE at protocol 2). */
  str(s: string, id?: string): void {
    if (this.get(id)) return;
    const b = this.encoder.encode(s);
    this.op(OP.BINUNICODE);
    this.u32(b.length);
    this.raw(b);
    this.remember(id, this.memoize());
  }
  /** A class or function reference; always the same Python object, so always identity-shared. */
  global(module: string, name: string): void {
    const id = `global:${module}.${name}`;
    if (this.get(id)) return;
    this.op(OP.GLOBAL);
    this.raw(this.encoder.encode(`${module}\n${name}\n`));
    this.remember(id, this.memoize());
  }
  /** An int (not memoised), with the smallest opcode CPython's save_long picks. */
  int(v: number): void {
    if (!Number.isSafeInteger(v)) throw new Error(`pickle writer: ${v} is not a safe integer`);
    if (v >= 0 && v <= 0xff) {
      this.op(OP.BININT1);
      this.op(v);
    } else if (v >= 0 && v <= 0xffff) {
      this.op(OP.BININT2);
      this.op(v & 0xff);
      this.op(v >> 8);
    } else if (v >= -0x80000000 && v <= 0x7fffffff) {
      this.op(OP.BININT);
      this.u32(v);
    } else {
      // LONG1: minimal little-endian two's complement, as pickle.encode_long.
      let x = BigInt(v);
      const out: number[] = [];
      for (;;) {
        out.push(Number(x & 0xffn));
        x >>= 8n;
        const signBit = out[out.length - 1]! & 0x80;
        if ((x === 0n && !signBit) || (x === -1n && signBit)) break;
      }
      this.op(OP.LONG1);
      this.op(out.length);
      this.raw(Uint8Array.from(out));
    }
  }
  /** A tuple whose elements are emitted by `items` (each call saves one element). */
  tuple(n: number, items: () => void): void {
    if (n === 0) {
      this.op(OP.EMPTY_TUPLE); // the empty tuple is a singleton and is never memoised
      return;
    }
    if (n <= 3) {
      items();
      this.op([OP.TUPLE1, OP.TUPLE2, OP.TUPLE3][n - 1]!);
    } else {
      this.op(OP.MARK);
      items();
      this.op(OP.TUPLE);
    }
    this.memoize();
  }
  intTuple(values: readonly number[]): void {
    this.tuple(values.length, () => values.forEach((v) => this.int(v)));
  }
  /** `collections.OrderedDict()` as OrderedDict.__reduce__ saves it: the class, (), REDUCE, then memoised. */
  emptyOrderedDict(): void {
    this.global('collections', 'OrderedDict');
    this.op(OP.EMPTY_TUPLE);
    this.op(OP.REDUCE);
    this.memoize();
  }
  /** The items of the dict just pushed, batched like pickle._batch_setitems. */
  setItems<T>(items: readonly T[], save: (item: T) => void): void {
    for (let i = 0; i < items.length; i += BATCH_SIZE) {
      const batch = items.slice(i, i + BATCH_SIZE);
      if (batch.length > 1) {
        this.op(OP.MARK);
        batch.forEach(save);
        this.op(OP.SETITEMS);
      } else {
        save(batch[0]!);
        this.op(OP.SETITEM);
      }
    }
  }
  finish(): Uint8Array {
    return this.bytes.slice(0, this.len);
  }
}

export interface SerializeTorchOptions {
  /** Element type to store (default float32). float16/bfloat16 round to nearest even, as `tensor.to(dtype)`. */
  dtype?: TorchDType;
  /**
   * The `_metadata` torch attaches to a module's state dict: module path → `_version`. Default: derived from the
   * keys (the root '' and every key's parent module path, in order, all version 1), which is what an `nn.Module`
   * tree of Linear layers (the tuned lens's ModuleList) produces. `null` writes a plain OrderedDict, which torch
   * also loads.
   */
  moduleMetadata?: ReadonlyMap<string, number> | null;
}

/** Module paths of a state dict's keys in pre-order, as `Module.state_dict()` fills `_metadata`. */
function deriveModuleMetadata(keys: readonly string[]): Map<string, number> {
  const m = new Map<string, number>([['', 1]]);
  for (const key of keys) {
    const parts = key.split('.');
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('.');
      if (!m.has(p)) m.set(p, 1);
    }
  }
  return m;
}

/**
 * The bytes `torch.save(state_dict)` (PyTorch 1.13, default protocol 2) writes for these tensors, in insertion order,
 * under the archive folder `archiveName` (torch 1.x uses the file's stem: 'params' for params.pt). Tensors that share
 * the same `data` array object share one storage, as tied parameters do in torch.
 */
export function serializeTorchStateDict(
  tensors: Record<string, HostTensor> | ReadonlyMap<string, HostTensor>,
  archiveName = 'params',
  options: SerializeTorchOptions = {},
): Uint8Array {
  const dtype = options.dtype ?? 'float32';
  if (!(dtype in STORAGE_CLASS)) throw new Error(`serializeTorchStateDict: unsupported dtype '${dtype}'`);
  const entries: [string, HostTensor][] = tensors instanceof Map ? [...tensors] : Object.entries(tensors as Record<string, HostTensor>);

  // Storage keys are str(len(id_map)) in order of first use, one per distinct storage (here: per data array).
  const storageKeys = new Map<Float32Array, string>();
  const storages: { key: string; data: Float32Array }[] = [];
  for (const [name, t] of entries) {
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`serializeTorchStateDict: tensor '${name}' has an invalid shape [${t.shape.join(', ')}]`);
    if (t.data.length !== numel(t.shape)) {
      throw new Error(`serializeTorchStateDict: tensor '${name}' has ${t.data.length} values but shape [${t.shape.join(', ')}] needs ${numel(t.shape)}`);
    }
    if (!storageKeys.has(t.data)) {
      const key = String(storageKeys.size);
      storageKeys.set(t.data, key);
      storages.push({ key, data: t.data });
    }
  }

  const p = new PickleEmitter();
  p.op(OP.PROTO);
  p.op(2);
  // The state dict: OrderedDict.__reduce__ → (OrderedDict, (), {'_metadata': ...}, None, iter(items)).
  p.emptyOrderedDict();
  p.setItems(entries, ([name, t]) => {
    p.str(name);
    // Tensor.__reduce_ex__ → _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks)
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.tuple(6, () => {
      const key = storageKeys.get(t.data)!;
      // The persistent id ('storage', torch.<X>Storage, key, location, numel), then BINPERSID. The key string object
      // is re-used for every tensor of the same storage, hence its identity.
      p.tuple(5, () => {
        p.str('storage', 'str:storage');
        p.global('torch', STORAGE_CLASS[dtype]);
        p.str(key, `str:storage-key:${key}`);
        p.str('cpu', 'str:cpu');
        p.int(t.data.length);
      });
      p.op(OP.BINPERSID);
      p.int(0); // storage offset
      p.intTuple(t.shape);
      p.intTuple(contiguousStrides(t.shape));
      p.op(OP.NEWFALSE); // requires_grad
      p.emptyOrderedDict(); // backward_hooks
    });
    p.op(OP.REDUCE);
    p.memoize();
  });
  const metadata = options.moduleMetadata === undefined ? deriveModuleMetadata(entries.map(([k]) => k)) : options.moduleMetadata;
  if (metadata !== null) {
    // BUILD with state {'_metadata': OrderedDict(path → {'version': v})}
    p.op(OP.EMPTY_DICT);
    p.memoize();
    p.setItems([0], () => {
      p.str('_metadata');
      p.emptyOrderedDict();
      p.setItems([...metadata], ([path, version]) => {
        p.str(path);
        p.op(OP.EMPTY_DICT);
        p.memoize();
        p.setItems([0], () => {
          p.str('version', 'str:version');
          p.int(version);
        });
      });
    });
    p.op(OP.BUILD);
  }
  p.op(OP.STOP);

  const zip = new ZipWriter();
  zip.add(`${archiveName}/data.pkl`, p.finish());
  // torch writes the storage records sorted by key *as strings* ('0', '1', '10', '11', '2', ...).
  for (const s of [...storages].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    zip.add(`${archiveName}/data/${s.key}`, encodeStorage(s.data, dtype));
  }
  zip.add(`${archiveName}/version`, new TextEncoder().encode('3\n'));
  return zip.finish();
}

/** Writes `serializeTorchStateDict(tensors, <file stem>)` to `path` atomically, as torch.save(sd, path) would. */
export function writeTorchStateDict(
  fs: FileSystem,
  path: string,
  tensors: Record<string, HostTensor> | ReadonlyMap<string, HostTensor>,
  options?: SerializeTorchOptions,
): Promise<void> {
  const base = path.split(/[\\/]/).pop() ?? path;
  const stem = base.includes('.') ? base.slice(0, base.lastIndexOf('.')) : base;
  return fs.writeAtomic(path, serializeTorchStateDict(tensors, stem || 'archive', options));
}

/** Little-endian bytes of `data` in `dtype`. */
function encodeStorage(data: Float32Array, dtype: TorchDType): Uint8Array {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('serializeTorchStateDict: big-endian hosts are not supported');
  if (dtype === 'float32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const bits = new Uint32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = new Uint16Array(data.length);
  const conv = dtype === 'float16' ? f32BitsToF16 : f32BitsToBf16;
  for (let i = 0; i < bits.length; i++) out[i] = conv(bits[i]!);
  return new Uint8Array(out.buffer);
}

/** float32 bits → bfloat16 bits, round to nearest even; NaN becomes the canonical 0x7FC0, as torch does. */
export function f32BitsToBf16(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * float32 bits → float16 bits, round to nearest even, with subnormals and overflow to ±inf; NaN becomes sign|0x7E00,
 * as c10's fp16_ieee_from_fp32_value (what `tensor.half()` uses) does.
 */
export function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | (mant ? 0x7e00 : 0x7c00); // NaN / inf
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    // Subnormal half (or zero): shift the full significand right and round to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // a carry into the exponent is correct (may give inf)
  return sign | h;
}
