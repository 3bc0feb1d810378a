/**
 * `npm run build:web`: the viewer as a static site in dist/web/ (or the folder given), computing in the
 * browser with onnxruntime-web — no server. Host it on any static file server, or write a copy with
 * `tuned-lens web --out DIR`.
 *
 *   index.html            the viewer page (data-build="web": sources bar, worker transport)
 *   app.js                the page's code (same as the server's viewer, plus the sources bar)
 *   worker.js             the compute worker: viewer engine + onnxruntime-web
 *   echarts.min.js        charts
 *   ort/                  onnxruntime-web (WebGPU + WASM SIMD/threads build) and its .wasm
 *   models/stories260K/   built in, so the page works offline on first load (MIT, see LICENSE there)
 *   lenses/stories260K/   our tuned lens for it (assets/stories260K/tuned-lens)
 *   _headers              cross-origin isolation headers for hosts that read this file (Netlify, Cloudflare Pages)
 */
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { viewerPageHtml } from '../src/viewer/page.js';

const root = nodePath.resolve(nodePath.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** The built-in model and lens: shipped in the package; in a dev checkout, the shared test data as a fallback. */
function firstExisting(kind: string, candidates: string[]): string {
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(`build:web: no ${kind} found (looked in ${candidates.join(', ')})`);
}

export async function buildWeb(outDir = nodePath.join(root, 'dist', 'web')): Promise<string> {
  const tmp = `${outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  // The worker's engine reports the version to the page, which records it in data exports' provenance.
  const version = (JSON.parse(readFileSync(nodePath.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const common: esbuild.BuildOptions = { absWorkingDir: root, bundle: true, platform: 'browser', minify: true, legalComments: 'none', logLevel: 'warning', target: ['es2022', 'chrome113', 'firefox115', 'safari16.4'], define: { __TUNED_LENS_VERSION__: JSON.stringify(version) } };
  await esbuild.build({ ...common, entryPoints: ['src/viewer/client/main.ts'], format: 'iife', outfile: nodePath.join(tmp, 'app.js') });
  await esbuild.build({ ...common, entryPoints: ['src/web/worker.ts'], format: 'esm', outfile: nodePath.join(tmp, 'worker.js') });
  cpSync(require.resolve('echarts/dist/echarts.min.js'), nodePath.join(tmp, 'echarts.min.js'));
  const ortDist = nodePath.dirname(require.resolve('onnxruntime-web/webgpu'));
  mkdirSync(nodePath.join(tmp, 'ort'));
  for (const f of ['ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm']) {
    cpSync(nodePath.join(ortDist, f), nodePath.join(tmp, 'ort', f));
  }
  const shared = process.env.TUNED_LENS_SHARED ?? nodePath.join(root, '..', 'shared');
  const modelDir = firstExisting('stories260K model', [nodePath.join(root, 'assets', 'stories260K'), nodePath.join(shared, 'models', 'stories260K')]);
  mkdirSync(nodePath.join(tmp, 'models', 'stories260K'), { recursive: true });
  for (const f of ['stories260K.bin', 'tok512.bin', 'LICENSE', 'README.md']) {
    if (existsSync(nodePath.join(modelDir, f))) cpSync(nodePath.join(modelDir, f), nodePath.join(tmp, 'models', 'stories260K', f));
  }
  const lensDir = firstExisting('stories260K lens', [nodePath.join(root, 'assets', 'stories260K', 'tuned-lens'), nodePath.join(shared, 'golden', 'reference-lens', 'lens')]);
  cpSync(lensDir, nodePath.join(tmp, 'lenses', 'stories260K'), { recursive: true });
  writeFileSync(nodePath.join(tmp, 'index.html'), viewerPageHtml({ build: 'web' }));
  // Threads in onnxruntime-web need SharedArrayBuffer, i.e. a cross-origin isolated page.
  writeFileSync(nodePath.join(tmp, '_headers'), '/*\n  Cross-Origin-Opener-Policy: same-origin\n  Cross-Origin-Embedder-Policy: require-corp\n');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(nodePath.dirname(outDir), { recursive: true });
  renameSync(tmp, outDir);
  return outDir;
}

const invokedDirectly = process.argv[1] && nodePath.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const out = await buildWeb(process.argv[2] ? nodePath.resolve(process.argv[2]) : undefined);
  console.log(`static viewer written to ${out}`);
}
