/**
 * The tuned-lens training loop: the reference recipe (KL(final ‖ lens), SGD Nesterov, weight decay,
 * linear decay, one global grad-norm clip) with every knob exposed, checkpoints that resume exactly,
 * and NaN/Inf detection that stops before anything broken is written.
 */
import type { FileSystem } from '../io/file-system.js';
import { openSafetensors, serializeSafetensors } from '../formats/safetensors.js';
import type { HostTensor } from '../formats/weights.js';
import type { HostData } from '../graph/runtime.js';
import type { TunedLens } from '../lens/lens.js';
import { blockPositions, compileHiddenStates, CompiledRows, scatterBlock, type HiddenStates } from '../lens/rows.js';
import type { Batch } from '../models/position-inputs.js';
import { compileParameterGradients, gradientName, lensLossReduction, LOSSES, NEXT_IDS, POSITION_WEIGHTS, TRANSLATED_GRADIENT, trainedParameters, type LensLoss } from './lens-loss.js';
import { baseLearningRate, clipGradNorm, linearScheduleFactor, Optimizer, type OptimizerConfig, type OptimizerState } from './optimizer.js';

/**
 * Training blocks hold the backward's intermediates too, and fewer, larger blocks pay off there: GPT-2-small
 * lens training at 512 tokens, 8.6 s a step with 96 MB blocks against 10.3 s with the 48 MB of trajectories.
 */
export const TRAIN_BLOCK_BYTES = 96e6;

export interface TrainConfig {
  numSteps: number;
  tokensPerStep: number;
  seqLen: number;
  /** Sequences per graph run (gradient accumulation splits a step into runs of this size). */
  microBatchSize: number;
  optimizer: OptimizerConfig;
  warmupSteps: number;
  loss: LensLoss;
  biasOnly: boolean;
  maxGradNorm: number;
  /** Upper bound in bytes for one [layers, batch, positions, vocab] tensor of the lens graph (default 96 MB, TRAIN_BLOCK_BYTES). */
  blockBytes?: number;
  /** Write a resumable snapshot every N steps (0 = never). */
  checkpointEvery: number;
  checkpointDir: string | null;
}

export interface StepReport {
  step: number;
  numSteps: number;
  lr: number;
  gradNorm: number;
  /** Mean loss per layer over the step's sequences (nats). */
  losses: number[];
  tokensSeen: number;
  seconds: number;
  resumed: boolean;
}

export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
}

/** Sequences per optimizer step; the reference requires tokens per step to be a multiple of the length. */
export function sequencesPerStep(cfg: Pick<TrainConfig, 'tokensPerStep' | 'seqLen'>): number {
  if (cfg.tokensPerStep % cfg.seqLen !== 0) {
    throw new Error(`--tokens-per-step (${cfg.tokensPerStep}) must be a multiple of --seq-len (${cfg.seqLen})`);
  }
  return cfg.tokensPerStep / cfg.seqLen;
}

const SNAPSHOT = 'snapshot.safetensors';

/** A fingerprint of everything that must match for a snapshot to be resumed. */
function fingerprint(cfg: TrainConfig, dataFingerprint: string): string {
  const { checkpointEvery: _e, checkpointDir: _d, microBatchSize: _m, blockBytes: _b, ...rest } = cfg;
  return JSON.stringify({ ...rest, data: dataFingerprint });
}

async function saveSnapshot(fs: FileSystem, dir: string, step: number, params: readonly { name: string; tensor: HostTensor }[], opt: Optimizer, fp: string): Promise<void> {
  const tensors: Record<string, HostTensor> = {};
  for (const p of params) tensors[p.name] = p.tensor;
  opt.state.buffers.forEach((bufs, i) => bufs.forEach((b, j) => (tensors[`opt.${i}.${j}`] = { shape: [b.length], data: b })));
  await fs.mkdirp(dir);
  await fs.writeAtomic(fs.join(dir, SNAPSHOT), serializeSafetensors(tensors, { step: String(step), optimizer_step: String(opt.state.step), fingerprint: fp }));
}

