/**
 * Screenshots of every viewer view, for docs/screenshots/ (run: `npx tsx scripts/screenshots.ts`).
 *
 * Starts the viewer on stories260K with its built-in lens, drives Debian's chromium (playwright-core)
 * through each entry of VIEWS and writes one PNG per view plus docs/screenshots/README.md listing them.
 * Adding a view is one entry in VIEWS: a URL query (the page restores its whole state from the URL),
 * a window size, and optionally what to do before the picture is taken.
 *
 * Options: --out DIR (default docs/screenshots), --only NAME[,NAME] (a subset), TUNED_LENS_CHROMIUM.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { bundledLensFor } from '../src/hub/lens-source.js';
import { startViewer } from '../src/viewer/server.js';

const ROOT = nodePath.resolve(nodePath.dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.TUNED_LENS_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const SHORT_PROMPT = 'Once upon a time, there was a little girl named Lily.';
/** 98 tokens on stories260K: the review's "long prompt". */
export const LONG_PROMPT =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends. ' +
  'One day, she saw a big red ball under a tree. She ran to get it, but a small dog took the ball and ran away. ' +
  'Lily was sad, but her mom said they could find';

interface View {
  /** File name without .png. */
  name: string;
  /** One line for the README. */
  what: string;
  /** The page's URL query (without "?"); the page restores prompts, lens, pins and cell from it. */
  query: Record<string, string>;
  width?: number;
  height?: number;
  /** Done after the page settled, before the picture (hover a cell, open a panel …). */
  act?: (page: Page) => Promise<void>;
  /** The whole page rather than the window. */
  fullPage?: boolean;
  /** Emulates prefers-color-scheme: dark. */
  dark?: boolean;
  /** Only with `--bases DIR` (a causal-basis output for stories260K and the built-in lens). */
  needsBases?: boolean;
}

