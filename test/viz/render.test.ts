import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as nodePath from 'node:path';
import { inflateSync } from 'node:zlib';
import { buildHeatmapOption, computeHeatmapLayout } from '../../src/viz/heatmap-chart.js';
import { renderHtml, renderPng, renderSvg, writeFigure } from '../../src/viz/render.js';
import type { HeatmapData } from '../../src/viz/heatmap-data.js';
import { sampleTrajectory } from './sample-data.js';

/** Sample figures land here (gitignored) so a person can look at them. */
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
mkdirSync(ARTIFACTS, { recursive: true });

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
function decodeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)) : (XML_ENTITIES[e] ?? m),
  );
}

/**
 * A small well-formedness check (no XML parser ships with Node): tags nest and close, attributes are
 * `name="value"` pairs, and text contains no raw `<` or stray `&`. Catches e.g. unescaped quotes in
 * style attributes, which resvg rejects.
 */
function assertWellFormedXml(xml: string): void {
  const tagRe = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[[\s\S]*?\]\]>/g;
  const stack: string[] = [];
  let last = 0;
  for (let m = tagRe.exec(xml); m; m = tagRe.exec(xml)) {
    const text = xml.slice(last, m.index);
    assert.doesNotMatch(text, /<|&(?!(#\d+|#x[0-9a-f]+|\w+);)/i, `bad text before offset ${m.index}: ${text.slice(0, 80)}`);
    last = tagRe.lastIndex;
    const [, close, name, , selfClose] = m;
    if (!name) continue; // comment / PI / CDATA
    if (close) assert.equal(stack.pop(), name, `mismatched </${name}> at ${m.index}`);
    else if (!selfClose) stack.push(name);
  }
  assert.doesNotMatch(xml.slice(last), /</, `unparsable markup near offset ${last}: ${xml.slice(last, last + 120)}`);
  assert.deepEqual(stack, [], 'unclosed elements');
}

/** Text content of every <text> element, entity-decoded. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text\b[^>]*>([\s\S]*?)<\/text>/g)].map((m) => decodeXml(m[1]!.replace(/<[^>]+>/g, '')));
}

interface DecodedPng {
  width: number;
  height: number;
  /** RGBA at (x, y). */
  pixel(x: number, y: number): [number, number, number, number];
}

/** Minimal PNG decoder for what resvg writes (8-bit RGBA, not interlaced), to look at pixels in tests. */
function decodePng(png: Uint8Array): DecodedPng {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  assert.equal(buf[24], 8, 'bit depth');
  assert.equal(buf[25], 6, 'colour type RGBA');
  const idat: Buffer[] = [];
  for (let off = 8; off < buf.length; ) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    if (type === 'IDAT') idat.push(buf.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= 4 ? out[y * stride + x - 4]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + x]! : 0;
      const c = x >= 4 && y > 0 ? out[(y - 1) * stride + x - 4]! : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = (src[x]! + pred) & 0xff;
    }
  }
  return {
    width,
    height,
    pixel: (x, y) => {
      const i = y * stride + x * 4;
      return [out[i]!, out[i + 1]!, out[i + 2]!, out[i + 3]!];
    },
  };
}

test('SVG: well-formed, the requested size, every top-1 label and axis label present', () => {
  const d = sampleTrajectory();
  const svg = renderSvg(d, { width: 1100, height: 320 });
  assert.match(svg, /^<svg\b/);
  const root = /^<svg\b[^>]*>/.exec(svg)![0];
  assert.match(root, /\swidth="1100"/);
  assert.match(root, /\sheight="320"/);
  assertWellFormedXml(svg);
  const texts = new Set(svgTexts(svg));
  for (const row of d.cellLabels) for (const label of row) assert.ok(texts.has(label), `cell label ${JSON.stringify(label)} missing`);
  for (const label of [...d.columnLabels, ...d.rowLabels, 'Input', 'Layer', 'Entropy (nats)', `Entropy — ${d.title}`]) {
    assert.ok(texts.has(label), `label ${JSON.stringify(label)} missing`);
  }
});

