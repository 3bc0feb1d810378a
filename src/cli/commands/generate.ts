/** `tuned-lens generate`: continue a prompt decoding an intermediate layer through a lens at every step. */
import type { Command } from 'commander';
import { LogitLens, type Lens } from '../../lens/lens.js';
import { provenance, writeResultJson } from '../../node/provenance.js';
import { generateFromLayer } from '../../surgery/generate.js';
import { CliError, inputIds, loadModelForCli, MODEL_OPTION_HELP, parsePositiveInt } from '../common.js';
import { loadLensForCli } from '../lens-loading.js';

interface GenerateFlags {
  model?: string;
  ids?: string;
  layer: string;
  lens?: string;
  logit?: boolean;
  maxNewTokens: number;
  temperature: string;
  seed: string;
  json?: string;
}

function nonNegative(flag: string, v: string, integer: boolean): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new CliError(`${flag} must be a non-negative ${integer ? 'integer' : 'number'}, got "${v}"`);
  return n;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate text by decoding hidden_states[layer] of the last position through a lens at every step (greedy unless --temperature > 0; stops at EOS, and at BOS for llama2.c models)')
    .argument('[text]', 'prompt (tokenized with the model tokenizer, BOS added by its convention)')
    .option('-m, --model <model>', MODEL_OPTION_HELP)
    .option('--ids <ids>', 'comma-separated prompt token ids instead of text')
    .requiredOption('--layer <l>', 'layer to decode: 0..L-1 through the lens, L = the model\'s own output')
    .option('-l, --lens <lens>', 'tuned lens folder or pretrained id')
    .option('--logit', 'decode with the logit lens')
    .option('--max-new-tokens <n>', 'at most this many new tokens', parsePositiveInt('--max-new-tokens'), 50)
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', '0')
    .option('--seed <s>', 'seed for sampling', '0')
    .option('--json <file>', 'also write {"ids", "prompt", "text", …} to this file')
    .action(async (text: string | undefined, f: GenerateFlags) => {
      if (text !== undefined && f.ids !== undefined) throw new CliError('give either text or --ids, not both');
      if (f.lens && f.logit) throw new CliError('give either --lens or --logit, not both');
      const layer = nonNegative('--layer', f.layer, true);
      const temperature = nonNegative('--temperature', f.temperature, false);
      const seed = nonNegative('--seed', f.seed, true);
      const model = await loadModelForCli(f.model);
      if (layer > model.nLayers) throw new CliError(`--layer ${layer}: ${model.name} has layers 0..${model.nLayers} (${model.nLayers} = its own output)`);
      if (layer < model.nLayers && !f.lens && !f.logit) throw new CliError(`--layer ${layer} is an intermediate layer: choose --lens L or --logit`);
      const lens: Lens = f.lens ? await loadLensForCli(model, f.lens) : new LogitLens(model);
      const prompt = inputIds(model, text, f.ids);
      const g = await generateFromLayer(lens, layer, prompt, { maxNewTokens: f.maxNewTokens, temperature, seed });
      const stopToken = g.stop === 'stop-token' ? g.newIds[g.newIds.length - 1] : undefined;
      const continuation = model.tokenizer.decode(stopToken === undefined ? g.newIds : g.newIds.slice(0, -1));
      process.stdout.write(`${continuation}\n`);
      if (f.json) {
        await writeResultJson(f.json, {
          ids: g.ids,
          prompt: text ?? model.tokenizer.decode(prompt),
          text: continuation,
          new_ids: g.newIds,
          stop: g.stop,
          provenance: await provenance({ command: 'generate', schemaVersion: 1, model: f.model ?? 'stories260K', lens: f.lens ?? null, seed, settings: { layer, lens: f.lens ? 'tuned' : layer === model.nLayers ? 'model output' : 'logit', max_new_tokens: f.maxNewTokens, temperature, kv_cache: true } }),
        });
      }
    });
}