async function loadSnapshot(fs: FileSystem, dir: string, params: readonly { name: string; tensor: HostTensor }[], fp: string): Promise<{ step: number; state: OptimizerState } | null> {
  const path = fs.join(dir, SNAPSHOT);
  if (!(await fs.exists(path))) return null;
  const f = await openSafetensors(fs, path);
  try {
    if (f.metadata.fingerprint !== fp) {
      throw new Error(`${path}: this checkpoint belongs to a run with different settings or data; delete it or choose another --checkpoint-dir`);
    }
    for (const p of params) p.tensor.data.set((await f.readFloat32(p.name, p.tensor.shape)).data);
    const buffers: Float32Array[][] = [];
    for (let i = 0; f.has(`opt.${i}.0`); i++) {
      const bufs: Float32Array[] = [];
      for (let j = 0; f.has(`opt.${i}.${j}`); j++) bufs.push((await f.readFloat32(`opt.${i}.${j}`)).data);
      buffers.push(bufs);
    }
    return { step: Number(f.metadata.step), state: { step: Number(f.metadata.optimizer_step), buffers } };
  } finally {
    await f.close();
  }
}

/**
 * Trains `lens` in place on `chunks` (already in training order, each `seqLen` tokens). Step k uses
 * chunks [k·S, (k+1)·S) with S = tokensPerStep / seqLen.
 */
