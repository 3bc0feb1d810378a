/** A bounded fuzz run in every `npm test` (fixed seed, ~2,000 inputs); `npm run fuzz` runs the long one. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz } from './harness.js';

test('2,000 mutated files through every parser: only clear errors naming the file, no crash, hang or blow-up', async () => {
  const report = await runFuzz({ n: 2000, seed: 20261130, timeoutMs: 10_000 });
  assert.equal(report.inputs, 2000);
  // Every target ran, and the mutations are not all trivially rejected or all harmless.
  assert.equal(Object.keys(report.perTarget).length, 7);
  assert.ok(report.loaded > 50 && report.refused > 500, `loaded ${report.loaded}, refused ${report.refused}`);
  const summary = report.findings.slice(0, 5).map((f) => `[${f.target} #${f.input}] ${f.kind}: ${f.message.split('\n')[0]}`);
  assert.deepEqual(summary, []);
});
