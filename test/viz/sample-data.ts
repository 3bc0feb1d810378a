/**
 * A realistic fake trajectory (6 rows: layers 0–4 + output, 12 input tokens) for the viz tests and the
 * sample figures in test-artifacts/. Entropy falls towards the output row, as in a real model.
 */
import { TokenFormatter } from '../../src/trajectory/token-formatter.js';
import type { HeatmapData } from '../../src/viz/heatmap-data.js';

const fmt = new TokenFormatter();

/** GPT-2 pieces of "The quick brown fox jumps over the lazy dog.\nIt was" */
export const INPUT_PIECES = ['The', 'Ġquick', 'Ġbrown', 'Ġfox', 'Ġjumps', 'Ġover', 'Ġthe', 'Ġlazy', 'Ġdog', '.', 'Ċ', 'It'];

/** Top-1 guesses per layer (bottom → top), per position. */
const TOP1: string[][] = [
  ['The', 'Ġquick', 'Ġbrown', 'Ġfox', 'Ġjumps', 'Ġover', 'Ġthe', 'Ġlazy', 'Ġdog', '.', 'Ċ', 'It'],
  ['Ġsame', 'Ġand', 'Ġand', 'es', 'Ġto', 'Ġthe', 'Ġsame', 'Ġand', 'Ġand', 'Ċ', 'The', 'Ġis'],
  ['Ġfirst', 'Ġbrown', 'Ġfox', 'Ġis', 'Ġover', 'Ġthe', 'Ġfirst', 'Ġdog', 'Ġis', 'Ċ', 'The', 'Ġwas'],
  ['Ġfollowing', 'Ġbrown', 'Ġfox', 'Ġjumps', 'Ġover', 'Ġthe', 'Ġlazy', 'Ġdog', '.', 'Ċ', 'The', 'Ġwas'],
  ['Ġfollowing', 'Ġbrown', 'Ġfox', 'Ġjumps', 'Ġover', 'Ġthe', 'Ġlazy', 'Ġdog', '.', 'Ċ', 'It', 'Ġwas'],
  ['Ġfollowing', 'Ġbrown', 'Ġfox', 'Ġjumps', 'Ġover', 'Ġthe', 'Ġlazy', 'Ġdog', '.', 'Ċ', 'It', 'Ġa'],
];

const ALTERNATIVES = ['Ġthe', 'Ġa', ',', 'Ġand', 'Ġof', 'Ġto', 'Ġin', 'Ċ', '.', 'Ġis', 'Ġwas', 'Ġit'];

/** Deterministic pseudo-random numbers, so the figure is the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function sampleTrajectory(): HeatmapData {
  const rand = rng(42);
  const rows = TOP1.length;
  const cols = INPUT_PIECES.length;
  const values: number[][] = [];
  const hover: { tokens: string[]; probs: number[] }[][] = [];
  for (let r = 0; r < rows; r++) {
    const vRow: number[] = [];
    const hRow: { tokens: string[]; probs: number[] }[] = [];
    for (let c = 0; c < cols; c++) {
      // Entropy in nats: ~6–9 at layer 0, down to ~0.3–3 at the output.
      const depth = r / (rows - 1);
      const v = (1 - depth) * (6 + 3 * rand()) + depth * (0.3 + 2.7 * rand());
      vRow.push(Number(v.toFixed(3)));
      let p1 = Math.min(0.97, Math.exp(-v / 1.6));
      const tokens = [TOP1[r]![c]!];
      const probs = [p1];
      let rest = 1 - p1;
      for (const alt of ALTERNATIVES) {
        if (tokens.length === 10) break;
        if (alt === tokens[0]) continue;
        p1 = rest * (0.25 + 0.3 * rand());
        rest -= p1;
        tokens.push(alt);
        probs.push(Math.min(p1, probs[probs.length - 1]!));
      }
      hRow.push({ tokens: fmt.formatAll(tokens), probs });
    }
    values.push(vRow);
    hover.push(hRow);
  }
  return {
    title: 'Tuned lens: prediction trajectory',
    statisticName: 'Entropy',
    units: 'nats',
    rowLabels: [...Array.from({ length: rows - 1 }, (_, i) => String(i)), 'output'],
    columnLabels: fmt.formatAll(INPUT_PIECES),
    values,
    cellLabels: TOP1.map((row) => fmt.formatAll(row)),
    hover,
    colorScale: 'rdbu_r',
  };
}
