/**
 * The ONNX model behind a lab model server: loads one .onnx file with
 * onnxruntime-node and converts between the wire protocols (KServe V1, Open
 * Inference Protocol V2) and onnxruntime tensors.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

/** Error whose message is safe to return to the client with the given HTTP status. */
export class RequestError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** onnxruntime tensor type -> V2 datatype */
const V2_TYPES: Record<string, string> = {
  float32: 'FP32',
  float64: 'FP64',
  float16: 'FP16',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
};

interface TensorMeta {
  name: string;
  datatype: string; // V2 name
  ortType: string;
  shape: number[]; // -1 = dynamic
}

interface V2InputTensor {
  name?: unknown;
  shape?: unknown;
  datatype?: unknown;
  data?: unknown;
  parameters?: unknown;
}

interface V2OutputTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: number[] | boolean[] | string[];
}

/** Locate the model file: the path itself if a file, else <dir>/model.onnx, else the single .onnx in dir. */
function resolveModelFile(modelDir: string): string {
  if (!existsSync(modelDir)) throw new Error(`model path ${modelDir} does not exist`);
  const st = statSync(modelDir);
  if (st.isFile()) return modelDir;
  const preferred = join(modelDir, 'model.onnx');
  if (existsSync(preferred)) return preferred;
  const onnx = readdirSync(modelDir).filter((f) => f.endsWith('.onnx'));
  if (onnx.length === 1) return join(modelDir, onnx[0]!);
  if (onnx.length === 0) throw new Error(`no .onnx file in model directory ${modelDir} (found: ${readdirSync(modelDir).join(', ') || 'nothing'})`);
  throw new Error(`model directory ${modelDir} has several .onnx files and no model.onnx: ${onnx.join(', ')}`);
}

function metaOf(m: ort.InferenceSession.ValueMetadata): TensorMeta {
  if (!m.isTensor) throw new Error(`model value ${m.name} is not a tensor; the lab runtime serves tensor models only`);
  const datatype = V2_TYPES[m.type];
  if (!datatype) throw new Error(`model value ${m.name} has unsupported type ${m.type}`);
  return {
    name: m.name,
    datatype,
    ortType: m.type,
    shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
  };
}

/** Flatten arbitrarily nested arrays; returns the leaf values and the nested shape. */
function flatten(value: unknown, what: string): { flat: unknown[]; shape: number[] } {
  if (!Array.isArray(value)) return { flat: [value], shape: [] };
  const shape: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const flat: unknown[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(v)) throw new RequestError(`${what}: ragged nested array`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) throw new RequestError(`${what}: ragged nested array`);
    for (const x of v) walk(x, depth + 1);
  };
  walk(value, 0);
  return { flat, shape };
}

function product(shape: readonly number[]): number {
  let p = 1;
  for (const d of shape) p *= d;
  return p;
}

type TypedData = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

function toTyped(ortType: string, values: unknown[], what: string): TypedData | boolean[] | string[] {
  const n = values.length;
  const num = (v: unknown, i: number): number => {
    if (typeof v === 'number') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    throw new RequestError(`${what}: element ${i} is ${typeof v === 'string' ? `the string "${String(v).slice(0, 20)}"` : typeof v}, expected a number`);
  };
  const fill = <T extends { [i: number]: number }>(arr: T): T => {
    for (let i = 0; i < n; i++) arr[i] = num(values[i], i);
    return arr;
  };
  const int = (v: unknown, i: number): bigint => {
    const x = num(v, i);
    if (!Number.isInteger(x)) throw new RequestError(`${what}: element ${i} (${x}) is not an integer`);
    return BigInt(x);
  };
  switch (ortType) {
    case 'float32':
      return fill(new Float32Array(n));
    case 'float64':
      return fill(new Float64Array(n));
    case 'int8':
      return fill(new Int8Array(n));
    case 'int16':
      return fill(new Int16Array(n));
    case 'int32':
      return fill(new Int32Array(n));
    case 'uint8':
      return fill(new Uint8Array(n));
    case 'uint16':
      return fill(new Uint16Array(n));
    case 'uint32':
      return fill(new Uint32Array(n));
    case 'int64': {
      const a = new BigInt64Array(n);
      for (let i = 0; i < n; i++) a[i] = int(values[i], i);
      return a;
    }
    case 'uint64': {
      const a = new BigUint64Array(n);
      for (let i = 0; i < n; i++) a[i] = int(values[i], i);
      return a;
    }
    case 'bool':
      return values.map((v, i) => {
        if (typeof v === 'boolean') return v;
        return num(v, i) !== 0;
      });
    case 'string':
      return values.map((v) => String(v));
    default:
      throw new RequestError(`${what}: tensor type ${ortType} is not supported by the lab runtime`);
  }
}

