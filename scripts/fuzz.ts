/**
 * The long fuzz run: `npm run fuzz -- --n 100000 [--seed 1] [--seconds 1800] [--out findings/]`. Mutated inputs go
 * through every file parser (see test/fuzz/harness.ts); findings (crashes, errors that name no file, hangs, memory
 * blow-ups) are printed and, with --out, written as files to replay. Exit code 1 when anything was found.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runFuzz } from '../test/fuzz/harness.js';

const { values } = parseArgs({
  options: { n: { type: 'string', default: '100000' }, seed: { type: 'string', default: '1' }, seconds: { type: 'string' }, out: { type: 'string' } },
});
const n = Number(values.n);
const seed = Number(values.seed);
if (!Number.isInteger(n) || n < 1 || !Number.isInteger(seed)) throw new Error('--n and --seed must be integers');

const report = await runFuzz({
  n,
  seed,
  ...(values.seconds ? { maxSeconds: Number(values.seconds) } : {}),
  onProgress: (done, found) => process.stderr.write(`\rfuzz: ${done}/${n} inputs, ${found} findings`),
});
process.stderr.write('\n');
const kinds: Record<string, number> = {};
for (const f of report.findings) kinds[`${f.target}: ${f.kind}`] = (kinds[`${f.target}: ${f.kind}`] ?? 0) + 1;
console.log(JSON.stringify({ inputs: report.inputs, seconds: report.seconds, seed, loaded: report.loaded, refused_with_clear_error: report.refused - report.findings.filter((f) => f.kind !== 'hang' && f.kind !== 'memory').length, per_target: report.perTarget, findings: kinds }, null, 2));
const seen = new Set<string>();
for (const f of report.findings) {
  const key = `${f.target}|${f.kind}|${f.message.split('\n')[0]!.replace(/\d+/g, 'N')}`;
  if (seen.has(key)) continue;
  seen.add(key);
  console.log(`\n[${f.target}] ${f.kind} at input ${f.input}: ${f.message.split('\n').slice(0, 4).join('\n')}`);
}
if (values.out) {
  mkdirSync(values.out, { recursive: true });
  for (const f of report.findings) writeFileSync(join(values.out, `${f.target.replace(/[^a-z0-9.]+/gi, '-')}-${f.input}-${f.kind}.bin`), f.bytes);
}
process.exitCode = report.findings.length ? 1 : 0;
