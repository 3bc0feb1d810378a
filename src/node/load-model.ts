/** Node entry: resolve a model spec (folder, llama2.c file, `stories260K`, Hub id) and load it. */
import { nodeFileSystem } from './file-system.js';
import { defaultRuntime } from './runtime.js';
import type { Runtime } from '../graph/runtime.js';
import { resolveModel, type ResolveModelOptions } from '../hub/model-source.js';
import type { LanguageModel } from '../models/language-model.js';
import { loadModelFrom } from '../models/load-model.js';

export const DEFAULT_MODEL = 'stories260K';

export async function loadModel(spec: string = DEFAULT_MODEL, options: ResolveModelOptions & { runtime?: Runtime } = {}): Promise<LanguageModel> {
  const source = await resolveModel(spec, options);
  return loadModelFrom(nodeFileSystem, source, options.runtime ?? defaultRuntime(), spec);
}
