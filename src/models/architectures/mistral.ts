import { llamaFamily } from './llama-family.js';

/** Mistral: Llama with `sliding_window` on every layer (unless use_sliding_window is false). */
export const mistral = llamaFamily({ modelType: 'mistral', slides: (_i, hf) => hf.use_sliding_window !== false });
