/**
 * A minimal ZIP reader and writer, enough for PyTorch's checkpoint format (`torch.save` since PyTorch 1.6 writes a
 * zip archive of uncompressed records: `<archive>/data.pkl`, `<archive>/data/<storage key>`, `<archive>/version`).
 *
 * Reader: finds the end-of-central-directory record (plain or ZIP64), parses the central directory, and reads entries
 * with one ranged read each through the `FileSystem` abstraction, so multi-GB checkpoints are never loaded whole.
 * Stored entries are returned as-is; deflated entries (not written by torch, but common in zips made by other tools)
 * are inflated with the platform's `DecompressionStream('deflate-raw')`.
 *
 * Writer: reproduces the exact layout of PyTorch's `PyTorchStreamWriter` (miniz underneath), so that an archive we
 * write is byte-identical to what `torch.save` writes for the same records:
 *   - every local header has version 0, flags 0x0808 (data descriptor follows + UTF-8 names), no timestamp, and
 *     zero CRC/sizes (they are in the 16-byte data descriptor after the data);
 *   - each record's data starts at a multiple of 64 bytes, padded with an extra field `"FB" <u16 len> "ZZZ…"`
 *     (torch does this so storages can be mmapped with alignment);
 *   - the central directory is followed by a ZIP64 end record and locator, then the classic end record, which
 *     miniz always writes because torch opens the writer with MZ_ZIP_FLAG_WRITE_ZIP64.
 */
import type { FileSystem, RandomAccessFile } from '../io/file-system.js';

// ---------------------------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, the polynomial zip uses)

let crcTable: Uint32Array | null = null;

function getCrcTable(): Uint32Array {
  if (crcTable) return crcTable;
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  crcTable = t;
  return t;
}

