/**
 * `tuned-lens plot` end to end on stories260K: the figure files it writes (SVG, PNG, HTML) have the size
 * the layout promises and carry the golden top-1 tokens; bad arguments fail with clear messages.
 * Figures land in test-artifacts/plot/ (gitignored) so a person can look at them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as nodePath from 'node:path';
import { LogitLens } from '../../src/lens/lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { PredictionTrajectory, type StatisticName } from '../../src/trajectory/prediction-trajectory.js';
import { buildHeatmapOption } from '../../src/viz/heatmap-chart.js';
import { main } from '../../src/cli/main.js';
import { runCli } from '../helpers/cli.js';
import { readGolden } from '../helpers/golden.js';

const OUT = fileURLToPath(new URL('../../test-artifacts/plot/', import.meta.url));
mkdirSync(OUT, { recursive: true });

const golden = readGolden<{ prompt: string; input_ids: number[]; top1: number[]; logit_lens_top1: number[][] }>('stories260K', 'prompt_0.json');
const PROMPT = golden.prompt; // "Once upon a time, there was a little girl named Lily."

/** Fresh output path (a stale file from an earlier run must not make a test pass). */
function outPath(name: string): string {
  const p = nodePath.join(OUT, name);
  rmSync(p, { force: true });
  return p;
}

