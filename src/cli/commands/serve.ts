/** `tuned-lens serve`: the browser viewer on a local HTTP server. */
import { Option, type Command } from 'commander';
import { bundledLensFor } from '../../hub/lens-source.js';
import type { TunedLens } from '../../lens/lens.js';
import type { LanguageModel } from '../../models/language-model.js';
import { DEFAULT_MODEL } from '../../node/load-model.js';
import { CliError, loadModelForCli, MODEL_OPTION_HELP, parsePositiveInt } from '../common.js';
import { loadLensForCli } from '../lens-loading.js';
import { readCausalBases, type CausalBases } from '../../causal/bases-file.js';
import { nodeFileSystem } from '../../node/file-system.js';
import { sha256Path } from '../../node/provenance.js';

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

/** Whether the model can turn typed text into ids (a folder without tokenizer.json cannot). */
function encodesText(model: LanguageModel): boolean {
  try {
    model.encode('a');
    return true;
  } catch {
    return false;
  }
}

interface Preloaded {
  models: string[];
  lenses: Record<string, string[]>;
  loaded: Map<string, { model: LanguageModel; lenses: Map<string, TunedLens>; bases?: CausalBases }>;
}

/**
 * Reads and checks `--bases DIR` for a model (hidden size, layers, tensors; a tuned-lens basis needs a tuned
 * lens for the model). A basis extracted with another lens than the ones served is allowed (the ablation
 * happens inside the model; the energies and token lists are the other lens's) but is pointed out.
 */
async function preloadBases(spec: string, dir: string, model: LanguageModel, lensSpecs: readonly string[]): Promise<CausalBases> {
  let bases: CausalBases;
  try {
    bases = await readCausalBases(nodeFileSystem, dir, { name: model.name, dModel: model.config.dModel, nLayers: model.nLayers });
  } catch (e) {
    throw new CliError(`--bases ${dir} (for ${spec}): ${(e as Error).message}`, { cause: e });
  }
  if (bases.lensKind === 'tuned') {
    if (lensSpecs.length === 0) throw new CliError(`--bases ${dir}: the bases were extracted for a tuned lens, but ${spec} is served without one; give it with --lens`);
    const want = bases.lens?.sha256;
    if (want) {
      const have = await Promise.all(lensSpecs.map((l) => sha256Path(l).catch(() => null)));
      if (!have.includes(want)) {
        process.stderr.write(`tuned-lens serve: note: the bases in ${dir} were extracted with the tuned lens ${bases.lens!.spec}, which is not among the lenses served for ${spec}; their energies and token lists are that lens's\n`);
      }
    }
  }
  return bases;
}

/**
 * Loads and checks every model and lens before the server starts, so a wrong path fails now and not on the
 * first request. Models that cannot tokenize text are left out (the page takes text), with a note.
 */
