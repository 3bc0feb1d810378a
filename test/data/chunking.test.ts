import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tokenizer } from '../../src/tokenizers/tokenizer.js';
import { chunkAndTokenize, defaultBoundary, FALLBACK_SEPARATOR, natsToBpb, prepareChunks, pretokenizedChunks } from '../../src/data/chunking.js';

/**
 * One token per UTF-16 code unit (id = char code), so token streams are easy to predict. `eos` is the separator
 * character; `bos`, when set, is prepended when asked (or by default with `bosByDefault`).
 */
class CharTokenizer implements Tokenizer {
  readonly vocabSize = 0x10000;
  readonly calls: { text: string; options?: { addBos?: boolean } }[] = [];
  constructor(
    readonly eosId: number | null = '|'.charCodeAt(0),
    readonly bosId: number | null = null,
    private readonly bosByDefault = false,
  ) {}
  encode(text: string, options?: { addBos?: boolean }): number[] {
    this.calls.push({ text, options });
    const ids = [...text].map((c) => c.charCodeAt(0));
    const addBos = options?.addBos ?? this.bosByDefault;
    if (addBos && this.bosId === null) throw new Error('no BOS');
    return addBos ? [this.bosId!, ...ids] : ids;
  }
  decode(ids: readonly number[]): string {
    return String.fromCharCode(...ids);
  }
  idToPiece(id: number): string {
    return String.fromCharCode(id);
  }
}
const ids = (s: string) => [...s].map((c) => c.charCodeAt(0));

test('reference joining: leading separator, chunking, drop of the last chunk, natsToBpb by hand', () => {
  const tok = new CharTokenizer();
  // Joined text "|ab|é|xyz": 9 tokens (é is one token) and 10 UTF-8 bytes (é is 2 bytes).
  const out = chunkAndTokenize(['ab', 'é', 'xyz'], tok, { chunkSize: 4 });
  assert.deepEqual(tok.calls, [{ text: '|ab|é|xyz', options: undefined }]);
  assert.deepEqual(out.chunks, [ids('|ab|'), ids('é|xy')]); // the third piece "z" is dropped
  assert.equal(out.totalTokens, 9); // counted before the drop
  assert.equal(out.totalBytes, 10);
  assert.equal(out.natsToBpb, 9 / 10 / Math.LN2);
  assert.equal(natsToBpb(9, 10), 0.9 / Math.log(2));
});

test('the last chunk is dropped even when it is full; returnFinalBatch keeps it', () => {
  const tok = new CharTokenizer();
  // "|abc|def" = 8 tokens = exactly 2 chunks of 4: the reference still drops the second.
  assert.deepEqual(chunkAndTokenize(['abc', 'def'], tok, { chunkSize: 4 }).chunks, [ids('|abc')]);
  assert.deepEqual(chunkAndTokenize(['abc', 'de'], tok, { chunkSize: 4, returnFinalBatch: true }).chunks, [ids('|abc'), ids('|de')]);
});

test('separator: EOS text, else <|endoftext|>; addBos is passed through', () => {
  assert.deepEqual(defaultBoundary(new CharTokenizer()), { kind: 'text', separator: '|' });
  const noEos = new CharTokenizer(null);
  assert.deepEqual(defaultBoundary(noEos), { kind: 'text', separator: FALLBACK_SEPARATOR });
  const out = chunkAndTokenize(['a'], noEos, { chunkSize: 5 });
  assert.equal(noEos.calls[0]!.text, '<|endoftext|>a');
  assert.equal(out.totalTokens, 14);
  assert.deepEqual(out.chunks, [ids('<|end'), ids('oftex')]);

  const withBos = new CharTokenizer(124, 0x41 /* "A" */);
  const b = chunkAndTokenize(['xy', 'z'], withBos, { chunkSize: 3, boundary: { kind: 'text', separator: '#', addBos: true } });
  assert.deepEqual(withBos.calls[0], { text: '#xy#z', options: { addBos: true } });
  assert.deepEqual(b.chunks, [ids('A#x')]);
  assert.equal(b.totalTokens, 6);
  assert.equal(b.totalBytes, 5); // BOS added by the tokenizer is not part of the text
});

test('token boundary (llama2.c convention): per-document encode, separator id counted as its text', () => {
  // Separator = BOS: encode(doc, addBos: true), as llama2.c encode(doc, bos=1) did for the golden data.
  const tok = new CharTokenizer(null, 1);
  const out = chunkAndTokenize(['ab', 'é'], tok, { chunkSize: 2, boundary: { kind: 'token', id: 1, countAs: '<s>' } });
  assert.deepEqual(tok.calls.map((c) => c.options), [{ addBos: true }, { addBos: true }]);
  assert.deepEqual(out.chunks, [[1, 97], [98, 1]]); // [1, 233] dropped
  assert.equal(out.totalTokens, 5);
  assert.equal(out.totalBytes, 3 + 2 + 3 + 2); // "<s>ab<s>é"
  assert.equal(out.natsToBpb, 0.5 / Math.LN2);
  // Another separator id (e.g. EOS before each document, as the reference's leading EOS): prepended by hand.
  const tok2 = new CharTokenizer(2, 1);
  const e = chunkAndTokenize(['ab', 'c'], tok2, { chunkSize: 2, boundary: { kind: 'token', id: 2, countAs: '</s>' } });
  assert.deepEqual(tok2.calls.map((c) => c.options), [{ addBos: false }, { addBos: false }]);
  assert.deepEqual(e.chunks, [[2, 97], [98, 2]]); // [99] dropped
  assert.equal(e.totalBytes, 4 + 2 + 4 + 1);
  assert.throws(() => chunkAndTokenize(['a'], tok2, { chunkSize: 2, boundary: { kind: 'token', id: 70000, countAs: 'x' } }), /separator token id 70000 is out of range/);
});

