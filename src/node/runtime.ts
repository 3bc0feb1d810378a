/** The Node entry to the runtime: onnxruntime-node with the CPU provider unless told otherwise. */
import * as ort from 'onnxruntime-node';
import { Runtime, type OrtModule, type RuntimeOptions } from '../graph/runtime.js';

let shared: Runtime | null = null;

/**
 * Device from `TUNED_LENS_DEVICE` (cpu | cuda | webgpu; default cpu). CUDA needs onnxruntime-node's
 * GPU files, which `.npmrc` skips by default (see README "GPU").
 */
export function defaultRuntime(options: RuntimeOptions = {}): Runtime {
  if (!shared) {
    const device = process.env.TUNED_LENS_DEVICE ?? 'cpu';
    const eps = options.executionProviders ?? (device === 'cpu' ? ['cpu'] : [device, 'cpu']);
    shared = new Runtime(ort as unknown as OrtModule, { ...options, executionProviders: eps });
  }
  return shared;
}

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  return new Runtime(ort as unknown as OrtModule, options);
}
