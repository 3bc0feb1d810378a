/** What every tokenizer offers to the rest of the library (llama2.c `tok512.bin`, HF `tokenizer.json`). */
export interface Tokenizer {
  readonly vocabSize: number;
  /** Beginning-of-sequence id, or null when the model has none. */
  readonly bosId: number | null;
  /** End-of-sequence id, or null when the model has none. */
  readonly eosId: number | null;
  /** Token ids for `text`. `addBos` (default: the tokenizer's own convention) prepends BOS. */
  encode(text: string, options?: { addBos?: boolean }): number[];
  /** Text for a sequence of ids, with the tokenizer's own decoding rules. */
  decode(ids: readonly number[]): string;
  /** The raw vocabulary string of one id (e.g. "Ġthe", "▁the", "<0x0A>"), for display. */
  idToPiece(id: number): string;
}
