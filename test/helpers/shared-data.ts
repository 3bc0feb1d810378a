/**
 * Where the project's shared test data (models, golden numbers, corpora) lives: `$TUNED_LENS_SHARED`, else
 * `../shared` relative to the repository root (the working directory of tests and CI). Tests and benchmarks
 * only: the package itself never reads it.
 */
import * as nodePath from 'node:path';
import { packageRoot } from '../../src/hub/model-source.js';

export function sharedDir(env: Record<string, string | undefined> = globalThis.process?.env ?? {}): string {
  return env.TUNED_LENS_SHARED ?? '../shared';
}

/** `sharedDir()` as an absolute path: `$TUNED_LENS_SHARED` relative to the working directory, the default relative to the repository root. */
export function sharedDataDir(env: Record<string, string | undefined> = globalThis.process?.env ?? {}): string {
  if (env.TUNED_LENS_SHARED) return nodePath.resolve(env.TUNED_LENS_SHARED);
  return nodePath.resolve(packageRoot(), sharedDir(env));
}
