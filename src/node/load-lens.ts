/** Node entry: resolve a lens spec (folder, pretrained id, or `default`) and build a TunedLens for a model. */
import { nodeFileSystem } from './file-system.js';
import { bundledLensDir, DEFAULT_LENS, resolveLens, type ResolveLensOptions } from '../hub/lens-source.js';
import { readLensFolder } from '../lens/lens-files.js';
import { TunedLens } from '../lens/lens.js';
import type { LanguageModel } from '../models/language-model.js';

export async function loadTunedLens(model: LanguageModel, spec: string, options: ResolveLensOptions = {}): Promise<TunedLens> {
  const dir = spec === DEFAULT_LENS ? bundledLensDir(model.name) : await resolveLens(spec, options);
  const folder = await readLensFolder(nodeFileSystem, dir);
  const { d_model: d, num_hidden_layers: L } = folder.config;
  if (d !== model.config.dModel || L !== model.nLayers) {
    throw new Error(`${folder.paramsPath}: this lens is for a model with d_model=${d} and ${L} layers (${folder.config.base_model_name_or_path}), but ${model.name} has d_model=${model.config.dModel} and ${model.nLayers} layers`);
  }
  return new TunedLens(model, folder.translators);
}
