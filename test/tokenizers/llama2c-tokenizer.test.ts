import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeFileSystem as fs } from '../../src/node/file-system.js';
import { sharedDir } from '../helpers/shared-data.js';
import { loadLlama2cTokenizer, type Llama2cTokenizer } from '../../src/tokenizers/llama2c-tokenizer.js';

const tokPath = join(sharedDir(), 'models', 'stories260K', 'tok512.bin');
const golden = join(sharedDir(), 'golden', 'stories260K');
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

const tokP = loadLlama2cTokenizer(fs, tokPath);

test('vocabulary basics', async () => {
  const tok = await tokP;
  assert.equal(tok.vocabSize, 512);
  assert.equal(tok.bosId, 1);
  assert.equal(tok.eosId, 2);
  assert.equal(tok.idToPiece(1), '\n<s>\n');
  assert.equal(tok.idToPiece(13), '<0x0A>');
  assert.equal(tok.idToPiece(410), ' ');
  assert.throws(() => tok.idToPiece(512), /token id 512 is out of range \(vocab size 512\)/);
});

test('every tokenizer_cases.json case: ids, pieces, decoded', async () => {
  const tok = await tokP;
  const { cases } = readJson(join(golden, 'tokenizer_cases.json')) as {
    cases: { text: string; input_ids: number[]; pieces: string[]; decoded: string }[];
  };
  assert.equal(cases.length, 14);
  for (const c of cases) {
    const ids = tok.encode(c.text);
    assert.deepEqual(ids, c.input_ids, JSON.stringify(c.text));
    assert.deepEqual(ids.map((id) => tok.idToPiece(id)), c.pieces, JSON.stringify(c.text));
    assert.equal(tok.decode(c.input_ids), c.decoded, JSON.stringify(c.text));
    // Without BOS nothing strips the dummy-prefix space.
    assert.equal(tok.decode(c.input_ids.slice(1)), c.text === '' ? '' : ' ' + c.decoded);
    assert.deepEqual(tok.encode(c.text, { addBos: false }), c.input_ids.slice(1));
  }
});

test("the 3 golden prompts' input_ids and pieces", async () => {
  const tok = await tokP;
  for (const k of [0, 1, 2]) {
    const p = readJson(join(golden, `prompt_${k}.json`)) as { prompt: string; input_ids: number[]; pieces: string[] };
    assert.deepEqual(tok.encode(p.prompt), p.input_ids, p.prompt);
    assert.deepEqual(p.input_ids.map((id) => tok.idToPiece(id)), p.pieces);
    assert.equal(tok.decode(p.input_ids), p.prompt);
  }
});

test('greedy.json text decodes from its output_ids', async () => {
  const tok = await tokP;
  const g = readJson(join(golden, 'greedy.json')) as { output_ids: number[]; text: string; pieces: string[] };
  assert.equal(tok.decode(g.output_ids), g.text);
  assert.deepEqual(g.output_ids.map((id) => tok.idToPiece(id)), g.pieces);
});

test('decode joins byte tokens before UTF-8 decoding; BOS/EOS print nothing', async () => {
  const tok = await tokP;
  assert.equal(tok.decode([1, 410, 233, 154, 168]), '日'); // " " after BOS stripped, then 3 byte tokens
  assert.equal(tok.decode([233, 154]), '\ufffd'); // an incomplete character is replaced, not thrown
  assert.equal(tok.decode([1, 403, 2]), 'Once');
  assert.equal(tok.decode([]), '');
  assert.throws(() => tok.decode([600]), /token id 600 is out of range/);
});

// ---------------------------------------------------------------------------------------------------------------
// run.c's own algorithm, transcribed literally (quadratic rescans), as an oracle for the heap-based merge.

