/**
 * The static web build's compute: a Web Worker running the viewer engine on onnxruntime-web, so the page
 * stays responsive and no server is needed. The page talks to it with the messages of worker-protocol.ts.
 *
 * Backend: WebGPU when the browser has an adapter (and the page did not ask for WASM), else WASM with SIMD,
 * multi-threaded when the page is cross-origin isolated (SharedArrayBuffer needs COOP/COEP headers).
 */
import { Runtime, type OrtModule } from '../graph/runtime.js';
import { readLensFolder } from '../lens/lens-files.js';
import { TunedLens } from '../lens/lens.js';
import { loadModelFrom, type LoadableSource } from '../models/load-model.js';
import type { LanguageModel } from '../models/language-model.js';
import { ViewerEngine, RequestError } from '../viewer/engine.js';
import { lensFolder, modelSource, sourceLabel } from './web-sources.js';
import { estimateMemory, type MemoryEstimate } from './memory-estimate.js';
import { WebFileSystem } from './web-file-system.js';
import type { BackendInfo, WebSource, WorkerMethod, WorkerMethods, WorkerRequest, WorkerResponse, WorkerSettings } from './worker-protocol.js';
import { heapSize, installHeapMeter } from './heap-meter.js';

// Before onnxruntime-web loads: its heap is a WebAssembly.Memory the meter must see created.
installHeapMeter();

interface OrtWeb extends OrtModule {
  env: { wasm: { wasmPaths?: string; numThreads?: number; simd?: boolean; proxy?: boolean }; logLevel?: string };
}

/** The package version, defined by the web build (esbuild `define`). */
declare const __TUNED_LENS_VERSION__: string | undefined;

const scope = self as unknown as { postMessage(m: unknown): void; onmessage: ((ev: MessageEvent) => void) | null; location: Location; crossOriginIsolated?: boolean; navigator: Navigator & { gpu?: { requestAdapter(): Promise<unknown> } } };
const query = new URLSearchParams(scope.location.search);
const settings: WorkerSettings = {
  hubEndpoint: query.get('hub') ?? 'https://huggingface.co',
  backend: (['webgpu', 'wasm'].includes(query.get('backend') ?? '') ? query.get('backend') : 'auto') as WorkerSettings['backend'],
  weights: query.get('weights') === 'fed' ? 'fed' : 'resident',
};
/** The site's root: the worker script sits in it. */
const siteBase = new URL('./', scope.location.href).href;

const fs = new WebFileSystem();
/** Reads only what is asked for (range requests): safetensors headers before a model is downloaded. */
const headerFs = new WebFileSystem({ wholeFileThreshold: Infinity, picked: fs.picked });

/** Model and lens specs the engine knows, by the string it keys them with. */
const modelSources = new Map<string, { source: LoadableSource; label: string }>();
const lensSources = new Map<string, { dir: string; label: string }>();
let nextSpec = 0;

async function chooseBackend(ort: OrtWeb): Promise<BackendInfo> {
  const isolated = scope.crossOriginIsolated === true;
  const threads = isolated ? Math.max(1, Math.min(4, scope.navigator.hardwareConcurrency ?? 1)) : 1;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = new URL('ort/', siteBase).href;
  let webgpuUnavailable: string | null = null;
  if (settings.backend === 'wasm') webgpuUnavailable = 'WASM was asked for (backend=wasm)';
  else if (!scope.navigator.gpu) webgpuUnavailable = 'this browser has no WebGPU (navigator.gpu is missing)';
  else {
    try {
      if (!(await scope.navigator.gpu.requestAdapter())) webgpuUnavailable = 'WebGPU found no GPU adapter';
    } catch (e) {
      webgpuUnavailable = `WebGPU failed: ${(e as Error).message}`;
    }
  }
  return { provider: webgpuUnavailable ? 'wasm' : 'webgpu', threads, simd: true, crossOriginIsolated: isolated, webgpuUnavailable, weights: settings.weights };
}

function estimate(source: LoadableSource, label: string, tokens: number): Promise<MemoryEstimate | null> {
  const deviceMemoryGiB = (scope.navigator as Navigator & { deviceMemory?: number }).deviceMemory;
  return estimateMemory(fs, headerFs, source, { label, tokens, residentWeights: settings.weights === 'resident', deviceMemoryGiB });
}

/** Resident weight bytes the runtime may hold (grows with the largest model loaded). */
let residentBudget = 0;

function weightBytes(model: LanguageModel): number {
  let bytes = 0;
  for (const data of new Set([...model.weights.values()].map((t) => t.data))) bytes += data.byteLength; // tied weights once
  return bytes;
}

