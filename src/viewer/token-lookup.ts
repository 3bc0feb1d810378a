/**
 * Finds the vocabulary id of a token the user typed in the viewer's target field: `#id`, or one
 * vocabulary token written as stored (" She", "ĠShe", "▁She") or as the figures show it ("_She").
 * Tried in that order, so an exact piece always wins — the same rules as the CLI's `--target`.
 *
 * Core code: no `node:*` imports.
 */
import { normalizePiece } from '../trajectory/token-display.js';
import { TokenFormatter } from '../trajectory/token-formatter.js';

/** Thrown for a spec that names no token or several; the message is fit to show the user. */
export class TokenLookupError extends Error {}

export function lookupToken(idToPiece: (id: number) => string, vocabSize: number, spec: string): number {
  const idMatch = /^#(\d+)$/.exec(spec);
  if (idMatch) {
    const id = Number(idMatch[1]);
    if (id >= vocabSize) throw new TokenLookupError(`${spec} is outside the vocabulary (0..${vocabSize - 1})`);
    return id;
  }
  const pieces = Array.from({ length: vocabSize }, (_, i) => idToPiece(i));
  const display = new TokenFormatter({ maxStringLen: null });
  const tiers: ((p: string) => string)[] = [(p) => p, normalizePiece, (p) => display.format(normalizePiece(p))];
  for (const view of tiers) {
    const hits = pieces.flatMap((p, i) => (view(p) === spec ? [i] : []));
    if (hits.length === 1) return hits[0]!;
    if (hits.length > 1) throw new TokenLookupError(`"${spec}" matches several tokens (${hits.map((i) => `#${i}`).join(', ')}); pick one by id`);
  }
  throw new TokenLookupError(`"${spec}" is not a single token of the vocabulary; type a vocabulary piece (e.g. "_She" for " She") or an id like #123`);
}
