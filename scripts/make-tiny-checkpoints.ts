/**
 * Trains a tiny Llama-style model (2 layers, d = 32, 4 heads, FFN 96, the stories260K tokenizer's 512 tokens,
 * 64-token windows) on ../shared/corpora/tinystories_sample.txt with the project's own autodiff and a seeded
 * Adam, and saves checkpoints along training as legacy llama2.c `.bin` files with `tok512.bin` beside them:
 * an honest checkpoint series for `tuned-lens difficulty` (paper Table 2).
 *
 *   node --import tsx scripts/make-tiny-checkpoints.ts [outDir=data/checkpoints-tiny]
 *
 * Weights go through the project's own llama2.c reader: the random initial file is written in llama2.c
 * layout and loaded; a probe file whose values are their own offsets gives the map from the loader's
 * canonical tensors back to file offsets (RoPE row permutation and transposes included), so every saved
 * checkpoint is written in file layout and re-read exactly (checked after saving).
 */
import { copyFileSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as op from '../src/graph/ops.js';
import { gradients } from '../src/graph/autodiff.js';
import type { Value } from '../src/graph/graph.js';
import { nodeFileSystem } from '../src/node/file-system.js';
import { defaultRuntime } from '../src/node/runtime.js';
import { loadModelFrom } from '../src/models/load-model.js';
import { Optimizer } from '../src/train/optimizer.js';

const OUT = process.argv[2] ?? 'data/checkpoints-tiny';
const SEED = 1234;
const DIM = 32, HIDDEN = 96, LAYERS = 2, HEADS = 4, VOCAB = 512, SEQ = 64;
const BATCH = 16;
const STEPS = Number(process.env.TINY_STEPS ?? 800);
const SAVE_AT = [0, 50, 100, 200, 400, STEPS].filter((s, i, a) => s <= STEPS && a.indexOf(s) === i);
const LR = 3e-3;
const TOKENIZER = '../shared/models/stories260K/tok512.bin';

/** mulberry32: a small seeded generator. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Legacy llama2.c layout (unshared classifier): tensor kinds in file order with their sizes and init scale. */
function fileLayout(): { size: number; std: number; ones: boolean }[] {
  const hd = DIM / HEADS;
  const L = LAYERS;
  const w = 0.02;
  return [
    { size: VOCAB * DIM, std: w, ones: false }, // token embedding
    { size: L * DIM, std: 0, ones: true }, // rms_att
    { size: L * DIM * DIM, std: w, ones: false }, // wq
    { size: L * DIM * DIM, std: w, ones: false }, // wk
    { size: L * DIM * DIM, std: w, ones: false }, // wv
    { size: L * DIM * DIM, std: w / Math.sqrt(2 * L), ones: false }, // wo
    { size: L * DIM, std: 0, ones: true }, // rms_ffn
    { size: L * HIDDEN * DIM, std: w, ones: false }, // w1
    { size: L * DIM * HIDDEN, std: w / Math.sqrt(2 * L), ones: false }, // w2
    { size: L * HIDDEN * DIM, std: w, ones: false }, // w3
    { size: DIM, std: 0, ones: true }, // rms_final
    { size: 2 * SEQ * (hd / 2), std: 0, ones: false }, // freq_cis_real, freq_cis_imag (unused by readers that recompute RoPE)
    { size: VOCAB * DIM, std: w, ones: false }, // wcls
  ];
}

function writeBin(path: string, body: Float32Array): void {
  const header = new Int32Array([DIM, HIDDEN, LAYERS, HEADS, HEADS, -VOCAB, SEQ]); // negative vocab: unshared classifier
  const bytes = new Uint8Array(28 + body.byteLength);
  bytes.set(new Uint8Array(header.buffer), 0);
  bytes.set(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), 28);
  writeFileSync(path, bytes);
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  copyFileSync(TOKENIZER, join(OUT, 'tok512.bin'));
  const layout = fileLayout();
  const total = layout.reduce((s, t) => s + t.size, 0);
  const runtime = defaultRuntime();
  const load = (path: string) => loadModelFrom(nodeFileSystem, { kind: 'llama2c', checkpoint: path, tokenizer: join(OUT, 'tok512.bin') }, runtime, path);

  // Probe: file element k holds k, so the loaded canonical tensors say where each of their elements lives.
  const probePath = join(OUT, '.probe.bin');
  writeBin(probePath, Float32Array.from({ length: total }, (_, k) => k));
  const probe = await load(probePath);
  unlinkSync(probePath);
  const where = new Map<string, Int32Array>();
  for (const [name, t] of probe.weights) where.set(name, Int32Array.from(t.data, (x) => x));

  // Random initial weights (seeded normal via Box-Muller), written and loaded through the reader.
  const r = rng(SEED);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const init = new Float32Array(total);
  let at = 0;
  for (const t of layout) {
    for (let j = 0; j < t.size; j++) init[at + j] = t.ones ? 1 : t.std * normal();
    at += t.size;
  }
  const initPath = join(OUT, '.init.bin');
  writeBin(initPath, init);
  const model = await load(initPath);
  unlinkSync(initPath);

  const save = async (step: number): Promise<string> => {
    const body = new Float32Array(total);
    for (const [name, t] of model.weights) {
      const idx = where.get(name)!;
      for (let j = 0; j < idx.length; j++) body[idx[j]!] = t.data[j]!;
    }
    const path = join(OUT, `step${String(step).padStart(4, '0')}.bin`);
    writeBin(path, body);
    const back = await load(path);
    for (const [name, t] of model.weights) {
      const b = back.weights.get(name)!.data;
      for (let j = 0; j < b.length; j++) if (b[j] !== t.data[j]) throw new Error(`${path}: ${name}[${j}] does not round-trip`);
    }
    return path;
  };

  // Training data: the corpus tokenized once, random 65-token windows (input 64 + next token).
  const ids = model.encode(readFileSync('../shared/corpora/tinystories_sample.txt', 'utf8'));
  const window = () => {
    const s = Math.floor(r() * (ids.length - SEQ - 1));
    return ids.slice(s, s + SEQ + 1);
  };
  const shape = { ids: Array.from({ length: BATCH }, () => new Array(SEQ).fill(0)) };
  const mg = model.buildGraph(shape);
  const names = [...model.weights.keys()];
  const params = names.map((n) => mg.weights.get(n));
  const next = mg.g.input('next_ids', 'int64', [BATCH, SEQ]);
  const loss = op.reduceMean(op.neg(op.gatherLast(op.logSoftmax(mg.forward.logits), next)), [0, 1]);
  const grads = gradients(loss, params);
  const outputs: Record<string, Value> = { loss };
  grads.forEach((g, k) => (outputs[`grad:${names[k]}`] = g));
  const compiled = await runtime.compile(outputs);
  const opt = new Optimizer({ kind: 'adam', lrScale: LR / 1e-3, momentum: 0, weightDecay: 0 }, names.map((n) => model.weights.get(n)!.data));

  const curve: { step: number; loss: number }[] = [];
  const saved: string[] = [];
  const t0 = Date.now();
  let running = 0;
  for (let step = 0; step <= STEPS; step++) {
    if (SAVE_AT.includes(step)) saved.push(await save(step));
    if (step === STEPS) break;
    const rows = Array.from({ length: BATCH }, window);
    const batch = { ids: rows.map((w) => w.slice(0, SEQ)) };
    const out = await compiled.run({ ...mg.weights.feeds(), ...model.batchFeeds(batch), next_ids: BigInt64Array.from(rows.flatMap((w) => w.slice(1)), (v) => BigInt(v)) });
    const l = (out.loss!.data as Float32Array)[0]!;
    running += l;
    if ((step + 1) % 25 === 0) {
      curve.push({ step: step + 1, loss: running / 25 });
      process.stderr.write(`step ${step + 1}: mean loss over last 25 steps ${(running / 25).toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
      running = 0;
    }
    opt.step(names.map((n) => out[`grad:${n}`]!.data as Float32Array), LR);
  }
  writeFileSync(join(OUT, 'training.json'), JSON.stringify({ seed: SEED, steps: STEPS, batch: BATCH, seq: SEQ, lr: LR, optimizer: 'adam (amsgrad, betas 0.9/0.999)', config: { dim: DIM, hidden: HIDDEN, layers: LAYERS, heads: HEADS, vocab: VOCAB }, saved, loss_curve: curve, seconds: (Date.now() - t0) / 1000 }, null, 2) + '\n');
  process.stdout.write(`saved ${saved.join(', ')}\n`);
}

await main();