/** CRC-32 of `data`; pass a previous result as `crc` to continue a running checksum over several chunks. */
export function crc32(data: Uint8Array, crc = 0): number {
  const t = getCrcTable();
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Record signatures and sizes (APPNOTE.TXT)

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_DATA_DESCRIPTOR = 0x08074b50;

const LOCAL_HEADER_SIZE = 30;
const CENTRAL_HEADER_SIZE = 46;
const EOCD_SIZE = 22;
const ZIP64_EOCD_SIZE = 56;
const ZIP64_LOCATOR_SIZE = 20;
const MAX_COMMENT = 0xffff;

/** Compression methods this reader handles. */
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;

export interface ZipEntry {
  /** Full name inside the archive, e.g. `params/data/0`. */
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  /** General-purpose bit flags from the central directory. */
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Offset of the entry's local header from the start of the file. */
  localHeaderOffset: number;
}

export interface ZipReadOptions {
  /**
   * Check the CRC-32 of the data read (default true). Costs one pass over the bytes; callers streaming multi-GB
   * records they validate otherwise can turn it off.
   */
  verifyCrc?: boolean;
  /**
   * The most bytes the caller can use from this entry (e.g. what the tensors stored in it need). An entry that
   * declares more is refused before anything is read; inflating stops as soon as the output would pass the declared
   * size or this limit, so a small deflated entry cannot expand into gigabytes (a zip bomb).
   */
  maxBytes?: number;
}

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
/** Little-endian u64 as a JS number; throws past 2^53 rather than silently losing precision. */
function u64(b: Uint8Array, o: number, path: string, what: string): number {
  const v = u32(b, o) + u32(b, o + 4) * 2 ** 32;
  if (!Number.isSafeInteger(v)) throw new Error(`${path}: zip ${what} ${v} is too large`);
  return v;
}

/** A RandomAccessFile over bytes already in memory (archives built in memory, tests, browser uploads). */
export function bytesAsRandomAccessFile(path: string, bytes: Uint8Array): RandomAccessFile {
  return {
    path,
    size: bytes.length,
    async read(offset: number, length: number): Promise<Uint8Array> {
      if (offset < 0 || length < 0 || offset + length > bytes.length) {
        throw new Error(`${path}: read of ${length} bytes at offset ${offset} goes past the end of the data (${bytes.length} bytes); the file is truncated or corrupt`);
      }
      return bytes.slice(offset, offset + length);
    },
    async close(): Promise<void> {},
  };
}

/** Reads entries of a zip archive with ranged reads. Keep it open while reading; `close()` closes the file. */
export class ZipReader {
  private readonly byName = new Map<string, ZipEntry>();
  /** Start of each entry's data, found from its local header on first read (the local extra field may differ). */
  private readonly dataStarts = new Map<string, number>();

  private constructor(
    private readonly file: RandomAccessFile,
    private readonly list: ZipEntry[],
  ) {
    for (const e of list) if (!this.byName.has(e.name)) this.byName.set(e.name, e);
  }

  get path(): string {
    return this.file.path;
  }

  /** Opens `path` and parses its central directory. */
  static async open(fs: FileSystem, path: string): Promise<ZipReader> {
    const file = await fs.open(path);
    try {
      return await ZipReader.fromFile(file);
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  /** Parses the central directory of an already-open file; the reader takes ownership of `file`. */
  static async fromFile(file: RandomAccessFile): Promise<ZipReader> {
    return new ZipReader(file, await readCentralDirectory(file));
  }

  /** All entries in central-directory order. */
  entries(): readonly ZipEntry[] {
    return this.list;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  entry(name: string): ZipEntry {
    const e = this.byName.get(name);
    if (!e) throw new Error(`${this.path}: zip archive has no entry '${name}'`);
    return e;
  }

  /** File offset of the first byte of the entry's (possibly compressed) data. */
  async dataOffset(name: string): Promise<number> {
    const cached = this.dataStarts.get(name);
    if (cached !== undefined) return cached;
    const e = this.entry(name);
    const path = this.path;
    if (e.localHeaderOffset + LOCAL_HEADER_SIZE > this.file.size) {
      throw new Error(`${path}: local header of zip entry '${name}' lies past the end of the file; the file is truncated`);
    }
    const h = await this.file.read(e.localHeaderOffset, LOCAL_HEADER_SIZE);
    if (u32(h, 0) !== SIG_LOCAL) throw new Error(`${path}: zip entry '${name}' has no local header at offset ${e.localHeaderOffset}; the file is corrupt`);
    // Name and extra lengths must come from the local header: torch's alignment padding lives only there.
    const start = e.localHeaderOffset + LOCAL_HEADER_SIZE + u16(h, 26) + u16(h, 28);
    if (start + e.compressedSize > this.file.size) {
      throw new Error(`${path}: data of zip entry '${name}' (${e.compressedSize} bytes at offset ${start}) goes past the end of the file (${this.file.size} bytes); the file is truncated`);
    }
    this.dataStarts.set(name, start);
    return start;
  }

  /** The entry's uncompressed bytes. */
  async read(name: string, options: ZipReadOptions = {}): Promise<Uint8Array> {
    const e = this.entry(name);
    const path = this.path;
    if (e.flags & 1) throw new Error(`${path}: zip entry '${name}' is encrypted, which is not supported`);
    if (e.method !== METHOD_STORED && e.method !== METHOD_DEFLATE) {
      throw new Error(`${path}: zip entry '${name}' uses compression method ${e.method}; only stored (0) and deflate (8) are supported`);
    }
    if (options.maxBytes !== undefined && e.uncompressedSize > options.maxBytes) {
      throw new Error(`${path}: zip entry '${name}' declares ${e.uncompressedSize} bytes, but at most ${options.maxBytes} can be used from it; the file is corrupt or malicious`);
    }
    const raw = await this.file.read(await this.dataOffset(name), e.compressedSize);
    let data: Uint8Array;
    if (e.method === METHOD_STORED) {
      if (e.compressedSize !== e.uncompressedSize) {
        throw new Error(`${path}: stored zip entry '${name}' has compressed size ${e.compressedSize} but uncompressed size ${e.uncompressedSize}; the file is corrupt`);
      }
      data = raw;
    } else {
      // The declared size is the hard limit (already checked against maxBytes): one byte more is corruption.
      data = await inflateRaw(raw, e.uncompressedSize, path, name);
    }
    if (options.verifyCrc !== false) {
      const c = crc32(data);
      if (c !== e.crc32) {
        throw new Error(`${path}: CRC-32 mismatch in zip entry '${name}' (stored ${hex32(e.crc32)}, computed ${hex32(c)}); the file is corrupt`);
      }
    }
    return data;
  }

  /** The entry decoded as UTF-8 text. */
  async readText(name: string, options?: ZipReadOptions): Promise<string> {
    return new TextDecoder().decode(await this.read(name, options));
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

function hex32(v: number): string {
  return '0x' + v.toString(16).padStart(8, '0');
}

/**
 * Inflates raw deflate data with the web-standard DecompressionStream (Node ≥ 20.12, all current browsers), chunk
 * by chunk: output past the declared `size` stops the stream at once, so memory never exceeds what the entry
 * declared (and nothing is allocated for a declared size the data never reaches).
 */
async function inflateRaw(data: Uint8Array, size: number, path: string, name: string): Promise<Uint8Array> {
  let ds: DecompressionStream;
  try {
    if (typeof DecompressionStream === 'undefined') throw new Error('DecompressionStream is not defined');
    ds = new DecompressionStream('deflate-raw');
  } catch (e) {
    throw new Error(`${path}: zip entry '${name}' is deflate-compressed, but this runtime has no DecompressionStream('deflate-raw') (${(e as Error).message}); re-save the archive uncompressed`);
  }
  const chunks: Uint8Array[] = [];
  let filled = 0;
  const reader = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(ds).getReader();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw new Error(`${path}: zip entry '${name}' could not be inflated: ${(e as Error).message}`);
      }
      if (chunk.done) break;
      if (filled + chunk.value.length > size) {
        throw new Error(`${path}: zip entry '${name}' inflates to more than its declared ${size} bytes; the file is corrupt or malicious (a zip bomb)`);
      }
      chunks.push(chunk.value);
      filled += chunk.value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  if (filled !== size) throw new Error(`${path}: zip entry '${name}' inflated to ${filled} bytes, expected ${size}; the file is corrupt`);
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Locates the (ZIP64) end-of-central-directory record and parses every central-directory entry. */
async function readCentralDirectory(file: RandomAccessFile): Promise<ZipEntry[]> {
  const path = file.path;
  const size = file.size;
  if (size < EOCD_SIZE) throw new Error(`${path}: not a zip archive (only ${size} bytes); the file is truncated or of another format`);

  // The EOCD record sits at the end, followed only by a comment of up to 64 KiB; scan backwards for its signature.
  const tailLen = Math.min(size, EOCD_SIZE + MAX_COMMENT + ZIP64_LOCATOR_SIZE);
  const tailStart = size - tailLen;
  const tail = await file.read(tailStart, tailLen);
  let eocd = -1;
  for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
    if (u32(tail, i) === SIG_EOCD && i + EOCD_SIZE + u16(tail, i + 20) === tailLen) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    throw new Error(`${path}: no zip end-of-central-directory record found; the file is truncated or not a zip archive`);
  }
  let count = u16(tail, eocd + 10);
  let cdSize = u32(tail, eocd + 12);
  let cdOffset = u32(tail, eocd + 16);

  // A ZIP64 locator right before the EOCD points at the ZIP64 end record, whose 64-bit fields take precedence.
  if (eocd >= ZIP64_LOCATOR_SIZE && u32(tail, eocd - ZIP64_LOCATOR_SIZE) === SIG_ZIP64_LOCATOR) {
    const z64Offset = u64(tail, eocd - ZIP64_LOCATOR_SIZE + 8, path, 'ZIP64 end record offset');
    if (z64Offset + ZIP64_EOCD_SIZE > size) {
      throw new Error(`${path}: ZIP64 end-of-central-directory record lies past the end of the file; the file is truncated or corrupt`);
    }
    const z = await file.read(z64Offset, ZIP64_EOCD_SIZE);
    if (u32(z, 0) !== SIG_ZIP64_EOCD) throw new Error(`${path}: bad ZIP64 end-of-central-directory record at offset ${z64Offset}; the file is corrupt`);
    count = u64(z, 32, path, 'entry count');
    cdSize = u64(z, 40, path, 'central directory size');
    cdOffset = u64(z, 48, path, 'central directory offset');
  }
  if (cdOffset + cdSize > size) {
    throw new Error(`${path}: zip central directory (${cdSize} bytes at offset ${cdOffset}) goes past the end of the file (${size} bytes); the file is truncated`);
  }

  const cd = await file.read(cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  const decoder = new TextDecoder();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_HEADER_SIZE > cd.length || u32(cd, p) !== SIG_CENTRAL) {
      throw new Error(`${path}: zip central directory entry ${i} of ${count} is missing or corrupt`);
    }
    const flags = u16(cd, p + 8);
    const method = u16(cd, p + 10);
    const crc = u32(cd, p + 16);
    let compressedSize = u32(cd, p + 20);
    let uncompressedSize = u32(cd, p + 24);
    const nameLen = u16(cd, p + 28);
    const extraLen = u16(cd, p + 30);
    const commentLen = u16(cd, p + 32);
    let localHeaderOffset = u32(cd, p + 42);
    const end = p + CENTRAL_HEADER_SIZE + nameLen + extraLen + commentLen;
    if (end > cd.length) throw new Error(`${path}: zip central directory entry ${i} runs past the directory; the file is corrupt`);
    const name = decoder.decode(cd.subarray(p + CENTRAL_HEADER_SIZE, p + CENTRAL_HEADER_SIZE + nameLen));

    // ZIP64 extended information (tag 1): 64-bit values for exactly those fields that are 0xFFFFFFFF, in this order.
    let x = p + CENTRAL_HEADER_SIZE + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const tag = u16(cd, x);
      const len = u16(cd, x + 2);
      if (tag === 0x0001) {
        let q = x + 4;
        const take = (what: string): number => {
          if (q + 8 > x + 4 + len) throw new Error(`${path}: ZIP64 extra field of entry '${name}' is too short`);
          const v = u64(cd, q, path, what);
          q += 8;
          return v;
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = take('uncompressed size');
        if (compressedSize === 0xffffffff) compressedSize = take('compressed size');
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take('local header offset');
      }
      x += 4 + len;
    }
    entries.push({ name, method, flags, crc32: crc, compressedSize, uncompressedSize, localHeaderOffset });
    p = end;
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------------------------
// Writer

/** torch aligns every record's data to this many bytes (caffe2/serialize/inline_container.cc, kFieldAlignment). */
export const TORCH_ZIP_ALIGNMENT = 64;

/** Flags torch/miniz set on every entry: bit 3 (sizes in a data descriptor) and bit 11 (UTF-8 names). */
const TORCH_ENTRY_FLAGS = 0x0808;

interface PendingEntry {
  nameBytes: Uint8Array;
  crc: number;
  size: number;
  localHeaderOffset: number;
}

/**
 * Builds a zip archive in memory, entry by entry, in PyTorch's layout (see the module comment). All entries are
 * stored uncompressed. Archives and entries must stay below 4 GiB: this writer does not emit per-entry ZIP64 fields.
 */
export class ZipWriter {
  private readonly chunks: Uint8Array[] = [];
  private readonly entries: PendingEntry[] = [];
  private readonly names = new Set<string>();
  private offset = 0;
  private finished = false;

  constructor(private readonly alignment = TORCH_ZIP_ALIGNMENT) {
    if (!Number.isInteger(alignment) || alignment < 1 || alignment > 0xffff) throw new Error(`ZipWriter: invalid alignment ${alignment}`);
  }

  /** Appends a stored entry. Its data starts at a multiple of the alignment. */
  add(name: string, data: Uint8Array): void {
    if (this.finished) throw new Error('ZipWriter: add() after finish()');
    if (this.names.has(name)) throw new Error(`ZipWriter: duplicate entry name '${name}'`);
    const nameBytes = new TextEncoder().encode(name);
    if (nameBytes.length > 0xffff) throw new Error(`ZipWriter: entry name too long: '${name.slice(0, 80)}…'`);
    if (data.length >= 0xffffffff || this.offset >= 0xffffffff) {
      throw new Error(`ZipWriter: entry '${name}' needs ZIP64 (archive or entry ≥ 4 GiB), which this writer does not support`);
    }
    this.names.add(name);

    // Padding so that the data starts on an alignment boundary; the 4 bytes are the "FB" tag and its u16 length.
    const dataStartNoPad = this.offset + LOCAL_HEADER_SIZE + nameBytes.length + 4;
    const padding = (this.alignment - (dataStartNoPad % this.alignment)) % this.alignment;
    const header = new Uint8Array(LOCAL_HEADER_SIZE + nameBytes.length + 4 + padding);
    const hv = new DataView(header.buffer);
    hv.setUint32(0, SIG_LOCAL, true);
    hv.setUint16(4, 0, true); // version needed: miniz writes 0 here
    hv.setUint16(6, TORCH_ENTRY_FLAGS, true);
    hv.setUint16(8, METHOD_STORED, true);
    // time, date, crc, sizes (10..25) stay 0: the real crc/sizes follow the data in the data descriptor.
    hv.setUint16(26, nameBytes.length, true);
    hv.setUint16(28, 4 + padding, true);
    header.set(nameBytes, LOCAL_HEADER_SIZE);
    const x = LOCAL_HEADER_SIZE + nameBytes.length;
    header[x] = 0x46; // 'F'
    header[x + 1] = 0x42; // 'B'
    hv.setUint16(x + 2, padding, true);
    header.fill(0x5a, x + 4); // 'Z'

    const crc = crc32(data);
    const descriptor = new Uint8Array(16);
    const dv = new DataView(descriptor.buffer);
    dv.setUint32(0, SIG_DATA_DESCRIPTOR, true);
    dv.setUint32(4, crc, true);
    dv.setUint32(8, data.length, true);
    dv.setUint32(12, data.length, true);

    this.entries.push({ nameBytes, crc, size: data.length, localHeaderOffset: this.offset });
    this.chunks.push(header, data, descriptor);
    this.offset += header.length + data.length + descriptor.length;
  }

  /** Writes the central directory and end records and returns the whole archive. */
  finish(): Uint8Array {
    if (this.finished) throw new Error('ZipWriter: finish() called twice');
    this.finished = true;
    if (this.entries.length > 0xfffe) throw new Error('ZipWriter: too many entries (this writer supports at most 65534)');
    const cdOffset = this.offset;
    let cdSize = 0;
    for (const e of this.entries) {
      const c = new Uint8Array(CENTRAL_HEADER_SIZE + e.nameBytes.length);
      const v = new DataView(c.buffer);
      v.setUint32(0, SIG_CENTRAL, true);
      // version made by (4), version needed (6): 0, as miniz writes them for torch
      v.setUint16(8, TORCH_ENTRY_FLAGS, true);
      v.setUint16(10, METHOD_STORED, true);
      // time/date (12, 14): 0
      v.setUint32(16, e.crc, true);
      v.setUint32(20, e.size, true);
      v.setUint32(24, e.size, true);
      v.setUint16(28, e.nameBytes.length, true);
      // extra, comment, disk, internal/external attributes (30..41): 0
      v.setUint32(42, e.localHeaderOffset, true);
      c.set(e.nameBytes, CENTRAL_HEADER_SIZE);
      this.chunks.push(c);
      cdSize += c.length;
    }
    if (cdOffset + cdSize >= 0xffffffff) throw new Error('ZipWriter: archive ≥ 4 GiB needs ZIP64 offsets, which this writer does not support');
    const n = this.entries.length;
    const zip64At = cdOffset + cdSize;

    const end = new Uint8Array(ZIP64_EOCD_SIZE + ZIP64_LOCATOR_SIZE + EOCD_SIZE);
    const v = new DataView(end.buffer);
    const setU64 = (o: number, val: number): void => {
      v.setUint32(o, val % 2 ** 32, true);
      v.setUint32(o + 4, Math.floor(val / 2 ** 32), true);
    };
    // ZIP64 end of central directory record
    v.setUint32(0, SIG_ZIP64_EOCD, true);
    setU64(4, ZIP64_EOCD_SIZE - 12); // size of the remaining record
    v.setUint16(12, 0x031e, true); // made by: Unix, spec 3.0 (miniz's value)
    v.setUint16(14, 0x002d, true); // needed: 4.5 (ZIP64)
    // disk numbers (16, 20): 0
    setU64(24, n);
    setU64(32, n);
    setU64(40, cdSize);
    setU64(48, cdOffset);
    // ZIP64 locator
    let o = ZIP64_EOCD_SIZE;
    v.setUint32(o, SIG_ZIP64_LOCATOR, true);
    setU64(o + 8, zip64At);
    v.setUint32(o + 16, 1, true); // total number of disks
    // classic end of central directory record
    o += ZIP64_LOCATOR_SIZE;
    v.setUint32(o, SIG_EOCD, true);
    v.setUint16(o + 8, n, true);
    v.setUint16(o + 10, n, true);
    v.setUint32(o + 12, cdSize, true);
    v.setUint32(o + 16, cdOffset, true);
    this.chunks.push(end);

    const total = this.chunks.reduce((s, c) => s + c.length, 0);
    const out = new Uint8Array(total);
    let pos = 0;
    for (const c of this.chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    this.chunks.length = 0;
    return out;
  }
}

/** Convenience: a torch-layout archive of the given records, in order. */
export function writeZip(entries: Iterable<{ name: string; data: Uint8Array }>, alignment = TORCH_ZIP_ALIGNMENT): Uint8Array {
  const w = new ZipWriter(alignment);
  for (const e of entries) w.add(e.name, e.data);
  return w.finish();
}
