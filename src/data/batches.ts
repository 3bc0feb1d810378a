/**
 * Chunk order and micro-batches for training.
 *
 * Shuffling uses a full permutation from `randperm(n, seed)`, which reproduces PyTorch's CPU
 * `torch.randperm(n, generator=torch.Generator().manual_seed(seed))`: a Fisher–Yates pass driven by the 32-bit
 * Mersenne Twister (MT19937) that PyTorch's CPU generator uses, seeded like `manual_seed`. MT19937 was chosen over a
 * smaller generator because this is exactly how the golden stories260K run ordered its chunks
 * (shared/golden/reference-lens/data_chunks.json, `train_shuffle_permutation` = randperm(301, seed 42)[:300]), so the
 * port can replay that run bit for bit. (The reference itself uses torchdata's 10,000-element buffer shuffle, which
 * draws from Python's `random` and cannot be reproduced here; the golden run used randperm as its stand-in.)
 *
 * Step arithmetic follows the reference's `calculate_gradient_accumulation_steps`.
 */

/** MT19937 (Matsumoto & Nishimura), seeded like PyTorch's `at::mt19937(seed)`: `init_genrand` on the low 32 bits. */
export class Mt19937 {
  private readonly mt = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${seed}`);
    // PyTorch keeps a 64-bit seed but MT19937 is initialised from `seed & 0xffffffff`.
    this.mt[0] = seed % 2 ** 32;
    for (let i = 1; i < 624; i++) {
      const prev = this.mt[i - 1]! ^ (this.mt[i - 1]! >>> 30);
      // 1812433253 * prev + i (mod 2^32), with Math.imul to stay in 32-bit integer arithmetic.
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** The next 32-bit output (what PyTorch's `generator->random()` returns). */
  nextUint32(): number {
    const mt = this.mt;
    if (this.index >= 624) {
      for (let i = 0; i < 624; i++) {
        const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % 624]! & 0x7fffffff);
        mt[i] = mt[(i + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

/**
 * PyTorch CPU `torch.randperm(n, generator=manual_seed(seed))`: start from 0..n-1 and for i = 0..n-2 swap element i
 * with element i + (random() mod (n - i)). (The modulo has a tiny bias; it is kept because PyTorch has it.)
 */
export function randperm(n: number, seed: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`randperm: n must be a non-negative integer, got ${n}`);
  const rng = new Mt19937(seed);
  const r = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n - 1; i++) {
    const z = rng.nextUint32() % (n - i);
    const t = r[i]!;
    r[i] = r[z + i]!;
    r[z + i] = t;
  }
  return r;
}

export interface ShuffleOptions {
  /** Default true, as in the reference (`dataloader_shuffle=True`). */
  shuffle?: boolean;
  /** Default 42, the reference's `--seed`. */
  seed?: number;
}

/** The order in which `n` chunks are used: `randperm(n, seed)`, or 0..n-1 when shuffling is off. */
export function chunkOrder(n: number, options: ShuffleOptions = {}): number[] {
  return (options.shuffle ?? true) ? randperm(n, options.seed ?? 42) : Array.from({ length: n }, (_, i) => i);
}

export interface GradAccumulation {
  /** Micro-batches per optimizer step. */
  steps: number;
  /** Sequences (chunks) per optimizer step over all workers: steps × batchSize × worldSize. */
  sequencesPerStep: number;
  /** Tokens actually used per step, which exceeds the request when the division is not exact. */
  tokensPerStep: number;
  /** The reference's note when the count was rounded up, else null. Callers decide whether to print it. */
  warning: string | null;
}

/**
 * The reference's `calculate_gradient_accumulation_steps`: `tokensPerStep / seqLen` sequences per step (which must
 * divide exactly: the reference raises a ValueError otherwise), spread over micro-batches of `batchSize × worldSize`
 * sequences, rounded up with a warning when that does not divide.
 */
export function gradAccumulationSteps(tokensPerStep: number, seqLen: number, batchSize: number, worldSize = 1): GradAccumulation {
  for (const [name, v] of [['tokensPerStep', tokensPerStep], ['seqLen', seqLen], ['batchSize', batchSize], ['worldSize', worldSize]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
  }
  if (tokensPerStep % seqLen !== 0) {
    throw new Error(`Number of tokens per step (${tokensPerStep}) must be divisible by the number of tokens per sample (${seqLen}).`);
  }
  const samplesPerStep = tokensPerStep / seqLen;
  const globalBatch = batchSize * worldSize;
  const steps = Math.ceil(samplesPerStep / globalBatch);
  const sequencesPerStep = steps * globalBatch;
  let warning: string | null = null;
  if (samplesPerStep % globalBatch !== 0) {
    warning =
      `Increasing grad acc steps from ${steps - 1} to ${steps} to maintain load balance across ${worldSize} worker(s) ` +
      `with batch size ${batchSize}: using ${sequencesPerStep * seqLen} tokens per training step (${tokensPerStep} requested).`;
  }
  return { steps, sequencesPerStep, tokensPerStep: sequencesPerStep * seqLen, warning };
}

export interface TrainingPlanOptions {
  /** Chunks available (each `seqLen` tokens). */
  numChunks: number;
  seqLen: number;
  tokensPerStep: number;
  numSteps: number;
  /** Sequences per micro-batch (the reference's `per_gpu_batch_size`); default 1. */
  batchSize?: number;
  worldSize?: number;
}

export interface TrainingPlan extends GradAccumulation {
  /** Micro-batches the whole run consumes (numSteps × steps). */
  totalMicroBatches: number;
  /** Chunks the whole run consumes (numSteps × sequencesPerStep). */
  chunksUsed: number;
}

/**
 * Gradient accumulation plus the up-front data check. The reference only has this check and otherwise stops early,
 * silently, when the data runs out (spec §13 item 12); failing here makes a short dataset a clear error instead.
 */
export function planTraining(o: TrainingPlanOptions): TrainingPlan {
  const batchSize = o.batchSize ?? 1;
  const acc = gradAccumulationSteps(o.tokensPerStep, o.seqLen, batchSize, o.worldSize ?? 1);
  if (!Number.isInteger(o.numSteps) || o.numSteps <= 0) throw new Error(`numSteps must be a positive integer, got ${o.numSteps}`);
  const chunksUsed = o.numSteps * acc.sequencesPerStep;
  if (o.numChunks < chunksUsed) {
    const possible = Math.floor(o.numChunks / acc.sequencesPerStep);
    throw new Error(
      `Can only take ${possible} steps on dataset with --tokens-per-step=${o.tokensPerStep}. Requested ${o.numSteps} steps. ` +
        `(${o.numChunks} chunks of ${o.seqLen} tokens; each step uses ${acc.sequencesPerStep} sequences, so ${o.numSteps} steps need ${chunksUsed}.)`,
    );
  }
  return { ...acc, totalMicroBatches: o.numSteps * acc.steps, chunksUsed };
}

export interface MicroBatchOptions extends ShuffleOptions {
  /** Sequences per micro-batch. */
  batchSize: number;
  /** Stop after this many micro-batches (e.g. `plan.totalMicroBatches`). */
  limit?: number;
  /** Skip a final micro-batch with fewer than `batchSize` sequences (torch's DataLoader keeps it). Default false. */
  dropLast?: boolean;
}

/**
 * Micro-batches of `batchSize` chunks in shuffled (or file) order. The chunk arrays are shared, not copied. Micro-batch
 * k belongs to optimizer step floor(k / gradAccumulationSteps).
 */
export function* microBatches(chunks: readonly number[][], options: MicroBatchOptions): Generator<number[][]> {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const order = chunkOrder(chunks.length, options);
  const limit = options.limit ?? Infinity;
  let emitted = 0;
  for (let i = 0; i < order.length && emitted < limit; i += batchSize) {
    const idx = order.slice(i, i + batchSize);
    if (idx.length < batchSize && options.dropLast) break;
    yield idx.map((j) => chunks[j]!);
    emitted++;
  }
}
