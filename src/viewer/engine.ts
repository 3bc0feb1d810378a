/**
 * The viewer's compute side: the configured models and lenses (loaded once, cached), request
 * validation, and the trajectories / pins the page asks for, run one at a time with progress.
 *
 * Clients choose a model and a tuned lens by index into the configured lists, never by path, so the
 * server only ever opens what its operator configured.
 */
import * as op from '../graph/ops.js';
import { LogitLens, type Lens, type TunedLens } from '../lens/lens.js';
import { allRows, computeHiddenStates, reduceLensRows, scatterBlock, type HiddenStates, type RowReduction } from '../lens/rows.js';
import { basisColumn, type CausalBases } from '../causal/bases-file.js';
import { subspaceAblationEdits } from '../causal/interventions.js';
import type { LanguageModel } from '../models/language-model.js';
import type { ProgressCallback } from '../hub/hub-client.js';
import { midBlockResidualUnavailable } from '../models/blocks.js';
import { computeTrajectory, type TrajectoryData } from '../trajectory/compute.js';
import { computeLayerDifferences, type LayerDifferences } from '../trajectory/layer-differences.js';
import { computeSublayerTrajectory } from '../trajectory/sublayer.js';
import { jsOf, klOf, largestChangesOf, mergeLargestChanges, tvOf } from '../trajectory/row-statistics.js';
import { lookupToken, TokenLookupError } from './token-lookup.js';
import {
  GRID_MODES,
  LENS_MODES,
  type AblationRequest,
  type AblationResponse,
  type BasesResponse,
  type ComputedGridMode,
  type ConfigResponse,
  type DistancePayload,
  type GridPayload,
  type LayerDeltaPayload,
  type LensMode,
  type ModelInfo,
  type PinRequest,
  type PinResponse,
  type ProgressResponse,
  type TrajectoryRequest,
  type TrajectoryResponse,
  type ViewerLimits,
} from './protocol.js';

/** An error with an HTTP status and a message meant for the person using the page. */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ViewerSources {
  /** Model specs (as `loadModel` takes them). */
  models: string[];
  /** Tuned lens specs (folders or pretrained ids) per model spec. */
  lenses?: Record<string, string[]>;
  /** Longest prompt in tokens; the model's maximum context is the limit either way. */
  maxTokens?: number;
  /** A causal-basis folder (`tuned-lens causal-basis` output) per model spec, for the causal basis panel. */
  bases?: Record<string, string>;
}

/**
 * How specs become models and lenses: Node loads from disk and the Hub (viewer/node-loaders.ts), the
 * static web build from URLs, the Hub and picked files (web/). Injectable, so tests can count loads too.
 */
export interface EngineLoaders {
  loadModel(spec: string, onProgress: ProgressCallback): Promise<LanguageModel>;
  loadLens(model: LanguageModel, spec: string, onProgress: ProgressCallback): Promise<TunedLens>;
  /** A short name for a spec, as the page shows it. */
  displayName(spec: string): string;
  /** Reads and checks a causal-basis folder for `model` (only needed with `ViewerSources.bases`). */
  loadBases?(model: LanguageModel, spec: string): Promise<CausalBases>;
  /** sha256 of a model's or lens's files, for exports' provenance; absent or null where not computed. */
  sha256?(spec: string, kind: 'model' | 'lens'): Promise<string | null>;
  /** The tuned-lens version, for exports' provenance. */
  version?: string;
}

export const DEFAULT_LIMITS: ViewerLimits = { maxBodyBytes: 64 * 1024, maxPromptChars: 20_000, maxTopK: 50 };

const DEFAULT_TOP_K = 10;
/** Recent trajectories kept, so exports, pins and re-renders of one view never recompute. */
const TRAJECTORY_CACHE = 16;
const PIN_CACHE = 64;

