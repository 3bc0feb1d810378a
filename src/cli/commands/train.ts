/** `tuned-lens train`: train a tuned lens with the reference recipe (every knob a flag). */
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { nodeFileSystem } from '../../node/file-system.js';
import { chunkOrder } from '../../data/batches.js';
import { writeLensFolder } from '../../lens/lens-files.js';
import { TunedLens } from '../../lens/lens.js';
import { trainLens, type StepReport, type TrainConfig } from '../../train/trainer.js';
import { collapseProblem, dataRequirement, dataShortfall, RecipeError } from '../../train/recipe-checks.js';
import { CliError, loadModelForCli, MODEL_OPTION_HELP, parsePositiveInt } from '../common.js';
import { loadChunks } from '../data-loading.js';
import { loadLensForCli } from '../lens-loading.js';

interface TrainFlags {
  model?: string;
  data: string;
  output: string;
  numSteps: number;
  tokensPerStep: number;
  seqLen?: number;
  microBatch?: number;
  shuffle: boolean;
  seed: number;
  lens?: string;
  optimizer: 'sgd' | 'adam';
  lrScale: number;
  momentum: number;
  weightDecay: number;
  warmupSteps?: number;
  loss: 'kl' | 'ce';
  biasOnly?: boolean;
  bias: boolean;
  checkpointEvery: number;
  checkpointDir?: string;
  textField?: string;
  format?: 'auto' | 'text' | 'jsonl' | 'tokens';
}

const num = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`${name} must be a non-negative number, got "${v}"`);
  return n;
};

/**
 * Sequences per graph run: enough to amortise per-run overhead, few enough that the model's attention
 * scores ([heads, T, T], a few live at once) and the final [T, vocab] log-probs stay near 0.5 GB.
 */
function defaultMicroBatch(seqLen: number, vocab: number, heads: number, perStep: number): number {
  const bytesPerSequence = 4 * (3 * heads * seqLen * seqLen + 4 * seqLen * vocab);
  return Math.max(1, Math.min(perStep, Math.floor(512e6 / bytesPerSequence)));
}

