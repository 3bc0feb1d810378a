/** The Node entry to the runtime: onnxruntime-node with the CPU provider unless told otherwise. */
import * as ort from 'onnxruntime-node';
import { Runtime, type OrtModule, type RuntimeOptions } from '../graph/runtime.js';
import { largeGraphThreads } from './cpu-cores.js';

let shared: Runtime | null = null;

/**
 * Device from `TUNED_LENS_DEVICE` (cpu | cuda | webgpu; default cpu). CUDA needs onnxruntime-node's
 * GPU files, which `.npmrc` skips by default (see README "GPU"); WebGPU is built into onnxruntime-node's
 * Linux and Windows binaries and needs only a GPU with a Vulkan (Linux) driver. A GPU provider that cannot
 * start falls back to the CPU with a warning, unless `TUNED_LENS_DEVICE_FALLBACK=0` (benchmarks) makes it an error.
 * Large graphs run on as many threads as the process has physical cores (`TUNED_LENS_THREADS` overrides).
 */
export function defaultRuntime(options: RuntimeOptions = {}): Runtime {
  if (!shared) {
    const device = process.env.TUNED_LENS_DEVICE ?? 'cpu';
    if (!['cpu', 'cuda', 'webgpu'].includes(device)) throw new Error(`TUNED_LENS_DEVICE must be cpu, cuda or webgpu, got "${device}"`);
    const eps = options.executionProviders ?? (device === 'cpu' ? ['cpu'] : [device, 'cpu']);
    const fallbackToCpu = options.fallbackToCpu ?? process.env.TUNED_LENS_DEVICE_FALLBACK !== '0';
    const arena = process.env.TUNED_LENS_MEMORY_ARENA;
    if (arena !== undefined && !['0', '1'].includes(arena)) throw new Error(`TUNED_LENS_MEMORY_ARENA must be 0 or 1, got "${arena}"`);
    const memoryArena = options.memoryArena ?? (arena === undefined ? undefined : arena === '1');
    shared = new Runtime(ort as unknown as OrtModule, { largeGraphThreads: largeGraphThreads(), ...options, executionProviders: eps, fallbackToCpu, memoryArena });
  }
  return shared;
}

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  return new Runtime(ort as unknown as OrtModule, { largeGraphThreads: largeGraphThreads(), ...options });
}
