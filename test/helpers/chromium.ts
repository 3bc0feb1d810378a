/**
 * Debian's chromium for the viewer's and the web build's end-to-end tests: where it is, the flags every test
 * launches it with, a plain browser (pages opened by the test), and a persistent context whose page reports
 * console errors and page errors into the test's `problems` list.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.TUNED_LENS_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** `false` when chromium is installed, else the reason to skip `what` (also printed as a TAP comment). */
export function chromiumSkip(what: string): false | string {
  if (existsSync(CHROMIUM)) return false;
  const reason = `chromium is not installed at ${CHROMIUM}: skipping ${what}`;
  console.log(`# ${reason}`);
  return reason;
}

export type ContextOptions = NonNullable<Parameters<typeof chromium.launchPersistentContext>[1]>;

/** Launches chromium on a fresh profile folder (the caller removes `profile` when done). */
export async function launchChromium(options: ContextOptions, problems: string[]): Promise<{ context: BrowserContext; page: Page; profile: string }> {
  const profile = mkdtempSync(nodePath.join(tmpdir(), 'tuned-lens-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, ...options });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { context, page, profile };
}

/** Launches chromium with the common flags; the test opens its own pages and closes the browser. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}