async function preload(models: readonly string[], lenses: Record<string, string[]>, bases: Record<string, string>): Promise<Preloaded> {
  const out: Preloaded = { models: [], lenses: {}, loaded: new Map() };
  for (const spec of models) {
    let model: LanguageModel;
    try {
      model = await loadModelForCli(spec);
    } catch (e) {
      throw new CliError(`--model ${spec}: ${(e as Error).message}`, { cause: e });
    }
    if (!encodesText(model)) {
      process.stderr.write(`tuned-lens serve: note: leaving out ${spec}: it has no tokenizer (tokenizer.json), and the viewer takes typed text\n`);
      continue;
    }
    const loadedLenses = new Map<string, TunedLens>();
    for (const l of lenses[spec] ?? []) {
      try {
        loadedLenses.set(l, await loadLensForCli(model, l));
      } catch (e) {
        throw new CliError(`--lens ${l} (for ${spec}): ${(e as Error).message}`, { cause: e });
      }
    }
    out.models.push(spec);
    if (lenses[spec]) out.lenses[spec] = lenses[spec]!;
    const basesDir = bases[spec];
    out.loaded.set(spec, { model, lenses: loadedLenses, ...(basesDir ? { bases: await preloadBases(spec, basesDir, model, lenses[spec] ?? []) } : {}) });
  }
  if (out.models.length === 0) throw new CliError('no model is left to serve: every --model lacks a tokenizer');
  return out;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('start the browser viewer: type a prompt, pick model, lens and statistic, hover cells for the top-10, pin tokens, compare prompts, export figures')
    .option('-p, --port <port>', 'TCP port (0 picks a free one)', parsePort, 8080)
    .option('--host <host>', 'interface to bind; anything but loopback exposes the viewer to your network', '127.0.0.1')
    // Repeatable options collect into an array that starts empty; the help shows what an empty one means.
    .addOption(new Option('-m, --model <model>', `${MODEL_OPTION_HELP}; repeat to offer several`).argParser(collect).default([], DEFAULT_MODEL))
    .addOption(
      new Option('-l, --lens <lens>', 'tuned lens folder or pretrained id for the first model, or MODEL=LENS for another; repeatable')
        .argParser(collect)
        .default([], `the lens shipped for the model, if any (${DEFAULT_MODEL} has one)`),
    )
    .addOption(
      new Option('--bases <dir>', 'a causal-basis output folder (tuned-lens causal-basis) for the first model, or MODEL=DIR: adds the causal basis panel; repeatable')
        .argParser(collect)
        .default([], 'none'),
    )
    .option('--max-tokens <n>', 'longest prompt accepted, in tokens (the model context length applies anyway)', parsePositiveInt('--max-tokens'))
    .addOption(new Option('--allow-host <name>', 'also accept this name in the Host header (e.g. the DNS name of this machine); repeatable').argParser(collect).default([], 'none'))
    .action(async (opts: { port: number; host: string; model: string[]; lens: string[]; bases: string[]; maxTokens?: number; allowHost: string[] }) => {
      const models = opts.model.length > 0 ? opts.model : [DEFAULT_MODEL];
      const lenses = assignLenses(models, opts.lens);
      // A model without a --lens gets the tuned lens shipped for it, if the package has one.
      for (const m of models) {
        const shipped = lenses[m] ? null : bundledLensFor(m);
        if (shipped) lenses[m] = [shipped];
      }
      // The viewer (and its figure code) loads only when serving, not at every CLI start.
      const { isLoopbackHost, startViewer } = await import('../../viewer/server.js');
      if (!isLoopbackHost(opts.host)) {
        process.stderr.write(
          `tuned-lens serve: warning: binding to ${opts.host}, not loopback: anyone who can reach this machine can use the viewer ` +
            `(and its CPU). Use --host 127.0.0.1 unless you mean it.\n`,
        );
      }
      const bases: Record<string, string> = {};
      for (const [m, dirs] of Object.entries(assignLenses(models, opts.bases))) {
        if (dirs.length > 1) throw new CliError(`--bases: one causal-basis folder per model, got ${dirs.length} for ${m}`);
        bases[m] = dirs[0]!;
      }
      const ready = await preload(models, lenses, bases);
      const loaders = {
        loadModel: async (spec: string) => ready.loaded.get(spec)!.model,
        loadLens: async (model: LanguageModel, spec: string) => {
          const lens = [...ready.loaded.values()].find((e) => e.model === model)?.lenses.get(spec);
          if (!lens) throw new Error(`lens ${spec} was not loaded at startup`);
          return lens;
        },
        loadBases: async (model: LanguageModel) => {
          const b = [...ready.loaded.values()].find((e) => e.model === model)?.bases;
          if (!b) throw new Error('no causal basis was loaded at startup for this model');
          return b;
        },
      };
      let server;
      try {
        server = await startViewer({
          port: opts.port,
          host: opts.host,
          models: ready.models,
          lenses: ready.lenses,
          bases: Object.fromEntries(Object.entries(bases).filter(([m]) => ready.models.includes(m))),
          loaders,
          allowHosts: opts.allowHost,
          ...(opts.maxTokens !== undefined ? { maxTokens: opts.maxTokens } : {}),
        });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new CliError(`port ${opts.port} is already in use on ${opts.host}; pick another with --port (0 = any free port)`);
        if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new CliError(`cannot bind to ${opts.host}: no such local address`);
        throw e;
      }
      const offered = ready.models.map((m) => `${m}${lenses[m]?.length ? ` (tuned lens: ${lenses[m]!.join(', ')})` : ' (logit lens only)'}${bases[m] ? ` (causal basis: ${bases[m]})` : ''}`);
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
