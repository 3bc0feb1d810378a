/**
 * The compute-graph IR: typed values with static shapes, built by the op functions in ops.ts.
 * Shapes are concrete numbers (sessions are cached per shape signature), so every shape error is
 * caught when the graph is built, with the op, its scope and the offending shapes in the message.
 * What each op kind means (attributes, shape rule, gradient, lowering) is in op-definition.ts.
 */
import type { OpAttrs, OpName } from './op-definition.js';

export type DType = 'float32' | 'float64' | 'int64' | 'bool';

/** Inline constant data (small tensors: scalars, axes, masks built at graph-build time). */
export interface ConstData {
  readonly kind: 'const-data';
  readonly values: Float32Array | Float64Array | BigInt64Array | Uint8Array;
}

export class Value<N extends OpName = OpName> {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly op: N,
    readonly inputs: readonly Value[],
    readonly attrs: OpAttrs[N],
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly scope: string,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Narrows the op kind, and with it the attribute type. */
  is<K extends OpName>(op: K): this is Value<K> {
    return (this.op as OpName) === op;
  }

  /** A short human description for error messages. */
  describe(): string {
    const where = this.scope ? ` in ${this.scope}` : '';
    const name = this.is('input') ? `input '${this.attrs.name}'` : `${this.op} #${this.id}`;
    return `${name}${where} [${this.shape.join(', ')}] ${this.dtype}`;
  }
}

export class GraphShapeError extends Error {
  override name = 'GraphShapeError';
}

export class Graph {
  readonly values: Value[] = [];
  readonly inputs = new Map<string, Value>();
  private scopes: string[] = [];

  /** Runs `fn` with `name` pushed on the scope stack; scopes show up in shape errors. */
  scope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  get currentScope(): string {
    return this.scopes.join('.');
  }

  /**
   * Appends a value whose shape and dtype are already known. Op builders go through `emit` (op-set.ts),
   * which takes them from the op's shape rule.
   */
  add<N extends OpName>(op: N, inputs: readonly Value[], attrs: OpAttrs[N], shape: readonly number[], dtype: DType): Value<N> {
    for (const x of inputs) {
      if (x.graph !== this) throw new Error(`${op}: input ${x.describe()} belongs to another graph`);
    }
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) this.fail(op, `computed an invalid dimension ${d} (shape [${shape.join(', ')}])`);
    }
    const v = new Value<N>(this, this.values.length, op, inputs, attrs, [...shape], dtype, this.currentScope);
    this.values.push(v);
    return v;
  }

  /**
   * Data of inputs that is the same at every run (model weights), by input name. Such inputs are still
   * graph inputs; a runtime may keep this data resident instead of feeding it at each run (runtime.ts,
   * `residentWeights`: onnxruntime-web copies it into its heap once per session).
   */
  readonly fixedInputData = new Map<string, Float32Array>();

  /** A named graph input (weights, activations, masks): fed at run time, never baked in. */
  input(name: string, dtype: DType, shape: readonly number[]): Value {
    if (this.inputs.has(name)) throw new Error(`graph input '${name}' declared twice`);
    const v: Value = this.add('input', [], { name }, shape, dtype);
    this.inputs.set(name, v);
    return v;
  }

  fail(op: string, message: string): never {
    const where = this.currentScope ? ` (in ${this.currentScope})` : '';
    throw new GraphShapeError(`${op}${where}: ${message}`);
  }
}

export function shapeStr(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Numpy broadcasting of two shapes, or null when they are incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
