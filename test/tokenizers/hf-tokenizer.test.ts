import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeFileSystem as fs } from '../../src/node/file-system.js';
import { HfTokenizer, loadHfTokenizer } from '../../src/tokenizers/hf-tokenizer.js';

const tmp = mkdtempSync(join(tmpdir(), 'tl-hftok-'));

function writeModel(name: string, tokenizer: unknown, config?: unknown): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  if (config !== undefined) writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

/** A GPT-2-style byte-level BPE with a 19-token vocabulary. */
const gpt2Like = {
  version: '1.0',
  added_tokens: [special(0, '<|endoftext|>')],
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: '',
    end_of_word_suffix: '',
    fuse_unk: false,
    byte_fallback: false,
    vocab: {
      '<|endoftext|>': 0, h: 1, e: 2, l: 3, o: 4, 'Ġ': 5, w: 6, r: 7, d: 8, he: 9, ll: 10, hell: 11, hello: 12,
      'Ġw': 13, or: 14, ld: 15, 'Ġwor': 16, 'Ġworld': 17, '!': 18,
    },
    merges: ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'o r', 'l d', 'Ġw or', 'Ġwor ld'],
  },
};

/** A Llama/SentencePiece-style BPE: metaspace normalizer, byte fallback, BOS added by the post-processor. */
const llamaLike = {
  version: '1.0',
  added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
  normalizer: {
    type: 'Sequence',
    normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }],
  },
  pre_tokenizer: null,
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
  },
  decoder: {
    type: 'Sequence',
    decoders: [
      { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
      { type: 'ByteFallback' },
      { type: 'Fuse' },
      { type: 'Strip', content: ' ', start: 1, stop: 0 },
    ],
  },
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: '<unk>',
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: true,
    byte_fallback: true,
    vocab: { '<unk>': 0, '<s>': 1, '</s>': 2, '<0xC3>': 3, '<0xA9>': 4, '▁': 5, a: 6, b: 7, c: 8, '▁a': 9, '▁ab': 10 },
    merges: ['▁ a', '▁a b'],
  },
};

test('GPT-2-style byte-level BPE: encode, decode, pieces, no BOS by default', async () => {
  const tok = await loadHfTokenizer(fs, writeModel('gpt2-like', gpt2Like));
  assert.equal(tok.vocabSize, 19);
  // No tokenizer_config.json: BOS/EOS come from the conventional <|endoftext|>, and the ByteLevel post-processor
  // adds nothing, so neither does encode.
  assert.equal(tok.bosId, 0);
  assert.equal(tok.eosId, 0);
  assert.equal(tok.addBosByDefault, false);
  assert.deepEqual(tok.encode('hello world'), [12, 17]);
  assert.deepEqual(tok.encode('hello world!', { addBos: true }), [0, 12, 17, 18]);
  assert.deepEqual(tok.encode('hell'), [11]);
  assert.equal(tok.decode([12, 17, 18]), 'hello world!');
  assert.equal(tok.decode([0, 12, 0]), 'hello');
  assert.equal(tok.decode([]), '');
  assert.equal(tok.idToPiece(17), 'Ġworld');
  assert.equal(tok.idToPiece(0), '<|endoftext|>');
  assert.throws(() => tok.idToPiece(19), /token id 19 is not in the vocabulary/);
  assert.throws(() => tok.decode([19]), /token id 19 is out of range \(vocab size 19\)/);
  // Like HF's Rust BPE without an unk token, characters outside the vocabulary are dropped.
  assert.deepEqual(tok.encode('hello z'), [12, 5]);
});

test('Llama-style: tokenizer_config bos/eos and add_bos_token, byte fallback, metaspace decoding', async () => {
  const config = {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: { __type: 'AddedToken', content: '<s>', lstrip: false, normalized: false, rstrip: false, single_word: false },
    eos_token: '</s>',
    unk_token: '<unk>',
    clean_up_tokenization_spaces: false,
  };
  const tok = await loadHfTokenizer(fs, writeModel('llama-like', llamaLike, config));
  assert.equal(tok.vocabSize, 11);
  assert.equal(tok.bosId, 1);
  assert.equal(tok.eosId, 2);
  assert.equal(tok.addBosByDefault, true);
  assert.deepEqual(tok.encode('ab c'), [1, 10, 5, 8]);
  assert.deepEqual(tok.encode('ab c', { addBos: false }), [10, 5, 8]);
  assert.deepEqual(tok.encode('é'), [1, 5, 3, 4]); // ▁ then the two UTF-8 bytes of é
  assert.equal(tok.decode([1, 10, 5, 8]), 'ab c');
  assert.equal(tok.decode([1, 5, 3, 4]), 'é');
  assert.equal(tok.decode([1, 2]), '');
  assert.equal(tok.idToPiece(10), '▁ab');
  assert.equal(tok.idToPiece(3), '<0xC3>');

  // add_bos_token: false in the config wins over the post-processor.
  const noBos = new HfTokenizer(llamaLike, { ...config, add_bos_token: false });
  assert.deepEqual(noBos.encode('ab'), [10]);
  // Without a config, the post-processor's behaviour is detected.
  const detected = new HfTokenizer(llamaLike, {});
  assert.equal(detected.bosId, 1);
  assert.equal(detected.eosId, 2);
  assert.equal(detected.addBosByDefault, true);
  assert.deepEqual(detected.encode('ab'), [1, 10]);
});

test('loader errors name the file', async () => {
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  await assert.rejects(loadHfTokenizer(fs, empty), {
    message: `${join(empty, 'tokenizer.json')}: not found (only fast-tokenizer tokenizer.json files are supported, not vocab.json/merges.txt or tokenizer.model)`,
  });
  const badJson = join(tmp, 'bad-json');
  mkdirSync(badJson);
  writeFileSync(join(badJson, 'tokenizer.json'), '{"model": ');
  await assert.rejects(loadHfTokenizer(fs, badJson), (e: Error) => e.message.startsWith(`${join(badJson, 'tokenizer.json')}: not valid JSON`));
  const noModel = writeModel('no-model', { version: '1.0' });
  await assert.rejects(loadHfTokenizer(fs, noModel), /no-model\/tokenizer\.json: tokenizer\.json has no "model" object/);
  const unknownModel = writeModel('unknown-model', { ...gpt2Like, model: { type: 'Nonsense' } });
  await assert.rejects(loadHfTokenizer(fs, unknownModel), /unknown-model\/tokenizer\.json: cannot build the tokenizer: Unknown TokenizerModel type: Nonsense/);
  const badConfig = writeModel('bad-config', gpt2Like, [1]);
  await assert.rejects(loadHfTokenizer(fs, badConfig), /bad-config\/tokenizer_config\.json: expected a JSON object/);
});
