#!/usr/bin/env node
// Bundles the viewer's browser code (src/viewer/client/main.ts and what it imports) into one file,
// dist/viewer/app.js, with esbuild. Run by `npm run build:viewer`; the viewer server also imports
// buildViewer() from here to rebuild on demand in a dev checkout when the bundle is missing or stale.
//
// Next to the bundle it writes app.inputs.json, the source files that went into it, so staleness is
// a cheap mtime comparison rather than a rebuild per page load.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';

export const VIEWER_ENTRY = 'src/viewer/client/main.ts';
export const VIEWER_OUTDIR = 'dist/viewer';
export const VIEWER_BUNDLE = `${VIEWER_OUTDIR}/app.js`;
export const VIEWER_INPUTS = `${VIEWER_OUTDIR}/app.inputs.json`;

const defaultRoot = nodePath.resolve(nodePath.dirname(fileURLToPath(import.meta.url)), '..');

/** Writes via a temporary file and a rename, so a concurrent reader never sees half a bundle. */
function writeAtomic(path, contents) {
  mkdirSync(nodePath.dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

/**
 * Builds the bundle under `root` (the package folder). Returns the input files (relative to root).
 * @param {{ root?: string, minify?: boolean, logLevel?: 'silent' | 'info' | 'warning' }} [options]
 */
export async function buildViewer({ root = defaultRoot, minify = true, logLevel = 'warning' } = {}) {
  // Imported here, not at the top: esbuild is a dev dependency, and importing this module must not
  // fail where it is absent (the server then serves a prebuilt bundle).
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [VIEWER_ENTRY],
    bundle: true,
    // A classic script: the page loads the ECharts UMD bundle as the global `echarts` first.
    format: 'iife',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    outfile: VIEWER_BUNDLE,
    sourcemap: 'linked',
    minify,
    metafile: true,
    legalComments: 'none',
    write: false,
    logLevel,
  });
  for (const f of result.outputFiles) writeAtomic(f.path, f.contents);
  const inputs = Object.keys(result.metafile.inputs).sort();
  writeAtomic(nodePath.join(root, VIEWER_INPUTS), `${JSON.stringify({ entry: VIEWER_ENTRY, inputs }, null, 1)}\n`);
  return inputs;
}

const invokedDirectly = process.argv[1] && nodePath.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const minify = !process.argv.includes('--no-minify');
  const inputs = await buildViewer({ minify, logLevel: 'info' });
  console.log(`${VIEWER_BUNDLE}: ${inputs.length} source files`);
}
