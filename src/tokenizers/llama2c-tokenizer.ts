/**
 * The llama2.c tokenizer (`tokenizer.bin` / `tok512.bin`), reproducing `run.c`'s `encode` and `decode` exactly.
 *
 * File layout: int32 max_token_length, then for each token: float32 score, int32 byte length, the piece's bytes.
 * The vocabulary size is not stored; it is the number of records (or the model's vocab_size, if given).
 *
 * Pieces are compared as byte strings, as `run.c` does with strcmp. We key maps by a "binary string" (one JS char per
 * byte, code 0..255) so that lookups never depend on UTF-8 validity.
 */
import type { FileSystem } from '../io/file-system.js';
import type { Tokenizer } from './tokenizer.js';

const BOS = 1;
const EOS = 2;
/** run.c's byte fallback: byte b is token b + 3 (ids 0..2 are <unk>, <s>, </s>). */
const BYTE_OFFSET = 3;
/** run.c starts its best-score search at -1e10, so pairs scoring at or below this never merge. */
const MIN_SCORE = -1e10;

function binaryString(bytes: Uint8Array): string {
  let s = '';
  // Chunked to stay under the argument-count limit of fromCharCode.
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/** A binary heap of candidate merges: highest score first, then leftmost position (run.c's tie rule). */
class MergeQueue {
  private readonly score: number[] = [];
  private readonly pos: number[] = [];
  private readonly extra: [left: number, right: number, leftId: number, rightId: number, merged: number][] = [];

  get size(): number {
    return this.score.length;
  }
  private before(a: number, b: number): boolean {
    return this.score[a]! > this.score[b]! || (this.score[a] === this.score[b] && this.pos[a]! < this.pos[b]!);
  }
  private swap(a: number, b: number): void {
    [this.score[a], this.score[b]] = [this.score[b]!, this.score[a]!];
    [this.pos[a], this.pos[b]] = [this.pos[b]!, this.pos[a]!];
    [this.extra[a], this.extra[b]] = [this.extra[b]!, this.extra[a]!];
  }
  push(score: number, left: number, right: number, leftId: number, rightId: number, merged: number): void {
    let i = this.score.length;
    this.score.push(score);
    this.pos.push(left);
    this.extra.push([left, right, leftId, rightId, merged]);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [left: number, right: number, leftId: number, rightId: number, merged: number] {
    const top = this.extra[0]!;
    const last = this.score.length - 1;
    this.swap(0, last);
    this.score.pop();
    this.pos.pop();
    this.extra.pop();
    let i = 0;
    const n = this.score.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.before(l, m)) m = l;
      if (r < n && this.before(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

export class Llama2cTokenizer implements Tokenizer {
  readonly bosId = BOS;
  readonly eosId = EOS;
  /** Piece strings as stored (UTF-8 decoded), for display. */
  private readonly pieces: string[];
  /** Piece bytes as binary strings, the keys run.c effectively compares. */
  private readonly keys: string[];
  /** Raw bytes each token contributes in `decode` (without the after-BOS space rule). */
  private readonly pieceBytes: Uint8Array[];
  private readonly scores: Float32Array;
  private readonly lookup = new Map<string, number>();
  private readonly spaceId: number;

  constructor(
    readonly maxTokenLength: number,
    pieceBytes: Uint8Array[],
    scores: Float32Array,
    private readonly source = 'llama2.c tokenizer',
  ) {
    this.scores = scores;
    const utf8 = new TextDecoder('utf-8');
    this.pieces = pieceBytes.map((b) => utf8.decode(b));
    this.keys = pieceBytes.map(binaryString);
    // First occurrence wins for duplicate pieces (run.c's bsearch would pick an arbitrary one; real vocabs have none).
    this.keys.forEach((k, id) => {
      if (!this.lookup.has(k)) this.lookup.set(k, id);
    });
    // run.c's decode turns "<0xNN>" pieces into the raw byte; precompute each token's output bytes.
    this.pieceBytes = pieceBytes.map((b, id) => {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(this.pieces[id]!);
      return m ? Uint8Array.of(parseInt(m[1]!, 16)) : b;
    });
    const space = this.lookup.get(' ');
    if (space === undefined) throw new Error(`${source}: the vocabulary has no " " piece, which encode needs as the dummy prefix`);
    this.spaceId = space;
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  idToPiece(id: number): string {
    const p = this.pieces[id];
    if (p === undefined) throw new Error(`${this.source}: token id ${id} is out of range (vocab size ${this.vocabSize})`);
    return p;
  }

  /** The stored merge score of a token. */
  score(id: number): number {
    return this.scores[id]!;
  }

  /**
   * llama2.c `encode(text, bos, eos=0)`: BOS (unless `addBos` is false), a dummy-prefix " " token when the text is
   * not empty, one token per UTF-8 code point (byte fallback id = byte + 3 for code points not in the vocabulary),
   * then repeated merges of the adjacent pair with the highest score, ties to the leftmost pair.
   */
  encode(text: string, options?: { addBos?: boolean }): number[] {
    const addBos = options?.addBos ?? true;
    const bytes = new TextEncoder().encode(text);
    const ids: number[] = [];
    if (addBos) ids.push(BOS);
    if (bytes.length > 0) ids.push(this.spaceId);

    // Split into code points the way run.c does: a new code point starts at every non-continuation byte, and a
    // code point is cut after 4 bytes even if more continuation bytes follow.
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      if ((bytes[i]! & 0xc0) !== 0x80) start = i;
      const len = i - start + 1;
      if (i + 1 < bytes.length && (bytes[i + 1]! & 0xc0) === 0x80 && len < 4) continue;
      const cp = bytes.subarray(start, i + 1);
      const id = this.lookup.get(binaryString(cp));
      if (id !== undefined) ids.push(id);
      else for (const b of cp) ids.push(b + BYTE_OFFSET);
      start = i + 1;
    }
    return this.merge(ids);
  }

  /**
   * run.c rescans all pairs after every merge (quadratic). This does the same merges in the same order with a heap
   * over a linked list: every adjacent pair that exists is in the heap, stale entries are skipped when popped, and
   * since merging never reorders tokens, "leftmost" equals "smallest original index of the left token".
   */
  private merge(ids: number[]): number[] {
    const n = ids.length;
    const tok = Int32Array.from(ids);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const alive = new Uint8Array(n).fill(1);
    const queue = new MergeQueue();
    const consider = (l: number, r: number) => {
      if (l < 0 || r < 0) return;
      const merged = this.lookup.get(this.keys[tok[l]!]! + this.keys[tok[r]!]!);
      if (merged === undefined) return;
      const s = this.scores[merged]!;
      if (s > MIN_SCORE) queue.push(s, l, r, tok[l]!, tok[r]!, merged);
    };
    for (let i = 0; i + 1 < n; i++) consider(i, i + 1);
    while (queue.size > 0) {
      const [l, r, lid, rid, merged] = queue.pop();
      // Stale if either side has since merged into something else.
      if (!alive[l] || !alive[r] || next[l] !== r || tok[l] !== lid || tok[r] !== rid) continue;
      tok[l] = merged;
      alive[r] = 0;
      next[l] = next[r]!;
      if (next[r]! >= 0) prev[next[r]!] = l;
      consider(prev[l]!, l);
      consider(l, next[l]!);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]!) out.push(tok[i]!);
    return out;
  }

  /**
   * llama2.c `decode(prev, tok)` over the sequence: after BOS one leading space is stripped from the piece, and
   * "<0xNN>" pieces are raw bytes. BOS and EOS themselves print nothing (run.c never prints them). The bytes of the
   * whole sequence are joined before UTF-8 decoding, so multi-byte characters split across byte tokens come out whole.
   */
  decode(ids: readonly number[]): string {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      if (id === BOS || id === EOS) continue;
      let b = this.pieceBytes[id];
      if (b === undefined) throw new Error(`${this.source}: token id ${id} is out of range (vocab size ${this.vocabSize})`);
      if (k > 0 && ids[k - 1] === BOS && b[0] === 0x20) b = b.subarray(1);
      parts.push(b);
      total += b.length;
    }
    const all = new Uint8Array(total);
    let pos = 0;
    for (const p of parts) {
      all.set(p, pos);
      pos += p.length;
    }
    return new TextDecoder('utf-8').decode(all);
  }
}

/** Parses tokenizer.bin bytes. With `vocabSize`, reads exactly that many records (as run.c does); else all of them. */
export function parseLlama2cTokenizer(bytes: Uint8Array, source = 'tokenizer.bin', vocabSize?: number): Llama2cTokenizer {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw new Error(`${source}: not a llama2.c tokenizer: ${bytes.length} bytes is too short`);
  const maxTokenLength = dv.getInt32(0, true);
  if (maxTokenLength <= 0 || maxTokenLength > 1 << 16) {
    throw new Error(`${source}: not a llama2.c tokenizer: max_token_length ${maxTokenLength} is out of range`);
  }
  const pieces: Uint8Array[] = [];
  const scores: number[] = [];
  let pos = 4;
  while (vocabSize === undefined ? pos < bytes.length : pieces.length < vocabSize) {
    const id = pieces.length;
    if (pos + 8 > bytes.length) throw new Error(`${source}: truncated at token ${id} (byte ${pos} of ${bytes.length})`);
    const score = dv.getFloat32(pos, true);
    const len = dv.getInt32(pos + 4, true);
    pos += 8;
    if (len < 0 || len > maxTokenLength || pos + len > bytes.length) {
      throw new Error(`${source}: token ${id} has an invalid length ${len} at byte ${pos - 4} (file ${bytes.length} bytes; ` +
        (pos + len > bytes.length ? 'truncated?)' : `max_token_length ${maxTokenLength})`));
    }
    pieces.push(bytes.slice(pos, pos + len));
    scores.push(score);
    pos += len;
  }
  if (pieces.length < 3) throw new Error(`${source}: only ${pieces.length} tokens; not a llama2.c tokenizer`);
  return new Llama2cTokenizer(maxTokenLength, pieces, Float32Array.from(scores), source);
}

/** Loads a llama2.c tokenizer file (`tokenizer.bin`, `tok512.bin`, ...). */
export async function loadLlama2cTokenizer(fs: FileSystem, path: string, vocabSize?: number): Promise<Llama2cTokenizer> {
  return parseLlama2cTokenizer(await fs.readBytes(path), path, vocabSize);
}
