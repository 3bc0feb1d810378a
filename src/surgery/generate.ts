/**
 * Generation from an intermediate layer (the reference's `TunedLens.generate`, §11.4): at every step the
 * last position's hidden_states[ℓ] is decoded through the lens (layer L: the model's own output) and
 * the next token is the argmax, or a sample at `temperature` from a seeded generator.
 *
 * No KV cache: every step recomputes the whole prefix, so step t costs a forward pass over t tokens.
 * This is correct by construction (the reference's cached loop feeds the whole sequence again together
 * with its past keys/values, so its positions past the first step are wrong, spec §13.4). To keep the
 * number of compiled graphs small the prefix is right-padded to a power-of-two length: causal attention
 * keeps the padding from influencing the last real position, whose row is picked inside the graph.
 */
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import type { Lens } from '../lens/lens.js';
import type { LanguageModel, ModelGraph } from '../models/language-model.js';
import { outputHead, unembed } from '../models/transformer.js';
import { Llama2cTokenizer } from '../tokenizers/llama2c-tokenizer.js';
import { SeededRandom } from '../weights/random.js';
import { cachedDecoder } from './kv-cache.js';

export interface GenerateOptions {
  maxNewTokens?: number;
  /** 0 (default): greedy. > 0: sample from softmax(logits / temperature). */
  temperature?: number;
  seed?: number;
  /** Token ids that end the generation (included in `ids`). Default: `defaultStopIds(model)`. */
  stopIds?: readonly number[];
  /** true (default): decode with a key/value cache (kv-cache.ts); false: recompute the prefix every step. */
  kvCache?: boolean;
}

export interface Generation {
  /** Prompt ids, then the new ids (including a final stop token, if one was produced). */
  ids: number[];
  newIds: number[];
  /** Why it ended. */
  stop: 'stop-token' | 'max-new-tokens' | 'context';
}

/**
 * EOS of the tokenizer and config; llama2.c checkpoints also end stories with BOS (run.c stops on it),
 * which is a convention of that tokenizer's training data, so it is keyed on the tokenizer kind.
 */
export function defaultStopIds(model: LanguageModel): number[] {
  const ids = new Set<number>();
  for (const id of [model.tokenizer.eosId, model.config.eosTokenId]) if (id !== null) ids.add(id);
  if (model.tokenizer instanceof Llama2cTokenizer && model.tokenizer.bosId !== null) ids.add(model.tokenizer.bosId);
  return [...ids];
}

/** Smallest power of two ≥ n, capped at `cap` (but never below n). */
function bucket(n: number, cap: number): number {
  let b = 1;
  while (b < n) b *= 2;
  return Math.max(n, Math.min(b, cap));
}

/** Next-token logits [1, 1, V] of layer `layer` at the position fed as `last_position`. */
function nextTokenLogits(lens: Lens, layer: number, mg: ModelGraph): Value {
  const cfg = lens.model.config;
  const pos = mg.g.input('last_position', 'int64', [1]);
  const pick = (h: Value): Value => op.gather(h, pos, 1);
  if (layer === cfg.nLayers) return outputHead(cfg, mg.weights, pick(mg.forward.hiddenStates[layer]!));
  return unembed(cfg, mg.weights, lens.transformHidden(pick(mg.forward.hiddenStates[layer]!), layer));
}

/** Picks the next token from float logits: argmax (lowest id on ties) or a tempered sample. */
export function chooseToken(logits: ArrayLike<number>, temperature: number, rng: SeededRandom): number {
  if (!(temperature > 0)) {
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v]! > logits[best]!) best = v;
    return best;
  }
  let max = -Infinity;
  for (let v = 0; v < logits.length; v++) max = Math.max(max, logits[v]!);
  const weights = new Float64Array(logits.length);
  let total = 0;
  for (let v = 0; v < logits.length; v++) total += weights[v] = Math.exp((logits[v]! - max) / temperature);
  let u = rng.uniform() * total;
  for (let v = 0; v < logits.length; v++) {
    u -= weights[v]!;
    if (u < 0) return v;
  }
  return logits.length - 1;
}

/** Next-token logits of a sequence; called once per step with the sequence so far. */
type NextTokenLogits = (ids: readonly number[]) => Promise<Float32Array>;

/** Without a cache: the whole prefix, right-padded to a power-of-two length, every step. */
async function recomputingDecoder(lens: Lens, layer: number): Promise<NextTokenLogits> {
  const model = lens.model;
  const runners = new Map<number, Awaited<ReturnType<LanguageModel['compileForShape']>>>();
  return async (ids) => {
    const T = bucket(ids.length, model.config.maxPositions);
    let run = runners.get(T);
    if (!run) {
      run = await model.compileForShape({ ids: [new Array<number>(T).fill(0)] }, (mg) => ({ logits: nextTokenLogits(lens, layer, mg) }));
      runners.set(T, run);
    }
    const padded = [...ids, ...new Array<number>(T - ids.length).fill(0)];
    const r = await run({ ids: [padded] }, { ...lens.feeds(), last_position: BigInt64Array.of(BigInt(ids.length - 1)) });
    return (r.logits!.data as Float32Array).subarray(0, model.config.vocabSize);
  };
}

/** With the key/value cache: the prompt is fed token by token once, then only each new token. */
async function cachedNextToken(lens: Lens, layer: number, capacity: number): Promise<NextTokenLogits> {
  const decoder = await cachedDecoder(lens, layer, capacity);
  let fed = 0;
  let logits: Float32Array | null = null;
  return async (ids) => {
    while (fed < ids.length) {
      logits = await decoder.step(ids[fed]!, fed);
      fed++;
    }
    return logits!;
  };
}

/** Generates from `prompt` decoding layer `layer` (0..L-1 through `lens`, L = the model's output). */
export async function generateFromLayer(lens: Lens, layer: number, prompt: readonly number[], options: GenerateOptions = {}): Promise<Generation> {
  const model = lens.model;
  const L = model.nLayers;
  if (!Number.isInteger(layer) || layer < 0 || layer > L) throw new Error(`layer must be in 0..${L} (${L} = the model's own output), got ${layer}`);
  if (prompt.length === 0) throw new Error('the prompt has no tokens');
  const maxNew = options.maxNewTokens ?? 50;
  const temperature = options.temperature ?? 0;
  if (!(temperature >= 0)) throw new Error(`temperature must be ≥ 0, got ${temperature}`);
  const stop = new Set(options.stopIds ?? defaultStopIds(model));
  const rng = new SeededRandom(options.seed ?? 0);
  const maxPositions = model.config.maxPositions;
  const ids = [...prompt];
  const newIds: number[] = [];
  if (prompt.length > maxPositions) return { ids, newIds, stop: 'context' };
  const next = options.kvCache === false ? await recomputingDecoder(lens, layer) : await cachedNextToken(lens, layer, Math.min(maxPositions, prompt.length + maxNew));
  for (let step = 0; step < maxNew; step++) {
    if (ids.length > maxPositions) return { ids, newIds, stop: 'context' };
    const token = chooseToken(await next(ids), temperature, rng);
    ids.push(token);
    newIds.push(token);
    if (stop.has(token)) return { ids, newIds, stop: 'stop-token' };
  }
  return { ids, newIds, stop: 'max-new-tokens' };
}
