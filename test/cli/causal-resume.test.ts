/**
 * `tuned-lens causal-basis` resumes after an interruption: a run killed (SIGKILL, no chance to clean up)
 * once its first layer is checkpointed, then rerun with the same command, ends with the same
 * bases.safetensors as an uninterrupted run, and the layers finished before the kill are loaded, not
 * recomputed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliInProcess } from '../helpers/cli.js';
import { goldenPath, readGolden } from '../helpers/golden.js';
import { openSafetensors } from '../../src/formats/safetensors.js';
import { nodeFileSystem } from '../../src/node/file-system.js';

const dir = mkdtempSync(join(tmpdir(), 'tl-causal-resume-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const ids = readGolden<{ input_ids: number[][] }>('causal', 'ablate_layer.json').input_ids;
const data = join(dir, 'tokens.jsonl');
writeFileSync(data, ids.slice(0, 2).map((s) => JSON.stringify({ input_ids: s.slice(0, 64) })).join('\n') + '\n');
const LAYERS = [1, 2, 3];
const args = (out: string): string[] => ['causal-basis', '--lens', goldenPath('reference-lens', 'lens'), '--data', data, '--output', out, '--k', '2', '--layers', LAYERS.join(','), '--max-iter', '15'];

/** Starts the CLI as a child and SIGKILLs it as soon as its first layer checkpoint is complete. */
function runUntilFirstCheckpoint(out: string): Promise<string[]> {
  const partial = join(out, '.causal-basis-partial');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args(out)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let done: string[] | null = null;
    const poll = setInterval(() => {
      // The info file is written after the tensors: both present = a finished layer.
      const files = existsSync(partial) ? readdirSync(partial) : [];
      const finished = LAYERS.filter((l) => files.includes(`layer_${l}.safetensors`) && files.includes(`layer_${l}.json`));
      if (finished.length > 0 && !done) {
        done = finished.map(String);
        child.kill('SIGKILL');
      }
    }, 5);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      if (signal === 'SIGKILL' && done) resolve(done);
      else reject(new Error(`the run was not interrupted (exit ${code}, signal ${signal}): ${stderr.slice(-500)}`));
    });
  });
}

async function tensors(path: string): Promise<Map<string, Float32Array>> {
  const st = await openSafetensors(nodeFileSystem, path);
  try {
    const out = new Map<string, Float32Array>();
    for (const name of st.names().sort()) out.set(name, (await st.readFloat32(name)).data);
    return out;
  } finally {
    await st.close();
  }
}

test('causal-basis killed after a layer and rerun gives the bases of an uninterrupted run', { timeout: 120_000 }, async () => {
  const whole = join(dir, 'whole');
  const r = await runCliInProcess(args(whole));
  assert.equal(r.code, 0, r.stderr);

  const resumed = join(dir, 'resumed');
  const finished = await runUntilFirstCheckpoint(resumed);
  assert.ok(finished.length < LAYERS.length, `killed after layers ${finished.join(', ')}, before the end`);
  assert.ok(!existsSync(join(resumed, 'bases.safetensors')), 'the killed run wrote no final file');
  const firstInfo = JSON.parse(readFileSync(join(resumed, '.causal-basis-partial', `layer_${finished[0]}.json`), 'utf8')) as { seconds: number; evaluations: number; subspace_energy: number };

  const again = await runCliInProcess(args(resumed));
  assert.equal(again.code, 0, again.stderr);
  assert.ok(!existsSync(join(resumed, '.causal-basis-partial')), 'checkpoints are removed once finished');

  const a = await tensors(join(whole, 'bases.safetensors'));
  const b = await tensors(join(resumed, 'bases.safetensors'));
  assert.deepEqual([...b.keys()], [...a.keys()]);
  for (const [name, x] of a) {
    const y = b.get(name)!;
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
    assert.ok(worst <= 1e-6, `${name}: resumed differs from uninterrupted by ${worst}`);
  }
  // The layer finished before the kill was read back from its checkpoint (same time and evaluation count).
  const meta = JSON.parse(readFileSync(join(resumed, 'bases.json'), 'utf8')) as { layers: { layer: number; seconds: number; evaluations: number }[] };
  const first = meta.layers.find((l) => String(l.layer) === finished[0])!;
  assert.deepEqual({ seconds: first.seconds, evaluations: first.evaluations }, { seconds: firstInfo.seconds, evaluations: firstInfo.evaluations });
});
