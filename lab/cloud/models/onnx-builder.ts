/**
 * A minimal ONNX (protobuf) writer, enough to build small real models in
 * TypeScript without the Python `onnx` package: graphs of standard operators
 * with float initializers. The output is an ordinary ModelProto that
 * onnxruntime loads and runs like any exported model.
 *
 * Field numbers follow onnx/onnx.proto (IR version 8, opset 13).
 */

// ---------------------------------------------------------------- protobuf

class Writer {
  private chunks: Buffer[] = [];

  private varint(v: bigint): void {
    if (v < 0n) v = (1n << 64n) + v; // two's complement int64
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      out.push(byte);
    } while (v > 0n);
    this.chunks.push(Buffer.from(out));
  }

  private key(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  int(field: number, v: number | bigint): this {
    this.key(field, 0);
    this.varint(BigInt(v));
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2);
    this.varint(BigInt(b.length));
    this.chunks.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }

  float(field: number, v: number): this {
    this.key(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.chunks.push(b);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

// ---------------------------------------------------------------- ONNX model

/** ONNX TensorProto.DataType values used here. */
const OnnxType = { FLOAT: 1, INT32: 6, INT64: 7, DOUBLE: 11 } as const;

type Dim = number | string; // number = fixed, string = symbolic (dynamic)

interface ValueInfo {
  name: string;
  elemType: number;
  shape: Dim[];
}

type AttrValue = { i: number } | { f: number } | { ints: number[] } | { s: string };

interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

interface Initializer {
  name: string;
  dims: number[];
  /** FLOAT data (stored as raw little-endian bytes) */
  data: Float32Array | number[];
}

interface ModelSpec {
  graphName: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: NodeSpec[];
  initializers: Initializer[];
  docString?: string;
}

function valueInfo(v: ValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.shape) {
    const dim = new Writer();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new Writer().int(1, v.elemType).message(2, shape);
  const type = new Writer().message(1, tensorType);
  return new Writer().string(1, v.name).message(2, type);
}

function attribute(name: string, a: AttrValue): Writer {
  const w = new Writer().string(1, name);
  // AttributeProto.AttributeType: FLOAT=1 INT=2 STRING=3 INTS=7
  if ('f' in a) w.float(2, a.f).int(20, 1);
  else if ('i' in a) w.int(3, a.i).int(20, 2);
  else if ('s' in a) w.bytes(4, Buffer.from(a.s, 'utf8')).int(20, 3);
  else {
    for (const i of a.ints) w.int(8, i);
    w.int(20, 7);
  }
  return w;
}

function node(n: NodeSpec, idx: number): Writer {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, `${n.op}_${idx}`);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, attribute(k, v));
  return w;
}

function initializer(t: Initializer): Writer {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  w.int(2, OnnxType.FLOAT);
  w.string(8, t.name);
  const f32 = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
  const expected = t.dims.reduce((a, b) => a * b, 1);
  if (f32.length !== expected) throw new Error(`initializer ${t.name}: ${f32.length} values for dims [${t.dims}]`);
  const raw = Buffer.alloc(f32.length * 4);
  for (let i = 0; i < f32.length; i++) raw.writeFloatLE(f32[i]!, i * 4);
  w.bytes(9, raw);
  return w;
}

/** Serialize a ModelProto. */
function buildModel(spec: ModelSpec): Buffer {
  const graph = new Writer();
  spec.nodes.forEach((n, i) => graph.message(1, node(n, i)));
  graph.string(2, spec.graphName);
  for (const t of spec.initializers) graph.message(5, initializer(t));
  for (const v of spec.inputs) graph.message(11, valueInfo(v));
  for (const v of spec.outputs) graph.message(12, valueInfo(v));

  const opset = new Writer().string(1, '').int(2, 13); // opset
  const model = new Writer()
    .int(1, 8) // ir_version
    .string(2, 'mlv-lab-onnx-builder') // producer_name
    .string(3, '0.1')
    .int(5, 1) // model_version
    .string(6, spec.docString ?? '')
    .message(7, graph)
    .message(8, opset);
  return model.finish();
}

// ---------------------------------------------------------------- ready-made models

/**
 * A linear MNIST classifier with the same interface as the training
 * workload's export: input "input" [N,1,28,28] float32 -> output "logits" [N,10].
 * Graph: Flatten(axis=1) -> Gemm(transB=1).
 */
export function mnistLinearModel(weights: Float32Array /* 10x784 */, bias: Float32Array /* 10 */, doc = ''): Buffer {
  return buildModel({
    graphName: 'mnist_linear',
    docString: doc,
    inputs: [{ name: 'input', elemType: OnnxType.FLOAT, shape: ['batch', 1, 28, 28] }],
    outputs: [{ name: 'logits', elemType: OnnxType.FLOAT, shape: ['batch', 10] }],
    nodes: [
      { op: 'Flatten', inputs: ['input'], outputs: ['flat'], attrs: { axis: { i: 1 } } },
      { op: 'Gemm', inputs: ['flat', 'W', 'B'], outputs: ['logits'], attrs: { transB: { i: 1 } } },
    ],
    initializers: [
      { name: 'W', dims: [10, 784], data: weights },
      { name: 'B', dims: [10], data: bias },
    ],
  });
}

/** Tiny affine model: "x" [N,4] -> "y" [N,3] = x @ W + b, with fixed weights. */
export function tinyAffineModel(): { model: Buffer; W: number[][]; b: number[] } {
  const W = [
    [1, 0, 0.5],
    [0, 1, -0.5],
    [2, 0, 0],
    [0, -1, 1],
  ];
  const b = [0.1, 0.2, 0.3];
  const model = buildModel({
    graphName: 'tiny_affine',
    inputs: [{ name: 'x', elemType: OnnxType.FLOAT, shape: ['N', 4] }],
    outputs: [{ name: 'y', elemType: OnnxType.FLOAT, shape: ['N', 3] }],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'b'], outputs: ['y'] },
    ],
    initializers: [
      { name: 'W', dims: [4, 3], data: W.flat() },
      { name: 'b', dims: [3], data: b },
    ],
  });
  return { model, W, b };
}
