/** The viewer's loaders in Node: model and lens specs are local paths, `stories260K` or Hub ids. */
import { existsSync } from 'node:fs';
import * as nodePath from 'node:path';
import { loadModel } from '../node/load-model.js';
import { loadTunedLens } from '../node/load-lens.js';
import type { EngineLoaders } from './engine.js';
import { readCausalBases } from '../causal/bases-file.js';
import { nodeFileSystem } from '../node/file-system.js';
import { packageVersion, sha256Model, sha256Path } from '../node/provenance.js';

/** A short display name for a spec: the spec itself unless it is a path, then its last two parts. */
export function displayName(spec: string): string {
  if (!existsSync(spec)) return spec;
  const parts = nodePath.resolve(spec).split(nodePath.sep).filter(Boolean);
  const last = parts.slice(-2);
  // "…/stories260K/stories260K.bin" → "stories260K.bin"; "…/reference-lens/lens" → "reference-lens/lens".
  return last.length === 2 && last[1]!.startsWith(last[0]!) ? last[1]! : last.join('/');
}

export function nodeEngineLoaders(overrides: Partial<EngineLoaders> = {}): EngineLoaders {
  return {
    loadModel: (spec, onProgress) => loadModel(spec, { onProgress }),
    loadLens: (model, spec, onProgress) => loadTunedLens(model, spec, { onProgress }),
    displayName,
    loadBases: (model, spec) => readCausalBases(nodeFileSystem, spec, { name: model.name, dModel: model.config.dModel, nLayers: model.nLayers }),
    // The same hashes as the CLI's result files (src/node/provenance.ts).
    sha256: (spec, kind) => (kind === 'model' ? sha256Model(spec) : sha256Path(spec)),
    version: packageVersion(),
    ...overrides,
  };
}
