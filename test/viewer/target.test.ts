/**
 * The viewer's target tracking without a browser: token lookup rules, the group sum, the colour
 * values (hand-computed), and the URL round trip of the target fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookupToken, TokenLookupError } from '../../src/viewer/token-lookup.js';
import { stateFromQuery, stateToQuery, targetTokens } from '../../src/viewer/url-state.js';
import { sumProbs, targetValues } from '../../src/viewer/view-model.js';

// llama2.c stores raw spaces (" She"); GPT-2 vocabularies their byte-level marker ("Ġthe").
const VOCAB = ['<s>', ' She', 'She', ' the', 'Ġthe'];
const piece = (i: number): string => VOCAB[i]!;

test('lookupToken: #id, exact piece, normalized piece, display form; clear errors', () => {
  assert.equal(lookupToken(piece, VOCAB.length, '#3'), 3);
  assert.equal(lookupToken(piece, VOCAB.length, 'She'), 2);
  assert.equal(lookupToken(piece, VOCAB.length, ' She'), 1);
  assert.equal(lookupToken(piece, VOCAB.length, 'ĠShe'), 1);
  assert.equal(lookupToken(piece, VOCAB.length, '_She'), 1);
  assert.equal(lookupToken(piece, VOCAB.length, ' the'), 3); // an exact piece wins over a normalized one
  assert.throws(() => lookupToken(piece, VOCAB.length, '#9'), /outside the vocabulary \(0\.\.4\)/);
  assert.throws(() => lookupToken(piece, VOCAB.length, '_the'), /matches several tokens \(#3, #4\)/);
  assert.throws(() => lookupToken(piece, VOCAB.length, 'Lily'), (e) => e instanceof TokenLookupError && /not a single token/.test(e.message));
});

test('sumProbs adds a group cell by cell; null stays null', () => {
  assert.deepEqual(sumProbs([[0.1, 0.5, null], [0.2, 0.25, 0.3]]), [0.1 + 0.2, 0.75, null]);
  assert.deepEqual(sumProbs([[0.7], [0.6]]), [1]); // rounding never pushes a probability above 1
});

test('targetValues: p, ln p, ln p − ln p_anti; zero or missing probabilities leave the cell blank', () => {
  assert.deepEqual(targetValues([0.5, null], null, 'prob'), [0.5, null]);
  assert.deepEqual(targetValues([0.5, 0, null], null, 'log-prob'), [Math.log(0.5), null, null]);
  const d = targetValues([0.5, 0.2, 0.3], [0.25, 0, null], 'log-prob-diff');
  assert.ok(Math.abs(d[0]! - Math.log(2)) < 1e-12);
  assert.deepEqual(d.slice(1), [null, null]);
});

test('target fields survive the URL; groups split on |', () => {
  const s = stateFromQuery('?prompt=hi&target=_She+%7C+%2342&anti=_He&tm=log-prob-diff');
  assert.equal(s.target, '_She | #42');
  assert.deepEqual(targetTokens(s.target), ['_She', '#42']);
  assert.equal(s.targetMeasure, 'log-prob-diff');
  assert.deepEqual(stateFromQuery(stateToQuery(s)), s);
  assert.equal(stateFromQuery('?tm=bogus').targetMeasure, 'prob');
});
