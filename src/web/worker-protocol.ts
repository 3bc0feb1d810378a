/**
 * Messages between the static web page and its compute worker. The worker answers the same requests as
 * the viewer server's JSON API (so the page's code is the same either way), plus the web build's own:
 * adding model/lens sources while the page runs, the compute backend, and the download cache.
 */
import type { MemoryEstimate } from './memory-estimate.js';
import type { ConfigResponse, PinRequest, PinResponse, ProgressResponse, TrajectoryRequest, TrajectoryResponse } from '../viewer/protocol.js';

/** Where a model or lens comes from in the browser. */
export type WebSource =
  | { kind: 'builtin'; name: string }
  | { kind: 'hub'; id: string }
  | { kind: 'url'; url: string }
  | { kind: 'picked'; folder: string; files: { name: string; blob: Blob }[] };

export interface BackendInfo {
  /** The execution provider in use: 'webgpu' or 'wasm'. */
  provider: 'webgpu' | 'wasm';
  /** WASM threads (1 unless the page is cross-origin isolated). */
  threads: number;
  simd: boolean;
  crossOriginIsolated: boolean;
  /** Why WebGPU is not used, when it is not. */
  webgpuUnavailable: string | null;
  /** Weights copied into onnxruntime's memory once per session ('resident') or fed at every run ('fed'). */
  weights: 'resident' | 'fed';
}

export interface WorkerMethods {
  config: [void, ConfigResponse];
  progress: [void, ProgressResponse];
  trajectory: [TrajectoryRequest, TrajectoryResponse];
  pin: [PinRequest, PinResponse];
  addModel: [{ source: WebSource; lens?: WebSource }, { model: number; config: ConfigResponse }];
  backend: [void, BackendInfo];
  /** What a model will need in memory for prompts of up to `tokens` tokens, read from its headers only. */
  estimate: [{ source: WebSource; tokens: number }, MemoryEstimate | null];
  /** onnxruntime-web's WebAssembly heap size (its high-water mark: the heap never shrinks). */
  heap: [void, { heapBytes: number }];
  cacheInfo: [void, { files: number; bytes: number }];
  clearCache: [void, { files: number; bytes: number }];
}
export type WorkerMethod = keyof WorkerMethods;

export interface WorkerRequest<M extends WorkerMethod = WorkerMethod> {
  id: number;
  method: M;
  params: WorkerMethods[M][0];
}

export type WorkerResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Settings the page passes in the worker's URL query. */
export interface WorkerSettings {
  /** Hugging Face endpoint for Hub ids (default https://huggingface.co). */
  hubEndpoint: string;
  /** 'auto' (WebGPU when an adapter exists), 'webgpu' or 'wasm'. */
  backend: 'auto' | 'webgpu' | 'wasm';
  /** 'resident' (default): weights are copied into onnxruntime's heap once per session (ONNX initializers);
   * 'fed': fed at every run, as onnxruntime-node does (`?weights=fed`, to compare). */
  weights: 'resident' | 'fed';
}