const ready = (async () => {
  const ort = (await import(/* webpackIgnore: true */ new URL('ort/ort.webgpu.min.mjs', siteBase).href)) as OrtWeb;
  const backend = await chooseBackend(ort);
  const runtime = new Runtime(ort, {
    executionProviders: backend.provider === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
    fallbackToCpu: false,
    preallocateOutputs: false,
    residentWeights: settings.weights === 'resident',
    maxResidentBytes: 0, // raised as models load
  });
  const engine = new ViewerEngine(
    { models: [] },
    {
      displayName: (spec) => modelSources.get(spec)?.label ?? lensSources.get(spec)?.label ?? spec,
      // Set by the web build (scripts/build-web.ts); hashes of the models are not computed in the browser.
      version: typeof __TUNED_LENS_VERSION__ === 'string' ? __TUNED_LENS_VERSION__ : undefined,
      async loadModel(spec, onProgress): Promise<LanguageModel> {
        const m = modelSources.get(spec);
        if (!m) throw new Error(`unknown model ${spec}`);
        fs.onProgress = (p) => onProgress(p.loaded, p.total ?? undefined, p.file.split('/').pop() ?? p.file);
        // The page asked first (and said what the model needs); this guards loads that did not ask.
        const need = await estimate(m.source, m.label, 64);
        if (need?.refusal) throw new Error(`${m.label} is not loaded: ${need.refusal}`);
        const model = await loadModelFrom(fs, m.source, runtime, m.label);
        // Room for one forward session and one lens-rows session (the unembedding again) of the largest model
        // loaded: a new prompt length releases the older sessions instead of holding another copy.
        const cfg = model.config;
        residentBudget = Math.max(residentBudget, weightBytes(model) + (cfg.vocabSize + 2) * cfg.dModel * 4);
        runtime.setMaxResidentBytes(residentBudget);
        return model;
      },
      async loadLens(model, spec, onProgress): Promise<TunedLens> {
        const l = lensSources.get(spec);
        if (!l) throw new Error(`unknown lens ${spec}`);
        fs.onProgress = (p) => onProgress(p.loaded, p.total ?? undefined, p.file.split('/').pop() ?? p.file);
        const folder = await readLensFolder(fs, l.dir);
        const { d_model: d, num_hidden_layers: L } = folder.config;
        if (d !== model.config.dModel || L !== model.nLayers) {
          throw new Error(`this lens is for a model with d_model=${d} and ${L} layers, but ${model.name} has d_model=${model.config.dModel} and ${model.nLayers} layers`);
        }
        return new TunedLens(model, folder.translators);
      },
    },
    {},
    { allowNoModels: true },
  );
  return { engine, backend };
})();

/** Registers a model (and its lens) with the engine under fresh spec keys; returns the model's index. */
function addModel(engine: ViewerEngine, source: WebSource, lens: WebSource | undefined): number {
  const label = sourceLabel(source);
  const spec = `model:${nextSpec++}:${label}`;
  modelSources.set(spec, { source: modelSource(fs, source, siteBase, settings.hubEndpoint), label });
  const lenses: string[] = [];
  if (lens) {
    const lspec = `lens:${nextSpec++}:${sourceLabel(lens)}`;
    const lensLabel = lens.kind === 'builtin' ? `${label} tuned lens (built in)` : sourceLabel(lens);
    lensSources.set(lspec, { dir: lensFolder(fs, lens, siteBase, settings.hubEndpoint, label), label: lensLabel });
    lenses.push(lspec);
  }
  return engine.addSource(spec, lenses);
}

type Handler<M extends WorkerMethod> = (params: WorkerMethods[M][0]) => Promise<WorkerMethods[M][1]>;
const handlers: { [M in WorkerMethod]: Handler<M> } = {
  config: async () => (await ready).engine.config(),
  progress: async () => (await ready).engine.progressState(),
  trajectory: async (req) => {
    const { engine } = await ready;
    return engine.trajectory(engine.parseTrajectoryRequest(req));
  },
  pin: async (req) => {
    const { engine } = await ready;
    return engine.pin(engine.parsePinRequest(req));
  },
  addModel: async ({ source, lens }) => {
    const { engine } = await ready;
    return { model: addModel(engine, source, lens), config: engine.config() };
  },
  backend: async () => (await ready).backend,
  heap: async () => heapSize(),
  estimate: async ({ source, tokens }) => estimate(modelSource(fs, source, siteBase, settings.hubEndpoint), sourceLabel(source), tokens),
  cacheInfo: () => fs.cache.size(),
  clearCache: async () => {
    await fs.cache.clear();
    return fs.cache.size();
  },
};

scope.onmessage = (ev: MessageEvent) => {
  const req = ev.data as WorkerRequest;
  const handler = handlers[req.method] as Handler<WorkerMethod> | undefined;
  const reply = (r: WorkerResponse) => scope.postMessage(r);
  if (!handler) {
    reply({ id: req.id, ok: false, error: `unknown request ${String(req.method)}` });
    return;
  }
  handler(req.params as never).then(
    (result) => reply({ id: req.id, ok: true, result }),
    (e: unknown) => reply({ id: req.id, ok: false, error: e instanceof RequestError || e instanceof Error ? e.message : String(e) }),
  );
};
