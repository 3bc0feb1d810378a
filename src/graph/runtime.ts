/**
 * Runs graphs on onnxruntime. The onnxruntime module is injected (onnxruntime-node in Node,
 * onnxruntime-web in a browser), so this file stays portable. Sessions are cached by the bytes of the
 * lowered model, i.e. per graph structure and shape signature; weights are fed as inputs (or, with
 * `residentWeights` for onnxruntime-web, held by each session: resident-weights.ts).
 * A session evicted from the cache is released only when no run is using it, and a caller still
 * holding its CompiledGraph gets it compiled again on the next run. (Sequence lengths: see
 * length-buckets.ts, which keeps the number of shape signatures small.)
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { DType, Value } from './graph.js';
import { lowerToOnnx, reachable } from './onnx-lowering.js';
import { encodeOnnxModel } from './onnx-proto.js';
import { makeWeightsResident } from './resident-weights.js';

export type HostData = Float32Array | Float64Array | BigInt64Array | Uint8Array;

export interface HostArray {
  data: HostData;
  shape: number[];
}

/** The part of the onnxruntime API we use; both onnxruntime-node and onnxruntime-web satisfy it. */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: new (type: Tensor.Type, data: HostData, dims: readonly number[]) => Tensor;
}

export interface RuntimeOptions {
  /** e.g. ['cpu'], ['cuda', 'cpu'], ['webgpu']. */
  executionProviders?: string[];
  /** When a GPU provider cannot start: fall back to the CPU with a warning (default), or throw. */
  fallbackToCpu?: boolean;
  /** Intra-op threads of every session (overrides the two settings below). */
  intraOpNumThreads?: number;
  /**
   * Intra-op threads of graphs over SMALL_GRAPH_FLOPS (smaller ones get one) when `intraOpNumThreads` is
   * unset. Default: onnxruntime's own choice, which is one thread on some machines with two cores (this
   * project's VMs, AMD EPYC family 26: a GPT-2 unembedding ran at 133–139 GFLOP/s with it, 210–227 with 2);
   * the Node runtime passes the physical cores this process may use (node/cpu-cores.ts).
   */
  largeGraphThreads?: number;
  /** How many compiled sessions to keep (least recently used are released). */
  maxCachedSessions?: number;
  /** Hand the arrays a caller gives `CompiledGraph.run` (`into`) to onnxruntime to write directly (onnxruntime-node).
   * onnxruntime-web computes in WebAssembly memory and ignores them: set false there, and results are copied
   * into those arrays instead. Default true. */
  preallocateOutputs?: boolean;
  /**
   * Keep model weights (graph inputs with fixed data, `Graph.fixedInputData`) resident in each session as
   * external-data initializers instead of feeding them at every run. For onnxruntime-web, which copies
   * every input into its WebAssembly heap at each run (resident-weights.ts). Default false: onnxruntime-node
   * reads fed inputs in place, and it has no `externalData` option.
   */
  residentWeights?: boolean;
  /** With `residentWeights`: the most weight bytes cached sessions may hold together; the least recently
   * used are released beyond it (a new prompt length then compiles again instead of holding another copy). */
  maxResidentBytes?: number;
  /**
   * onnxruntime's CPU memory arena for every session (default true: much faster, see `compile`). False
   * returns each intermediate to the system as soon as it is freed: lower peak memory when one process
   * holds large results next to a large graph, at about half the speed on GPT-2-sized graphs.
   */
  memoryArena?: boolean;
  /** Extra onnxruntime session options for every session (e.g. `{ enableProfiling: true, profileFilePrefix }` in bench/profile.ts). */
  sessionOptions?: InferenceSession.SessionOptions;
}

/** Per-graph compile options. */
export interface CompileOptions {
  /**
   * Give this graph's session onnxruntime's CPU memory arena, or not (default: the runtime's `memoryArena`,
   * itself on by default; see `compile`). Without the arena every intermediate is a fresh malloc: large ones
   * are mapped and faulted in page by page at every run, and small ones fragment glibc's heap (causal-basis
   * on stories260K peaked at 2–12 GB RSS in some runs). The arena is held until the session is released, so
   * callers release graphs they are done with (`CompiledGraph.release`).
   */
  memoryArena?: boolean;
}

const ORT_TYPE: Record<DType, Tensor.Type> = { float32: 'float32', float64: 'float64', int64: 'int64', bool: 'bool' };

