import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FileSystem, RandomAccessFile } from '../../src/io/file-system.js';
import {
  detectFormat,
  parseJsonlDocuments,
  parsePretokenizedJsonl,
  pythonStrip,
  readDataset,
  splitStories,
  splitTextDocuments,
} from '../../src/data/documents.js';

/** Just enough of FileSystem for readDataset: files held in memory. */
function memoryFs(files: Record<string, string>): FileSystem {
  const get = (p: string) => {
    if (!(p in files)) throw new Error(`${p}: no such file`);
    return files[p]!;
  };
  return {
    open: async (): Promise<RandomAccessFile> => {
      throw new Error('not needed');
    },
    readBytes: async (p) => new TextEncoder().encode(get(p)),
    readText: async (p) => get(p),
    exists: async (p) => p in files,
    isDirectory: async () => false,
    list: async () => Object.keys(files),
    writeAtomic: async (p, d) => {
      files[p] = typeof d === 'string' ? d : new TextDecoder().decode(d);
    },
    mkdirp: async () => {},
    join: (...parts) => parts.join('/'),
  };
}

test('stories split: the golden rule (new document at story openings, strip, first paragraph always starts one)', () => {
  const text = 'Intro line.\n\nMore intro.\n\nOnce upon a time A.\n\nA continues.\n\nOnce, there was B.\n\n  Once there were C.  \n\nOnce there was D.\n';
  assert.deepEqual(splitStories(text), [
    'Intro line.\n\nMore intro.',
    'Once upon a time A.\n\nA continues.',
    // A paragraph with leading spaces does not match `^Once` (Python re.match on the raw paragraph), so it is appended.
    'Once, there was B.\n\n  Once there were C.',
    'Once there was D.',
  ]);
  // Text without any story opening is one document.
  assert.deepEqual(splitTextDocuments('To be.\n\nOr not.\n'), ['To be.\n\nOr not.']);
  // A custom opening pattern (a global flag must not leak lastIndex state between paragraphs).
  assert.deepEqual(splitTextDocuments('# A\n\nx\n\n# B\n\ny', 'stories', /^# /g), ['# A\n\nx', '# B\n\ny']);
});

test('whole / paragraphs / lines splits', () => {
  const text = '  a1\na2\n\nb\n \t\n\n\nc\r\n\r\nd\n';
  assert.deepEqual(splitTextDocuments(text, 'whole'), [text]);
  assert.deepEqual(splitTextDocuments(text, 'paragraphs'), ['a1\na2', 'b', 'c', 'd']);
  assert.deepEqual(splitTextDocuments(text, 'lines'), ['a1', 'a2', 'b', 'c', 'd']);
  assert.throws(() => splitTextDocuments(text, 'words' as never), /unknown text split "words"/);
});

test('pythonStrip follows str.strip(), not String.trim()', () => {
  assert.equal(pythonStrip('\x1c\x85 x y\u3000\n'), 'x y');
  assert.equal(pythonStrip('\ufeffx'), '\ufeffx'); // U+FEFF is not whitespace to Python
});

test('format detection by extension and first line', () => {
  assert.equal(detectFormat('a.txt', '{"text": "x"}'), 'text');
  assert.equal(detectFormat('a.jsonl', '\n{"text": "x"}\n'), 'jsonl');
  assert.equal(detectFormat('a.jsonl', '{"input_ids": [1, 2]}'), 'tokens');
  assert.equal(detectFormat('a.jsonl', 'not json'), 'jsonl'); // the parser then reports line 1
  assert.equal(detectFormat('data', '{"text": "x"}'), 'jsonl');
  assert.equal(detectFormat('data', '{"ids": [3]}', 'ids'), 'tokens');
  assert.equal(detectFormat('data', 'Once upon a time'), 'text');
  assert.equal(detectFormat('data.bin', ''), 'text');
});

test('JSON Lines documents: blank lines, CRLF, custom field, empty strings kept', () => {
  const text = '{"text": "first"}\r\n\n{"text": "", "id": 2}\n{"text": "third \\u00e9"}\n';
  assert.deepEqual(parseJsonlDocuments(text, 'd.jsonl'), ['first', '', 'third é']);
  assert.deepEqual(parseJsonlDocuments('{"body": "x"}\n{"body": "y"}', 'd.jsonl', 'body'), ['x', 'y']);
});

test('JSON Lines errors name the file and line', () => {
  assert.throws(() => parseJsonlDocuments('{"text": "a"}\n\n{"text": "b"\n', 'd.jsonl'), /^Error: d\.jsonl:3: invalid JSON \(.+\): \{"text": "b"$/);
  assert.throws(() => parseJsonlDocuments('{"text": "a"}\n{"body": "b", "id": 1}\n', 'd.jsonl'), /^Error: d\.jsonl:2: no "text" field \(keys: body, id\)/);
  assert.throws(() => parseJsonlDocuments('{"text": 5}', 'd.jsonl'), /d\.jsonl:1: field "text" is a number, expected a string/);
  assert.throws(() => parseJsonlDocuments('["text"]', 'd.jsonl'), /d\.jsonl:1: expected a JSON object with a "text" field, got an array/);
  assert.throws(() => parseJsonlDocuments('\n\n', 'd.jsonl'), /d\.jsonl: no documents/);
});

test('pre-tokenized JSON Lines: chunks in file order, validated', () => {
  const text = '{"input_ids": [1, 5, 7]}\n{"input_ids": [1, 2], "meta": "x"}\n\n{"input_ids": [0]}\n';
  assert.deepEqual(parsePretokenizedJsonl(text, 't.jsonl', { vocabSize: 8 }), [[1, 5, 7], [1, 2], [0]]);
  assert.deepEqual(parsePretokenizedJsonl('{"ids": [3]}', 't.jsonl', { field: 'ids' }), [[3]]);

  const bad = (line2: string) => () => parsePretokenizedJsonl(`{"input_ids": [1]}\n${line2}\n`, 't.jsonl', { vocabSize: 8 });
  assert.throws(bad('{"input_ids": [1, 2.5]}'), /t\.jsonl:2: input_ids\[1\] = 2\.5 is not a non-negative integer token id/);
  assert.throws(bad('{"input_ids": [-1]}'), /t\.jsonl:2: input_ids\[0\] = -1 is not a non-negative/);
  assert.throws(bad('{"input_ids": ["3"]}'), /t\.jsonl:2: input_ids\[0\] = "3" is not/);
  assert.throws(bad('{"input_ids": [1, 8]}'), /t\.jsonl:2: input_ids\[1\] = 8 is out of range for vocabulary size 8/);
  assert.throws(bad('{"input_ids": []}'), /t\.jsonl:2: "input_ids" is empty/);
  assert.throws(bad('{"text": "hi"}'), /t\.jsonl:2: no "input_ids" field \(keys: text\)/);
  assert.throws(bad('{"input_ids": "1 2"}'), /t\.jsonl:2: field "input_ids" is a string, expected an array/);
  assert.throws(bad('{"input_ids": [1,'), /t\.jsonl:2: invalid JSON/);
});

test('readDataset: auto-detection and overrides', async () => {
  const fs = memoryFs({
    'a.txt': 'p1\n\np2',
    'b.jsonl': '{"text": "x"}\n{"text": "y"}\n',
    'c.jsonl': '{"input_ids": [1, 2]}\n{"input_ids": [3, 4]}\n',
    'd.data': '{"content": "z"}\n',
  });
  assert.deepEqual(await readDataset(fs, 'a.txt'), { kind: 'text', path: 'a.txt', format: 'text', documents: ['p1\n\np2'] });
  assert.deepEqual(await readDataset(fs, 'a.txt', { textSplit: 'paragraphs' }), { kind: 'text', path: 'a.txt', format: 'text', documents: ['p1', 'p2'] });
  assert.deepEqual(await readDataset(fs, 'b.jsonl'), { kind: 'text', path: 'b.jsonl', format: 'jsonl', documents: ['x', 'y'] });
  assert.deepEqual(await readDataset(fs, 'c.jsonl'), { kind: 'tokens', path: 'c.jsonl', format: 'tokens', chunks: [[1, 2], [3, 4]] });
  assert.deepEqual(await readDataset(fs, 'd.data', { textField: 'content' }), { kind: 'text', path: 'd.data', format: 'jsonl', documents: ['z'] });
  // Forcing plain text on a JSONL file reads it as text.
  assert.deepEqual(await readDataset(fs, 'b.jsonl', { format: 'text', textSplit: 'lines' }), {
    kind: 'text', path: 'b.jsonl', format: 'text', documents: ['{"text": "x"}', '{"text": "y"}'],
  });
  await assert.rejects(readDataset(fs, 'c.jsonl', { vocabSize: 4 }), /c\.jsonl:2: input_ids\[1\] = 4 is out of range for vocabulary size 4/);
  await assert.rejects(readDataset(fs, 'd.data'), /d\.data:1: no "text" field \(keys: content\)/);
});
