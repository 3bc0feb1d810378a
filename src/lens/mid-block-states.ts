/**
 * Mid-block residuals as lens-rows input: the residual stream after each block's attention, before its
 * MLP (the `residMid` site of models/interventions.ts), in the place of hidden_states[ℓ]. Rows read them
 * like block outputs, so the logit lens decodes "what the model would predict after block ℓ's
 * attention" with the same engine (lens/rows.ts) and the same statistics as every other row.
 */
import type { Value } from '../graph/graph.js';
import { midBlockResidualUnavailable } from '../models/blocks.js';
import type { LanguageModel } from '../models/language-model.js';
import { batchShape, type Batch } from '../models/position-inputs.js';
import type { HiddenStates } from './rows.js';

/**
 * One forward pass: `layers[ℓ]` = block ℓ's residual after attention ([B, T, d]), `final` = the residual
 * before the final norm (so the 'output' row stays the model's own prediction). Throws, naming the reason,
 * for layouts without such a point (parallel attention and MLP).
 */
export async function computeMidBlockStates(model: LanguageModel, batch: Batch): Promise<HiddenStates> {
  const why = midBlockResidualUnavailable(model.config);
  if (why) throw new Error(why);
  const L = model.nLayers;
  const run = await model.compileForShape(
    batch,
    (mg) => {
      const outs: Record<string, Value> = { h_final: mg.forward.finalNormInput };
      mg.forward.sites.forEach((s, i) => (outs[`mid_${i}`] = s.residMid));
      return outs;
    },
    { logits: false },
  );
  const r = await run(batch);
  const [B, T] = batchShape(batch);
  return {
    batch: B,
    positions: T,
    width: model.config.dModel,
    layers: Array.from({ length: L }, (_, i) => r[`mid_${i}`]!.data as Float32Array),
    final: r.h_final!.data as Float32Array,
  };
}
