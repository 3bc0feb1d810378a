/** The tuned lens shipped for stories260K (`--lens default`): it loads offline, its files agree, and it is trained. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogitLens, lensLogProbs, type Lens } from '../../src/lens/lens.js';
import { bundledLensDir } from '../../src/hub/lens-source.js';
import { loadModel } from '../../src/node/load-model.js';
import { loadTunedLens } from '../../src/node/load-lens.js';

const PROMPTS = ['Once upon a time, there was a little girl named Lily. She loved to play outside.', 'Tom and his dog went to the park. They saw a big red ball.'];

/** Mean over positions of KL(output ‖ layer) per layer, computed here from the log-probs. */
async function meanKl(lens: Lens, ids: number[]): Promise<number[]> {
  const r = await lensLogProbs(lens, { ids: [ids] });
  const V = lens.model.config.vocabSize;
  const out = r.output.data as Float32Array;
  return r.layers.map((l) => {
    const lp = l.data as Float32Array;
    let sum = 0;
    for (let t = 0; t < ids.length; t++) {
      for (let v = 0; v < V; v++) {
        const q = out[t * V + v]!;
        sum += Math.exp(q) * (q - lp[t * V + v]!);
      }
    }
    return sum / ids.length;
  });
}

test('--lens default is the bundled lens for stories260K and beats the logit lens at every layer', async () => {
  const model = await loadModel('stories260K', { env: { HF_HUB_OFFLINE: '1' } });
  const tuned = await loadTunedLens(model, 'default', { env: { HF_HUB_OFFLINE: '1' } });
  const logit = new LogitLens(model);
  for (const p of PROMPTS) {
    const ids = model.encode(p);
    const [kt, kl] = [await meanKl(tuned, ids), await meanKl(logit, ids)];
    kt.forEach((k, i) => assert.ok(k < kl[i]!, `layer ${i}: tuned ${k.toFixed(3)} vs logit ${kl[i]!.toFixed(3)}`));
    assert.ok(kt[0]! < 0.25 * kl[0]!, `layer 0 KL ${kt[0]} is far below the logit lens's ${kl[0]}`);
  }
});

test('--lens default names the models that have a bundled lens', () => {
  assert.throws(() => bundledLensDir('gpt2'), /no tuned lens is shipped for "gpt2" \(only for stories260K\)/);
});
