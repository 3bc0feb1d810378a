/** Node entry: resolve a lens spec (folder, pretrained id, or `default`) and build a TunedLens for a model. */
import { nodeFileSystem } from './file-system.js';
import { bundledLensDir, DEFAULT_LENS, resolveLens, type ResolveLensOptions } from '../hub/lens-source.js';
import { readLensFolder, type Translator, type WarnFn } from '../lens/lens-files.js';
import { TunedLens } from '../lens/lens.js';
import type { LanguageModel } from '../models/language-model.js';

export interface LoadLensOptions extends ResolveLensOptions {
  /** Receives warnings, e.g. a lens made for another model of the same shape (default: console.warn). */
  warn?: WarnFn;
}

export async function loadTunedLens(model: LanguageModel, spec: string, options: LoadLensOptions = {}): Promise<TunedLens> {
  const warn = options.warn ?? ((m: string) => console.warn(`warning: ${m}`));
  const dir = spec === DEFAULT_LENS ? bundledLensDir(model.name) : await resolveLens(spec, options);
  const folder = await readLensFolder(nodeFileSystem, dir, {
    warn,
    // Refused before any parameter is read: a lens for another shape cannot be used, whatever its files hold.
    checkConfig: (config, configPath) => {
      const { d_model: d, num_hidden_layers: L } = config;
      if (d !== model.config.dModel || L !== model.nLayers) {
        throw new Error(`${configPath}: this lens is for a model with d_model=${d} and ${L} layers (${config.base_model_name_or_path}), but ${model.name} has d_model=${model.config.dModel} and ${model.nLayers} layers`);
      }
      if (!sameModelName(config.base_model_name_or_path, model.name)) {
        warn(
          `${configPath}: this lens was trained on "${config.base_model_name_or_path}" but is used with "${model.name}"; ` +
            'the shapes match, so it loads, but a lens only means something on the model it was trained on',
        );
      }
    },
  });
  checkFinite(folder.translators, folder.paramsPath);
  return new TunedLens(model, folder.translators);
}

/**
 * Whether two ways of naming a model plausibly name the same one: a Hub id, a folder or a checkpoint file all
 * reduce to their last path component without extension or revision ("EleutherAI/pythia-70m@main",
 * "/models/pythia-70m/" → "pythia-70m"; "stories260K" and ".../stories260K/stories260K.bin" → "stories260k").
 */
export function sameModelName(a: string, b: string): boolean {
  const norm = (s: string): string => {
    const parts = s.replace(/@[^/\\]*$/, '').split(/[/\\]+/).filter((p) => p !== '');
    return (parts[parts.length - 1] ?? '').replace(/\.(bin|safetensors)$/i, '').toLowerCase();
  };
  const na = norm(a);
  const nb = norm(b);
  return na === '' || nb === '' || na === nb;
}

/** A lens whose parameters are NaN or infinite turns every prediction into NaN: refuse it with the reason. */
function checkFinite(translators: readonly Translator[], paramsPath: string): void {
  let bad = 0;
  let total = 0;
  for (const t of translators) {
    for (const a of t.bias ? [t.weight.data, t.bias.data] : [t.weight.data]) {
      total += a.length;
      for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) bad++;
    }
  }
  if (bad > 0) {
    throw new Error(`${paramsPath}: ${bad} of ${total} lens parameters are NaN or infinite, so every prediction through this lens would be NaN (did its training diverge?)`);
  }
}
