/** model_type → architecture. Adding a family means adding one file to architectures/ and a line here. */
import type { Architecture } from './architecture.js';
import { bloom } from './architectures/bloom.js';
import { gpt2 } from './architectures/gpt2.js';
import { gptNeo } from './architectures/gpt-neo.js';
import { gptNeox } from './architectures/gpt-neox.js';
import { gptj } from './architectures/gptj.js';
import { gemma } from './architectures/gemma.js';
import { gemma2 } from './architectures/gemma2.js';
import { llama } from './architectures/llama.js';
import { mistral } from './architectures/mistral.js';
import { phi3 } from './architectures/phi3.js';
import { qwen2 } from './architectures/qwen2.js';
import { qwen3 } from './architectures/qwen3.js';
import { opt } from './architectures/opt.js';

const ARCHITECTURES: Architecture[] = [gpt2, gptNeo, gptj, gptNeox, opt, bloom, llama, mistral, qwen2, qwen3, gemma, gemma2, phi3];

export function supportedModelTypes(): string[] {
  return ARCHITECTURES.flatMap((a) => a.modelTypes).sort();
}

export function architectureFor(modelType: unknown, where = 'config.json'): Architecture {
  const arch = ARCHITECTURES.find((a) => a.modelTypes.includes(String(modelType)));
  if (!arch) {
    throw new Error(`${where}: unsupported model_type '${String(modelType)}'. Supported: ${supportedModelTypes().join(', ')}`);
  }
  return arch;
}