test('SVG: default size comes from the layout; markup-like tokens are escaped', () => {
  const d: HeatmapData = {
    ...sampleTrajectory(),
    columnTopLabels: ['<eos>', 'a&b', '"q"', ...sampleTrajectory().columnLabels.slice(3)],
  };
  d.cellLabels = d.cellLabels.map((r, i) => (i === 0 ? ['</text>', ...r.slice(1)] : r));
  const svg = renderSvg(d);
  const layout = computeHeatmapLayout(d);
  const root = /^<svg\b[^>]*>/.exec(svg)![0];
  assert.match(root, new RegExp(`\\swidth="${layout.width}"`));
  assert.match(root, new RegExp(`\\sheight="${layout.height}"`));
  assertWellFormedXml(svg);
  const texts = new Set(svgTexts(svg));
  for (const t of ['<eos>', 'a&b', '"q"', '</text>']) assert.ok(texts.has(t), t);
});

test('PNG: signature, IHDR size, and text actually drawn', () => {
  const d = sampleTrajectory();
  const png = renderPng(d);
  saveArtifact('sample-entropy.png', png);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  assert.equal(view.toString('latin1', 12, 16), 'IHDR');
  const layout = computeHeatmapLayout(d);
  assert.equal(view.readUInt32BE(16), layout.width);
  assert.equal(view.readUInt32BE(20), layout.height);

  const img = decodePng(png);
  const lum = (x: number, y: number): number => {
    const [r, g, b] = img.pixel(x, y);
    return 0.299 * r + 0.587 * g + 0.114 * b;
  };
  // Dark glyph pixels in the x-axis label band below the grid: fonts were found and text rendered.
  const { grid } = layout;
  let dark = 0;
  for (let y = grid.top + grid.height + 4; y < grid.top + grid.height + 24; y++) {
    for (let x = grid.left; x < grid.left + grid.width; x++) if (lum(x, y) < 140) dark++;
  }
  assert.ok(dark > 200, `only ${dark} dark pixels where the token labels should be`);
  // Inside cells, the text colour the option asked for shows up against the fill: check one cell
  // with white text and one with dark text.
  const items = (buildHeatmapOption(d).option as { series: { data: { value: number[]; label: { color?: string } }[] }[] }).series[0]!.data;
  for (const want of ['#ffffff', '#111111']) {
    const item = items.find((it) => it.label.color === want)!;
    const [col, row] = item.value as [number, number];
    const x0 = Math.round(grid.left + col * layout.cellWidth);
    const y0 = Math.round(grid.top + grid.height - (row + 1) * layout.cellHeight);
    let text = 0;
    let total = 0;
    for (let y = y0 + 3; y < y0 + layout.cellHeight - 3; y++) {
      for (let x = x0 + 3; x < x0 + layout.cellWidth - 3; x++) {
        total++;
        const l = lum(x, y);
        if (want === '#ffffff' ? l > 235 : l < 40) text++;
      }
    }
    assert.ok(text > 15 && text < total / 2, `cell (${row}, ${col}) text ${want} not visible: ${text}/${total} pixels`);
  }
});

test('PNG: scale 2 doubles the pixel size', () => {
  const png = renderPng(sampleTrajectory(), { width: 700, height: 300, scale: 2 });
  const view = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  assert.equal(view.readUInt32BE(16), 1400);
  assert.equal(view.readUInt32BE(20), 600);
});