/** The same figure computed in this process, to know the size and labels the CLI must produce. */
async function expectedFigure(statistic: StatisticName, title: string, edit: (t: PredictionTrajectory) => PredictionTrajectory = (t) => t) {
  const model = await loadModel('stories260K');
  const traj = edit(await PredictionTrajectory.compute(new LogitLens(model), { ids: [golden.input_ids] }));
  const data = traj.toHeatmap(statistic, { title, topK: 10 });
  const { width, height } = buildHeatmapOption(data);
  return { traj, data, width, height };
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decodeXml = (s: string): string => s.replace(/&(#\d+|\w+);/g, (m, e: string) => (e[0] === '#' ? String.fromCodePoint(Number(e.slice(1))) : (XML_ENTITIES[e] ?? m)));

interface SvgText {
  x: number;
  y: number;
  /** text-anchor: y-axis labels are right-aligned ("end"), cell labels centred. */
  anchor: string;
  text: string;
}

/** Every <text> with the translate() position ECharts gives it. */
function svgTexts(svg: string): SvgText[] {
  return [...svg.matchAll(/<text\b([^>]*)>([^<]*)<\/text>/g)].flatMap((m) => {
    const pos = /transform="translate\(([-\d.]+) ([-\d.]+)\)"/.exec(m[1]!);
    if (!pos) return [];
    return [{ x: Number(pos[1]), y: Number(pos[2]), anchor: /text-anchor="(\w+)"/.exec(m[1]!)?.[1] ?? '', text: decodeXml(m[2]!) }];
  });
}

test('plot writes an SVG of the laid-out size whose output row reads the model top-1 tokens, ending in "_She"', async () => {
  const out = outPath('prompt0-entropy.svg');
  const r = await runCli(['plot', PROMPT, '--model', 'stories260K', '--title', 'stories260K logit lens', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), out, 'prints the path it wrote');
  const svg = readFileSync(out, 'utf8');
  const root = /^<svg\b[^>]*>/.exec(svg);
  assert.ok(root, 'starts with an <svg> root element');
  const width = Number(/\swidth="(\d+(?:\.\d+)?)"/.exec(root[0])![1]);
  const height = Number(/\sheight="(\d+(?:\.\d+)?)"/.exec(root[0])![1]);
  assert.match(svg.trimEnd(), /<\/svg>$/);

  const exp = await expectedFigure('entropy', 'stories260K logit lens');
  assert.deepEqual([width, height], [exp.width, exp.height]);
  const texts = svgTexts(svg);
  const find = (t: string): { x: number; y: number } => {
    const hit = texts.find((x) => x.text === t);
    assert.ok(hit, `"${t}" is drawn`);
    return hit;
  };
  find('Entropy — stories260K logit lens'); // the title names the statistic
  find('Entropy (nats)');
  // Cell labels are centred on their row's y: read the output row (and layer 4) left to right. The row
  // label itself is the right-aligned y-axis text (a colour-bar tick may also read "4").
  const row = (label: string): string[] => {
    const axis = texts.find((t) => t.text === label && t.anchor === 'end');
    assert.ok(axis, `y-axis label "${label}"`);
    return texts.filter((t) => Math.abs(t.y - axis.y) < 0.5 && t.anchor === 'middle').sort((a, b) => a.x - b.x).map((t) => t.text);
  };
  const vocab = exp.traj.vocabLabels;
  assert.deepEqual(row('output'), golden.top1.map((id) => vocab[id]));
  assert.equal(row('output').at(-1), '_She');
  assert.deepEqual(row('4'), golden.logit_lens_top1[4]!.map((id) => vocab[id]));
  assert.equal(row('4').at(-1), '_One');
});

test('plot writes a PNG (rank, --stride 2, --range 1:) with the IHDR size of the laid-out figure', async () => {
  const out = outPath('prompt0-rank-stride2.png');
  const r = await runCli(['plot', PROMPT, '--statistic', 'rank', '--stride', '2', '--range', '1:', '--title', 'rank of the next token', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const png = readFileSync(out);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(png.toString('latin1', 12, 16), 'IHDR');
  const exp = await expectedFigure('rank', 'rank of the next token', (t) => t.slice(1).stride(2));
  assert.deepEqual(exp.data.rowLabels, ['0', '2', '4', 'output']);
  assert.equal(exp.data.columnLabels.length, golden.input_ids.length - 1);
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [exp.width, exp.height]);
});

test('plot writes a self-contained HTML page carrying the top-1 labels', async () => {
  const out = outPath('prompt0-max-prob.html');
  const r = await runCli(['plot', PROMPT, '--statistic', 'max-prob', '--top-k', '5', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /^<!DOCTYPE html>/);
  assert.doesNotMatch(html, /<script[^>]+src=/, 'no external scripts');
  const json = /<script type="application\/json" id="tuned-lens-option">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(json, 'the chart option is inlined');
  const option = JSON.parse(json[1]!) as unknown;
  const strings = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') strings.add(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(option);
  const exp = await expectedFigure('max-prob', '');
  for (const label of new Set(exp.data.cellLabels.flat())) assert.ok(strings.has(label), `top-1 label "${label}" is in the page`);
  assert.ok(strings.has('_She'));
  assert.ok([...strings].some((s) => s.includes('Max Probability')));
  // Tooltips list --top-k tokens: 5 table rows per cell.
  const tooltip = [...strings].find((s) => s.includes('<table') && s.includes('output'))!;
  assert.equal(tooltip.match(/<tr>/g)?.length, 5);
});

test('plot --statistic log-prob-diff takes --target / --anti-target as pieces or #ids', async () => {
  const model = await loadModel('stories260K');
  const one = Array.from({ length: model.config.vocabSize }, (_, i) => model.tokenizer.idToPiece(i)).indexOf(' One');
  assert.ok(one > 0);
  const out = outPath('prompt0-lpd.svg');
  const r = await runCli(['plot', PROMPT, '--statistic', 'log-prob-diff', '--target', '_She', '--anti-target', `#${one}`, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const texts = svgTexts(readFileSync(out, 'utf8')).map((t) => t.text);
  assert.ok(texts.includes('Log Prob Difference (nats)'));
});

/** Runs the CLI in this process (milliseconds instead of seconds per run), capturing stderr. */
async function runInProcess(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await main(args), stderr };
  } finally {
    process.stderr.write = write;
  }
}

test('plot rejects bad arguments with clear messages and a non-zero exit code', async () => {
  const bad = nodePath.join(OUT, 'bad.svg');
  const cases: [string[], RegExp][] = [
    [['--range', '3:99', '--out', bad], /--range: position range 3:99 is outside the 16 input positions/],
    [['--range', '5:2', '--out', bad], /--range: position range 5:2 is empty/],
    [['--range', 'abc', '--out', bad], /--range must look like start:end/],
    [['--statistic', 'perplexity', '--out', bad], /--statistic must be one of entropy, ce, kl, max-prob, rank, log-prob-diff; got "perplexity"/],
    [['--out', nodePath.join(OUT, 'bad.pdf')], /must end in \.svg, \.png or \.html \(got "\.pdf"\)/],
    [['--out', nodePath.join(OUT, 'bad')], /must end in \.svg, \.png or \.html/],
    [[], /--out <file> is required/],
    [['--lens', 'x', '--logit', '--out', bad], /either --lens or --logit/],
    [['--statistic', 'log-prob-diff', '--out', bad], /needs --anti-target/],
    [['--anti-target', '#3', '--out', bad], /--anti-target only applies/],
    [['--statistic', 'log-prob-diff', '--anti-target', 'Zzzzqq', '--out', bad], /--anti-target "Zzzzqq" is not a single token/],
    [['--statistic', 'log-prob-diff', '--anti-target', '#512', '--out', bad], /#512: id is outside the vocabulary \(0\.\.511\)/],
    [['--stride', '0', '--out', bad], /--stride must be a positive integer/],
  ];
  for (const [args, message] of cases) {
    const r = await runInProcess(['plot', PROMPT, ...args]);
    assert.notEqual(r.code, 0, `exit code for ${args.join(' ')}`);
    assert.match(r.stderr, message, `stderr for ${args.join(' ')}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  // The same through the real executable path: exit status and stderr of a child process.
  const [range, ext] = await Promise.all([runCli(['plot', PROMPT, '--range', '-20:', '--out', bad]), runCli(['plot', PROMPT, '--out', nodePath.join(OUT, 'bad.jpg')])]);
  assert.equal(range.code, 1);
  assert.match(range.stderr, /^tuned-lens: error: --range: position range -20:16 is outside the 16 input positions/);
  assert.equal(ext.code, 1);
  assert.match(ext.stderr, /^tuned-lens: error: --out .*bad\.jpg: the file name must end in \.svg, \.png or \.html/);
});