export async function trainLens(
  lens: TunedLens,
  chunks: readonly number[][],
  cfg: TrainConfig,
  hooks: { fs?: FileSystem; onStep?: (r: StepReport) => void; dataFingerprint?: string } = {},
): Promise<void> {
  const S = sequencesPerStep(cfg);
  const needed = cfg.numSteps * S;
  if (chunks.length < needed) {
    throw new Error(`Can only take ${Math.floor(chunks.length / S)} steps on a dataset of ${chunks.length} sequences of ${cfg.seqLen} tokens with --tokens-per-step=${cfg.tokensPerStep}; requested ${cfg.numSteps} steps (${needed} sequences, ${needed * cfg.seqLen} tokens)`);
  }
  for (const c of chunks.slice(0, needed)) if (c.length !== cfg.seqLen) throw new Error(`training sequences must have ${cfg.seqLen} tokens, got one with ${c.length}`);
  if (cfg.biasOnly && !lens.hasBias) throw new Error('--bias-only needs a lens with biases');

  const model = lens.model;
  const params = trainedParameters(lens, cfg.biasOnly);
  const fp = fingerprint(cfg, hooks.dataFingerprint ?? `${chunks.length}`);
  let startStep = 0;
  let state: OptimizerState | undefined;
  if (cfg.checkpointDir && hooks.fs) {
    const snap = await loadSnapshot(hooks.fs, cfg.checkpointDir, params, fp);
    if (snap) {
      startStep = snap.step;
      state = snap.state;
    }
  }
  const opt = new Optimizer(cfg.optimizer, params.map((p) => p.tensor.data), state);
  const warmup = cfg.warmupSteps;
  const baseLr = baseLearningRate(cfg.optimizer);
  const micro = Math.max(1, Math.min(cfg.microBatchSize, S));
  const t0 = Date.now();
  // Compiled once per micro-batch size: the model forward, and the loss over blocks of positions (the
  // lens-rows engine).
  const L = lens.translators.length;
  const T = cfg.seqLen;
  const positionsCounted = cfg.loss === 'kl' ? T : T - 1;
  if (positionsCounted < 1) throw new Error('--loss ce needs sequences of at least 2 tokens');
  interface Runners {
    forward: (batch: Batch) => Promise<HiddenStates>;
    rows: CompiledRows;
    /** Null where the micro-batch is one block, whose graph outputs the parameters' gradients itself. */
    parameterGradients: ((hidden: HiddenStates, delta: Float32Array) => Promise<Float32Array[]>) | null;
    /** δ of the micro-batch, [L, m, T, d]: every block writes its real positions. */
    delta: Float32Array;
  }
  const d = model.config.dModel;
  const blockBytes = cfg.blockBytes ?? TRAIN_BLOCK_BYTES;
  const runners = new Map<number, Runners>();
  const runnersFor = async (m: number): Promise<Runners> => {
    let r = runners.get(m);
    if (!r) {
      const oneBlock = blockPositions(L, m, model.config.vocabSize, T, blockBytes) >= T;
      const reduction = lensLossReduction(lens, { loss: cfg.loss, biasOnly: cfg.biasOnly, parameterGradientsInBlock: oneBlock });
      const forward = await compileHiddenStates(model, { ids: chunks.slice(0, m) as number[][] });
      const rows = await CompiledRows.compile(model, m, T, reduction, { blockBytes });
      const parameterGradients = oneBlock ? null : await compileParameterGradients(model, lens, m, T, cfg.biasOnly);
      runners.set(m, (r = { forward, rows, parameterGradients, delta: new Float32Array(oneBlock ? 0 : L * m * T * d) }));
    }
    return r;
  };
  const addInto = (gdst: Float32Array, gsrc: Float32Array): void => {
    for (let j = 0; j < gdst.length; j++) gdst[j] = Math.fround(gdst[j]! + gsrc[j]!);
  };

  for (let step = startStep; step < cfg.numSteps; step++) {
    const grads = params.map((p) => new Float32Array(p.tensor.data.length));
    const losses = new Array<number>(L).fill(0);
    for (let s = 0; s < S; s += micro) {
      const m = Math.min(micro, S - s);
      const ids = chunks.slice(step * S + s, step * S + s + m) as number[][];
      const run = await runnersFor(m);
      const hidden = await run.forward({ ids });
      // Each counted position weighs 1/(S · positions): the block sums are the step's mean loss.
      const weights = new Float32Array(m * T);
      for (let b = 0; b < m; b++) weights.fill(1 / (S * positionsCounted), b * T, b * T + positionsCounted);
      const feeds: Record<string, HostData> = { [POSITION_WEIGHTS]: weights };
      if (cfg.loss === 'ce') feeds[NEXT_IDS] = BigInt64Array.from(ids.flatMap((row) => row.map((_, t) => BigInt(t + 1 < T ? row[t + 1]! : 0))));
      await run.rows.run(hidden, feeds, (r, w) => {
        const blockLosses = r[LOSSES]!.data as Float32Array;
        for (let i = 0; i < L; i++) losses[i]! += blockLosses[i]!;
        if (!run.parameterGradients) {
          params.forEach((p, k) => addInto(grads[k]!, r[gradientName(p)]!.data as Float32Array));
          return;
        }
        // δ [L, m, size, d] of this block → its real positions of the micro-batch's [L, m, T, d].
        scatterBlock(run.delta, r[TRANSLATED_GRADIENT]!.data, w, L, m, T, d);
      }, { reuseOutputs: true });
      if (run.parameterGradients) {
        const microGrads = await run.parameterGradients(hidden, run.delta);
        grads.forEach((gdst, k) => addInto(gdst, microGrads[k]!));
      }
    }
    const gradNorm = clipGradNorm(grads, cfg.maxGradNorm);
    if (!Number.isFinite(gradNorm) || losses.some((l) => !Number.isFinite(l))) {
      throw new TrainingDivergedError(`training diverged at step ${step}: loss per layer [${losses.map((l) => l.toPrecision(4)).join(', ')}], gradient norm ${gradNorm}. No lens was written; try a smaller --lr-scale or check the data`);
    }
    const lr = baseLr * linearScheduleFactor(step, cfg.numSteps, warmup);
    opt.step(grads, lr);
    if (cfg.checkpointEvery > 0 && cfg.checkpointDir && hooks.fs && (step + 1) % cfg.checkpointEvery === 0 && step + 1 < cfg.numSteps) {
      await saveSnapshot(hooks.fs, cfg.checkpointDir, step + 1, params, opt, fp);
    }
    hooks.onStep?.({ step, numSteps: cfg.numSteps, lr, gradNorm, losses, tokensSeen: (step + 1 - startStep) * cfg.tokensPerStep, seconds: (Date.now() - t0) / 1000, resumed: startStep > 0 });
  }
}
