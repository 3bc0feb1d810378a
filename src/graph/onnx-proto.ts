/**
 * A minimal protobuf encoder for the handful of ONNX messages we emit (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto). Writing them by hand avoids a protobuf
 * runtime dependency and a code generator for a schema we use a tiny slice of.
 * Field numbers follow onnx/onnx.proto.
 */

class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private cur: number[] = [];
  private len = 0;

  private flushCur(): void {
    if (this.cur.length) {
      this.chunks.push(Uint8Array.from(this.cur));
      this.len += this.cur.length;
      this.cur = [];
    }
  }

  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    if (x < 0x80n) {
      this.cur.push(Number(x));
      return;
    }
    while (x >= 0x80n) {
      this.cur.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.cur.push(Number(x));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.cur.push(...b);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2);
    this.varint(data.length);
    this.flushCur();
    this.chunks.push(data);
    this.len += data.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, w: ProtoWriter): this {
    return this.bytes(field, w.finish());
  }

  packedInts(field: number, vs: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of vs) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  packedFloats(field: number, vs: readonly number[]): this {
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return this.bytes(field, b);
  }

  finish(): Uint8Array {
    this.flushCur();
    const out = new Uint8Array(this.len);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** ONNX TensorProto.DataType codes for the dtypes we use. */
export const ONNX_DTYPE = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 } as const;
export type OnnxDTypeName = keyof typeof ONNX_DTYPE;

export type OnnxAttr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: OnnxTensor };

export interface OnnxTensor {
  name?: string;
  dtype: OnnxDTypeName;
  dims: readonly number[];
  /** Little-endian raw bytes (empty when `external`). */
  raw: Uint8Array;
  /** The bytes are in an external data file instead (ONNX external data: the runtime is handed the file). */
  external?: { location: string; offset: number; length: number };
}

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs?: Record<string, OnnxAttr>;
  domain?: string;
}

export interface OnnxValueInfo {
  name: string;
  dtype: OnnxDTypeName;
  dims: readonly number[];
}

export interface OnnxModel {
  opset: number;
  nodes: OnnxNode[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: OnnxTensor[];
  /** Extra opset imports, e.g. { 'com.microsoft': 1 }. */
  extraOpsets?: Record<string, number>;
}

function encodeTensor(t: OnnxTensor): ProtoWriter {
  const w = new ProtoWriter();
  if (t.dims.length) w.packedInts(1, t.dims);
  w.int(2, ONNX_DTYPE[t.dtype]);
  if (t.name) w.string(8, t.name);
  if (t.external) {
    // external_data (13): key/value entries; data_location (14): EXTERNAL = 1.
    const { location, offset, length } = t.external;
    for (const [key, value] of [['location', location], ['offset', String(offset)], ['length', String(length)]]) {
      w.message(13, new ProtoWriter().string(1, key!).string(2, value!));
    }
    w.int(14, 1);
  } else w.bytes(9, t.raw);
  return w;
}

function encodeAttr(name: string, a: OnnxAttr): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  // AttributeType: FLOAT=1 INT=2 STRING=3 TENSOR=4 INTS=7
  switch (a.kind) {
    case 'float':
      return w.float(2, a.value).int(20, 1);
    case 'int':
      return w.int(3, a.value).int(20, 2);
    case 'string':
      return w.string(4, a.value).int(20, 3);
    case 'tensor':
      return w.message(5, encodeTensor(a.value)).int(20, 4);
    case 'ints':
      return w.packedInts(8, a.value).int(20, 7);
  }
}

function encodeValueInfo(v: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) shape.message(1, new ProtoWriter().int(1, d));
  const tensorType = new ProtoWriter().int(1, ONNX_DTYPE[v.dtype]).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, v.name).message(2, type);
}

export function encodeOnnxModel(m: OnnxModel): Uint8Array {
  const g = new ProtoWriter();
  m.nodes.forEach((n, i) => {
    const nw = new ProtoWriter();
    for (const x of n.inputs) nw.string(1, x);
    for (const x of n.outputs) nw.string(2, x);
    nw.string(3, `n${i}_${n.opType}`);
    nw.string(4, n.opType);
    for (const [k, a] of Object.entries(n.attrs ?? {})) nw.message(5, encodeAttr(k, a));
    if (n.domain) nw.string(7, n.domain);
    g.message(1, nw);
  });
  g.string(2, 'tuned_lens_graph');
  for (const t of m.initializers) g.message(5, encodeTensor(t));
  for (const v of m.inputs) g.message(11, encodeValueInfo(v));
  for (const v of m.outputs) g.message(12, encodeValueInfo(v));

  const model = new ProtoWriter();
  model.int(1, 8); // ir_version 8 (ONNX 1.10+), accepted by every current onnxruntime
  model.string(2, 'tuned-lens');
  model.message(7, g);
  model.message(8, new ProtoWriter().string(1, '').int(2, m.opset));
  for (const [domain, version] of Object.entries(m.extraOpsets ?? {})) {
    model.message(8, new ProtoWriter().string(1, domain).int(2, version));
  }
  return model.finish();
}
