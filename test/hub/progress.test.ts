import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { cliDownloadProgress } from '../../src/hub/progress.js';

function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const s = new PassThrough();
  let out = '';
  s.on('data', (c: Buffer) => (out += c.toString()));
  Object.assign(s, { isTTY, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return { stream: s as unknown as NodeJS.WriteStream, text: () => out };
}

test('without a TTY: exactly one line per file', async () => {
  const { stream, text } = fakeStream(false);
  const p = cliDownloadProgress({ stream });
  for (const [d, t, f] of [[0, 2048, 'a.bin'], [1024, 2048, 'a.bin'], [2048, 2048, 'a.bin'], [0, undefined, 'b.json'], [5, undefined, 'b.json'], [5, 5, 'b.json']] as const) {
    p(d, t, f);
  }
  await new Promise((r) => setImmediate(r));
  assert.equal(text(), 'Downloading a.bin (2.0 KiB)\nDownloading b.json\n');
});

test('with a TTY: draws a bar and stops it when the file is complete', async () => {
  const { stream, text } = fakeStream(true);
  const p = cliDownloadProgress({ stream });
  p(0, 4096, 'w.safetensors');
  p(4096, 4096, 'w.safetensors');
  p.stop();
  await new Promise((r) => setImmediate(r));
  assert.match(text(), /w\.safetensors \[.*\] 100% \| 4\.0 KiB \/ 4\.0 KiB/);
});
