import { llamaFamily } from './llama-family.js';

/** Gemma: (1 + w) RMSNorm, embeddings × sqrt(hidden_size), GeGLU (from hidden_activation), tied by default. */
export const gemma = llamaFamily({ modelType: 'gemma', gemmaScaling: true, tiedByDefault: true });
