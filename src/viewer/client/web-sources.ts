/**
 * The static web build's sources bar: load a model (and a lens) from the Hub by id, from a URL, or from
 * files picked or dropped; shows which compute backend runs and what the download cache holds.
 * Not shown on `tuned-lens serve`'s page, whose models are configured on the command line.
 */
import type { ConfigResponse } from '../protocol.js';
import type { WebSource } from '../../web/worker-protocol.js';
import { callWorker } from './worker-client.js';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page lacks #${id}`);
  return el as T;
}

function mb(bytes: number): string {
  return bytes < 1e6 ? `${(bytes / 1e3).toFixed(0)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Files of a folder picked with <input webkitdirectory> or dropped: the folder's name and its files. */
function pickedFolder(files: File[]): WebSource {
  const first = files[0];
  if (!first) throw new Error('no files were chosen');
  const rel = (f: File) => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
  const folder = rel(first).includes('/') ? rel(first).split('/')[0]! : first.name.replace(/\.[^.]*$/, '');
  // Only the folder's own files (a model folder is flat); deeper files are ignored.
  const flat = files.filter((f) => rel(f).split('/').length <= 2);
  return { kind: 'picked', folder, files: flat.map((f) => ({ name: f.name, blob: f })) };
}

/** Tokens the prompt box's text can be at most (a byte-level tokenizer's count), at least 64: activations are estimated for it. */
function promptTokensBound(): number {
  const prompt = (document.getElementById('prompt') as HTMLTextAreaElement | null)?.value ?? '';
  return Math.max(64, new TextEncoder().encode(prompt).length + 1);
}

export interface WebSourcesHooks {
  /** Called with the new configuration and the index of the model just added. */
  onConfig(config: ConfigResponse, model: number): void;
  showError(message: string | null): void;
  withProgress<T>(label: string, work: Promise<T>): Promise<T>;
}

export async function initWebSources(hooks: WebSourcesHooks): Promise<void> {
  // For tests and the browser benchmark: the worker's calls (heap size, memory estimates).
  (window as unknown as { tunedLensWeb: unknown }).tunedLensWeb = { callWorker };
  const bar = byId<HTMLElement>('web-sources');
  bar.hidden = false;
  const backendEl = byId<HTMLElement>('web-backend');
  const cacheEl = byId<HTMLElement>('web-cache');
  const memoryEl = byId<HTMLElement>('web-memory');
  const hubInput = byId<HTMLInputElement>('web-hub-id');
  const urlInput = byId<HTMLInputElement>('web-url');
  const lensUrlInput = byId<HTMLInputElement>('web-lens-url');
  const folderInput = byId<HTMLInputElement>('web-folder');
  const lensFolderInput = byId<HTMLInputElement>('web-lens-folder');
  let pendingLens: WebSource | undefined;

  const refreshCache = async () => {
    const c = await callWorker('cacheInfo');
    cacheEl.textContent = c.files === 0 ? 'Download cache: empty' : `Download cache: ${c.files} files, ${mb(c.bytes)}`;
  };

  /** Says what the model will need before loading it; false (with the reason shown) when it cannot fit. */
  const fits = async (source: WebSource): Promise<boolean> => {
    const need = await callWorker('estimate', { source, tokens: promptTokensBound() });
    memoryEl.textContent = need ? `Memory: ${need.summary}.` : '';
    memoryEl.dataset.refused = need?.refusal ? 'true' : 'false';
    if (need?.refusal) hooks.showError(`Not loaded: ${need.refusal}`);
    return !need?.refusal;
  };

  const add = async (source: WebSource, lens?: WebSource) => {
    hooks.showError(null);
    try {
      if (!(await fits(source))) return;
      const { model, config } = await hooks.withProgress('Adding model', callWorker('addModel', { source, lens: lens ?? pendingLens }));
      pendingLens = undefined;
      hooks.onConfig(config, model);
      await refreshCache();
    } catch (e) {
      hooks.showError(`Could not add the model: ${(e as Error).message}`);
    }
  };

  byId<HTMLButtonElement>('web-hub-load').addEventListener('click', () => {
    const id = hubInput.value.trim();
    if (!id) hooks.showError('Type a Hugging Face model id first, e.g. EleutherAI/pythia-70m or org/name@revision.');
    else void add({ kind: 'hub', id });
  });
  byId<HTMLButtonElement>('web-url-load').addEventListener('click', () => {
    const url = urlInput.value.trim();
    const lensUrl = lensUrlInput.value.trim();
    if (!url) hooks.showError('Type the URL of a model folder (config.json, model.safetensors, tokenizer.json) or of a llama2.c .bin file.');
    else void add({ kind: 'url', url }, lensUrl ? { kind: 'url', url: lensUrl } : undefined);
  });
  folderInput.addEventListener('change', () => {
    const files = Array.from(folderInput.files ?? []);
    if (files.length) void add(pickedFolder(files));
    folderInput.value = '';
  });
  lensFolderInput.addEventListener('change', () => {
    const files = Array.from(lensFolderInput.files ?? []);
    if (files.length) {
      pendingLens = pickedFolder(files);
      hooks.showError(null);
      byId<HTMLElement>('web-lens-picked').textContent = `Lens "${(pendingLens as { folder: string }).folder}" will be used with the next model you add.`;
    }
    lensFolderInput.value = '';
  });
  // Drag and drop: a model folder's files (or a llama2.c .bin with its tokenizer) anywhere on the bar.
  bar.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    bar.classList.add('drop');
  });
  bar.addEventListener('dragleave', () => bar.classList.remove('drop'));
  bar.addEventListener('drop', (ev) => {
    ev.preventDefault();
    bar.classList.remove('drop');
    const files = Array.from(ev.dataTransfer?.files ?? []);
    if (files.length) void add(pickedFolder(files));
  });
  byId<HTMLButtonElement>('web-cache-clear').addEventListener('click', () => {
    void callWorker('clearCache').then(refreshCache, (e: Error) => hooks.showError(e.message));
  });

  const backend = await callWorker('backend');
  backendEl.textContent =
    (backend.provider === 'webgpu'
      ? 'Compute: WebGPU (in this browser, no server)'
      : `Compute: WebAssembly, SIMD, ${backend.threads} thread${backend.threads === 1 ? '' : 's'}${backend.crossOriginIsolated ? '' : ' (not cross-origin isolated)'} — ${backend.webgpuUnavailable ?? ''}`) +
    (backend.weights === 'resident' ? '; weights resident in its memory' : '; weights fed at every run');
  backendEl.dataset.provider = backend.provider;
  await refreshCache();
  // Built in, so the page works offline on first load.
  const builtin: WebSource = { kind: 'builtin', name: 'stories260K' };
  if (!(await fits(builtin))) return;
  const { model, config } = await callWorker('addModel', { source: builtin, lens: { kind: 'builtin', name: 'stories260K' } });
  hooks.onConfig(config, model);
}
