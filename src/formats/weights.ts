import type { HostArray } from '../graph/runtime.js';

/**
 * The host array (`HostArray`: C-order data with a shape, what the runtime takes and returns) with
 * float32 data: all weights reach the graph engine in this form. One array type, not two.
 */
export interface HostTensor extends HostArray {
  data: Float32Array;
}

/** Lazy access to named tensors in a checkpoint (safetensors, llama2.c, ...): read one at a time. */
export interface WeightSource {
  readonly path: string;
  names(): string[];
  has(name: string): boolean;
  /** Stored dtype as in the file ("F32", "F16", "BF16", "BOOL", ...). */
  dtype(name: string): string;
  shape(name: string): number[];
  /**
   * Reads and converts to float32 (f16/bf16 widened exactly). Throws naming file and tensor on failure.
   * Every call returns a new array that only the caller holds (loading transposes some in place).
   */
  readFloat32(name: string): Promise<HostTensor>;
  close(): Promise<void>;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}
