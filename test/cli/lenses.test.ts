/** `tuned-lens lenses` lists the lens folders of the lens Space (a fake Hub on loopback here). */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { startFakeHub, tempDir, writeRepo } from '../hub/fake-hub.js';
import { runCli } from '../helpers/cli.js';

const temps: string[] = [];
after(async () => {
  for (const d of temps) await fsp.rm(d, { recursive: true, force: true });
});

test('lists lenses that have both config.json and params.pt; an unreachable Hub is a clear error', async () => {
  const root = await tempDir('lens-hub');
  const cache = await tempDir('lens-cache');
  temps.push(root, cache);
  await writeRepo(root, 'space', 'AlignmentResearch/tuned-lens', {
    'lens/gpt2/config.json': '{}',
    'lens/gpt2/params.pt': 'x',
    'lens/EleutherAI/pythia-160m-deduped/config.json': '{}',
    'lens/EleutherAI/pythia-160m-deduped/params.pt': 'x',
    'lens/half/config.json': '{}',
  });
  const hub = await startFakeHub(root);
  try {
    const r = await runCli(['lenses'], { HF_ENDPOINT: hub.url, TUNED_LENS_CACHE: cache, HF_HUB_CACHE: cache });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['EleutherAI/pythia-160m-deduped', 'gpt2']);
  } finally {
    await hub.close();
  }
  const down = await runCli(['lenses'], { HF_ENDPOINT: hub.url, TUNED_LENS_CACHE: cache, HF_HUB_CACHE: cache });
  assert.notEqual(down.code, 0);
  assert.match(down.stderr, /Could not reach/);
});