function fnv1a(bytes: Uint8Array): string {
  // Two independent 32-bit FNV-1a lanes make accidental collisions between graphs negligible.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    h1 = Math.imul(h1 ^ bytes[i]!, 0x01000193);
    h2 = Math.imul(h2 ^ bytes[i]!, 0x5bd1e995);
  }
  return `${(h1 >>> 0).toString(16)}${(h2 >>> 0).toString(16)}:${bytes.length}`;
}

export function allocateHost(dtype: DType, n: number): HostData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'bool':
      return new Uint8Array(n);
  }
}

/**
 * Arrays to run a graph `into`: one view per float32 output, all of one fresh array. For graphs whose
 * outputs are large (a forward pass's hidden states): onnxruntime then writes each output in place,
 * instead of into buffers of its own that, freed after the copy it hands back, would stay resident in
 * glibc's heap or its arena under what runs next (GPT-2-small's forward at 1024 tokens: peak RSS
 * 941–945 → 883–912 MiB).
 */
export function outputsInOneArray(outputs: ReadonlyMap<string, { dtype: DType; shape: readonly number[] }>): Record<string, Float32Array> {
  const parts = [...outputs].filter(([, spec]) => spec.dtype === 'float32').map(([name, spec]) => [name, spec.shape.reduce((a, b) => a * b, 1)] as const);
  const all = new Float32Array(parts.reduce((n, [, size]) => n + size, 0));
  const views: Record<string, Float32Array> = {};
  let offset = 0;
  for (const [name, size] of parts) views[name] = all.subarray(offset, (offset += size));
  return views;
}

function expectedArray(dtype: DType, data: HostData): boolean {
  switch (dtype) {
    case 'float32':
      return data instanceof Float32Array;
    case 'float64':
      return data instanceof Float64Array;
    case 'int64':
      return data instanceof BigInt64Array;
    case 'bool':
      return data instanceof Uint8Array;
  }
}

/**
 * Below this many matmul FLOPs per run, onnxruntime's thread pool costs more in synchronisation than
 * it gains (measured on stories260K training steps: 96 ms with 2 threads, 50 ms with 1), so such graphs
 * get one intra-op thread.
 */
const SMALL_GRAPH_FLOPS = 2e9;

