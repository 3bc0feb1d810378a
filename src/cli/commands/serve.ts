/** `tuned-lens serve`: the browser viewer on a local HTTP server. */
import { existsSync } from 'node:fs';
import * as nodePath from 'node:path';
import type { Command } from 'commander';
import { sharedDataDir } from '../../hub/model-source.js';
import { DEFAULT_MODEL } from '../../node/load-model.js';
import { CliError, MODEL_OPTION_HELP, parsePositiveInt } from '../common.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`--port must be an integer from 0 to 65535, got "${v}"`);
  return n;
}

/**
 * Assigns `--lens` values to models. `MODEL=LENS` names the model (as given to --model); a bare LENS
 * belongs to the first model — the common case of one model and its lens needs no prefix.
 */
export function assignLenses(models: readonly string[], lensArgs: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const arg of lensArgs) {
    const eq = arg.indexOf('=');
    const named = eq > 0 && models.includes(arg.slice(0, eq));
    const model = named ? arg.slice(0, eq) : models[0]!;
    const lens = named ? arg.slice(eq + 1) : arg;
    if (lens === '') throw new CliError(`--lens "${arg}" names no lens`);
    (out[model] ??= []).push(lens);
  }
  return out;
}

/** The reference lens trained on stories260K, when the shared data is present (a dev checkout). */
function defaultStoriesLens(): string | null {
  const dir = nodePath.join(sharedDataDir(), 'golden', 'reference-lens', 'lens');
  return existsSync(nodePath.join(dir, 'config.json')) ? dir : null;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('start the browser viewer: type a prompt, pick model, lens and statistic, hover cells for the top-10, pin tokens, compare prompts, export figures')
    .option('-p, --port <port>', 'TCP port (0 picks a free one)', parsePort, 8080)
    .option('--host <host>', 'interface to bind; anything but loopback exposes the viewer to your network', '127.0.0.1')
    .option('-m, --model <model>', `${MODEL_OPTION_HELP}; repeat to offer several (default ${DEFAULT_MODEL})`, collect, [])
    .option('-l, --lens <lens>', 'tuned lens folder or pretrained id for the first model, or MODEL=LENS for another; repeatable', collect, [])
    .option('--max-tokens <n>', 'longest prompt accepted, in tokens (the model context length applies anyway)', parsePositiveInt('--max-tokens'))
    .action(async (opts: { port: number; host: string; model: string[]; lens: string[]; maxTokens?: number }) => {
      const models = opts.model.length > 0 ? opts.model : [DEFAULT_MODEL];
      const lenses = assignLenses(models, opts.lens);
      if (opts.lens.length === 0 && models.length === 1 && models[0] === DEFAULT_MODEL) {
        const ref = defaultStoriesLens();
        if (ref) lenses[DEFAULT_MODEL] = [ref];
      }
      // The viewer (and its figure code) loads only when serving, not at every CLI start.
      const { isLoopbackHost, startViewer } = await import('../../viewer/server.js');
      if (!isLoopbackHost(opts.host)) {
        process.stderr.write(
          `tuned-lens serve: warning: binding to ${opts.host}, not loopback: anyone who can reach this machine can use the viewer ` +
            `(and its CPU). Use --host 127.0.0.1 unless you mean it.\n`,
        );
      }
      let server;
      try {
        server = await startViewer({ port: opts.port, host: opts.host, models, lenses, ...(opts.maxTokens !== undefined ? { maxTokens: opts.maxTokens } : {}) });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new CliError(`port ${opts.port} is already in use on ${opts.host}; pick another with --port (0 = any free port)`);
        if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new CliError(`cannot bind to ${opts.host}: no such local address`);
        throw e;
      }
      const offered = models.map((m) => `${m}${lenses[m]?.length ? ` (tuned lens: ${lenses[m]!.join(', ')})` : ' (logit lens only)'}`);
      process.stdout.write(`tuned-lens viewer: ${server.url}\n  models: ${offered.join('; ')}\n  press Ctrl+C to stop\n`);
      // Run until interrupted; then close cleanly so the port is released at once.
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().finally(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
