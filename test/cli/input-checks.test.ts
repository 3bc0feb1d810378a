/**
 * Plain mistakes and questionable input get a clear message instead of a crash, a raw error or silence
 * (issue 7, items 5, 8, 11). Runs the CLI in-process on stories260K (512 tokens, context 512).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeSafetensors } from '../../src/formats/safetensors.js';
import { parseJsonlDocuments } from '../../src/data/documents.js';
import { runCli, runCliInProcess as cli } from '../helpers/cli.js';
import { goldenPath } from '../helpers/golden.js';
import { sharedDir } from '../helpers/shared-data.js';

const tmp = mkdtempSync(join(tmpdir(), 'tl-input-checks-'));
const STORIES = join(sharedDir(), 'models', 'stories260K');

async function fails(args: string[], message: RegExp): Promise<void> {
  const r = await cli(args);
  assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
  assert.match(r.stderr, message, `${args.join(' ')}`);
  assert.doesNotMatch(r.stderr, /TypeError|Cannot read properties|\.tmp-/);
}

test('--top-k larger than the vocabulary is refused with the vocabulary size', async () => {
  await fails(['lens', 'Once upon a time', '--top-k', '513'], /--top-k 513 is more than the 512 tokens in the vocabulary of stories260K/);
  await fails(['plot', 'Once upon a time', '--top-k', '600', '--out', join(tmp, 'k.svg')], /--top-k 600 is more than the 512 tokens/);
});

test('a prompt longer than the context is refused the same way by lens, forward and plot', async () => {
  const long = 'Once upon a time, there was a little girl named Lily. '.repeat(400); // thousands of tokens
  const message = /the input is \d{4} tokens long, but stories260K takes at most 512 tokens \(its context length\); shorten it by \d+ tokens/;
  await fails(['lens', long], message);
  await fails(['forward', long, '--json'], message);
  await fails(['plot', long, '--out', join(tmp, 'long.svg')], message);
  await fails(['forward', '--ids', Array(513).fill(5).join(',')], /the input is 513 tokens long/);
});

test('token ids outside the vocabulary name --ids, not "targets"', async () => {
  for (const cmd of [['lens'], ['forward'], ['plot', '--out', join(tmp, 'ids.svg')]]) {
    const r = await cli([...cmd, '--ids', '1,5000,3']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--ids: token id 5000 is outside the vocabulary of stories260K \(0\.\.511\)/);
    assert.doesNotMatch(r.stderr, /targets/);
  }
});

test('text together with --ids, and --compare without --lens, are refused before the model is loaded', async () => {
  await fails(['lens', 'hello', '--ids', '1,2'], /give either text or --ids, not both/);
  await fails(['lens', 'hello', '--compare'], /--compare puts a tuned lens beside the logit lens: it needs --lens/);
});

test('impossible --out / --output paths fail up front, naming the path the user gave', async () => {
  const file = join(tmp, 'plain-file');
  writeFileSync(file, 'x');
  const dir = join(tmp, 'a-folder.svg');
  mkdirSync(dir);
  await fails(['plot', 'Once', '--out', join(file, 'fig.svg')], /--out .*plain-file\/fig\.svg: cannot be written, because .*plain-file is a file, not a folder/);
  await fails(['plot', 'Once', '--out', join(file, 'deeper', 'fig.svg')], /--out .*fig\.svg: cannot be created, because .*plain-file is a file, not a folder/);
  await fails(['plot', 'Once', '--out', dir], /--out .*a-folder\.svg: is a folder; give a file name/);
  // eval finds out before evaluating anything (it would otherwise run to the end first).
  const data = join(sharedDir(), 'corpora', 'tinystories_sample.txt');
  await fails(['eval', '--data', data, '--output', join(file, 'eval-out')], /--output .*plain-file\/eval-out: cannot be created, because .*plain-file is a file, not a folder/);
  await fails(['eval', '--data', data, '--output', file], /--output .*plain-file: exists and is not a folder/);
});

test('20 KB of random bytes as --data is refused as not text', async () => {
  const bytes = new Uint8Array(20_000);
  let x = 12345;
  for (let i = 0; i < bytes.length; i++) bytes[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  const path = join(tmp, 'random.txt');
  writeFileSync(path, bytes);
  await fails(['eval', '--data', path, '--output', join(tmp, 'eval-random')], /random\.txt: does not look like text: \d+\.\d% of its characters are invalid UTF-8 or control characters/);
});

/** A copy of the golden reference lens (trained on stories260K), with `config.json` edited and parameters replaced. */
function lensCopy(name: string, configEdit: (c: Record<string, unknown>) => void, nanParams = false): string {
  const src = goldenPath('reference-lens', 'lens');
  const dir = join(tmp, name);
  mkdirSync(dir);
  const config = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  configEdit(config);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  if (nanParams) {
    const sd: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (let i = 0; i < 5; i++) {
      sd[`${i}.weight`] = { shape: [64, 64], data: new Float32Array(64 * 64).fill(NaN) };
      sd[`${i}.bias`] = { shape: [64], data: new Float32Array(64).fill(NaN) };
    }
    writeFileSync(join(dir, 'params.safetensors'), serializeSafetensors(sd));
  } else {
    copyFileSync(join(src, 'params.pt'), join(dir, 'params.pt'));
  }
  return dir;
}

test('a same-shape lens trained on another model warns; the lens for this model does not', async () => {
  const other = lensCopy('lens-gpt2', (c) => (c.base_model_name_or_path = 'gpt2'));
  const r = await cli(['plot', 'Once upon a time', '--lens', other, '--out', join(tmp, 'other.svg')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: .*lens-gpt2\/config\.json: this lens was trained on "gpt2" but is used with "stories260K"/);
  const own = await cli(['plot', 'Once upon a time', '--lens', goldenPath('reference-lens', 'lens'), '--model', join(STORIES, 'stories260K.bin'), '--out', join(tmp, 'own.svg')]);
  assert.equal(own.code, 0, own.stderr);
  assert.doesNotMatch(own.stderr, /warning/);
});

test('an all-NaN lens is refused with the reason', async () => {
  const nan = lensCopy('lens-nan', () => {}, true);
  await fails(['lens', 'Once upon a time', '--lens', nan], /lens-nan\/params\.safetensors: 20800 of 20800 lens parameters are NaN or infinite/);
});

test('messages name real flags: tokenizer given as --model, --text-field, serve --help defaults', async () => {
  const tok = await cli(['lens', 'hi', '--model', join(STORIES, 'tok512.bin')]);
  assert.notEqual(tok.code, 0);
  assert.match(tok.stderr, /tok512\.bin is a llama2\.c tokenizer file, not a model checkpoint/);
  assert.doesNotMatch(tok.stderr, /pass the tokenizer file explicitly/);
  assert.throws(() => parseJsonlDocuments('{"body": "x"}\n', 'd.jsonl'), /d\.jsonl:1: no "text" field \(keys: body\); .*--text-field NAME/);
  const help = await runCli(['serve', '--help']);
  assert.doesNotMatch(help.stdout, /\(default: \[\]\)/);
  assert.match(help.stdout.replace(/\s+/g, ' '), /repeat to offer several \(default: stories260K\)/);
});
