/**
 * Builders for hand-made (and hostile) input files used by the hostile-input tests and the fuzz harness: zip
 * archives with deflated entries and lying size fields, small lens folders, llama2.c headers.
 */
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../../src/formats/zip.js';

export interface CraftEntry {
  name: string;
  data: Uint8Array;
  /** Deflate the data (method 8) instead of storing it. */
  deflate?: boolean;
  /** The uncompressed size written into the headers (default: the real one), to make an entry lie. */
  declaredSize?: number;
}

/** A plain zip archive (no ZIP64, no alignment) of the given entries, in order. */
export function craftZip(entries: readonly CraftEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const body = e.deflate ? new Uint8Array(deflateRawSync(e.data)) : e.data;
    const crc = crc32(e.data);
    const size = e.declaredSize ?? e.data.length;
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, e.deflate ? 8 : 0, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const c = new Uint8Array(46 + name.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(10, e.deflate ? 8 : 0, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    c.set(name, 46);
    parts.push(local, body);
    central.push(c);
    offset += local.length + body.length;
  }
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  return concat([...parts, ...central, end]);
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A legacy llama2.c header (7 little-endian int32s) followed by `bodyBytes` zero bytes. */
export function llama2cFile(header: readonly number[], bodyBytes: number): Uint8Array {
  const out = new Uint8Array(28 + bodyBytes);
  const v = new DataView(out.buffer);
  header.forEach((x, i) => v.setInt32(4 * i, x, true));
  return out;
}

/** The byte size of a legacy llama2.c checkpoint with this header (shared classifier), as run.c lays it out. */
export function llama2cSize([dim, hidden, layers, heads, kvHeads, vocab, seqLen]: readonly number[]): number {
  const head = dim / heads;
  const kv = head * kvHeads;
  const floats = vocab * dim + layers * (2 * dim + dim * dim * 2 + 2 * kv * dim + 3 * hidden * dim) + dim + seqLen * head;
  return 28 + 4 * floats;
}
