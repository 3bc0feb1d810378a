/**
 * Vocabulary pieces as the token formatter expects them. llama2.c vocabularies store raw spaces and
 * newlines ("\n<s>\n", " Once"), so they are mapped to the GPT-2 byte-level markers (Ġ, Ċ) first and then
 * displayed by the same rules as every other tokenizer ("_Once", "\n").
 */
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { TokenFormatter } from './token-formatter.js';

export function normalizePiece(piece: string): string {
  const special = /^\s*(<[^<>\s]+>)\s*$/.exec(piece);
  if (special) return special[1]!;
  return piece.replace(/ /g, 'Ġ').replace(/\n/g, 'Ċ');
}

/** Raw vocabulary pieces for every id, normalised for display. */
export function vocabularyPieces(tokenizer: Tokenizer, vocabSize = tokenizer.vocabSize): string[] {
  return Array.from({ length: vocabSize }, (_, i) => normalizePiece(tokenizer.idToPiece(i)));
}

/** Display labels for every id with the reference formatter's defaults (or the given options). */
export function tokenLabels(tokenizer: Tokenizer, vocabSize = tokenizer.vocabSize, formatter = new TokenFormatter()): string[] {
  return vocabularyPieces(tokenizer, vocabSize).map((p) => formatter.format(p));
}