function runcEncode(tok: Llama2cTokenizer, text: string): number[] {
  const pieceToId = new Map<string, number>();
  for (let i = tok.vocabSize - 1; i >= 0; i--) pieceToId.set(tok.idToPiece(i), i);
  const ids = [1];
  const cps = [...text];
  if (cps.length > 0) ids.push(pieceToId.get(' ')!);
  for (const cp of cps) {
    const id = pieceToId.get(cp);
    if (id !== undefined) ids.push(id);
    else for (const b of new TextEncoder().encode(cp)) ids.push(b + 3);
  }
  for (;;) {
    let best = -1e10, bestId = -1, bestIdx = -1;
    for (let i = 0; i + 1 < ids.length; i++) {
      const id = pieceToId.get(tok.idToPiece(ids[i]!) + tok.idToPiece(ids[i + 1]!));
      if (id !== undefined && tok.score(id) > best) {
        best = tok.score(id);
        bestId = id;
        bestIdx = i;
      }
    }
    if (bestIdx === -1) return ids;
    ids.splice(bestIdx, 2, bestId);
  }
}

test('heap merge agrees with a literal run.c transcription on varied text', async () => {
  const tok = await tokP;
  const shakespeare = readFileSync(join(sharedDir(), 'corpora', 'tinyshakespeare.txt'), 'utf8');
  const samples: string[] = [];
  for (let i = 0; i < 60; i++) samples.push(shakespeare.slice(i * 9973, i * 9973 + 40 + (i % 7) * 37));
  // Random strings over a small alphabet with repeats (stresses equal-score ties) and non-ASCII.
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const alphabet = ['a', 'e', 'h', 't', ' ', 'the', 'ing', '\n', 'é', 'ü', '日', '🎨', 'll', 'oo', '.'];
  for (let i = 0; i < 200; i++) {
    samples.push(Array.from({ length: 1 + Math.floor(rand() * 30) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(''));
  }
  for (const s of samples) assert.deepEqual(tok.encode(s), runcEncode(tok, s), JSON.stringify(s));
});

test('reproduces the reference-lens token stream (100k tokens of TinyStories)', async () => {
  const tok = await tokP;
  // Document rule from golden/reference-lens/README.md.
  const text = readFileSync(join(sharedDir(), 'corpora', 'tinystories_sample.txt'), 'utf8');
  const docs: string[] = [];
  for (const para of text.split('\n\n')) {
    if (docs.length === 0 || /^(Once upon a|Once,? there (was|were))/.test(para)) docs.push(para);
    else docs[docs.length - 1] += '\n\n' + para;
  }
  const stripped = docs.map((d) => d.trim());
  assert.equal(stripped.length, 179);
  const encoded = stripped.map((d) => tok.encode(d));
  assert.equal(encoded.reduce((a, e) => a + e.length, 0), 100173);
  const chunks = (ids: number[]) => Array.from({ length: Math.floor(ids.length / 256) }, (_, i) => ids.slice(i * 256, (i + 1) * 256));
  const train = chunks(encoded.slice(0, 145).flat());
  const evalChunks = chunks(encoded.slice(145).flat());
  const data = readJson(join(sharedDir(), 'golden', 'reference-lens', 'data_chunks.json')) as {
    eval_chunks: number[][];
    train_chunks_in_order: number[][];
    train_shuffle_permutation: number[];
  };
  assert.deepEqual(evalChunks.slice(0, 90), data.eval_chunks);
  data.train_shuffle_permutation.forEach((j, k) => assert.deepEqual(train[j], data.train_chunks_in_order[k], `train chunk ${j}`));
});

test('malformed tokenizer files', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tl-tok-'));
  const bytes = new Uint8Array(readFileSync(tokPath));
  const truncated = join(tmp, 'truncated.bin');
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 3));
  await assert.rejects(loadLlama2cTokenizer(fs, truncated), /truncated\.bin: token 511 has an invalid length \d+ at byte \d+ \(file \d+ bytes; truncated\?\)/);
  await assert.rejects(loadLlama2cTokenizer(fs, tokPath, 600), /tok512\.bin: truncated at token 512/);
  const small = await loadLlama2cTokenizer(fs, tokPath, 500);
  assert.equal(small.vocabSize, 500);
  const garbage = join(tmp, 'garbage.bin');
  writeFileSync(garbage, new Uint8Array(16).fill(0xff));
  await assert.rejects(loadLlama2cTokenizer(fs, garbage), /garbage\.bin: not a llama2\.c tokenizer: max_token_length -1 is out of range/);
});
