/**
 * Regenerates data/overthinking/pronoun.jsonl deterministically from ../shared/corpora/tinystories_sample.txt:
 *   node --import tsx scripts/make-fewshot-data.ts
 * A few-shot task stories260K can do: a TinyStories sentence, and as its label the pronoun ("He" / "She")
 * that starts the story's next sentence. 120 queries (60 per label), each with 4 demonstrations (2 per
 * label, seeded order) drawn from other sentence pairs. See data/overthinking/README.md.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { SeededRandom } from '../src/applications/random.js';
import { sharedDir } from '../test/helpers/shared-data.js';

const PER_LABEL = 60;
const DEMOS_PER_LABEL = 2;
const corpus = readFileSync(`${sharedDir()}/corpora/tinystories_sample.txt`, 'utf8');
const pairs: { text: string; label: 'He' | 'She' }[] = [];
for (const para of corpus.split(/\n\s*\n/)) {
  const sentences = para.replace(/\s+/g, ' ').trim().match(/[^.!?]+[.!?]+/g) ?? [];
  for (let i = 0; i + 1 < sentences.length; i++) {
    const s1 = sentences[i]!.trim();
    const m = /^(He|She) /.exec(sentences[i + 1]!.trim());
    const words = s1.split(' ').length;
    if (m && words >= 4 && words <= 20 && !s1.includes('"')) pairs.push({ text: s1, label: m[1] as 'He' | 'She' });
  }
}
const unique = [...new Map(pairs.map((p) => [p.text, p])).values()];
const rng = new SeededRandom(0);
const byLabel = (l: string) => unique.filter((p) => p.label === l);
const pools = { He: byLabel('He'), She: byLabel('She') };
const order = { He: rng.permutation(pools.He.length), She: rng.permutation(pools.She.length) };
if (pools.He.length < PER_LABEL * 2 || pools.She.length < PER_LABEL * 2) throw new Error(`too few pairs: ${pools.He.length} He, ${pools.She.length} She`);
// Queries are the first PER_LABEL of each shuffled pool; demonstrations come from the rest.
const queries = [...order.He.slice(0, PER_LABEL).map((i) => pools.He[i]!), ...order.She.slice(0, PER_LABEL).map((i) => pools.She[i]!)];
const demoPool = { He: order.He.slice(PER_LABEL).map((i) => pools.He[i]!), She: order.She.slice(PER_LABEL).map((i) => pools.She[i]!) };
const lines = rng.permutation(queries.length).map((qi) => {
  const q = queries[qi]!;
  const demos = [...rng.sample(demoPool.He.length, DEMOS_PER_LABEL).map((i) => demoPool.He[i]!), ...rng.sample(demoPool.She.length, DEMOS_PER_LABEL).map((i) => demoPool.She[i]!)];
  const shuffled = rng.permutation(demos.length).map((i) => demos[i]!);
  return JSON.stringify({ demos: shuffled.map((d) => ({ text: d.text, label: d.label })), query: q.text, label: q.label });
});
mkdirSync('data/overthinking', { recursive: true });
writeFileSync('data/overthinking/pronoun.jsonl', lines.join('\n') + '\n');
process.stdout.write(`${pools.He.length} He and ${pools.She.length} She sentence pairs; wrote ${lines.length} examples to data/overthinking/pronoun.jsonl\n`);
