/** Output written to a pipe is complete even when the reader is slower than the command (issue 7, item 1). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

/** Runs the CLI with stdout on a pipe read slowly (a pause after each chunk), as a slow consumer (`| python3 ...`) does. */
function runWithSlowReader(args: string[], pauseMs: number): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      chunks.push(d);
      // While we pause, the pipe (64 KiB) fills and the rest waits in the child: it must not exit before it is out.
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), pauseMs);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(chunks), stderr }));
  });
}

test('forward --json through a stalled pipe: all of a >200 KB document arrives and parses', async () => {
  const text = 'Once upon a time, there was a little girl named Lily. She liked to play with her ball in the park.';
  const r = await runWithSlowReader(['forward', text, '--json'], 50);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.length > 200_000, `expected more than 200 KB, got ${r.stdout.length} bytes`);
  const out = JSON.parse(r.stdout.toString()) as { input_ids: number[]; logits: number[][]; hidden_states: unknown[] };
  assert.equal(out.logits.length, out.input_ids.length);
  assert.equal(out.hidden_states.length, 6);
});
