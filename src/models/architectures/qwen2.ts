import { llamaFamily } from './llama-family.js';

/**
 * Qwen2: Llama with q/k/v biases (read by presence in the file); `sliding_window` only with
 * use_sliding_window, on layers from max_window_layers on.
 */
export const qwenSlides = (i: number, hf: Record<string, unknown>): boolean =>
  hf.use_sliding_window === true && i >= (typeof hf.max_window_layers === 'number' ? hf.max_window_layers : 0);

export const qwen2 = llamaFamily({ modelType: 'qwen2', slides: qwenSlides });
