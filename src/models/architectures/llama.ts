import { llamaFamily } from './llama-family.js';

/** Llama (and llama2.c checkpoints read as Llama): the family's defaults, no sliding window. */
export const llama = llamaFamily({ modelType: 'llama' });
