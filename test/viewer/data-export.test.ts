/**
 * The viewer's data files and colour choices without a browser: a small hand-made response (2 rows × 3
 * positions, top-2, one pin) through buildPanels → buildDataExport → CSV, checked field by field, with a
 * token that needs CSV quoting; and the colour choices' URL form and request validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDataExport, pinsCsv, statisticsCsv, topKCsv, type DataExportSource } from '../../src/viewer/data-export.js';
import { parseScaleChoices, resolveScale, scaleChoicesFromText, scaleChoicesToText } from '../../src/viewer/colour-scales.js';
import type { TrajectoryResponse } from '../../src/viewer/protocol.js';
import { stateFromQuery, stateToQuery, defaultState } from '../../src/viewer/url-state.js';
import { buildPanels } from '../../src/viewer/view-model.js';

function response(): TrajectoryResponse {
  return {
    model: { index: 0, name: 'tiny', vocabSize: 4, nLayers: 1, maxTokens: 8, sha256: 'ab12' },
    lens: 'logit',
    tunedLensName: null,
    tunedLensSha256: null,
    grids: [
      {
        lens: 'logit', prompt: 0, label: 'logit lens', rows: 2, positions: 3, topK: 2, rowLabels: ['0', 'output'],
        inputIds: [0, 1, 2], targets: [1, 2, -1],
        entropy: [0.5, 0.25, 1, 0.125, 0.75, 0.0625],
        crossEntropy: [1, 2, null, 0.5, 0.25, null], forwardKl: [0.1, 0.2, 0.3, 0, 0, 0], maxProb: [0.6, 0.7, 0.8, 0.9, 0.5, 0.4], rank: [1, 2, null, 1, 1, null],
        topIds: [3, 1, 1, 0, 2, 3, 0, 1, 1, 3, 2, 0],
        topProbs: [0.6, 0.3, 0.7, 0.2, 0.8, 0.1, 0.9, 0.05, 0.5, 0.4, 0.4, 0.3],
      },
    ],
    distance: null,
    pieces: { 0: 'a', 1: ' b', 2: 'c,"d"', 3: 'e' },
    elapsedMs: 1,
  };
}

test('data export: statistics, top-k and pins as JSON and CSV with provenance, equal to the response', () => {
  const resp = response();
  const view = { ...defaultState().view, from: 1 };
  const source: DataExportSource = {
    req: { model: 0, lens: 'logit', prompt: 'a b c' },
    resp,
    view,
    settings: { target: '' },
    panels: buildPanels(resp, view),
    pins: [{ tokenId: 2, piece: 'c,"d"', series: [{ label: 'logit lens', rows: 2, positions: 3, prob: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], rank: [4, 3, 2, 1, 1, 1] }] }],
    link: 'http://127.0.0.1/?prompt=a+b+c&from=1',
    build: 'server',
    version: '9.8.7',
    exportedAt: '2026-01-01T00:00:00.000Z',
  };
  const d = buildDataExport(source);
  assert.equal(d.provenance.prompt, 'a b c');
  assert.equal(d.provenance.version, '9.8.7');
  assert.equal(d.provenance.model.sha256, 'ab12');
  assert.equal(d.provenance.tunedLensSha256, null);
  assert.equal(d.provenance.view.from, 1);
  const p = d.panels[0]!;
  assert.deepEqual(p.rows, [0, 1]);
  assert.deepEqual(p.rowLabels, ['input', 'output']);
  assert.deepEqual(p.positions, [1, 2]);
  assert.deepEqual(p.values, [[0.25, 1], [0.75, 0.0625]]);
  // Output row, position 1: flat cell (1 · 3 + 1) of the top-2 arrays.
  assert.deepEqual(p.topK[0]!.cells[1]![0]!.map((x) => [x.id, x.prob]), [[1, 0.5], [3, 0.4]]);
  assert.deepEqual(d.pins[0]!.series[0]!.prob, [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]);

  const stats = statisticsCsv(d).split('\n');
  assert.ok(stats.some((l) => l.startsWith('# ') && l.includes('tuned-lens viewer 9.8.7')), 'the CSV names the version');
  assert.ok(stats.some((l) => l.startsWith('# model: tiny') && l.includes('sha256: ab12')), 'the CSV names the model hash');
  assert.ok(stats[0]!.startsWith('# tuned-lens-viewer-data/1'));
  assert.ok(stats.some((l) => l === '# link: http://127.0.0.1/?prompt=a+b+c&from=1'));
  const header = stats.findIndex((l) => l.startsWith('panel,'));
  assert.equal(stats[header], 'panel,panel_title,statistic,units,row,layer,position,input_token,value');
  assert.equal(stats[header + 1], '0,tiny · logit lens · Entropy,Entropy,nats,0,input,1,_b,0.25');
  // A token with a comma and quotes is quoted, quotes doubled.
  assert.equal(stats[header + 2], '0,tiny · logit lens · Entropy,Entropy,nats,0,input,2,"c,""d""",1');
  assert.equal(stats.filter((l) => /^\d/.test(l)).length, 4);
  const topk = topKCsv(d).split('\n').filter((l) => /^\d/.test(l));
  assert.equal(topk.length, 4 * 2);
  assert.equal(topk[0], '0,logit lens,0,input,1,_b,1,1,_b,0.7');
  const pins = pinsCsv(d).split('\n').filter((l) => /^\d/.test(l));
  assert.equal(pins.length, 6);
  assert.equal(pins[5], '2,"c,""d""",logit lens,1,output,2,0.6,1');
});

test('colour choices: per statistic, in the URL and validated in requests', () => {
  assert.deepEqual(resolveScale({}, 'entropy'), { scale: 'rdbu_r', log: false });
  assert.deepEqual(resolveScale({}, 'rank'), { scale: 'rdbu_r', log: true });
  assert.deepEqual(resolveScale({}, 'dist-kl'), { scale: 'blues', log: false });
  assert.deepEqual(resolveScale({ 'target-log-prob': { log: true } }, 'target-log-prob'), { scale: 'viridis', log: false });
  const choices = { entropy: { scale: 'viridis' as const }, rank: { log: false }, 'dist-tv': { scale: 'greens' as const, log: true } };
  const text = scaleChoicesToText(choices);
  assert.equal(text, 'entropy:viridis,rank::lin,dist-tv:greens:log');
  assert.deepEqual(scaleChoicesFromText(text), choices);
  assert.deepEqual(scaleChoicesFromText('nope:viridis,entropy:plasma,kl:blues'), { kl: { scale: 'blues' } });
  const s = defaultState();
  s.view.scales = choices;
  assert.deepEqual(stateFromQuery(stateToQuery(s)).view.scales, choices);
  assert.throws(() => parseScaleChoices({ entropy: { scale: 'plasma' } }), /unknown colour scale "plasma"/);
  assert.throws(() => parseScaleChoices({ entropyy: {} }), /unknown statistic "entropyy"/);
  assert.deepEqual(parseScaleChoices({ kl: { log: true } }), { kl: { log: true } });
});
