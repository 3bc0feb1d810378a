/**
 * `npm run bench`: runs each case in its own process (so peak RSS is per case) and prints a table;
 * results also go to bench/out/results.json. `npm run bench -- forward train` runs a subset.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { CaseResult } from './cases/common.js';

const CASES = ['matmul', 'forward', 'train-stories', 'train-gpt2', 'eval-stories', 'eval-gpt2', 'trajectory', 'startup-stories', 'cbe-stories', 'cbe-gpt2', 'web'];
const wanted = process.argv.slice(2);
const selected = wanted.length ? CASES.filter((c) => wanted.some((w) => c.includes(w))) : CASES;

const results: CaseResult[] = [];
for (const c of selected) {
  process.stderr.write(`running ${c}…\n`);
  // Compiled children (`npm run bench` compiles first), as users run the package: no TypeScript loader in the
  // process (tsx adds ~45 MiB to peak RSS). The web case builds the site from the sources, so it runs on them.
  const child = c === 'web' ? ['--import', 'tsx', join(import.meta.dirname, 'child.ts')] : [join(import.meta.dirname, '..', 'dist', 'bench', 'child.js')];
  const r = spawnSync(process.execPath, ['--expose-gc', ...child, c], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    results.push({ name: c, error: `exit ${r.status}` });
    continue;
  }
  results.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as CaseResult);
}
const ceiling = results.find((r) => r.name === 'matmul ceiling')?.gflops as number | undefined;
for (const r of results) {
  if (ceiling && typeof r.gflops === 'number' && r.name !== 'matmul ceiling') r.fractionOfCeiling = r.gflops / ceiling;
  if (typeof r.peakRssMb === 'number' && typeof r.checkpointMb === 'number') r.rssOverCheckpoint = r.peakRssMb / r.checkpointMb;
}
mkdirSync(join(import.meta.dirname, 'out'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'out', 'results.json'), JSON.stringify({ date: new Date().toISOString(), cpus: cpus().length, cpu: cpus()[0]?.model, results }, null, 2));
const fmt = (v: unknown): string => (typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)) : String(v));
for (const r of results) {
  const { name, ...rest } = r;
  console.log(`${name}\n  ${Object.entries(rest).map(([k, v]) => `${k}=${fmt(v)}`).join('  ')}`);
}
