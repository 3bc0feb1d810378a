/**
 * The viewer's end-to-end tests share this: a `serve` viewer on stories260K with the reference tuned lens,
 * chromium on a fresh profile pointed at nothing yet, and the heatmap geometry the page publishes
 * (`data-layout` on each panel's chart) to click and measure cells by.
 */
import { rmSync } from 'node:fs';
import * as nodePath from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { ChartLayout } from '../../src/viewer/client/cell-geometry.js';
import { startViewer, type ViewerOptions, type ViewerServer } from '../../src/viewer/server.js';
import { launchChromium, type ContextOptions } from './chromium.js';
import { sharedDataDir } from './shared-data.js';

export const REFERENCE_LENS_DIR = nodePath.join(sharedDataDir(), 'golden', 'reference-lens', 'lens');

export interface ViewerInBrowser {
  server: ViewerServer;
  context: BrowserContext;
  page: Page;
  /** Chromium's profile folder, removed by `closeViewerInBrowser`. */
  profile: string;
}

/**
 * Starts the viewer (stories260K and the reference lens unless `server` says otherwise; its log goes to
 * `problems`) and chromium (console and page errors go to `problems` too).
 */
export async function openViewerInBrowser(options: { server?: ViewerOptions; browser: ContextOptions }, problems: string[]): Promise<ViewerInBrowser> {
  const server = await startViewer({ port: 0, models: ['stories260K'], lenses: { stories260K: [REFERENCE_LENS_DIR] }, log: (m) => problems.push(m), ...options.server });
  const { context, page, profile } = await launchChromium(options.browser, problems);
  return { server, context, page, profile };
}

/** Closes what `openViewerInBrowser` opened (any part may be missing when `before` failed half-way). */
export async function closeViewerInBrowser(v: Partial<ViewerInBrowser>): Promise<void> {
  await v.context?.close();
  await v.server?.close();
  if (v.profile) rmSync(v.profile, { recursive: true, force: true });
}

/** A panel's heatmap grid as the page publishes it (viewer/client/cell-geometry.ts), with the chart's top-left corner on the page. */
export type HeatmapLayout = Required<ChartLayout> & { x: number; y: number };

export async function heatmapLayout(p: Page, panel = 0): Promise<HeatmapLayout> {
  const chart = p.locator(`.panel[data-panel="${panel}"] .heatmap`);
  const layout = JSON.parse((await chart.getAttribute('data-layout'))!) as Required<ChartLayout>;
  const box = (await chart.boundingBox())!;
  return { ...layout, x: box.x, y: box.y };
}

/** Page coordinates of the centre of display cell (row from the bottom, col) of panel `panel`. */
export async function cellPoint(p: Page, panel: number, row: number, col: number): Promise<{ x: number; y: number }> {
  const l = await heatmapLayout(p, panel);
  const cw = l.width / l.cols;
  const ch = l.height / l.rows;
  return { x: l.x + l.left + (col + 0.5) * cw, y: l.y + l.top + (l.rows - 1 - row + 0.5) * ch };
}