/** Opens the causal basis panel at its second layer and ablates direction 0. */
async function ablateFirstDirection(page: Page): Promise<void> {
  await page.waitForSelector('#causal:not([hidden])', { timeout: 30_000 });
  const layers = await page.locator('#causal-layer option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  await page.selectOption('#causal-layer', layers[Math.min(2, layers.length - 1)]!);
  await page.locator('#causal-directions tbody tr').first().locator('button').click();
  await page.waitForSelector('#causal-result[data-ready]', { timeout: 60_000 });
  await page.waitForTimeout(300);
}

const long = { prompt: LONG_PROMPT };
const short = { prompt: SHORT_PROMPT };

/** Hovers display cell (row from the bottom, visible column) of a panel. */
async function hoverCell(page: Page, panel: number, row: number, col: number): Promise<void> {
  const chart = page.locator(`.panel[data-panel="${panel}"] .heatmap`);
  const l = JSON.parse((await chart.getAttribute('data-layout'))!) as { left: number; top: number; width: number; height: number; rows: number; cols: number };
  await chart.evaluate((e) => e.scrollIntoView({ block: 'start' }));
  const box = (await chart.boundingBox())!;
  await page.mouse.move(box.x + l.left + (col + 0.5) * (l.width / l.cols), box.y + l.top + (l.rows - 1 - row + 0.5) * (l.height / l.rows));
  await page.waitForTimeout(150);
}

/** Hovers the n-th token of the side panel's top-k list and waits for its preview line. */
async function hoverListToken(page: Page, n: number): Promise<void> {
  await page.locator('#top-lists .top-list button').nth(n).hover();
  await page.waitForFunction(() => document.querySelector('#pin-chart svg path[stroke-dasharray]') !== null, null, { timeout: 10_000 });
  await page.waitForTimeout(200);
}

/** Keeps the output cell at the last position and pins its top three tokens (ids filled in from the server's own top-k). */
const PIN_QUERY = { ...short, lens: 'tuned', cell: '0.5.15', pins: '' };

// The views, in README order. One line each.
const VIEWS: View[] = [
  { name: 'single-prompt', what: 'One prompt, logit lens, a hovered cell with its top-10 in the side panel.', query: short, act: (p) => hoverCell(p, 0, 5, 15) },
  { name: 'long-prompt', what: 'A 98-token prompt at 1280×800: a window of readable columns with a slider, position indices on top, every layer labelled.', query: { ...long, lens: 'tuned' } },
  { name: 'compare', what: 'Logit and tuned lens side by side on the long prompt; both panels scroll together.', query: { ...long, lens: 'compare' } },
  { name: 'diff', what: 'The difference (KL) between the tuned and the logit lens.', query: { ...short, lens: 'diff' } },
  { name: 'two-prompts', what: 'Two prompts: A, B and their distance, position by position.', query: { ...short, prompt2: 'Once upon a time, there was a little boy named Tom.', lens: 'tuned' } },
  { name: 'token-range', what: 'A token range (positions 20–44, as a drag along the token axis sets it): numbered positions, the range named under its fields with "Show all".', query: { ...long, lens: 'tuned', from: '20', to: '45' } },
  { name: 'range-invalid', what: 'A typed range that does not fit: said under the fields as it is typed, with what is shown instead.', query: { ...long, lens: 'tuned', from: '50', to: '20' } },
  { name: 'pin-chart', what: 'A kept cell and pinned tokens: the pin chart fits the window at 1280×800.', query: PIN_QUERY },
  { name: 'pin-preview', what: 'Hovering a token in the top-k list previews its line (grey, dotted) in the pin chart before it is pinned.', query: PIN_QUERY, act: (p) => hoverListToken(p, 4) },
  { name: 'long-prompt-800', what: 'The long prompt in an 800 px window: title and colour bar on screen, the side panel a drawer.', query: { ...long, lens: 'compare' }, width: 800, height: 800, act: (p) => hoverCell(p, 0, 5, 2) },
  { name: 'depth', what: 'Prediction depth as a grid mode: settled cells coloured by depth (warm = deep), the depth over each column.', query: { ...short, lens: 'tuned', mode: 'depth' }, act: (p) => hoverCell(p, 0, 5, 3) },
  { name: 'layer-differences', what: 'First-order layer differences: KL between each row and the row below, labelled with the token that rose most.', query: { ...short, lens: 'tuned', mode: 'delta' } },
  { name: 'sublayer', what: 'Sub-layer reads: the logit lens after each block\'s attention (ℓ.attn) between the block outputs.', query: { ...short, lens: 'logit', mode: 'sublayer' } },
  { name: 'dark-mode', what: 'Dark mode (follows prefers-color-scheme; the header button overrides it), lenses side by side.', query: { ...short, lens: 'compare' }, width: 1600, height: 930, dark: true, act: (p) => hoverCell(p, 0, 5, 3) },
  { name: 'causal-panel', what: 'The causal basis panel (`serve --bases DIR`): a layer\'s directions with energies and ±v tokens; direction 0 of layer 2 ablated inside the model, with KL(original ‖ ablated) per cell.', query: { ...short, lens: 'tuned' }, needsBases: true, fullPage: true, act: ablateFirstDirection },
  { name: 'narrow-window', what: 'A 700 px window: the side panel is a drawer at the bottom that stays in view while hovering.', query: { ...long, lens: 'tuned' }, width: 700, height: 800, act: (p) => hoverCell(p, 0, 4, 3) },
];

async function settle(page: Page): Promise<void> {
  await page.waitForSelector('body[data-initialised="true"]', { timeout: 60_000 });
  await page.waitForFunction(() => document.body.dataset.ready !== undefined, null, { timeout: 60_000 });
  // Pins arrive after the grid; wait until none is loading.
  await page.waitForFunction(() => !(document.querySelector('#pins')?.textContent ?? '').includes('…'), null, { timeout: 60_000 });
  await page.waitForTimeout(200);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const outArg = args.indexOf('--out');
  const out = nodePath.resolve(outArg >= 0 ? args[outArg + 1]! : nodePath.join(ROOT, 'docs', 'screenshots'));
  const onlyArg = args.indexOf('--only');
  const only = onlyArg >= 0 ? new Set(args[onlyArg + 1]!.split(',')) : null;
  if (!existsSync(CHROMIUM)) throw new Error(`chromium is not installed at ${CHROMIUM} (apt-get install -y chromium, or set TUNED_LENS_CHROMIUM)`);
  mkdirSync(out, { recursive: true });

  const basesArg = args.indexOf('--bases');
  const bases = basesArg >= 0 ? nodePath.resolve(args[basesArg + 1]!) : null;
  const lens = bundledLensFor('stories260K');
  const server = await startViewer({ port: 0, models: ['stories260K'], lenses: lens ? { stories260K: [lens] } : {}, ...(bases ? { bases: { stories260K: bases } } : {}) });
  const profile = mkdtempSync(nodePath.join(tmpdir(), 'tuned-lens-screenshots-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 800 } });
  const problems: string[] = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // The pin view pins the output's top two tokens at the last position, whatever their ids.
    const resp = await fetch(`${server.url}api/trajectory`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 0, lens: 'tuned', tunedLens: 0, prompt: SHORT_PROMPT, topK: 10 }) });
    const traj = (await resp.json()) as { grids: { rows: number; positions: number; topK: number; topIds: number[] }[] };
    const g = traj.grids[0]!;
    const base = ((g.rows - 1) * g.positions + g.positions - 1) * g.topK;
    PIN_QUERY.pins = [g.topIds[base]!, g.topIds[base + 1]!, g.topIds[base + 2]!].join(',');

    const written: View[] = [];
    for (const view of VIEWS) {
      if (only && !only.has(view.name)) continue;
      if (view.needsBases && !bases) {
        console.log(`${view.name}: skipped (needs --bases DIR)`);
        continue;
      }
      await page.emulateMedia({ colorScheme: view.dark ? 'dark' : 'light' });
      await page.setViewportSize({ width: view.width ?? 1280, height: view.height ?? 800 });
      await page.goto(`${server.url}?${new URLSearchParams(view.query).toString()}`);
      await settle(page);
      if (view.act) await view.act(page);
      const file = nodePath.join(out, `${view.name}.png`);
      await page.screenshot({ path: file, fullPage: view.fullPage ?? false });
      written.push(view);
      console.log(`${nodePath.relative(ROOT, file)}: ${view.what}`);
    }
    if (!only) {
      const rows = written.map((v) => `| [${v.name}.png](${v.name}.png) | ${v.width ?? 1280}×${v.height ?? 800} | ${v.what} |`);
      writeFileSync(
        nodePath.join(out, 'README.md'),
        `# Viewer screenshots\n\nMade by \`npx tsx scripts/screenshots.ts\` (\`tuned-lens serve\` on stories260K with its built-in lens, Debian's chromium).\n` +
          `Each view is one entry of \`VIEWS\` in that script; rerun it after changing the viewer and look at the pictures.\n\n` +
          `| File | Window | What it shows |\n| --- | --- | --- |\n${rows.join('\n')}\n`,
      );
    }
  } finally {
    await context.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
  if (problems.length > 0) throw new Error(`the page reported errors:\n${problems.join('\n')}`);
}

await main();
