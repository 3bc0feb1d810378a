/** Training-recipe checks (issue 7 item 6): the data requirement stated once and correctly, flags that fit, collapse. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collapseProblem, dataRequirement, dataShortfall } from '../../src/train/recipe-checks.js';

test('the default recipe on the TinyStories sample: 128,000 sequences needed, and every suggestion fits the data', () => {
  const recipe = { numSteps: 250, tokensPerStep: 2 ** 18, seqLen: 512 };
  assert.deepEqual(dataRequirement(recipe), { sequencesPerStep: 512, sequences: 128_000, tokens: 65_536_000 });
  const msg = dataShortfall(recipe, 195, '--data stories.txt')!;
  assert.match(msg, /195 sequences of 512 tokens \(99840 tokens\), but 250 steps × 262144 tokens need 128000 sequences \(65536000 tokens\)/);
  const suggestions = [...msg.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(suggestions.length >= 1, msg);
  for (const flags of suggestions) {
    const steps = /--num-steps (\d+)/.exec(flags)?.[1];
    const tps = /--tokens-per-step (\d+)/.exec(flags)?.[1];
    const fitted = { ...recipe, numSteps: steps ? Number(steps) : recipe.numSteps, tokensPerStep: tps ? Number(tps) : recipe.tokensPerStep };
    assert.equal(dataShortfall(fitted, 195, 'x'), null, `${flags} fits`);
  }
  assert.equal(dataShortfall(recipe, 128_000, 'x'), null);
});

test('fewer steps or smaller steps are suggested when either alone fits', () => {
  const msg = dataShortfall({ numSteps: 100, tokensPerStep: 768, seqLen: 256 }, 60, 'd')!;
  assert.match(msg, /"--num-steps 20"/);
  assert.match(msg, /need 300 sequences/);
  assert.throws(() => dataRequirement({ numSteps: 1, tokensPerStep: 1000, seqLen: 256 }), /multiple of the sequence length 256; for example --tokens-per-step 768/);
});

test('a collapse is all layers at one loss; a trained lens is not', () => {
  assert.match(collapseProblem([4.607217788696289, 4.607217788696289, 4.607217788696289])!, /collapsed: all 3 layers end with the same loss 4\.60722/);
  assert.equal(collapseProblem([2.469, 1.97, 1.428, 0.99, 0.471]), null);
  assert.equal(collapseProblem([3]), null);
});