function fromTensor(t: ort.Tensor): number[] | boolean[] | string[] {
  const d = t.data as unknown;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Array.from(d, (x) => Number(x));
  if (t.type === 'bool') return Array.from(d as Uint8Array, (x) => x !== 0);
  if (Array.isArray(d)) return d as string[];
  return Array.from(d as ArrayLike<number>);
}

/** Nest a flat row into `shape` (shape without the batch dim). */
function nest(flat: ArrayLike<unknown>, offset: number, shape: readonly number[]): unknown {
  if (shape.length === 0) return flat[offset];
  if (shape.length === 1) {
    const row = new Array(shape[0]);
    for (let i = 0; i < shape[0]!; i++) row[i] = flat[offset + i];
    return row;
  }
  const inner = product(shape.slice(1));
  const out = new Array(shape[0]);
  for (let i = 0; i < shape[0]!; i++) out[i] = nest(flat, offset + i * inner, shape.slice(1));
  return out;
}

interface LoadedModelOptions {
  threads?: number;
}

export class LoadedModel {
  readonly inputs: TensorMeta[];
  readonly outputs: TensorMeta[];
  readonly version = '1';

  private constructor(
    readonly name: string,
    readonly file: string,
    private readonly session: ort.InferenceSession,
  ) {
    this.inputs = session.inputMetadata.map(metaOf);
    this.outputs = session.outputMetadata.map(metaOf);
  }