/** Keeps the lines of `train_log.jsonl` for steps before `step` (none when `step` is 0). */
function keepLogBefore(logPath: string, step: number): void {
  if (!existsSync(logPath)) return;
  const kept = readFileSync(logPath, 'utf8').split('\n').filter((line) => {
    if (!line.trim()) return false;
    try {
      return (JSON.parse(line) as { step?: unknown }).step as number < step;
    } catch {
      return false; // a line cut off by a kill
    }
  });
  writeFileSync(logPath, kept.map((l) => `${l}\n`).join(''));
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a tuned lens (reference recipe: KL(final‖lens), SGD Nesterov lr 1.0×(1−0.9), wd 1e-3, linear decay, clip 1.0, 250 steps × 2^18 tokens)')
    .option('-m, --model <model>', MODEL_OPTION_HELP)
    .requiredOption('-d, --data <file>', 'training text: .txt, .jsonl with a "text" field, or pre-tokenized .jsonl ({"input_ids": [...]} per line, used as ready-made chunks in file order)')
    .requiredOption('-o, --output <dir>', 'folder for config.json, params.safetensors and params.pt')
    .option('--num-steps <n>', 'optimizer steps', parsePositiveInt('--num-steps'), 250)
    .option('--tokens-per-step <n>', 'tokens per optimizer step (a multiple of --seq-len)', parsePositiveInt('--tokens-per-step'), 2 ** 18)
    .option('--seq-len <n>', 'tokens per sequence (default: min(model context, 2048))', parsePositiveInt('--seq-len'))
    .option('--micro-batch <n>', 'sequences per graph run (default: from memory)', parsePositiveInt('--micro-batch'))
    .option('--no-shuffle', 'keep the data order (default: shuffle with --seed)')
    .option('--seed <n>', 'shuffle seed', num('--seed'), 42)
    .option('-l, --lens <lens>', 'warm start from an existing lens (folder or pretrained id)')
    .option('--optimizer <kind>', 'sgd | adam', 'sgd')
    .option('--lr-scale <x>', 'learning-rate scale: SGD lr = x·(1−momentum), Adam lr = x·1e-3', num('--lr-scale'), 1)
    .option('--momentum <x>', 'SGD Nesterov momentum', num('--momentum'), 0.9)
    .option('--weight-decay <x>', 'L2 weight decay (pulls the lens toward the identity)', num('--weight-decay'), 1e-3)
    .option('--warmup-steps <n>', 'linear warmup steps (default: 0 for SGD, min(1000, steps/5) for Adam)', num('--warmup-steps'))
    .option('--loss <kind>', 'kl (KL(final‖lens), shift 0) | ce (next-token cross-entropy)', 'kl')
    .option('--bias-only', 'train only the biases (the paper\'s bias-only lens)')
    .option('--no-bias', 'translators without bias')
    .option('--checkpoint-every <n>', 'write a resumable snapshot every n steps (0 = never)', num('--checkpoint-every'), 10)
    .option('--checkpoint-dir <dir>', 'snapshot folder (default: <output>/checkpoints); a run restarted with the same flags resumes from it')
    .option('--text-field <name>', 'JSON Lines field holding the text', 'text')
    .option('--format <format>', 'auto | text | jsonl | tokens', 'auto')
    .action(async (f: TrainFlags) => {
      if (f.optimizer !== 'sgd' && f.optimizer !== 'adam') throw new CliError(`--optimizer must be sgd or adam, got "${f.optimizer}"`);
      if (f.loss !== 'kl' && f.loss !== 'ce') throw new CliError(`--loss must be kl or ce, got "${f.loss}"`);
      const model = await loadModelForCli(f.model);
      // The requirement is computed once, from the data as chunked, before anything is written.
      const data = await loadChunks(model, { data: f.data, seqLen: f.seqLen, format: f.format, textField: f.textField }, 1);
      const recipe = { numSteps: f.numSteps, tokensPerStep: f.tokensPerStep, seqLen: data.seqLen };
      let perStep: number;
      try {
        perStep = dataRequirement(recipe).sequencesPerStep;
      } catch (e) {
        throw e instanceof RecipeError ? new CliError(e.message, { cause: e }) : e;
      }
      const shortfall = dataShortfall(recipe, data.chunks.length, `--data ${f.data}`);
      if (shortfall) throw new CliError(shortfall);
      const order = chunkOrder(data.chunks.length, { shuffle: f.shuffle, seed: f.seed });
      const chunks = order.map((i) => data.chunks[i]!);
      const lens = f.lens ? await loadLensForCli(model, f.lens) : TunedLens.identity(model, f.bias);
      const checkpointDir = f.checkpointDir ?? nodeFileSystem.join(f.output, 'checkpoints');
      const cfg: TrainConfig = {
        numSteps: f.numSteps,
        tokensPerStep: f.tokensPerStep,
        seqLen: data.seqLen,
        microBatchSize: f.microBatch ?? defaultMicroBatch(data.seqLen, model.config.vocabSize, model.config.nHeads, perStep),
        optimizer: { kind: f.optimizer, lrScale: f.lrScale, momentum: f.momentum, weightDecay: f.weightDecay },
        warmupSteps: f.warmupSteps ?? (f.optimizer === 'adam' ? Math.min(1000, Math.floor(f.numSteps / 5)) : 0),
        loss: f.loss,
        biasOnly: !!f.biasOnly,
        maxGradNorm: 1,
        checkpointEvery: f.checkpointEvery,
        checkpointDir: f.checkpointEvery > 0 ? checkpointDir : null,
      };
      const outputExisted = existsSync(f.output);
      await nodeFileSystem.mkdirp(f.output);
      const logPath = nodeFileSystem.join(f.output, 'train_log.jsonl');
      process.stderr.write(`training a tuned lens for ${model.name}: ${f.numSteps} steps × ${f.tokensPerStep} tokens (${perStep} sequences of ${data.seqLen}), ${data.chunks.length} sequences available${data.natsToBpb ? `, nats→bpb ${data.natsToBpb.toFixed(4)}` : ''}\n`);
      const bar = new cliProgress.SingleBar(
        { format: 'step {value}/{total} |{bar}| {tps} tok/s | loss {losses}', stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000 },
        cliProgress.Presets.shades_classic,
      );
      bar.start(f.numSteps, 0, { tps: '-', losses: '-' });
      let lastLosses: number[] = [];
      let firstReport = true;
      const onStep = (r: StepReport): void => {
        if (firstReport) {
          firstReport = false;
          // The log keeps the steps before this run's first one: a resumed run does not repeat steps, a fresh run starts a fresh log.
          keepLogBefore(logPath, r.step);
          if (r.resumed) process.stderr.write(`resuming from step ${r.step} (snapshot in ${checkpointDir})\n`);
        }
        lastLosses = r.losses;
        appendFileSync(logPath, `${JSON.stringify({ step: r.step, lr: r.lr, grad_norm: r.gradNorm, loss: r.losses, tokens_per_second: r.tokensSeen / r.seconds })}\n`);
        bar.update(r.step + 1, { tps: (r.tokensSeen / r.seconds).toFixed(0), losses: r.losses.map((l) => l.toFixed(3)).join(' ') });
      };
      /** A failed run leaves no folder it created, unless a snapshot in it lets a rerun resume. */
      const removeOutputIfUseless = (): void => {
        const resumable = cfg.checkpointDir !== null && existsSync(nodeFileSystem.join(cfg.checkpointDir, 'snapshot.safetensors'));
        if (!outputExisted && !resumable) rmSync(f.output, { recursive: true, force: true });
      };
      try {
        await trainLens(lens, chunks, cfg, { fs: nodeFileSystem, onStep, dataFingerprint: `${f.data}:${data.totalTokens}:${f.shuffle}:${f.seed}` });
      } catch (e) {
        bar.stop();
        removeOutputIfUseless();
        throw e;
      }
      bar.stop();
      const collapse = collapseProblem(lastLosses);
      if (collapse) {
        if (cfg.checkpointDir) rmSync(cfg.checkpointDir, { recursive: true, force: true });
        removeOutputIfUseless();
        throw new CliError(`${collapse}. No lens was written; train with a smaller --lr-scale (now ${f.lrScale}) or the default optimizer settings.`);
      }
      await writeLensFolder(nodeFileSystem, f.output, {
        base_model_name_or_path: model.name,
        d_model: model.config.dModel,
        num_hidden_layers: model.nLayers,
        bias: lens.hasBias,
        base_model_revision: null,
        unembed_hash: null,
        lens_type: 'linear_tuned_lens',
      }, lens.translators);
      if (cfg.checkpointDir) rmSync(cfg.checkpointDir, { recursive: true, force: true });
      process.stdout.write(`wrote ${f.output}/config.json, params.safetensors and params.pt\n`);
    });
}
