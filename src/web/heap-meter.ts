/**
 * How large onnxruntime-web's WebAssembly heap is. The heap only grows (wasm32 memory never shrinks, and it
 * stops at 4 GiB), so its size is the high-water mark of everything onnxruntime held at once: weights
 * copied in, activations, outputs. onnxruntime-web does not expose its Memory object, so the worker
 * records every WebAssembly.Memory created after `installHeapMeter` (it must run before onnxruntime loads).
 */
const memories: WebAssembly.Memory[] = [];

export function installHeapMeter(): void {
  const Original = WebAssembly.Memory;
  if ((Original as unknown as { metered?: boolean }).metered) return;
  const Metered = function (this: unknown, descriptor: WebAssembly.MemoryDescriptor): WebAssembly.Memory {
    const m = new Original(descriptor);
    memories.push(m);
    return m;
  } as unknown as typeof WebAssembly.Memory & { metered: boolean };
  Metered.prototype = Original.prototype;
  Metered.metered = true;
  (WebAssembly as { Memory: typeof WebAssembly.Memory }).Memory = Metered;
}

export interface HeapSize {
  /** Bytes of the largest WebAssembly memory (onnxruntime's heap), 0 before onnxruntime has started. */
  heapBytes: number;
}

export function heapSize(): HeapSize {
  return { heapBytes: Math.max(0, ...memories.map((m) => m.buffer.byteLength)) };
}
