import { llamaFamily } from './llama-family.js';
import { qwenSlides } from './qwen2.js';

/** Qwen3: Qwen2's rules plus a per-head RMSNorm of q and k before RoPE (q_norm, k_norm). */
export const qwen3 = llamaFamily({ modelType: 'qwen3', slides: qwenSlides, qkNorm: true });
