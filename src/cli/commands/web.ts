/**
 * `tuned-lens web --out DIR [--serve]`: writes the static web viewer (built by `npm run build:web`, shipped
 * in the package as dist/web) to a folder you can host on any static file server; `--serve` also serves it
 * on loopback with the cross-origin isolation headers that let onnxruntime-web use threads.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import * as nodePath from 'node:path';
import type { Command } from 'commander';
import { packageRoot } from '../../hub/model-source.js';
import { serveStatic } from '../../node/static-server.js';
import { CliError, parsePositiveInt } from '../common.js';

export function webBuildDir(): string {
  return nodePath.join(packageRoot(), 'dist', 'web');
}

export function writeWebSite(out: string, force = false): string {
  const src = webBuildDir();
  if (!existsSync(nodePath.join(src, 'index.html'))) {
    throw new CliError(`the static viewer is not built (${src} has no index.html): run \`npm run build:web\` in the package folder`);
  }
  const dest = nodePath.resolve(out);
  if (existsSync(dest) && readdirSync(dest).length > 0 && !force) throw new CliError(`${dest} exists and is not empty: choose another --out, or pass --force to replace it`);
  const tmp = `${dest}.tmp-${process.pid}`;
  try {
    mkdirSync(nodePath.dirname(dest), { recursive: true });
    cpSync(src, tmp, { recursive: true });
    rmSync(dest, { recursive: true, force: true });
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw new CliError(`cannot write the web viewer to ${dest}: ${(e as Error).message}`);
  }
  return dest;
}

export function registerWeb(program: Command): void {
  program
    .command('web')
    .description('write the static web viewer (runs models in the browser with onnxruntime-web: no server needed) to a folder; --serve also serves it on loopback')
    .requiredOption('--out <dir>', 'folder to write (index.html, app.js, worker.js, ort/, the built-in stories260K and its lens)')
    .option('--force', 'replace the folder if it exists')
    .option('--serve', 'serve the folder on 127.0.0.1 with cross-origin isolation (WASM threads) until interrupted')
    .option('--port <n>', 'port for --serve (default: any free port)', parsePositiveInt('--port'))
    .action(async (opts: { out: string; force?: boolean; serve?: boolean; port?: number }) => {
      const dest = writeWebSite(opts.out, opts.force);
      process.stdout.write(`static viewer written to ${dest}\n`);
      if (!opts.serve) {
        process.stdout.write(
          'Serve it with any static file server (a page opened from file:// cannot start its worker). For WASM threads, send\n' +
            '  Cross-Origin-Opener-Policy: same-origin\n  Cross-Origin-Embedder-Policy: require-corp\n' +
            `(a _headers file for Netlify/Cloudflare Pages is included), or run: tuned-lens web --out ${opts.out} --force --serve\n`,
        );
        return;
      }
      const server = await serveStatic(dest, { isolated: true, ...(opts.port ? { port: opts.port } : {}) });
      process.stdout.write(`serving ${dest} at ${server.url} (Ctrl+C to stop)\n`);
      await new Promise<void>((resolve) => process.once('SIGINT', resolve));
      await server.close();
    });
}