/** Multiply-add FLOPs of the matmul/gemm values needed for `outputs`. */
export function matmulFlops(outputs: readonly Value[]): number {
  let flops = 0;
  for (const v of reachable(outputs)) {
    if (v.is('matmul')) {
      const a = v.inputs[0]!;
      flops += 2 * v.size * a.shape[a.rank - 1]!;
    } else if (v.is('gemm')) {
      const a = v.inputs[0]!;
      flops += 2 * v.size * (v.attrs.transA ? a.shape[0]! : a.shape[1]!);
    }
  }
  return flops;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

function describeOutputs(names: Iterable<string>): string {
  const all = [...names];
  return all.length > 4 ? `${all.slice(0, 4).join(', ')} and ${all.length - 4} more` : all.join(', ');
}

export class CompiledGraph {
  private session: Promise<InferenceSession> | null;
  private inFlight = 0;
  private releaseWanted = false;

  /**
   * `reopen` compiles the session again when a run comes after `release` (the Runtime passes it, so
   * an evicted graph that a caller still holds keeps working); without it such a run is an error.
   */
  constructor(
    private readonly ort: OrtModule,
    session: InferenceSession | Promise<InferenceSession>,
    readonly inputs: ReadonlyMap<string, { dtype: DType; shape: readonly number[] }>,
    readonly outputs: ReadonlyMap<string, { dtype: DType; shape: readonly number[] }>,
    private readonly reopen?: () => Promise<InferenceSession>,
    private readonly preallocateOutputs = true,
  ) {
    this.session = Promise.resolve(session);
  }

  get outputNames(): string[] {
    return [...this.outputs.keys()];
  }

  /** Runs in progress on this graph (its session is not released while any is). */
  get runsInFlight(): number {
    return this.inFlight;
  }

  /** Whether a session is open (false after release until the next run reopens it). */
  get isOpen(): boolean {
    return this.session !== null;
  }

  /**
   * Runs the graph. Feeds the graph does not take are ignored, so callers can pass one record of
   * everything (weights, batch inputs, lens parameters) to any graph built from it. `into` optionally
   * gives arrays for some outputs to be written into (e.g. views into a larger result being assembled,
   * so no block-sized copy is held): each must have the output's type and element count.
   */
  async run(feeds: Record<string, HostArray | HostData>, into: Record<string, HostData> = {}): Promise<Record<string, HostArray>> {
    const ortFeeds: Record<string, Tensor> = {};
    for (const [name, spec] of this.inputs) {
      const f = feeds[name];
      if (f === undefined) throw new Error(`graph input '${name}' [${spec.shape.join(', ')}] ${spec.dtype} was not fed`);
      const data = ArrayBuffer.isView(f) ? (f as HostData) : (f as HostArray).data;
      const n = spec.shape.reduce((a, b) => a * b, 1);
      if (!expectedArray(spec.dtype, data)) throw new Error(`graph input '${name}' expects ${spec.dtype}, got ${data.constructor.name}`);
      if (data.length !== n) throw new Error(`graph input '${name}' expects shape [${spec.shape.join(', ')}] (${n} elements), got ${data.length} elements`);
      ortFeeds[name] = new this.ort.Tensor(ORT_TYPE[spec.dtype], data, spec.shape);
    }
    // onnxruntime-node 1.30 hands every output back as a copy in a new JavaScript buffer, even one written
    // into an array given to it. So only outputs with a caller's array (`into`) are handed over, which
    // onnxruntime then writes directly (the copy it also returns is dropped); every other output is the
    // returned copy, and onnxruntime's own buffer is freed at once. Preallocating those too would write each
    // one twice and leave a second, fresh array as garbage (GPT-2-small's forward: 42 MiB per run).
    // onnxruntime-web computes in WebAssembly memory and returns its own tensors (preallocateOutputs: false).
    for (const [name, data] of Object.entries(into)) {
      const spec = this.outputs.get(name);
      if (!spec) throw new Error(`the graph has no output '${name}' to write into`);
      const n = spec.shape.reduce((a, b) => a * b, 1);
      if (!expectedArray(spec.dtype, data) || data.length !== n) throw new Error(`output '${name}' is ${spec.dtype} [${spec.shape.join(', ')}]; the array given to write it into is a ${data.constructor.name} of ${data.length} elements`);
    }
    const fetches: Record<string, Tensor | null> = {};
    for (const name of this.outputNames) {
      const spec = this.outputs.get(name)!;
      const target = into[name];
      fetches[name] = this.preallocateOutputs && target ? new this.ort.Tensor(ORT_TYPE[spec.dtype], target, spec.shape) : null;
    }
    const out: Record<string, HostArray> = {};
    this.inFlight++;
    try {
      if (!this.session) {
        if (!this.reopen) throw new Error('this compiled graph was released');
        this.session = this.reopen();
        this.session.catch(() => (this.session = null));
      }
      const session = await this.session;
      const results = await (this.preallocateOutputs ? session.run(ortFeeds, fetches) : session.run(ortFeeds)).catch((e: unknown) => {
        throw new Error(`onnxruntime failed running the graph computing ${describeOutputs(this.outputs.keys())}: ${firstLine(e)}`, { cause: e });
      });
      for (const name of this.outputNames) {
        const target = into[name];
        const written = this.preallocateOutputs && target !== undefined;
        if (target && !written) (target as Float32Array).set(results[name]!.data as Float32Array);
        out[name] = { data: target ?? (results[name]!.data as HostData), shape: [...this.outputs.get(name)!.shape] };
      }
    } finally {
      this.inFlight--;
      if (this.releaseWanted && this.inFlight === 0) void this.releaseNow().catch(() => undefined);
    }
    return out;
  }

  /** Ends onnxruntime's profiling of this session (created with `enableProfiling`), which writes its JSON file. */
  async endProfiling(): Promise<void> {
    if (this.session) (await this.session).endProfiling();
  }

  /** Releases the session now, or when the runs in flight have finished. */
  release(): Promise<void> {
    this.releaseWanted = true;
    return this.inFlight === 0 ? this.releaseNow() : Promise.resolve();
  }

  private async releaseNow(): Promise<void> {
    const s = this.session;
    this.session = null;
    this.releaseWanted = false;
    if (s) await (await s).release();
  }
}

/** Why a GPU provider could not start, in words a user can act on. */
function explainProviderFailure(eps: string[], e: Error): string {
  const first = e.message.split('\n')[0] ?? '';
  if (eps.includes('webgpu') && /adapter/i.test(e.message)) {
    return `execution provider webgpu found no GPU adapter (WebGPU in Node runs on Vulkan: it needs a GPU, its Vulkan driver and libvulkan.so.1) [${first}]`;
  }
  if (eps.includes('cuda') && /providers_cuda|libcu|cuda/i.test(e.message)) {
    return `execution provider cuda could not load its libraries (fetch them once: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install; see README "GPU") [${first}]`;
  }
  return `execution provider ${eps.join(', ')} failed (${first})`;
}

export class Runtime {
  private readonly cache = new Map<string, Promise<CompiledGraph>>();
  /** Weight bytes each cached graph holds resident (residentWeights), by cache key. */
  private readonly residentBytes = new Map<string, number>();
  /** Sessions with external data are created one at a time: onnxruntime-web mounts the files globally. */
  private creating: Promise<unknown> = Promise.resolve();
  /** Releases of evicted sessions (residentWeights): a new session waits for them before copying weights in. */
  private releasing: Promise<unknown> = Promise.resolve();
  private options: Required<Omit<RuntimeOptions, 'intraOpNumThreads' | 'largeGraphThreads' | 'sessionOptions'>> & Pick<RuntimeOptions, 'intraOpNumThreads' | 'largeGraphThreads' | 'sessionOptions'>;

  constructor(
    private readonly ort: OrtModule,
    options: RuntimeOptions = {},
  ) {
    this.options = {
      executionProviders: options.executionProviders ?? ['cpu'],
      maxCachedSessions: options.maxCachedSessions ?? 32,
      intraOpNumThreads: options.intraOpNumThreads,
      largeGraphThreads: options.largeGraphThreads,
      fallbackToCpu: options.fallbackToCpu ?? true,
      preallocateOutputs: options.preallocateOutputs ?? true,
      residentWeights: options.residentWeights ?? false,
      memoryArena: options.memoryArena ?? true,
      maxResidentBytes: options.maxResidentBytes ?? Infinity,
      sessionOptions: options.sessionOptions,
    };
  }

  /** Compiles (or fetches from the cache) the graph computing `outputs`. */
  compile(outputs: Record<string, Value>, compileOptions: CompileOptions = {}): Promise<CompiledGraph> {
    const model = lowerToOnnx(outputs);
    const resident = this.options.residentWeights ? makeWeightsResident(model, Object.values(outputs)[0]!.graph.fixedInputData) : null;
    const bytes = encodeOnnxModel(model);
    const key = `${fnv1a(bytes)}${compileOptions.memoryArena === undefined ? '' : `:arena=${compileOptions.memoryArena}`}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.admit(key, hit); // refreshes its LRU position
      return hit;
    }
    const inputs = new Map(model.inputs.map((i) => [i.name, { dtype: i.dtype as DType, shape: i.dims }]));
    const outputSpecs = new Map(model.outputs.map((o) => [o.name, { dtype: o.dtype as DType, shape: o.dims }]));
    const small = matmulFlops(Object.values(outputs)) < SMALL_GRAPH_FLOPS;
    const opts: InferenceSession.SessionOptions = {
      ...this.options.sessionOptions,
      executionProviders: this.options.executionProviders,
      graphOptimizationLevel: 'all',
      // The arena, without memory patterns. Faulting in fresh pages is what costs most on the machines we
      // measure on (about 10–18 µs a page on these VMs: a 2048 × 50257 MatMul output faulted in at every
      // run halves the MatMul's speed). With the arena, intermediates come from memory already mapped:
      // GPT-2-small at 1024 tokens, hidden states 4.3 → 2.1 s, forward with logits 6.0 → 3.7 s, a
      // trajectory 52 → 10 s. Memory patterns off: with them onnxruntime plans a second, whole-run block
      // on the second run, which doubles the arena's growth (trajectory at 1024 tokens: first run 10.1 →
      // 9.6 s, peak RSS 1251 → 1057 MiB). A graph or runtime may still ask for no arena (CompileOptions,
      // RuntimeOptions.memoryArena).
      enableCpuMemArena: compileOptions.memoryArena ?? this.options.sessionOptions?.enableCpuMemArena ?? this.options.memoryArena,
      enableMemPattern: this.options.sessionOptions?.enableMemPattern ?? false,
    };
    if (resident?.files.length) {
      opts.externalData = resident.files;
      // Prepacking would keep a packed copy of each matmul weight besides the weight (GPT-2-small, one
      // length bucket: heap 1211 MiB with it, 810 MiB without; trajectory time within noise).
      opts.extra = { ...opts.extra, session: { ...(opts.extra as { session?: object } | undefined)?.session, disable_prepacking: '1' } };
      this.residentBytes.set(key, resident.bytes);
    }
    const threads = this.options.intraOpNumThreads ?? (small ? 1 : this.options.largeGraphThreads);
    if (threads) opts.intraOpNumThreads = threads;
    const failed = (e: unknown): Error =>
      new Error(`onnxruntime could not compile the graph computing ${describeOutputs(outputSpecs.keys())} (${model.nodes.length} nodes): ${firstLine(e)}`, { cause: e });
    const createNow = async (): Promise<InferenceSession> => {
      try {
        return await this.ort.InferenceSession.create(bytes, opts);
      } catch (e) {
        // A GPU provider whose libraries are missing must not make the library unusable: fall back to CPU.
        const eps = this.options.executionProviders;
        if (eps.length === 1 && eps[0] === 'cpu') throw failed(e);
        const why = explainProviderFailure(eps, e as Error);
        if (!this.options.fallbackToCpu) throw new Error(why, { cause: e });
        console.warn(`tuned-lens: ${why}; using the CPU`);
        this.options.executionProviders = ['cpu'];
        return this.ort.InferenceSession.create(bytes, { ...opts, executionProviders: ['cpu'] }).catch((cpuError: unknown) => {
          throw failed(cpuError);
        });
      }
    };
    const create = (): Promise<InferenceSession> => {
      if (!opts.externalData) return createNow();
      // Called after `admit`: the sessions it evicted are released before this one copies its weights in.
      const created = Promise.all([this.creating, this.releasing]).then(createNow, createNow);
      this.creating = created.catch(() => undefined);
      return created;
    };
    let compiled: Promise<CompiledGraph> | null = null;
    // A graph evicted while a caller holds it compiles again on its next run, and counts in the cache again.
    const reopen = (): Promise<InferenceSession> => {
      this.admit(key, compiled!);
      return create();
    };
    // Admitted before its session is created, so what admission evicts is released first; `create` is
    // called right after, so it waits only for what was evicted before it (never for its own eviction).
    let start!: (session: Promise<InferenceSession>) => void;
    const session = new Promise<InferenceSession>((resolve) => (start = resolve));
    compiled = session.then((s) => new CompiledGraph(this.ort, s, inputs, outputSpecs, reopen, this.options.preallocateOutputs));
    compiled.catch(() => this.cache.get(key) === compiled && this.cache.delete(key));
    this.admit(key, compiled);
    start(create());
    return compiled;
  }

  /** Puts `compiled` at the most recent end of the LRU cache, releasing what falls out (once idle). */
  private admit(key: string, compiled: Promise<CompiledGraph>): void {
    const previous = this.cache.get(key);
    this.cache.delete(key);
    if (previous && previous !== compiled) this.evict(previous);
    this.cache.set(key, compiled);
    while (this.cache.size > this.options.maxCachedSessions) {
      const oldest = this.cache.keys().next().value!;
      this.evict(this.cache.get(oldest)!);
      this.cache.delete(oldest);
    }
    // Past the resident-weight budget, release the least recently used graphs holding weights (not this one).
    let held = 0;
    for (const k of this.cache.keys()) held += this.residentBytes.get(k) ?? 0;
    for (const k of [...this.cache.keys()]) {
      if (held <= this.options.maxResidentBytes) break;
      const bytes = this.residentBytes.get(k) ?? 0;
      if (k === key || bytes === 0) continue;
      this.evict(this.cache.get(k)!);
      this.cache.delete(k);
      held -= bytes;
    }
  }

  private evict(compiled: Promise<CompiledGraph>): void {
    // CompiledGraph.release waits for runs in flight, so eviction never pulls a session from under a run.
    const released = compiled.then((c) => c.release()).catch(() => undefined);
    if (this.options.residentWeights) this.releasing = Promise.all([this.releasing, released]);
  }

  /** With `residentWeights`: a new budget for the weight bytes cached sessions hold (e.g. the largest loaded model's). */
  setMaxResidentBytes(bytes: number): void {
    this.options.maxResidentBytes = bytes;
  }

  /** Releases every cached session (each once its runs have finished) and empties the cache. */
  async releaseAll(): Promise<void> {
    const all = [...this.cache.values()];
    this.cache.clear();
    await Promise.all(all.map(async (c) => (await c).release()));
  }

  /** Compiles and runs in one call. */
  async run(outputs: Record<string, Value>, feeds: Record<string, HostArray | HostData>): Promise<Record<string, HostArray>> {
    return (await this.compile(outputs)).run(feeds);
  }

  /** The providers sessions are created with now (['cpu'] after a GPU provider failed and fell back). */
  get executionProviders(): readonly string[] {
    return this.options.executionProviders;
  }

  get cachedSessions(): number {
    return this.cache.size;
  }
}
