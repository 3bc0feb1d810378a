/**
 * Regenerates data/difficulty/cloze.jsonl deterministically from ../shared/corpora/tinystories_sample.txt:
 *   node --import tsx scripts/make-cloze-data.ts
 * A multiple-choice next-word cloze task: a sentence cut before its last word (the prompt), the true last
 * word and three distractors drawn (seed 0) from the last words of other sentences. 200 examples; the
 * answer's position among the choices is seeded.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { SeededRandom } from '../src/applications/random.js';
import { sharedDir } from '../test/helpers/shared-data.js';

const N = 200;
const corpus = readFileSync(`${sharedDir()}/corpora/tinystories_sample.txt`, 'utf8');
const items: { prompt: string; word: string }[] = [];
for (const para of corpus.split(/\n\s*\n/)) {
  for (const s of para.replace(/\s+/g, ' ').trim().match(/[^.!?"]+[.!?]/g) ?? []) {
    const m = /^(.*\S)\s+([a-z]+)\.$/.exec(s.trim());
    if (m && m[1]!.split(' ').length >= 4 && m[1]!.split(' ').length <= 18) items.push({ prompt: m[1]!, word: m[2]! });
  }
}
const unique = [...new Map(items.map((i) => [i.prompt, i])).values()];
const words = [...new Set(unique.map((i) => i.word))];
const rng = new SeededRandom(0);
const lines = rng.sample(unique.length, N).map((k) => {
  const it = unique[k]!;
  const distractors: string[] = [];
  while (distractors.length < 3) {
    const w = words[rng.int(words.length)]!;
    if (w !== it.word && !distractors.includes(w)) distractors.push(w);
  }
  const answer = rng.int(4);
  const choices = [...distractors];
  choices.splice(answer, 0, it.word);
  return JSON.stringify({ prompt: it.prompt, choices: choices.map((c) => `${c}.`), answer });
});
mkdirSync('data/difficulty', { recursive: true });
writeFileSync('data/difficulty/cloze.jsonl', lines.join('\n') + '\n');
process.stdout.write(`${unique.length} sentences, ${words.length} distinct last words; wrote ${lines.length} examples to data/difficulty/cloze.jsonl\n`);
