/**
 * Where the project's shared data (models, golden numbers, corpora) lives: `$TUNED_LENS_SHARED`, else
 * `../shared` relative to the repository root (the working directory of tests and CI).
 */
export function sharedDir(env: Record<string, string | undefined> = globalThis.process?.env ?? {}): string {
  return env.TUNED_LENS_SHARED ?? '../shared';
}
