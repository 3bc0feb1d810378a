/**
 * Prediction depth: the rule on hand-made trajectories; token depths of stories260K's logit lens against
 * the golden top-1 tokens (HF transformers, shared/golden); the `depth` command's JSON and figures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { predictionDepth, tokenPredictionDepths } from '../../src/applications/depth.js';
import { LogitLens } from '../../src/lens/lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { depthColor, renderTokenDepthHtml, renderTokenDepthSvg } from '../../src/viz/token-depth-figure.js';
import { main } from '../../src/cli/main.js';
import { readGolden } from '../helpers/golden.js';

test('predictionDepth: the first layer from which every later layer agrees with the final answer', () => {
  assert.equal(predictionDepth([7, 7, 7], 7), 0);
  assert.equal(predictionDepth([3, 7, 7], 7), 1);
  assert.equal(predictionDepth([7, 3, 7], 7), 2); // agreeing early does not count once a later layer differs
  assert.equal(predictionDepth([7, 7, 3], 7), 3); // only the output has it: depth = L
  assert.equal(predictionDepth([1, 2, 3, 4], 9), 4);
  assert.equal(predictionDepth([], 5), 0);
});

test('token depths of the logit lens on stories260K match depths computed from the golden top-1 tokens', async () => {
  const g = readGolden<{ input_ids: number[]; top1: number[]; logit_lens_top1: number[][] }>('stories260K', 'prompt_0.json');
  const model = await loadModel('stories260K');
  const r = await tokenPredictionDepths(new LogitLens(model), g.input_ids);
  assert.deepEqual(r.finalTop1, g.top1);
  assert.deepEqual(r.lensTop1, g.logit_lens_top1);
  const expected = g.top1.map((f, t) => predictionDepth(g.logit_lens_top1.map((row) => row[t]!), f));
  assert.deepEqual(r.depth, expected);
  assert.equal(r.depth.length, g.input_ids.length);
  assert.ok(r.depth.every((d) => d >= 0 && d <= model.nLayers));
});

test('depth figures: warm colours for deep tokens, one span per token, escaped text', () => {
  assert.equal(depthColor(0, 5).fill, '#2166ac');
  assert.equal(depthColor(5, 5).fill, '#b2182b');
  const fig = { title: 'T <x>', tokens: ['<s>', ' a', ' b&c', '\n', 'd'], depth: [0, 1, 5, null, 3], maxDepth: 5 };
  const html = renderTokenDepthHtml(fig);
  assert.equal((html.match(/<span style="background:/g) ?? []).length, 5 + 6); // tokens + legend boxes
  assert.ok(html.includes('&#60;s&#62;') && html.includes('b&#38;c') && !html.includes('<x>'));
  const svg = renderTokenDepthSvg(fig);
  assert.ok(svg.startsWith('<svg') && svg.includes('#b2182b'));
});

test('depth command: JSON has one depth per input position (BOS included), figures in three formats', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-depth-'));
  const text = 'Once upon a time, there was a little girl named Lily.';
  // In this process (stdout is left alone: the test reporter writes there; the printed paths are harmless).
  const codes = [
    await main(['depth', text, '--lens', '../shared/golden/reference-lens/lens', '--out', join(dir, 'd.html'), '--json', join(dir, 'd.json')]),
    await main(['depth', text, '--logit', '--out', join(dir, 'd.svg')]),
    await main(['depth', text, '--logit', '--out', join(dir, 'd.png')]),
  ];
  assert.deepEqual(codes, [0, 0, 0]);
  const j = JSON.parse(readFileSync(join(dir, 'd.json'), 'utf8')) as { input_ids: number[]; tokens: string[]; depth: number[]; provenance: { command: string } };
  assert.equal(j.input_ids[0], 1);
  assert.equal(j.tokens.length, j.input_ids.length);
  assert.equal(j.depth.length, j.input_ids.length);
  assert.equal(j.provenance.command, 'depth');
  assert.deepEqual([...readFileSync(join(dir, 'd.png')).subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
});