test('HTML: self-contained (inlined ECharts, no external URLs), carries the data, runs offline', () => {
  const d = sampleTrajectory();
  const html = renderHtml(d);
  assert.match(html, /^<!DOCTYPE html>/);
  // No external script/stylesheet/image/font references.
  assert.doesNotMatch(html, /<script[^>]*\ssrc\s*=/i);
  assert.doesNotMatch(html, /<link\b/i);
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?(https?:)?\/\//i);
  assert.doesNotMatch(html, /@import|url\(\s*["']?https?:/i);
  // The ECharts bundle is inlined.
  const bundle = readFileSync(fileURLToPath(import.meta.resolve('echarts/dist/echarts.min.js')), 'utf8');
  assert.ok(html.includes(bundle.slice(200, 2000)), 'echarts.min.js is inlined');
  // The data is there: tokens, top-k tooltips.
  const m = /<script type="application\/json" id="tuned-lens-option">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, 'option JSON block');
  const option = JSON.parse(m![1]!);
  assert.deepEqual(option.xAxis[0].data, d.columnLabels);
  assert.equal(option.series[0].data.length, d.rowLabels.length * d.columnLabels.length);
  assert.match(option.series[0].data[0].tooltip.formatter, /%<\/td>/);
  saveArtifact('sample-entropy.html', html);

  // Evaluate the inlined bundle (UMD) the way a page would, and render the inlined option with it:
  // proves the pair works standalone, without our TypeScript.
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((s) => s[1]!);
  const mod: { exports: Record<string, unknown> } = { exports: {} };
  new Function('module', 'exports', scripts[0]!)(mod, mod.exports);
  const ec = mod.exports as { init: Function; version: string };
  assert.equal(typeof ec.init, 'function');
  const chart = ec.init(null, null, { renderer: 'svg', ssr: true, width: 1000, height: 300 });
  chart.setOption(option);
  const svg: string = chart.renderToSVGString();
  chart.dispose();
  const texts = new Set(svgTexts(svg));
  for (const label of d.cellLabels.flat()) assert.ok(texts.has(label), label);
  // The page script wires the option to a chart.
  assert.match(scripts[1]!, /echarts\.init\(/);
  assert.match(scripts[1]!, /setOption\(option\)/);
});

test('HTML: data cannot break out of the inline script', () => {
  const d = sampleTrajectory();
  d.cellLabels[0]![0] = '</script><script>alert(1)</script>';
  const html = renderHtml(d);
  assert.equal(html.match(/<\/script>/g)!.length, 3, 'only the three real closing tags');
});

/** Saves a sample for people to look at (plain write: writeFigure's atomic path is tested below). */
function saveArtifact(name: string, content: string | Uint8Array): void {
  writeFileSync(nodePath.join(ARTIFACTS, name), content);
}

test('writeFigure picks the format from the extension and writes atomically', async () => {
  const d = sampleTrajectory();
  const dir = nodePath.join(ARTIFACTS, 'write-figure');
  rmSync(dir, { recursive: true, force: true });
  for (const ext of ['svg', 'png', 'html']) await writeFigure(nodePath.join(dir, `trajectory.${ext}`), d);
  const svg = readFileSync(nodePath.join(dir, 'trajectory.svg'), 'utf8');
  assert.match(svg, /^<svg\b/);
  const png = readFileSync(nodePath.join(dir, 'trajectory.png'));
  assert.equal(png.toString('latin1', 1, 4), 'PNG');
  const html = readFileSync(nodePath.join(dir, 'trajectory.html'), 'utf8');
  assert.match(html, /^<!DOCTYPE html>/);
  // No temporary files left behind.
  assert.deepEqual(readdirSync(dir).sort(), ['trajectory.html', 'trajectory.png', 'trajectory.svg']);
  // Overwriting works (rename over an existing file).
  await writeFigure(nodePath.join(dir, 'trajectory.svg'), { ...d, title: 'Second' });
  assert.match(readFileSync(nodePath.join(dir, 'trajectory.svg'), 'utf8'), /Second/);
});

test('writeFigure rejects unknown extensions with a clear error, writing nothing', async () => {
  const p = nodePath.join(ARTIFACTS, 'trajectory.jpg');
  await assert.rejects(writeFigure(p, sampleTrajectory()), /cannot tell the figure format.*\.jpg.*\.svg, \.png, \.html/);
  await assert.rejects(writeFigure(nodePath.join(ARTIFACTS, 'noext'), sampleTrajectory()), /extension "none"/);
  assert.equal(existsSync(p), false);
});