  static async load(name: string, modelDir: string, opts: LoadedModelOptions = {}): Promise<LoadedModel> {
    const file = resolveModelFile(modelDir);
    const session = await ort.InferenceSession.create(file, {
      intraOpNumThreads: opts.threads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return new LoadedModel(name, file, session);
  }

  metadataV2(): Record<string, unknown> {
    return {
      name: this.name,
      versions: [this.version],
      platform: 'onnxruntime_onnx',
      inputs: this.inputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
      outputs: this.outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
    };
  }

  /** Open Inference Protocol V2 infer. Throws RequestError on a bad request. */
  async inferV2(body: unknown): Promise<Record<string, unknown>> {
    if (!body || typeof body !== 'object') throw new RequestError('request body must be a JSON object');
    const req = body as { id?: unknown; inputs?: unknown; outputs?: unknown; parameters?: unknown };
    if (!Array.isArray(req.inputs) || req.inputs.length === 0) throw new RequestError('"inputs" must be a non-empty array of tensors');
    const feeds: Record<string, ort.Tensor> = {};
    for (const [idx, raw] of (req.inputs as V2InputTensor[]).entries()) {
      if (!raw || typeof raw !== 'object') throw new RequestError(`inputs[${idx}] must be an object`);
      const name = raw.name;
      if (typeof name !== 'string') throw new RequestError(`inputs[${idx}].name must be a string`);
      const meta = this.inputs.find((m) => m.name === name);
      if (!meta) throw new RequestError(`unexpected input '${name}': model '${this.name}' expects ${this.describeInputs()}`);
      if (feeds[name]) throw new RequestError(`input '${name}' given twice`);
      if (raw.datatype !== meta.datatype) {
        throw new RequestError(`input '${name}' has datatype ${JSON.stringify(raw.datatype)} but model '${this.name}' expects ${meta.datatype}`);
      }
      const params = raw.parameters as Record<string, unknown> | undefined;
      if (params && params.binary_data_size !== undefined) throw new RequestError('binary tensor data extension is not supported; send JSON "data"');
      const shape = raw.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new RequestError(`input '${name}': "shape" must be an array of non-negative integers`);
      }
      this.checkShape(meta, shape as number[], `input '${name}'`);
      if (raw.data === undefined) throw new RequestError(`input '${name}': "data" is missing`);
      const { flat } = flatten(raw.data, `input '${name}' data`);
      const want = product(shape as number[]);
      if (flat.length !== want) {
        throw new RequestError(`input '${name}': data has ${flat.length} elements but shape [${(shape as number[]).join(',')}] needs ${want}`);
      }
      feeds[name] = new ort.Tensor(meta.ortType as ort.Tensor.Type, toTyped(meta.ortType, flat, `input '${name}' data`) as never, shape as number[]);
    }
    const missing = this.inputs.filter((m) => !feeds[m.name]);
    if (missing.length) throw new RequestError(`missing input(s) ${missing.map((m) => `'${m.name}'`).join(', ')}: model '${this.name}' expects ${this.describeInputs()}`);

    let wanted = this.outputs.map((o) => o.name);
    if (req.outputs !== undefined) {
      if (!Array.isArray(req.outputs)) throw new RequestError('"outputs" must be an array');
      wanted = (req.outputs as { name?: unknown }[]).map((o, i) => {
        const n = o?.name;
        if (typeof n !== 'string' || !this.outputs.some((m) => m.name === n)) {
          throw new RequestError(`outputs[${i}]: unknown output ${JSON.stringify(n)}; model '${this.name}' has ${this.outputs.map((m) => m.name).join(', ')}`);
        }
        return n;
      });
    }
    const results = await this.session.run(feeds, wanted);
    const outputs: V2OutputTensor[] = wanted.map((n) => {
      const t = results[n]!;
      return { name: n, shape: t.dims.slice(), datatype: V2_TYPES[t.type] ?? t.type, data: fromTensor(t) };
    });
    const resp: Record<string, unknown> = { model_name: this.name, model_version: this.version };
    if (req.id !== undefined) resp.id = req.id;
    resp.outputs = outputs;
    return resp;
  }

  /** KServe V1 predict: instances are single samples of the (only) model input. */
  async predictV1(body: unknown): Promise<{ predictions: unknown[] }> {
    if (!body || typeof body !== 'object') throw new RequestError('request body must be a JSON object');
    const instances = (body as { instances?: unknown }).instances;
    if (!Array.isArray(instances) || instances.length === 0) throw new RequestError('"instances" must be a non-empty array');
    if (this.inputs.length !== 1) {
      throw new RequestError(`model '${this.name}' has ${this.inputs.length} inputs; use the V2 protocol (/v2/models/${this.name}/infer)`);
    }
    const meta = this.inputs[0]!;
    const sampleShape = meta.shape.slice(1);
    const fixedSample = sampleShape.every((d) => d >= 0);
    const perSample = fixedSample ? product(sampleShape) : -1;
    let instShape: number[] | undefined;
    const all: unknown[] = [];
    for (const [i, inst] of instances.entries()) {
      const { flat, shape } = flatten(inst, `instances[${i}]`);
      if (fixedSample) {
        if (flat.length !== perSample) {
          throw new RequestError(`instances[${i}] has ${flat.length} values but input '${meta.name}' needs ${perSample} per instance (shape [${sampleShape.join(',')}])`);
        }
      } else {
        if (shape.length !== sampleShape.length) {
          throw new RequestError(`instances[${i}] has rank ${shape.length} but input '${meta.name}' needs rank ${sampleShape.length} per instance`);
        }
        if (instShape && shape.join(',') !== instShape.join(',')) throw new RequestError(`instances[${i}] shape [${shape}] differs from instances[0] [${instShape}]`);
        instShape = shape;
      }
      for (const v of flat) all.push(v);
    }
    const oneShape = fixedSample ? sampleShape : instShape!;
    const batchFixed = meta.shape.length > 0 && meta.shape[0]! >= 0 ? meta.shape[0]! : -1;
    const predictions: unknown[] = [];
    const per = product(oneShape);
    // Models with a fixed batch size (e.g. 1) get one run per instance; others one batched run.
    const step = batchFixed > 0 ? batchFixed : instances.length;
    if (batchFixed > 0 && instances.length % batchFixed !== 0) {
      throw new RequestError(`model '${this.name}' has a fixed batch size ${batchFixed}; send a multiple of it`);
    }
    for (let start = 0; start < instances.length; start += step) {
      const n = Math.min(step, instances.length - start);
      const typed = toTyped(meta.ortType, all.slice(start * per, (start + n) * per), 'instances');
      const shape = meta.shape.length === oneShape.length ? oneShape : [n, ...oneShape];
      const results = await this.session.run({ [meta.name]: new ort.Tensor(meta.ortType as ort.Tensor.Type, typed as never, shape) });
      const outs = this.outputs.map((o) => ({ t: results[o.name]!, data: fromTensor(results[o.name]!) }));
      for (let r = 0; r < n; r++) {
        if (outs.length === 1) predictions.push(this.row(outs[0]!.t, outs[0]!.data, r, n));
        else predictions.push(Object.fromEntries(outs.map((o, k) => [this.outputs[k]!.name, this.row(o.t, o.data, r, n)])));
      }
    }
    return { predictions };
  }

  private row(t: ort.Tensor, data: ArrayLike<unknown>, r: number, n: number): unknown {
    if (t.dims.length === 0) return data[0];
    if (t.dims[0] !== n) return nest(data, 0, t.dims); // output without a batch dim
    const rowShape = t.dims.slice(1);
    return nest(data, r * product(rowShape), rowShape);
  }

  private checkShape(meta: TensorMeta, shape: number[], what: string): void {
    const expected = `[${meta.shape.join(',')}]`;
    if (shape.length !== meta.shape.length) {
      throw new RequestError(`${what} has shape [${shape.join(',')}] (rank ${shape.length}) but model '${this.name}' expects ${expected} (rank ${meta.shape.length}, -1 = any)`);
    }
    meta.shape.forEach((d, i) => {
      if (d >= 0 && shape[i] !== d) {
        throw new RequestError(`${what} has shape [${shape.join(',')}] but model '${this.name}' expects ${expected} (dimension ${i} must be ${d})`);
      }
    });
  }

  private describeInputs(): string {
    return this.inputs.map((m) => `'${m.name}' ${m.datatype} [${m.shape.join(',')}]`).join(', ');
  }
}
