/**
 * `tuned-lens difficulty`: example difficulty on a multiple-choice task (paper §5.3, Table 2): the
 * iteration learned over a checkpoint series against the prediction depth of the final model's choice,
 * Spearman ρ with the tuned and the logit lens, and the final accuracy.
 */
import type { Command } from 'commander';
import { EmptyChoiceError } from '../../applications/choices.js';
import { choiceDepths, iterationLearned, modelChoices, spearman, type MultipleChoiceExample } from '../../applications/difficulty.js';
import { LogitLens, type Lens } from '../../lens/lens.js';
import { nodeFileSystem } from '../../node/file-system.js';
import { provenance, writeResultJson } from '../../node/provenance.js';
import { CliError, loadModelForCli, MODEL_OPTION_HELP } from '../common.js';
import { loadLensForCli } from '../lens-loading.js';
import { readJsonLines } from '../prompt-files.js';
import { taskProgress } from '../task-progress.js';

export const DIFFICULTY_SCHEMA_VERSION = 1;

interface DifficultyOptions {
  task?: string;
  model?: string;
  checkpoints?: string;
  lens?: string;
  logit?: boolean;
  output?: string;
  lengthNormalize?: boolean;
}

export function readMultipleChoiceTask(path: string): MultipleChoiceExample[] {
  return readJsonLines(path, '--task').map(({ line, value }) => {
    const where = `--task ${path}, line ${line}`;
    const { prompt, choices, answer } = value;
    if (typeof prompt !== 'string') throw new CliError(`${where}: needs a "prompt" string`);
    if (!Array.isArray(choices) || choices.length < 2 || choices.some((c) => typeof c !== 'string')) throw new CliError(`${where}: "choices" must be a list of at least 2 strings`);
    if (!Number.isInteger(answer) || (answer as number) < 0 || (answer as number) >= choices.length) throw new CliError(`${where}: "answer" must be an index into choices (0..${choices.length - 1})`);
    return { prompt, choices: choices as string[], answer: answer as number };
  });
}

export function registerDifficulty(program: Command): void {
  program
    .command('difficulty')
    .description('example difficulty: iteration learned over a checkpoint series vs. prediction depth of the final model\'s choice, Spearman ρ (paper Table 2)')
    .option('--task <file>', 'JSON Lines: {"prompt", "choices": [..], "answer": i}')
    .option('-m, --model <model>', `the final model (whose lens measures depth); ${MODEL_OPTION_HELP}`)
    .option('--checkpoints <list>', 'comma-separated model sources in training order (folders, files, Hub ids with @revision)')
    .option('-l, --lens <lens>', 'tuned lens of the final model (the logit lens is always reported too)')
    .option('--logit', 'report the logit lens only')
    .option('-o, --output <dir>', 'output folder for difficulty.json and difficulty.md')
    .option('--length-normalize', 'score a choice by its mean token log-probability instead of the sum')
    .action(async (opts: DifficultyOptions) => {
      if (!opts.task) throw new CliError('--task <file> is required');
      if (!opts.output) throw new CliError('--output <dir> is required');
      if (!opts.checkpoints) throw new CliError('--checkpoints a,b,c is required');
      if (opts.lens && opts.logit) throw new CliError('give either --lens or --logit, not both');
      if (!opts.lens && !opts.logit) throw new CliError('give --lens <lens> (tuned lens) or --logit');
      const checkpoints = opts.checkpoints.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (checkpoints.length === 0) throw new CliError('--checkpoints lists no model');
      const examples = readMultipleChoiceTask(opts.task);
      const scoring = { lengthNormalize: !!opts.lengthNormalize };
      const wrap = async <T>(f: () => Promise<T>): Promise<T> => {
        try {
          return await f();
        } catch (e) {
          if (e instanceof EmptyChoiceError) throw new CliError(`--task ${opts.task}: example ${e.question + 1}: choice ${e.choice} ("${examples[e.question]!.choices[e.choice]}") tokenizes to nothing after the prompt`);
          throw e;
        }
      };

      const model = await loadModelForCli(opts.model);
      const bar = taskProgress('checkpoints', checkpoints.length);
      const correct: boolean[][] = [];
      try {
        for (const [k, spec] of checkpoints.entries()) {
          const ck = await loadModelForCli(spec);
          if (ck.config.vocabSize !== model.config.vocabSize) throw new CliError(`--checkpoints ${spec}: vocabulary of ${ck.config.vocabSize} tokens, the final model has ${model.config.vocabSize}`);
          const choices = await wrap(() => modelChoices(new LogitLens(ck), examples, scoring));
          correct.push(choices.map((c, e) => c === examples[e]!.answer));
          bar.update(k + 1);
        }
      } finally {
        bar.stop();
      }
      const learned = iterationLearned(correct);
      const lenses: [string, Lens][] = [['logit', new LogitLens(model)]];
      if (opts.lens) lenses.unshift(['tuned', await loadLensForCli(model, opts.lens)]);
      const perLens: Record<string, { depth: number[]; rho: number | null; final_choice: number[] }> = {};
      for (const [name, lens] of lenses) {
        const d = await wrap(() => choiceDepths(lens, examples, scoring));
        perLens[name] = { depth: d.depth, final_choice: d.finalChoice, rho: spearman(d.depth, learned) };
      }
      const finalChoice = perLens.logit!.final_choice;
      const accuracy = finalChoice.filter((c, e) => c === examples[e]!.answer).length / examples.length;
      const neverLearned = learned.filter((k) => k === checkpoints.length).length;
      const fmt = (x: number | null | undefined) => (x == null ? 'n/a' : x.toFixed(3));
      const table = [
        '| Task | Tuned lens ρ | Logit lens ρ | Final acc | Never learned |',
        '|---|---|---|---|---|',
        `| ${opts.task} | ${fmt(perLens.tuned?.rho)} | ${fmt(perLens.logit!.rho)} | ${(100 * accuracy).toFixed(1)}% | ${neverLearned} of ${examples.length} |`,
        '',
      ].join('\n');
      await nodeFileSystem.mkdirp(opts.output);
      await nodeFileSystem.writeAtomic(nodeFileSystem.join(opts.output, 'difficulty.md'), table);
      await writeResultJson(nodeFileSystem.join(opts.output, 'difficulty.json'), {
        provenance: await provenance({
          command: 'difficulty', schemaVersion: DIFFICULTY_SCHEMA_VERSION, model: opts.model ?? 'stories260K', lens: opts.lens ?? null, data: [opts.task],
          settings: { checkpoints, length_normalize: scoring.lengthNormalize },
        }),
        n: examples.length,
        checkpoints,
        final_accuracy: accuracy,
        never_learned: neverLearned,
        rho: { tuned: perLens.tuned?.rho ?? null, logit: perLens.logit!.rho },
        examples: examples.map((_, e) => ({
          index: e,
          iteration_learned: learned[e]!,
          correct_per_checkpoint: correct.map((c) => c[e]!),
          final_choice: finalChoice[e]!,
          depth_tuned: perLens.tuned?.depth[e] ?? null,
          depth_logit: perLens.logit!.depth[e]!,
        })),
      });
      process.stdout.write(`${table}wrote ${nodeFileSystem.join(opts.output, 'difficulty.json')}\n`);
    });
}
