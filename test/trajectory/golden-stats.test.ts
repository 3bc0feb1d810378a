/**
 * The logit-lens trajectory of stories260K against statistics recomputed in float64 from the golden
 * log-probabilities (reference LogitLens + HF forward, shared/golden/stories260K): entropy, forward KL to
 * the model output, cross entropy and rank of the next token, and max probability, for every layer row
 * and the output row of the three golden prompts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogitLens } from '../../src/lens/lens.js';
import { loadModel } from '../../src/node/load-model.js';
import { PredictionTrajectory, type StatisticName } from '../../src/trajectory/prediction-trajectory.js';
import { readGolden } from '../helpers/golden.js';

interface GoldenPrompt {
  prompt: string;
  input_ids: number[];
  /** [T][V] model output. */
  log_probs: number[][];
  /** [L][T][V] logit lens at hidden_states[0..L-1]. */
  logit_lens_log_probs: number[][][];
  /** [T-1] −log_probs[t][input_ids[t+1]]. */
  next_token_nll: number[];
}

const TOL = 1e-4;

/** Golden rows in trajectory order: lens layers 0..L-1, then the model output. */
function goldenRows(g: GoldenPrompt): number[][][] {
  // The golden numbers are float32 values; Math.fround gives their exact bits, the rest is float64.
  const f = (m: number[][]): number[][] => m.map((row) => row.map(Math.fround));
  return [...g.logit_lens_log_probs.map(f), f(g.log_probs)];
}

function entropy(lp: number[]): number {
  let h = 0;
  for (const l of lp) h -= Math.exp(l) * l;
  return h;
}

function kl(lpP: number[], lpQ: number[]): number {
  let s = 0;
  for (let i = 0; i < lpP.length; i++) s += Math.exp(lpP[i]!) * (lpP[i]! - lpQ[i]!);
  return s;
}

for (const k of [0, 1, 2]) {
  test(`stories260K prompt ${k}: logit-lens entropy, forward KL, CE, rank and max-prob match float64 golden values`, async () => {
    const g = readGolden<GoldenPrompt>('stories260K', `prompt_${k}.json`);
    const model = await loadModel('stories260K');
    const traj = await PredictionTrajectory.compute(new LogitLens(model), { ids: [g.input_ids] });
    const rows = goldenRows(g);
    const R = rows.length;
    const T = g.input_ids.length;
    assert.equal(traj.rows, R);
    assert.equal(traj.positions, T);
    assert.deepEqual(traj.rowLabels, ['0', '1', '2', '3', '4', 'output']);
    const stat = (name: StatisticName): (number | null)[][] => traj.statistic(name).values;
    const [ent, fkl, ce, rank, maxp] = (['entropy', 'kl', 'ce', 'rank', 'max-prob'] as const).map(stat);
    const output = rows[R - 1]!;
    let worst = 0;
    const near = (actual: number | null | undefined, expected: number, what: string): void => {
      assert.equal(typeof actual, 'number', `${what}: missing`);
      const d = Math.abs(actual! - expected);
      worst = Math.max(worst, d);
      assert.ok(d <= TOL, `${what}: ${actual} vs golden ${expected} (|Δ| = ${d})`);
    };
    for (let r = 0; r < R; r++) {
      for (let t = 0; t < T; t++) {
        const lp = rows[r]![t]!;
        const at = `row ${traj.rowLabels[r]} position ${t}`;
        near(ent![r]![t], entropy(lp), `entropy ${at}`);
        near(fkl![r]![t], kl(output[t]!, lp), `forward KL ${at}`);
        near(maxp![r]![t], Math.exp(Math.max(...lp)), `max-prob ${at}`);
        if (t + 1 === T) {
          // The last position has no next token: no target, so no CE or rank.
          assert.equal(ce![r]![t], null, `CE ${at}`);
          assert.equal(rank![r]![t], null, `rank ${at}`);
          continue;
        }
        const target = g.input_ids[t + 1]!;
        const tlp = lp[target]!;
        near(ce![r]![t], -tlp, `CE ${at}`);
        // Rank = 1 + tokens strictly more probable. A token within float32 noise of the target may
        // legitimately count either way, so the rank must lie between the two counts.
        const above = (eps: number): number => lp.filter((v) => v > tlp + eps).length + 1;
        const got = rank![r]![t]!;
        if (above(TOL) === above(-TOL)) assert.equal(got, above(0), `rank ${at}`);
        else assert.ok(got >= above(TOL) && got <= above(-TOL), `rank ${at}: ${got}, golden ${above(0)} (near tie)`);
      }
    }
    // The output row's cross entropy is the golden next-token NLL.
    g.next_token_nll.forEach((nll, t) => near(ce![R - 1]![t], Math.fround(nll), `next-token NLL position ${t}`));
    assert.ok(worst > 0, 'float32 graph vs float64 golden should not agree bit for bit; did the comparison run?');
  });
}

test('stories260K prompt 0: top-1 cell labels match the golden argmax ("_One" at layer 4, "_She" from the model)', async () => {
  const g = readGolden<GoldenPrompt & { logit_lens_top1: number[][]; top1: number[] }>('stories260K', 'prompt_0.json');
  const model = await loadModel('stories260K');
  const traj = await PredictionTrajectory.compute(new LogitLens(model), { ids: [g.input_ids] });
  const labels = traj.cellLabels();
  const expected = [...g.logit_lens_top1, g.top1].map((row) => row.map((id) => traj.vocabLabels[id]));
  assert.deepEqual(labels, expected);
  assert.equal(labels[5]!.at(-1), '_She');
  assert.equal(labels[4]!.at(-1), '_One');
  assert.equal(traj.columnLabels()[0], '<s>');
  assert.equal(traj.columnLabels()[1], '_Once');
});
