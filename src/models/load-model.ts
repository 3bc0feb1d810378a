/**
 * Loads a model from a resolved source (HF folder or llama2.c file) through the FileSystem interface.
 */
import type { FileSystem } from '../io/file-system.js';
import type { Runtime } from '../graph/runtime.js';
import { checkModelSizes } from '../formats/config-checks.js';
import { readHfConfig } from '../formats/hf-config.js';
import { openLlama2cCheckpoint } from '../formats/llama2c.js';
import { openSafetensorsCheckpoint } from '../formats/safetensors.js';
import type { WeightSource } from '../formats/weights.js';
import { loadLlama2cTokenizer } from '../tokenizers/llama2c-tokenizer.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { LanguageModel } from './language-model.js';
import { loadWeights } from './load-weights.js';
import { architectureFor } from './registry.js';
import type { Architecture } from './architecture.js';
import type { ModelConfig } from './model-config.js';

export type LoadableSource = { kind: 'hf-folder'; dir: string } | { kind: 'llama2c'; checkpoint: string; tokenizer: string };

export async function loadModelFrom(fs: FileSystem, source: LoadableSource, runtime: Runtime, name?: string): Promise<LanguageModel> {
  let hf: Record<string, unknown>;
  let weights: WeightSource;
  let tokenizer: Tokenizer | null;
  let where: string;
  if (source.kind === 'llama2c') {
    const ckpt = await openLlama2cCheckpoint(fs, source.checkpoint);
    hf = ckpt.config as unknown as Record<string, unknown>;
    weights = ckpt.weights;
    tokenizer = await loadLlama2cTokenizer(fs, source.tokenizer, ckpt.header.vocabSize);
    where = source.checkpoint;
  } else {
    hf = (await readHfConfig(fs, source.dir)) as unknown as Record<string, unknown>;
    weights = await openSafetensorsCheckpoint(fs, source.dir);
    tokenizer = (await fs.exists(fs.join(source.dir, 'tokenizer.json'))) ? await (await import('../tokenizers/hf-tokenizer.js')).loadHfTokenizer(fs, source.dir) : null;
    where = fs.join(source.dir, 'config.json');
  }
  try {
    const { arch, cfg } = parseModelConfig(hf, where);
    checkModelSizes(cfg, where, weights.names(), weights.path);
    const tensors = await loadWeights(arch, cfg, weights);
    return new LanguageModel(name ?? where, cfg, arch, tensors, tokenizer ?? new IdsOnlyTokenizer(cfg.vocabSize), runtime);
  } finally {
    await weights.close();
  }
}

/** The architecture and normalised config of an HF config; errors name `where` (the config file). */
export function parseModelConfig(hf: Record<string, unknown>, where: string): { arch: Architecture; cfg: ModelConfig } {
  const arch = architectureFor(hf.model_type, where);
  try {
    return { arch, cfg: arch.parseConfig(hf) };
  } catch (e) {
    const message = (e as Error).message;
    throw message.includes(where) ? e : new Error(`${where}: ${message}`, { cause: e });
  }
}

/** Stands in when a checkpoint ships no tokenizer: ids work, text does not. */
class IdsOnlyTokenizer implements Tokenizer {
  readonly bosId = null;
  readonly eosId = null;
  constructor(readonly vocabSize: number) {}
  encode(): number[] {
    throw new Error('this model folder has no tokenizer.json; pass token ids instead of text');
  }
  decode(ids: readonly number[]): string {
    return ids.map((i) => `<${i}>`).join('');
  }
  idToPiece(id: number): string {
    return `<${id}>`;
  }
}