test('2048-document batches: each batch is its own stream and loses its own last chunk', () => {
  const tok = new CharTokenizer();
  const docs = Array.from({ length: 2048 + 30 }, () => 'abcd'); // 5 tokens per document with its separator
  const out = chunkAndTokenize(docs, tok, { chunkSize: 7 });
  // Two tokenize calls: 2048 documents, then 30.
  assert.deepEqual(tok.calls.map((c) => c.text.length), [2048 * 5, 30 * 5]);
  // Batch 1: 10240 tokens = 1462 full chunks + 6 dropped; batch 2: 150 tokens = 21 full chunks + 3 dropped.
  assert.equal(out.chunks.length, 1462 + 21);
  assert.equal(out.totalTokens, 10240 + 150);
  assert.ok(out.chunks.every((c) => c.length === 7));
  // The second batch starts a fresh stream with its own leading separator.
  const batch2Stream = ids('|abcd'.repeat(30));
  assert.deepEqual(out.chunks[1462], batch2Stream.slice(0, 7));
  assert.deepEqual(out.chunks[1461], ids('|abcd'.repeat(2048)).slice(1461 * 7, 1462 * 7));
  // One big batch would have kept one chunk more.
  assert.equal(chunkAndTokenize(docs, new CharTokenizer(), { chunkSize: 7, batchDocuments: 1_000_000 }).chunks.length, 1484);
});

test('too little data: the error says what is needed and what there is', () => {
  const tok = new CharTokenizer();
  assert.throws(
    () => chunkAndTokenize(['ab'], tok, { chunkSize: 3 }),
    /^Error: Not enough data: 1 documents give 3 tokens, i\.e\. 0 chunks of 3 tokens, after dropping the last \(partial\) chunk of each 2048-document batch; 1 chunk is needed \(at least 4 tokens when the documents form one batch\)/,
  );
  assert.throws(
    () => chunkAndTokenize(['abcdefghij'], tok, { chunkSize: 3, minChunks: 5 }),
    /11 tokens, i\.e\. 3 chunks of 3 tokens.*; 5 chunks are needed \(at least 16 tokens/,
  );
  assert.equal(chunkAndTokenize(['abcdefghij'], tok, { chunkSize: 3, minChunks: 3 }).chunks.length, 3);
  assert.throws(() => chunkAndTokenize([], tok, { chunkSize: 3 }), /0 documents give 0 tokens/);
  assert.throws(() => chunkAndTokenize(['a'], tok, { chunkSize: 0 }), /chunkSize must be a positive integer, got 0/);
});

test('pre-tokenized chunks pass through unchanged, without a bpb ratio', () => {
  const chunks = [[5, 6, 7], [1, 2], [9]];
  const out = prepareChunks({ kind: 'tokens', path: 't.jsonl', format: 'tokens', chunks }, new CharTokenizer(), { chunkSize: 3 });
  assert.deepEqual(out, { chunks, natsToBpb: null, totalTokens: 6, totalBytes: 0 });
  assert.strictEqual(out.chunks, chunks);
  assert.throws(() => prepareChunks({ kind: 'tokens', path: 't.jsonl', format: 'tokens', chunks }, null, { chunkSize: 2 }), /t\.jsonl: chunk 0 has 3 tokens, more than the maximum sequence length 2/);
  assert.throws(() => pretokenizedChunks(chunks, { minChunks: 4, source: 't.jsonl' }), /Not enough data: t\.jsonl has 3 chunks; 4 are needed/);
  const small: Tokenizer = Object.assign(new CharTokenizer(), { vocabSize: 8 });
  assert.throws(() => prepareChunks({ kind: 'tokens', path: 't.jsonl', format: 'tokens', chunks }, small, { chunkSize: 3 }), /t\.jsonl: chunk 2: token id 9 is out of range for vocabulary size 8/);
  // Text datasets go through chunkAndTokenize; errors carry the file name.
  assert.throws(() => prepareChunks({ kind: 'text', path: 'a.txt', format: 'text', documents: ['a'] }, new CharTokenizer(), { chunkSize: 8 }), /^Error: a\.txt: Not enough data/);
  assert.throws(() => prepareChunks({ kind: 'text', path: 'a.txt', format: 'text', documents: ['a'] }, null, { chunkSize: 8 }), /a\.txt: text data needs a tokenizer/);
});