/** A small least-recently-used map. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly size: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    while (this.map.size > this.size) this.map.delete(this.map.keys().next().value!);
  }
}

/** 5 significant digits: enough for any figure, and a third of the JSON of full float precision. */
function compact(a: ArrayLike<number>): (number | null)[] {
  const out = new Array<number | null>(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    out[i] = Number.isFinite(v) ? Number(v.toPrecision(5)) : null;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Runs jobs strictly one after another (onnxruntime sessions and model memory are shared, and a second
 * big computation in parallel would only make both slower), tracking what runs for /api/progress.
 */
class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  waiting = 0;
  running = false;

  run<T>(job: () => Promise<T>): Promise<T> {
    this.waiting++;
    const result = this.tail.then(async () => {
      this.waiting--;
      this.running = true;
      try {
        return await job();
      } finally {
        this.running = false;
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export class ViewerEngine {
  readonly limits: ViewerLimits;
  private readonly models: string[];
  private readonly lenses: string[][];
  private readonly displayName: (spec: string) => string;
  private readonly loaders: EngineLoaders;
  private readonly loadedModels = new Map<number, LanguageModel>();
  private readonly loadedLenses = new Map<string, TunedLens>();
  private readonly logitLenses = new Map<number, LogitLens>();
  private readonly loadedBases = new Map<number, CausalBases>();
  /** sha256 of each loaded model or lens spec (null where the loaders do not compute it). */
  private readonly fingerprints = new Map<string, string | null>();
  private readonly trajectories = new Lru<TrajectoryResponse>(TRAJECTORY_CACHE);
  private readonly pins = new Lru<PinResponse>(PIN_CACHE);
  /** Trajectories with a grid mode's extra data (layer differences, sub-layer reads). */
  private readonly modeTrajectories = new Lru<TrajectoryResponse>(TRAJECTORY_CACHE);
  private readonly queue = new SerialQueue();
  private progress = { task: '', step: 0, steps: 0, startedAt: 0, download: null as ProgressResponse['download'] };

  constructor(
    private readonly sources: ViewerSources,
    loaders: EngineLoaders,
    limits: Partial<ViewerLimits> = {},
    options: { allowNoModels?: boolean } = {},
  ) {
    if (sources.models.length === 0 && !options.allowNoModels) throw new Error('the viewer needs at least one model');
    this.models = [...sources.models];
    const lensMap = sources.lenses ?? {};
    for (const key of Object.keys(lensMap)) {
      if (!this.models.includes(key)) throw new Error(`lenses are configured for "${key}", which is not one of the models (${this.models.join(', ')})`);
    }
    this.lenses = this.models.map((m) => [...(lensMap[m] ?? [])]);
    for (const key of Object.keys(sources.bases ?? {})) {
      if (!this.models.includes(key)) throw new Error(`causal bases are configured for "${key}", which is not one of the models (${this.models.join(', ')})`);
    }
    this.loaders = loaders;
    this.displayName = (spec) => loaders.displayName(spec);
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /**
   * Adds a model (or more lenses for a model already listed) and returns its index: the static web
   * build configures sources while the page runs. Specs already listed keep their index and caches.
   */
  addSource(model: string, lenses: string[] = []): number {
    let index = this.models.indexOf(model);
    if (index < 0) {
      index = this.models.push(model) - 1;
      this.lenses.push([]);
    }
    for (const l of lenses) if (!this.lenses[index]!.includes(l)) this.lenses[index]!.push(l);
    return index;
  }

  config(): ConfigResponse {
    return {
      models: this.models.map((spec, index) => ({
        index,
        name: this.displayName(spec),
        lenses: this.lenses[index]!.map((l, li) => ({ index: li, name: this.displayName(l) })),
      })),
      limits: this.limits,
      version: this.loaders.version ?? null,
    };
  }

  progressState(): ProgressResponse {
    const busy = this.queue.running;
    return {
      busy,
      task: busy ? this.progress.task : '',
      step: busy ? this.progress.step : 0,
      steps: busy ? this.progress.steps : 0,
      queued: this.queue.waiting,
      elapsedMs: busy ? Date.now() - this.progress.startedAt : 0,
      download: busy ? this.progress.download : null,
    };
  }

  // -------------------------------------------------------------------------------------------------
  // Validation

  /** Checks the JSON body of /api/trajectory (and the shared part of /api/pin, /api/export). */
  parseTrajectoryRequest(body: unknown): Required<Omit<TrajectoryRequest, 'prompt2' | 'mode'>> & { prompt2: string; mode?: ComputedGridMode } {
    if (!isRecord(body)) throw new RequestError(400, 'The request body must be a JSON object.');
    const { model, lens, tunedLens = 0, prompt, prompt2 = '', topK = DEFAULT_TOP_K, mode: gridMode } = body;
    if (typeof model !== 'number' || !Number.isInteger(model) || model < 0 || model >= this.models.length) {
      throw new RequestError(400, `Unknown model ${JSON.stringify(model)}: choose one of the ${this.models.length} configured models by index (0..${this.models.length - 1}).`);
    }
    if (typeof lens !== 'string' || !(LENS_MODES as readonly string[]).includes(lens)) {
      throw new RequestError(400, `Unknown lens mode ${JSON.stringify(lens)}: use one of ${LENS_MODES.join(', ')}.`);
    }
    const mode = lens as LensMode;
    const lensCount = this.lenses[model]!.length;
    if (mode !== 'logit') {
      if (lensCount === 0) {
        throw new RequestError(400, `No tuned lens is configured for ${this.displayName(this.models[model]!)}: choose the logit lens, or restart the server with --lens.`);
      }
      if (typeof tunedLens !== 'number' || !Number.isInteger(tunedLens) || tunedLens < 0 || tunedLens >= lensCount) {
        throw new RequestError(400, `Unknown tuned lens ${JSON.stringify(tunedLens)} for ${this.displayName(this.models[model]!)} (0..${lensCount - 1}).`);
      }
    }
    for (const [name, v] of [['prompt', prompt], ['prompt2', prompt2]] as const) {
      if (typeof v !== 'string') throw new RequestError(400, `${name} must be a string.`);
      if (v.length > this.limits.maxPromptChars) {
        throw new RequestError(400, `The ${name === 'prompt' ? 'prompt' : 'second prompt'} has ${v.length} characters; the viewer accepts at most ${this.limits.maxPromptChars}.`);
      }
    }
    if ((prompt as string).trim() === '') throw new RequestError(400, 'Type a prompt first.');
    if ((prompt2 as string).trim() !== '' && (mode === 'compare' || mode === 'diff')) {
      throw new RequestError(400, 'Comparing two prompts works with one lens at a time: choose the logit lens or the tuned lens.');
    }
    if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1 || topK > this.limits.maxTopK) {
      throw new RequestError(400, `topK must be an integer from 1 to ${this.limits.maxTopK}.`);
    }
    // Only the grid modes that need a computation matter here; 'lens' and 'depth' read the plain trajectory.
    if (gridMode !== undefined && !(GRID_MODES as readonly unknown[]).includes(gridMode)) {
      throw new RequestError(400, `Unknown grid mode ${JSON.stringify(gridMode)}: use one of ${GRID_MODES.join(', ')}.`);
    }
    const extra = gridMode === 'delta' || gridMode === 'sublayer' ? { mode: gridMode as ComputedGridMode } : {};
    return { model, lens: mode, tunedLens: mode === 'logit' ? 0 : (tunedLens as number), prompt: prompt as string, prompt2: (prompt2 as string).trim() === '' ? '' : (prompt2 as string), topK, ...extra };
  }

  /** Tokenizes the prompts, with a clear message when one is too long for the model. */
  private encodePrompts(model: LanguageModel, req: TrajectoryRequest): number[][] {
    const limit = this.maxTokens(model);
    const out: number[][] = [];
    for (const [which, text] of [['The prompt', req.prompt], ['The second prompt', req.prompt2 ?? '']] as const) {
      if (which === 'The second prompt' && text === '') continue;
      let ids: number[];
      try {
        ids = model.encode(text);
      } catch (e) {
        throw new RequestError(400, `${which} cannot be tokenized: ${(e as Error).message}`);
      }
      if (ids.length === 0) throw new RequestError(400, `${which} produced no tokens.`);
      if (ids.length > limit) {
        throw new RequestError(
          400,
          `${which} is ${ids.length} tokens long, but ${model.name} takes at most ${limit} tokens` +
            `${limit === model.config.maxPositions ? ' (its context length)' : ' (the limit this server was started with)'}. ` +
            `Shorten it by ${ids.length - limit} tokens.`,
        );
      }
      out.push(ids);
    }
    return out;
  }

  private maxTokens(model: LanguageModel): number {
    return Math.min(model.config.maxPositions, this.sources.maxTokens ?? Infinity);
  }

  // -------------------------------------------------------------------------------------------------
  // Loading (inside queued jobs only)

  private async model(index: number): Promise<LanguageModel> {
    const cached = this.loadedModels.get(index);
    if (cached) return cached;
    const spec = this.models[index]!;
    this.stepTo(`Loading model ${this.displayName(spec)}`);
    try {
      const m = await this.loaders.loadModel(spec, this.onDownload);
      await this.fingerprint(spec, 'model');
      this.loadedModels.set(index, m);
      return m;
    } catch (e) {
      throw new RequestError(500, `Could not load model ${this.displayName(spec)}: ${(e as Error).message}`);
    } finally {
      this.progress.download = null;
    }
  }

  private async tunedLens(modelIndex: number, lensIndex: number, model: LanguageModel): Promise<TunedLens> {
    const key = `${modelIndex}/${lensIndex}`;
    const cached = this.loadedLenses.get(key);
    if (cached) return cached;
    const spec = this.lenses[modelIndex]![lensIndex]!;
    this.stepTo(`Loading tuned lens ${this.displayName(spec)}`);
    try {
      const lens = await this.loaders.loadLens(model, spec, this.onDownload);
      await this.fingerprint(spec, 'lens');
      this.loadedLenses.set(key, lens);
      return lens;
    } catch (e) {
      throw new RequestError(500, `Could not load the tuned lens ${this.displayName(spec)}: ${(e as Error).message}`);
    } finally {
      this.progress.download = null;
    }
  }

  /** Hashes a spec's files once; a failure to hash is no reason to refuse the view, so it records null. */
  private async fingerprint(spec: string, kind: 'model' | 'lens'): Promise<void> {
    if (this.fingerprints.has(spec)) return;
    this.fingerprints.set(spec, this.loaders.sha256 ? await this.loaders.sha256(spec, kind).catch(() => null) : null);
  }

  private logitLens(index: number, model: LanguageModel): LogitLens {
    let lens = this.logitLenses.get(index);
    if (!lens) this.logitLenses.set(index, (lens = new LogitLens(model)));
    return lens;
  }

  private readonly onDownload: ProgressCallback = (done, total, file) => {
    this.progress.download = { file, done, total: total ?? null };
  };

  /** Starts a job's progress: `steps` is an estimate, corrected as steps are skipped (cached loads). */
  private begin(steps: number): void {
    this.progress = { task: 'Starting', step: 0, steps, startedAt: Date.now(), download: null };
  }

  private stepTo(task: string): void {
    this.progress.step++;
    this.progress.steps = Math.max(this.progress.steps, this.progress.step);
    this.progress.task = task;
  }

  /** For computeTrajectory: long prompts run in blocks of positions; show how far the current step is. */
  private readonly blockProgress = (done: number, total: number): void => {
    if (total < 2) return;
    this.progress.task = `${this.progress.task.replace(/ \(\d+\/\d+ position blocks\)$/, '')} (${done}/${total} position blocks)`;
  };

  /** Steps still to come in a job, for an honest "3/4" (loads that are cached are not steps). */
  private loadSteps(req: TrajectoryRequest): number {
    let n = this.loadedModels.has(req.model) ? 0 : 1;
    if (req.lens !== 'logit' && !this.loadedLenses.has(`${req.model}/${req.tunedLens ?? 0}`)) n++;
    return n;
  }

  // -------------------------------------------------------------------------------------------------
  // Trajectories

  private cacheKey(req: TrajectoryRequest): string {
    return JSON.stringify([req.model, req.lens, req.tunedLens ?? 0, req.prompt, req.prompt2 ?? '', req.topK ?? DEFAULT_TOP_K]);
  }

  /**
   * The trajectory of a validated request (see parseTrajectoryRequest), with its grid mode's extra data
   * when `req.mode` asks for some. Cached; otherwise queued behind any running job. A too-long prompt is
   * rejected before queueing when the model is already loaded.
   */
  async trajectory(req: TrajectoryRequest): Promise<TrajectoryResponse> {
    const base = await this.lensTrajectory(req);
    return req.mode ? this.withGridMode(req, req.mode, base) : base;
  }

  /**
   * Adds a grid mode's data to a trajectory, per grid in response order: the layer differences of that
   * grid's lens on its prompt, or the sub-layer reads (logit lens after each block's attention) of its
   * prompt. Each runs on the lens-rows engine, like the trajectory.
   */
  private async withGridMode(req: TrajectoryRequest, mode: ComputedGridMode, base: TrajectoryResponse): Promise<TrajectoryResponse> {
    const key = `${this.cacheKey(req)}#${mode}`;
    const hit = this.modeTrajectories.get(key);
    if (hit) return hit;
    return this.queue.run(async () => {
      const again = this.modeTrajectories.get(key);
      if (again) return again;
      const t0 = Date.now();
      this.begin(this.loadSteps(req) + base.grids.length);
      const model = await this.model(req.model);
      const tuned = req.lens === 'logit' ? null : await this.tunedLens(req.model, req.tunedLens ?? 0, model);
      const logit = this.logitLens(req.model, model);
      const pieces = { ...base.pieces };
      const addPieces = (ids: Iterable<number>): void => {
        for (const id of ids) if (id >= 0 && !(id in pieces)) pieces[id] = model.tokenizer.idToPiece(id);
      };
      let resp: TrajectoryResponse;
      if (mode === 'delta') {
        const layerDeltas: LayerDeltaPayload[] = [];
        for (const grid of base.grids) {
          this.stepTo(`Layer differences of the ${grid.label}`);
          const d = await computeLayerDifferences(grid.lens === 'tuned' ? tuned! : logit, grid.inputIds, { onProgress: this.blockProgress });
          addPieces(d.riseIds);
          layerDeltas.push(toLayerDelta(d));
        }
        resp = { ...base, pieces, layerDeltas };
      } else {
        const why = base.model.sublayerUnavailable;
        if (why) {
          resp = { ...base, sublayerUnavailable: why };
        } else {
          // One read per prompt: the logit lens on the same prompt gives the same rows for every grid of it.
          const perPrompt = new Map<number, GridPayload>();
          const sublayerGrids: GridPayload[] = [];
          for (const grid of base.grids) {
            let g = perPrompt.get(grid.prompt);
            if (!g) {
              this.stepTo(`Sub-layer reads${base.grids.some((x) => x.prompt === 1) ? ` of prompt ${grid.prompt === 0 ? 'A' : 'B'}` : ''}`);
              const data = await computeSublayerTrajectory(model, { ids: [grid.inputIds] }, { onProgress: this.blockProgress, topK: grid.topK });
              g = toGrid(data, grid.prompt, 'sub-layer reads (logit lens)');
              addPieces(g.topIds);
              perPrompt.set(grid.prompt, g);
            }
            sublayerGrids.push(g);
          }
          resp = { ...base, pieces, sublayerGrids };
        }
      }
      resp = { ...resp, elapsedMs: base.elapsedMs + Date.now() - t0 };
      this.modeTrajectories.set(key, resp);
      return resp;
    });
  }

  /** The lens trajectory of a request (its grid mode aside). */
  private async lensTrajectory(req: TrajectoryRequest): Promise<TrajectoryResponse> {
    const key = this.cacheKey(req);
    const hit = this.trajectories.get(key);
    if (hit) return hit;
    const loaded = this.loadedModels.get(req.model);
    if (loaded) this.encodePrompts(loaded, req);
    return this.queue.run(async () => {
      const again = this.trajectories.get(key); // an identical request may have run while this one waited
      if (again) return again;
      const t0 = Date.now();
      const twoPrompts = (req.prompt2 ?? '') !== '';
      const computeSteps = req.lens === 'compare' || req.lens === 'diff' || twoPrompts ? (twoPrompts ? 3 : 2) : 1;
      this.begin(this.loadSteps(req) + computeSteps);
      const model = await this.model(req.model);
      const [idsA, idsB] = this.encodePrompts(model, req);
      const tuned = req.lens === 'logit' ? null : await this.tunedLens(req.model, req.tunedLens ?? 0, model);
      const logit = this.logitLens(req.model, model);
      const topK = req.topK ?? DEFAULT_TOP_K;
      const grids: GridPayload[] = [];
      let distance: DistancePayload | null = null;

      if (twoPrompts) {
        const lens: Lens = tuned ?? logit;
        const name = lens.kind === 'tuned' ? 'tuned lens' : 'logit lens';
        this.stepTo(`Computing the ${name} on prompt A`);
        grids.push(toGrid(await computeTrajectory(lens, { ids: [idsA!] }, { onProgress: this.blockProgress, topK }), 0, 'prompt A'));
        this.stepTo(`Computing the ${name} on prompt B`);
        grids.push(toGrid(await computeTrajectory(lens, { ids: [idsB!] }, { onProgress: this.blockProgress, topK }), 1, 'prompt B'));
        this.stepTo('Comparing prompt A with prompt B');
        distance = await promptDistances(lens, idsA!, idsB!, { topK });
      } else if (tuned && (req.lens === 'compare' || req.lens === 'diff')) {
        this.stepTo('Computing the logit lens');
        grids.push(toGrid(await computeTrajectory(logit, { ids: [idsA!] }, { onProgress: this.blockProgress, topK }), 0, 'logit lens'));
        this.stepTo('Computing the tuned lens and its distance to the logit lens');
        // compareWith computes KL/JS/TV(tuned ‖ logit) in the same graph run as the tuned statistics.
        const data = await computeTrajectory(tuned, { ids: [idsA!] }, { onProgress: this.blockProgress, topK, compareWith: logit });
        grids.push(toGrid(data, 0, 'tuned lens'));
        const c = data.comparison!;
        distance = {
          self: 1, other: 0, kind: 'lens', rows: data.rows, positions: data.positions, kl: compact(c.kl), js: compact(c.js), tv: compact(c.tv),
          changeK: data.topK, changeIds: Array.from(c.changeIds!), changes: compact(c.changes!) as number[],
        };
      } else {
        const lens: Lens = tuned ?? logit;
        this.stepTo(`Computing the ${lens.kind} lens`);
        grids.push(toGrid(await computeTrajectory(lens, { ids: [idsA!] }, { onProgress: this.blockProgress, topK }), 0, `${lens.kind} lens`));
      }

      const pieces: Record<string, string> = {};
      for (const g of grids) for (const id of [...g.inputIds, ...g.topIds]) if (!(id in pieces)) pieces[id] = model.tokenizer.idToPiece(id);
      for (const id of distance?.changeIds ?? []) if (!(id in pieces)) pieces[id] = model.tokenizer.idToPiece(id);
      const resp: TrajectoryResponse = {
        model: this.modelInfo(req.model, model),
        lens: req.lens,
        ...this.tunedLensInfo(req, !!tuned),
        grids,
        distance,
        pieces,
        elapsedMs: Date.now() - t0,
      };
      this.trajectories.set(key, resp);
      return resp;
    });
  }

  /** The tuned lens's display name and sha256 for a response (both null without a tuned lens). */
  private tunedLensInfo(req: Pick<TrajectoryRequest, 'model' | 'tunedLens'>, tuned: boolean): Pick<TrajectoryResponse, 'tunedLensName' | 'tunedLensSha256'> {
    if (!tuned) return { tunedLensName: null, tunedLensSha256: null };
    const spec = this.lenses[req.model]![req.tunedLens ?? 0]!;
    return { tunedLensName: this.displayName(spec), tunedLensSha256: this.fingerprints.get(spec) ?? null };
  }

  private modelInfo(index: number, model: LanguageModel): ModelInfo {
    const spec = this.models[index]!;
    const info: ModelInfo = { index, name: this.displayName(spec), vocabSize: model.config.vocabSize, nLayers: model.nLayers, maxTokens: this.maxTokens(model), sha256: this.fingerprints.get(spec) ?? null };
    const noSublayer = midBlockResidualUnavailable(model.config);
    return noSublayer ? { ...info, sublayerUnavailable: `Sub-layer reads are off for ${info.name}: ${noSublayer}.` } : info;
  }

  parsePinRequest(body: unknown): PinRequest {
    const req = this.parseTrajectoryRequest(body);
    const { tokenId, token } = body as Record<string, unknown>;
    // A typed token (the target field) is looked up in the vocabulary once the model is loaded.
    if (tokenId === undefined && typeof token === 'string' && token !== '' && token.length <= 200) return { ...req, token };
    if (typeof tokenId !== 'number' || !Number.isInteger(tokenId) || tokenId < 0) throw new RequestError(400, 'tokenId must be a non-negative integer (or token a vocabulary piece).');
    return { ...req, tokenId };
  }

  /**
   * Probability and rank of one token at every layer and position, for each grid of the request's
   * trajectory: `computeTrajectory` with that token as the target everywhere gives −log p and its rank.
   */
  async pin(req: PinRequest): Promise<PinResponse> {
    if (req.tokenId === undefined) {
      // Usually loaded already (the page asks for a target after the trajectory); else load it in turn.
      const model = this.loadedModels.get(req.model) ?? (await this.queue.run(() => (this.begin(1), this.model(req.model))));
      try {
        req = { ...req, tokenId: lookupToken((i) => model.tokenizer.idToPiece(i), model.config.vocabSize, req.token ?? '') };
      } catch (e) {
        if (e instanceof TokenLookupError) throw new RequestError(400, `Target ${e.message}.`);
        throw e;
      }
    }
    const tokenId = req.tokenId!;
    const key = `${this.cacheKey(req)}#${tokenId}`;
    const hit = this.pins.get(key);
    if (hit) return hit;
    const loaded = this.loadedModels.get(req.model);
    if (loaded) this.checkToken(loaded, tokenId);
    if (loaded) this.encodePrompts(loaded, req);
    return this.queue.run(async () => {
      const again = this.pins.get(key);
      if (again) return again;
      const twoPrompts = (req.prompt2 ?? '') !== '';
      const runs = twoPrompts || req.lens === 'compare' || req.lens === 'diff' ? 2 : 1;
      this.begin(this.loadSteps(req) + runs);
      const model = await this.model(req.model);
      this.checkToken(model, tokenId);
      const [idsA, idsB] = this.encodePrompts(model, req);
      const tuned = req.lens === 'logit' ? null : await this.tunedLens(req.model, req.tunedLens ?? 0, model);
      const logit = this.logitLens(req.model, model);
      // Same grids, same order as the trajectory response.
      const jobs: [Lens, number[], string][] = twoPrompts
        ? [[tuned ?? logit, idsA!, 'prompt A'], [tuned ?? logit, idsB!, 'prompt B']]
        : req.lens === 'compare' || req.lens === 'diff'
          ? [[logit, idsA!, 'logit lens'], [tuned!, idsA!, 'tuned lens']]
          : [[tuned ?? logit, idsA!, `${(tuned ?? logit).kind} lens`]];
      const piece = model.tokenizer.idToPiece(tokenId);
      const series: PinResponse['series'] = [];
      for (const [lens, ids, label] of jobs) {
        this.stepTo(`Tracking ${JSON.stringify(piece)} through the ${label}`);
        const data = await computeTrajectory(lens, { ids: [ids] }, { onProgress: this.blockProgress, topK: 1, targets: [ids.map(() => tokenId)] });
        series.push({
          label,
          rows: data.rows,
          positions: data.positions,
          prob: compact(Array.from(data.crossEntropy, (ce) => Math.exp(-ce))),
          rank: compact(data.rank),
        });
      }
      const resp: PinResponse = { tokenId, piece, series };
      this.pins.set(key, resp);
      return resp;
    });
  }

  private checkToken(model: LanguageModel, id: number): void {
    if (id >= model.config.vocabSize) throw new RequestError(400, `tokenId ${id} is outside the vocabulary of ${model.name} (0..${model.config.vocabSize - 1}).`);
  }

  // -------------------------------------------------------------------------------------------------
  // Causal basis panel

  private basesSpec(modelIndex: number): string | undefined {
    return this.sources.bases?.[this.models[modelIndex]!];
  }

  private async causalBases(modelIndex: number, model: LanguageModel): Promise<CausalBases> {
    const cached = this.loadedBases.get(modelIndex);
    if (cached) return cached;
    const spec = this.basesSpec(modelIndex);
    if (!spec || !this.loaders.loadBases) throw new RequestError(400, `No causal basis is configured for ${this.displayName(this.models[modelIndex]!)}: restart the server with --bases DIR.`);
    this.stepTo(`Loading the causal basis ${this.displayName(spec)}`);
    try {
      const bases = await this.loaders.loadBases(model, spec);
      this.loadedBases.set(modelIndex, bases);
      return bases;
    } catch (e) {
      throw new RequestError(500, `Could not load the causal basis ${this.displayName(spec)}: ${(e as Error).message}`);
    }
  }

  /** The configured causal bases, for the panel's lists (GET /api/bases). */
  async basesInfo(): Promise<BasesResponse> {
    const out: BasesResponse = { bases: [] };
    for (let m = 0; m < this.models.length; m++) {
      const spec = this.basesSpec(m);
      if (!spec) continue;
      const { model, bases } = await this.queue.run(async () => {
        this.begin(3);
        const model = await this.model(m);
        return { model, bases: await this.causalBases(m, model) };
      });
      const pieces: Record<string, string> = {};
      const layers = bases.layers.map((l) => ({
        layer: l.layer,
        k: l.k,
        directions: l.directions.map((d) => {
          const plus = d.plus.map((t) => t.id).filter((id) => id < model.config.vocabSize);
          const minus = d.minus.map((t) => t.id).filter((id) => id < model.config.vocabSize);
          for (const id of [...plus, ...minus]) pieces[id] ??= model.tokenizer.idToPiece(id);
          return { index: d.index, energy: d.energy, plus, minus };
        }),
      }));
      out.bases.push({ model: m, lensKind: bases.lensKind, mode: bases.mode, name: this.displayName(spec), layers, pieces });
    }
    return out;
  }

  /** Checks the JSON body of /api/ablate. */
  parseAblationRequest(body: unknown): AblationRequest {
    const req = this.parseTrajectoryRequest(body);
    if (req.prompt2 !== '') throw new RequestError(400, 'Ablating a direction works on one prompt: clear the second prompt.');
    const { layer, direction } = body as Record<string, unknown>;
    for (const [name, v] of [['layer', layer], ['direction', direction]] as const) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new RequestError(400, `${name} must be a non-negative integer.`);
    }
    if (!this.basesSpec(req.model)) throw new RequestError(400, `No causal basis is configured for ${this.displayName(this.models[req.model]!)}: restart the server with --bases DIR.`);
    const { prompt2: _unused, ...single } = req;
    return { ...single, layer: layer as number, direction: direction as number };
  }

  /**
   * The prompt's trajectory with direction `direction` of layer `layer`'s causal basis mean-ablated (the
   * stored mean) inside the model at hidden_states[layer], next to the original and with D(original ‖
   * ablated) in every cell. The lens is the request's (the tuned lens for compare/diff).
   */
  async ablation(req: AblationRequest): Promise<AblationResponse> {
    return this.queue.run(async () => {
      const t0 = Date.now();
      this.begin(this.loadSteps(req) + 4);
      const model = await this.model(req.model);
      const bases = await this.causalBases(req.model, model);
      const basis = bases.layers.find((l) => l.layer === req.layer);
      if (!basis) throw new RequestError(400, `The causal basis has no layer ${req.layer} (it has ${bases.layers.map((l) => l.layer).join(', ')}).`);
      if (req.direction >= basis.k) throw new RequestError(400, `Layer ${req.layer} has ${basis.k} directions (0..${basis.k - 1}); there is no direction ${req.direction}.`);
      const [ids] = this.encodePrompts(model, req);
      const tuned = req.lens === 'logit' ? null : await this.tunedLens(req.model, req.tunedLens ?? 0, model);
      const lens: Lens = tuned ?? this.logitLens(req.model, model);
      const topK = req.topK ?? DEFAULT_TOP_K;
      const forward = { edits: subspaceAblationEdits({ index: req.layer, basis: basisColumn(basis, req.direction), mode: 'mean', mean: basis.mean }) };
      const batch = { ids: [ids!] };
      this.stepTo(`Computing the ${lens.kind} lens`);
      const original = await computeTrajectory(lens, batch, { onProgress: this.blockProgress, topK });
      this.stepTo(`Computing the ${lens.kind} lens with layer ${req.layer}'s direction ${req.direction} ablated`);
      const ablated = await computeTrajectory(lens, batch, { onProgress: this.blockProgress, topK, forward });
      this.stepTo('Comparing the original with the ablated trajectory');
      // Both runs' hidden states as a batch of two: the distances are the prompt-distance reduction on them.
      const both = stackHidden(await computeHiddenStates(model, batch), await computeHiddenStates(model, batch, forward));
      const distance = { ...(await promptDistances(lens, ids!, ids!, { hidden: both })), kind: 'ablation' as const };
      const grids = [toGrid(original, 0, `${lens.kind} lens`), toGrid(ablated, 0, `${lens.kind} lens, L${req.layer} direction ${req.direction} ablated`)];
      const pieces: Record<string, string> = {};
      for (const g of grids) for (const id of [...g.inputIds, ...g.topIds]) if (!(id in pieces)) pieces[id] = model.tokenizer.idToPiece(id);
      return {
        model: this.modelInfo(req.model, model),
        lens: lens.kind,
        ...this.tunedLensInfo(req, !!tuned),
        grids,
        distance,
        pieces,
        elapsedMs: Date.now() - t0,
        ablation: { layer: req.layer, direction: req.direction, energy: basis.energies[req.direction]!, mode: 'mean' },
      };
    });
  }
}

/** One trajectory (batch of one) as compact JSON. */
function toGrid(d: TrajectoryData, prompt: 0 | 1, label: string): GridPayload {
  return {
    lens: d.lensKind,
    prompt,
    label,
    rows: d.rows,
    positions: d.positions,
    topK: d.topK,
    rowLabels: d.rowLabels,
    inputIds: d.inputIds[0]!,
    targets: d.targets[0]!,
    entropy: compact(d.entropy),
    crossEntropy: compact(d.crossEntropy),
    forwardKl: compact(d.forwardKl),
    maxProb: compact(d.maxProb),
    rank: compact(d.rank),
    topIds: Array.from(d.topIds),
    topProbs: compact(d.topProbs) as number[],
  };
}

function toLayerDelta(d: LayerDifferences): LayerDeltaPayload {
  return { rows: d.rows, positions: d.positions, topK: d.topK, kl: compact(d.kl), js: compact(d.js), tv: compact(d.tv), riseIds: Array.from(d.riseIds), rise: compact(d.rise) };
}

/**
 * KL, JS and TV between the predictions on two prompts at the same position, for every row: both
 * prompts (cut to the shorter length — a causal model's predictions at position t do not depend on
 * later tokens) form a batch of two, and the distances are a reduction of the lens-rows engine, so
 * memory is bounded by the block of positions.
 */
export async function promptDistances(lens: Lens, a: number[], b: number[], options: { blockBytes?: number; hidden?: HiddenStates; topK?: number } = {}): Promise<DistancePayload> {
  const model = lens.model;
  const T = Math.min(a.length, b.length);
  const L = model.nLayers;
  const R = L + 1;
  const K = Math.min(options.topK ?? DEFAULT_TOP_K, model.config.vocabSize);
  const res = { kl: new Float32Array(R * T), js: new Float32Array(R * T), tv: new Float32Array(R * T) };
  const moved = { rise: new Float32Array(R * T * K), riseIds: new Int32Array(R * T * K), fall: new Float32Array(R * T * K), fallIds: new Int32Array(R * T * K) };
  const reduction: RowReduction = {
    rowsPerBlock: R,
    build: (block) => {
      const logp = op.logSoftmax(block.logits(lens, allRows(L))); // [R, 2, tb, V]
      const pa = op.slice(logp, 1, 0, 1);
      const pb = op.slice(logp, 1, 1, 2);
      const { rise, fall } = largestChangesOf(pa, pb, K); // [R, 1, tb, K] each
      return { kl: klOf(pa, pb), js: jsOf(pa, pb), tv: tvOf(pa, pb), rise: rise[0], riseIds: rise[1], fall: fall[0], fallIds: fall[1] }; // [R, 1, tb] each
    },
  };
  await reduceLensRows(model, { ids: [a.slice(0, T), b.slice(0, T)] }, reduction, (out, w) => {
    for (const k of ['kl', 'js', 'tv'] as const) scatterBlock(res[k], out[k]!.data, w, R, 1, T);
    for (const k of ['rise', 'riseIds', 'fall', 'fallIds'] as const) scatterBlock(moved[k], out[k]!.data, w, R, 1, T, K);
  }, { blockBytes: options.blockBytes, hidden: options.hidden });
  const changes = mergeLargestChanges({ values: moved.rise, ids: moved.riseIds }, { values: moved.fall, ids: moved.fallIds }, K);
  return {
    self: 0, other: 1, kind: 'prompt', rows: R, positions: T, kl: compact(res.kl), js: compact(res.js), tv: compact(res.tv),
    changeK: K, changeIds: Array.from(changes.ids), changes: compact(changes.changes) as number[],
  };
}

/** Two batches' hidden states as one batch (a's sequences first). */
function stackHidden(a: HiddenStates, b: HiddenStates): HiddenStates {
  const cat = (x: Float32Array, y: Float32Array): Float32Array => {
    const out = new Float32Array(x.length + y.length);
    out.set(x);
    out.set(y, x.length);
    return out;
  };
  return { batch: a.batch + b.batch, positions: a.positions, width: a.width, layers: a.layers.map((l, i) => cat(l, b.layers[i]!)), final: cat(a.final, b.final) };
}
