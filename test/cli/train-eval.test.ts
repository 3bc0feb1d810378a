/** `tuned-lens train` and `eval` through the command line: outputs, resume after SIGKILL, divergence. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeFileSystem } from '../../src/node/file-system.js';
import { readLensFolder } from '../../src/lens/lens-files.js';
import { runCli } from '../helpers/cli.js';
import { readGolden } from '../helpers/golden.js';

const dir = mkdtempSync(join(tmpdir(), 'tl-cli-'));
const data = readGolden<{ train_chunks_in_order: number[][]; eval_chunks: number[][] }>('reference-lens', 'data_chunks.json');
const trainJsonl = join(dir, 'train.jsonl');
const evalJsonl = join(dir, 'eval.jsonl');
writeFileSync(trainJsonl, data.train_chunks_in_order.slice(0, 60).map((c) => JSON.stringify({ input_ids: c })).join('\n'));
writeFileSync(evalJsonl, data.eval_chunks.slice(0, 8).map((c) => JSON.stringify({ input_ids: c })).join('\n'));
const small = ['--model', 'stories260K', '--data', trainJsonl, '--num-steps', '20', '--tokens-per-step', '768', '--seq-len', '256', '--no-shuffle'];

test('train writes config.json, params.safetensors and params.pt that read back identically; eval writes the metrics files', async () => {
  const out = join(dir, 'lens');
  const r = await runCli(['train', ...small, '--output', out]);
  assert.equal(r.code, 0, r.stderr);
  const viaSafetensors = await readLensFolder(nodeFileSystem, out);
  assert.equal(viaSafetensors.config.num_hidden_layers, 5);
  assert.equal(viaSafetensors.config.d_model, 64);
  assert.ok(viaSafetensors.translators[0]!.weight.data.some((x) => x !== 0), 'the lens was trained');
  const log = readFileSync(join(out, 'train_log.jsonl'), 'utf8').trim().split('\n');
  assert.equal(log.length, 20);
  assert.ok(!existsSync(join(out, 'checkpoints')), 'snapshots are removed after a finished run');

  const ev = await runCli(['eval', '--model', 'stories260K', '--data', evalJsonl, '--lens', out, '--output', join(dir, 'eval')]);
  assert.equal(ev.code, 0, ev.stderr);
  const nats = JSON.parse(readFileSync(join(dir, 'eval', 'aggregate_metrics_nats.json'), 'utf8'));
  assert.deepEqual(Object.keys(nats), ['logit', 'tuned', 'baseline']);
  assert.ok(nats.tuned.kl.layer_0 < nats.logit.kl.layer_0, 'even 20 steps of training beat the logit lens at layer 0');
  // Pre-tokenized data has no byte count, so no bits-per-byte file.
  assert.ok(!existsSync(join(dir, 'eval', 'aggregate_metrics.json')));
});

test('eval on text writes aggregate_metrics.json in bits per byte', async () => {
  const text = readFileSync(join(process.env.TUNED_LENS_SHARED ?? '../shared', 'corpora', 'tinystories_sample.txt'), 'utf8').slice(0, 20000);
  const file = join(dir, 'stories.txt');
  writeFileSync(file, text);
  const r = await runCli(['eval', '--model', 'stories260K', '--data', file, '--seq-len', '128', '--output', join(dir, 'eval-text')]);
  assert.equal(r.code, 0, r.stderr);
  const bpb = JSON.parse(readFileSync(join(dir, 'eval-text', 'aggregate_metrics.json'), 'utf8'));
  const nats = JSON.parse(readFileSync(join(dir, 'eval-text', 'aggregate_metrics_nats.json'), 'utf8'));
  const info = JSON.parse(readFileSync(join(dir, 'eval-text', 'eval_info.json'), 'utf8'));
  assert.ok(info.nats_to_bpb > 0.4 && info.nats_to_bpb < 1.2);
  assert.ok(Math.abs(bpb.baseline.ce.final - nats.baseline.ce.final * info.nats_to_bpb) < 1e-12);
});

test('a training run killed with SIGKILL and restarted ends with the same lens as an uninterrupted one', async () => {
  const straight = join(dir, 'straight');
  assert.equal((await runCli(['train', ...small, '--output', straight, '--checkpoint-every', '5'])).code, 0);

  const killed = join(dir, 'killed');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', ...small, '--output', killed, '--checkpoint-every', '5'], { stdio: 'ignore' });
  const snapshot = join(killed, 'checkpoints', 'snapshot.safetensors');
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (existsSync(snapshot)) {
        clearInterval(timer);
        child.kill('SIGKILL');
        resolve();
      }
    }, 20);
    child.on('exit', () => {
      clearInterval(timer);
      reject(new Error('the run finished before it could be killed'));
    });
  });
  await new Promise((r) => child.once('exit', r));
  assert.ok(!existsSync(join(killed, 'params.safetensors')), 'nothing final was written by the killed run');
  const resumed = await runCli(['train', ...small, '--output', killed, '--checkpoint-every', '5']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(readFileSync(join(killed, 'params.safetensors')), readFileSync(join(straight, 'params.safetensors')));
  assert.equal(resumed.stderr.match(/resuming from step \d+/g)?.length, 1, resumed.stderr);
  const steps = readFileSync(join(killed, 'train_log.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
  // Every step at most once, in order (a step whose log line the kill cut off cannot be recovered).
  assert.ok(steps.every((st, i) => i === 0 || st > steps[i - 1]!), `no repeated steps: ${steps.join(',')}`);
  assert.equal(steps.at(-1), 19);
  assert.ok(steps.length >= 19);
  assert.deepEqual((await import('node:fs')).readdirSync(killed).sort(), ['config.json', 'params.pt', 'params.safetensors', 'train_log.jsonl']);
});

test('a diverging run stops with a clear message and writes no lens', async () => {
  const out = join(dir, 'diverged');
  const r = await runCli(['train', ...small, '--output', out, '--lr-scale', '1e38', '--weight-decay', '1e38']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /training diverged at step \d+/);
  assert.ok(!existsSync(out), 'a failed run leaves no folder it created');
});

test('too little data says how much is needed and which flags fit, before creating the output folder', async () => {
  const out = join(dir, 'x');
  const r = await runCli(['train', ...small.slice(0, -5), '--num-steps', '100', '--tokens-per-step', '768', '--seq-len', '256', '--output', out]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /gives 60 sequences of 256 tokens .* need 300 sequences \(76800 tokens\)/);
  assert.match(r.stderr, /"--num-steps 20"/);
  assert.ok(!existsSync(out), 'no empty output folder');
});

test('a collapsed lens (--lr-scale 1e30 --optimizer adam) is reported and not written', async () => {
  const out = join(dir, 'collapsed');
  const r = await runCli(['train', ...small, '--output', out, '--lr-scale', '1e30', '--optimizer', 'adam', '--checkpoint-every', '0']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /the lens collapsed: all 5 layers end with the same loss/);
  assert.ok(!existsSync(out), 'no output folder');
});
