#!/usr/bin/env node
/** The `tuned-lens` command line. Each subcommand lives in commands/ and registers itself here. */
import { Command, CommanderError } from 'commander';
import { registerForward } from './commands/forward.js';
import { registerLens } from './commands/lens.js';
import { registerTrain } from './commands/train.js';
import { registerEval } from './commands/eval.js';
import { registerPlot } from './commands/plot.js';
import { registerServe } from './commands/serve.js';
import { registerLenses } from './commands/lenses.js';
import { registerCausalBasis } from './commands/causal-basis.js';
import { registerFidelity } from './commands/fidelity.js';
import { registerIterative } from './commands/iterative.js';
import { registerWeb } from './commands/web.js';
import { registerInjection } from './commands/injection.js';
import { registerDepth } from './commands/depth.js';
import { registerOverthinking } from './commands/overthinking.js';
import { registerDifficulty } from './commands/difficulty.js';
import { registerWeights } from './commands/weights.js';
import { registerGenerate } from './commands/generate.js';
import { registerSurgery } from './commands/surgery.js';
import { packageVersion } from '../node/provenance.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('tuned-lens')
    .description('Tuned lens and logit lens: see what every layer of a transformer predicts (models: stories260K by default, HF checkpoints, llama2.c files)')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError()
    .exitOverride();
  registerLens(program);
  registerForward(program);
  registerTrain(program);
  registerEval(program);
  registerPlot(program);
  registerServe(program);
  registerLenses(program);
  registerCausalBasis(program);
  registerFidelity(program);
  registerIterative(program);
  registerWeb(program);
  registerInjection(program);
  registerDepth(program);
  registerOverthinking(program);
  registerDifficulty(program);
  registerWeights(program);
  registerGenerate(program);
  registerSurgery(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : e.exitCode || 2;
    const msg = e instanceof Error ? (e.name === 'CliError' || !process.env.TUNED_LENS_DEBUG ? e.message : e.stack) : String(e);
    process.stderr.write(`tuned-lens: error: ${msg}\n`);
    return 1;
  }
}

/**
 * Exits with `code` once stdout and stderr have drained. A bare process.exit() drops whatever is still queued
 * for a pipe (`forward --json | wc -c` lost everything past the 64 KiB pipe buffer); exiting (rather than just
 * setting process.exitCode) keeps a stray timer or socket from holding the process open.
 */
export function exitAfterFlush(code: number): void {
  process.exitCode = code;
  // A reader that went away (`| head`) makes further writes fail with EPIPE: that is not our error.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => process.exit(code));
  let pending = 2;
  const flushed = (): void => {
    if (--pending === 0) process.exit(code);
  };
  // A write's callback runs after every earlier write on the stream has been handed to the OS.
  process.stdout.write('', flushed);
  process.stderr.write('', flushed);
}

/** The `tuned-lens` executable: run the command, then exit once the output is out. */
export async function runAsProcess(argv: string[]): Promise<void> {
  exitAfterFlush(await main(argv));
}

const isEntry = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) void runAsProcess(process.argv.slice(2));
