/**
 * Cached decoding for `generate`: one graph runs ONE new token against a fixed-size key/value cache of
 * `capacity` slots per block. The cache is fed in and the updated cache comes back as outputs (the
 * attention piece writes the new key/value into slot `position` and attends over every slot, the
 * unused ones masked), so a whole generation compiles one graph and each step costs O(capacity), not a
 * forward pass over the prefix. The prompt is fed one token at a time through the same graph.
 */
import { Graph, type Value } from '../graph/graph.js';
import type { HostArray } from '../graph/runtime.js';
import type { Lens } from '../lens/lens.js';
import type { LanguageModel } from '../models/language-model.js';
import { type PastKeyValues, type PositionValues, WeightInputs } from '../models/graph-inputs.js';
import { alibiBias, distinctWindows, maskInputName, MASKED, rotaryTables } from '../models/position-inputs.js';
import { forwardGraph, outputHead, unembed } from '../models/transformer.js';

const pastName = (layer: number, kv: 'k' | 'v'): string => `past.${layer}.${kv}`;
const presentName = (layer: number, kv: 'k' | 'v'): string => `present.${layer}.${kv}`;

export interface CachedDecoder {
  /** Feeds token `id` at `position` (0-based); returns the next-token logits of the decoded layer. */
  step(id: number, position: number): Promise<Float32Array>;
}

/**
 * A decoder for lens `lens` at `layer` (0..L-1 through the lens, L = the model's output) with room
 * for `capacity` positions.
 */
export async function cachedDecoder(lens: Lens, layer: number, capacity: number): Promise<CachedDecoder> {
  const model: LanguageModel = lens.model;
  const cfg = model.config;
  const { nKvHeads: Hkv, headDim: hd } = cfg;
  const g = new Graph();
  const w = new WeightInputs(g, model.weights);
  const ids = g.input('input_ids', 'int64', [1, 1]);
  const masks = new Map<number | null, Value>();
  for (const win of distinctWindows(cfg)) masks.set(win, g.input(maskInputName(win), 'float32', [1, 1, 1, capacity]));
  const write = g.input('kv_write', 'float32', [1, capacity, 1, 1]);
  const keep = g.input('kv_keep', 'float32', [1, capacity, 1, 1]);
  const past = new Map<number, PastKeyValues>();
  for (let i = 0; i < cfg.nLayers; i++) {
    past.set(i, { k: g.input(pastName(i, 'k'), 'float32', [1, capacity, Hkv, hd]), v: g.input(pastName(i, 'v'), 'float32', [1, capacity, Hkv, hd]), write, keep });
  }
  const pos: PositionValues = { masks, fusedAttention: false, past };
  if (cfg.position.kind === 'learned') pos.positionIds = g.input('position_ids', 'int64', [1, 1]);
  if (cfg.position.kind === 'rotary') {
    pos.cos = g.input('rope_cos', 'float32', [1, 1, 1, cfg.position.rotaryDim]);
    pos.sin = g.input('rope_sin', 'float32', [1, 1, 1, cfg.position.rotaryDim]);
  }
  if (cfg.position.kind === 'alibi') pos.alibi = g.input('alibi', 'float32', [1, cfg.nHeads, 1, capacity]);
  const fwd = forwardGraph(cfg, w, ids, pos, { logits: false });
  const h = fwd.hiddenStates[layer]!;
  const logits = layer === cfg.nLayers ? outputHead(cfg, w, h) : unembed(cfg, w, lens.transformHidden(h, layer));
  const outputs: Record<string, Value> = { logits };
  for (const [i, p] of past) {
    if (!p.present) throw new Error(`block ${i} did not use its key/value cache`);
    outputs[presentName(i, 'k')] = p.present.k;
    outputs[presentName(i, 'v')] = p.present.v;
  }
  const compiled = await model.runtime.compile(outputs);
  const fixed: Record<string, HostArray['data']> = { ...w.feeds(), ...lens.feeds() };
  const cache: Record<string, Float32Array> = {};
  for (let i = 0; i < cfg.nLayers; i++) for (const kv of ['k', 'v'] as const) cache[pastName(i, kv)] = new Float32Array(capacity * Hkv * hd);
  // ALiBi's bias depends on the key position only (slope × j): the same row for every step.
  const alibi = cfg.position.kind === 'alibi' ? alibiBias({ ids: [new Array<number>(capacity).fill(0)] }, cfg.nHeads) : null;

  return {
    async step(id, position) {
      if (position >= capacity) throw new Error(`the key/value cache holds ${capacity} positions, position ${position} does not fit`);
      const feeds: Record<string, HostArray['data']> = { ...fixed, ...cache, input_ids: BigInt64Array.of(BigInt(id)) };
      const writeRow = new Float32Array(capacity);
      writeRow[position] = 1;
      feeds.kv_write = writeRow;
      feeds.kv_keep = writeRow.map((x) => 1 - x);
      for (const win of distinctWindows(cfg)) {
        const row = new Float32Array(capacity).fill(MASKED);
        for (let j = 0; j <= position; j++) if (win === null || position - j < win) row[j] = 0;
        feeds[maskInputName(win)] = row;
      }
      if (cfg.position.kind === 'learned') feeds.position_ids = BigInt64Array.of(BigInt(position));
      if (cfg.position.kind === 'rotary') {
        // The same float32 recipe as a full forward pass; only the row of `position` is fed.
        const rd = cfg.position.rotaryDim;
        const { cos, sin } = rotaryTables({ ids: [new Array<number>(position + 1).fill(0)] }, rd, cfg.position.theta);
        feeds.rope_cos = cos.slice(position * rd);
        feeds.rope_sin = sin.slice(position * rd);
      }
      if (alibi) feeds.alibi = alibi;
      const r = await compiled.run(feeds);
      for (let i = 0; i < cfg.nLayers; i++) for (const kv of ['k', 'v'] as const) cache[pastName(i, kv)] = r[presentName(i, kv)]!.data as Float32Array;
      return r.logits!.data as Float32Array;
    },
  };
}
