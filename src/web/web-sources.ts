/**
 * Turns a web source (built in, Hub id, URL, picked files) into something the portable loaders read:
 * a model source for `loadModelFrom` or a lens folder for `readLensFolder` (what a model needs in memory:
 * memory-estimate.ts).
 */
import type { LoadableSource } from '../models/load-model.js';
import { WebFileSystem } from './web-file-system.js';
import type { WebSource } from './worker-protocol.js';

/** The models and lenses built into the site (relative to its root). */
export const BUILTIN_MODELS: Record<string, LoadableSource> = {
  stories260K: { kind: 'llama2c', checkpoint: 'models/stories260K/stories260K.bin', tokenizer: 'models/stories260K/tok512.bin' },
};
export const BUILTIN_LENSES: Record<string, string> = { stories260K: 'lenses/stories260K' };

export function sourceLabel(s: WebSource): string {
  switch (s.kind) {
    case 'builtin':
      return s.name;
    case 'hub':
      return s.id;
    case 'url':
      return s.url.replace(/\/+$/, '').split('/').slice(-2).join('/');
    case 'picked':
      return s.folder;
  }
}

function hubFolder(id: string, endpoint: string): string {
  const m = /^([\w.-]+\/[\w.-]+|[\w.-]+)(?:@([\w./-]+))?$/.exec(id.trim());
  if (!m) throw new Error(`"${id}" is not a Hugging Face model id (org/name or org/name@revision)`);
  return `${endpoint.replace(/\/+$/, '')}/${m[1]}/resolve/${encodeURIComponent(m[2] ?? 'main')}`;
}

/** Where a model's files are. `base` is the site's root URL (for built-in models). */
export function modelSource(fs: WebFileSystem, s: WebSource, base: string, hubEndpoint: string): LoadableSource {
  switch (s.kind) {
    case 'builtin': {
      const b = BUILTIN_MODELS[s.name];
      if (!b) throw new Error(`no built-in model "${s.name}" (built in: ${Object.keys(BUILTIN_MODELS).join(', ')})`);
      return b.kind === 'llama2c' ? { kind: 'llama2c', checkpoint: new URL(b.checkpoint, base).href, tokenizer: new URL(b.tokenizer, base).href } : { kind: 'hf-folder', dir: new URL(b.dir, base).href };
    }
    case 'hub':
      return { kind: 'hf-folder', dir: hubFolder(s.id, hubEndpoint) };
    case 'url': {
      const url = new URL(s.url, base).href;
      if (/\.bin$/i.test(url)) return { kind: 'llama2c', checkpoint: url, tokenizer: new URL('tok512.bin', url).href };
      return { kind: 'hf-folder', dir: url.replace(/\/+$/, '') };
    }
    case 'picked': {
      const dir = fs.addPicked(s.folder, s.files);
      const names = s.files.map((f) => f.name);
      if (names.includes('config.json')) return { kind: 'hf-folder', dir };
      const bins = names.filter((n) => /\.bin$/i.test(n));
      const tok = bins.find((n) => /^tok.*\.bin$/i.test(n) || n === 'tokenizer.bin');
      const ckpt = bins.find((n) => n !== tok);
      if (!ckpt || !tok) {
        throw new Error(`the files picked from "${s.folder}" are neither a Hugging Face model folder (config.json + model.safetensors + tokenizer.json) nor a llama2.c checkpoint with its tokenizer (model.bin + tok512.bin); got ${names.join(', ') || 'no files'}`);
      }
      return { kind: 'llama2c', checkpoint: `${dir}/${ckpt}`, tokenizer: `${dir}/${tok}` };
    }
  }
}

/** Where a lens folder is (config.json + params.pt or params.safetensors). */
export function lensFolder(fs: WebFileSystem, s: WebSource, base: string, hubEndpoint: string, modelName: string): string {
  switch (s.kind) {
    case 'builtin': {
      const b = BUILTIN_LENSES[s.name] ?? BUILTIN_LENSES[modelName];
      if (!b) throw new Error(`no built-in lens for "${s.name}"`);
      return new URL(b, base).href;
    }
    case 'hub':
      return hubFolder(s.id, hubEndpoint);
    case 'url':
      return new URL(s.url, base).href.replace(/\/+$/, '');
    case 'picked':
      return fs.addPicked(s.folder, s.files);
  }
}
