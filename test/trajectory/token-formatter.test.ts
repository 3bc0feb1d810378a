import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenFormatter, defaultTokenFormatter } from '../../src/trajectory/token-formatter.js';

const noTrunc = new TokenFormatter({ maxStringLen: null });

test('defaults match the reference TokenFormatter', () => {
  const f = new TokenFormatter();
  assert.equal(f.ellipsis, '…');
  assert.equal(f.newlineToken, 'Ċ');
  assert.equal(f.newlineReplacement, '\\n');
  assert.equal(f.whitespaceToken, 'Ġ');
  assert.equal(f.whitespaceReplacement, '_');
  assert.equal(f.maxStringLen, 7);
});

test('non-strings become <unk> (reference)', () => {
  assert.equal(defaultTokenFormatter.format(null), '<unk>');
  assert.equal(defaultTokenFormatter.format(undefined), '<unk>');
  assert.equal(defaultTokenFormatter.format(123), '<unk>');
});

test('GPT-2 byte-level markers: Ġ is a space shown as "_", Ċ a newline shown as \\n', () => {
  assert.equal(defaultTokenFormatter.format('Ġthe'), '_the');
  assert.equal(defaultTokenFormatter.format('Ċ'), '\\n');
  assert.equal(defaultTokenFormatter.format('ĊĊ'), '\\n\\n');
  assert.equal(noTrunc.format('HelloĊWorld'), 'Hello\\nWorld');
  assert.equal(noTrunc.format('HelloĠWorld'), 'Hello_World');
  assert.equal(noTrunc.format('Line1ĊLine2ĠLine3'), 'Line1\\nLine2_Line3');
});

test('the space replacement is configurable (e.g. a real space or an open box)', () => {
  assert.equal(new TokenFormatter({ whitespaceReplacement: ' ' }).format('Ġthe'), ' the');
  assert.equal(new TokenFormatter({ whitespaceReplacement: '␣' }).format('▁the'), '␣the');
});

test('SentencePiece ▁ is shown like a GPT-2 space', () => {
  assert.equal(defaultTokenFormatter.format('▁the'), '_the');
  assert.equal(defaultTokenFormatter.format('▁'), '_');
});

test('SentencePiece byte pieces are decoded', () => {
  assert.equal(defaultTokenFormatter.format('<0x0A>'), '\\n');
  assert.equal(defaultTokenFormatter.format('<0x20>'), '_');
  assert.equal(defaultTokenFormatter.format('<0x09>'), '\\t');
  assert.equal(defaultTokenFormatter.format('<0x41>'), 'A');
  // A lone byte of a multi-byte UTF-8 character cannot be shown by itself.
  assert.equal(defaultTokenFormatter.format('<0xE2>'), '\\xe2');
  assert.equal(defaultTokenFormatter.format('<0x00>'), '\\x00');
  // Opt-out keeps the reference behaviour (printed verbatim; 6 characters, so not truncated).
  assert.equal(new TokenFormatter({ decodeBytePieces: false }).format('<0x0A>'), '<0x0A>');
});

test('long tokens are truncated to 7 characters with an ellipsis (reference)', () => {
  assert.equal(defaultTokenFormatter.format('ThisIsALongToken'), 'ThisIs…');
  assert.equal(defaultTokenFormatter.format('1234567'), '1234567'); // exactly 7: untouched
  assert.equal(defaultTokenFormatter.format('12345678'), '123456…');
  assert.equal(noTrunc.format('ThisIsALongToken'), 'ThisIsALongToken');
});

test('truncation happens before marker replacement, as in the reference', () => {
  // "Ġfollowing" (10) → "Ġfollo…" → "_follo…"
  assert.equal(defaultTokenFormatter.format('Ġfollowing'), '_follo…');
  // 8 newlines → 6 kept + "…", each then widened to "\n"
  assert.equal(defaultTokenFormatter.format('ĊĊĊĊĊĊĊĊ'), '\\n'.repeat(6) + '…');
});

test('lengths count code points like Python, not UTF-16 units', () => {
  // Each emoji is 2 UTF-16 units but one character.
  assert.equal(defaultTokenFormatter.format('😀😀😀😀😀😀😀'), '😀😀😀😀😀😀😀');
  assert.equal(defaultTokenFormatter.format('😀😀😀😀😀😀😀😀'), '😀😀😀😀😀😀…');
});

test('custom max length and ellipsis', () => {
  const f = new TokenFormatter({ maxStringLen: 5, ellipsis: '..' });
  assert.equal(f.format('abcdefgh'), 'abc..');
  assert.throws(() => new TokenFormatter({ maxStringLen: 1 }), /maxStringLen/);
});

test('formatAll and padTokenReprToMaxLen', () => {
  assert.deepEqual(defaultTokenFormatter.formatAll(['Ġa', 'Ċ', 5]), ['_a', '\\n', '<unk>']);
  assert.equal(defaultTokenFormatter.padTokenReprToMaxLen('_a'), '_a     ');
  assert.equal(defaultTokenFormatter.padTokenReprToMaxLen('123456789'), '1234567');
  assert.equal(noTrunc.padTokenReprToMaxLen('_a'), '_a');
});
