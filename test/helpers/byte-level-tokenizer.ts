/** A byte-level BPE tokenizer.json whose vocabulary covers `size` ids (the tiny checkpoints ship none). */
export function byteLevelTokenizer(size: number): unknown {
  const base: Record<string, number> = { '<|endoftext|>': 0, h: 1, e: 2, l: 3, o: 4, 'Ġ': 5, w: 6, r: 7, d: 8, he: 9, ll: 10, hell: 11, hello: 12, 'Ġw': 13, or: 14, ld: 15, 'Ġwor': 16, 'Ġworld': 17, '!': 18 };
  for (let i = 19; i < size; i++) base[`<unused${i}>`] = i;
  const bl = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    added_tokens: [{ id: 0, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...bl },
    post_processor: { type: 'ByteLevel', ...bl },
    decoder: { type: 'ByteLevel', ...bl },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab: base, merges: ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'o r', 'l d', 'Ġw or', 'Ġwor ld'] },
  };
}
