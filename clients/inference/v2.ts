/**
 * Open Inference Protocol (KServe V2) client.
 *   GET  /v2/health/live, /v2/health/ready
 *   GET  /v2/models/<m>          → metadata {name, platform, inputs, outputs}
 *   GET  /v2/models/<m>/ready    → {name, ready}
 *   POST /v2/models/<m>/infer    {inputs:[{name, shape, datatype, data}]} → {model_name, outputs}
 *
 * Shapes are arrays of integers; in metadata, -1 means "any size".
 */
import { z } from 'zod';
import type { Endpoint } from './endpoint.ts';
import { InferenceTransport, parseBody, type ClientOptions } from './http.ts';

const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BF16', 'BYTES'] as const;
type V2Datatype = (typeof DATATYPES)[number];

/*
 * What the real servers send (read from their sources):
 * - KServe's Python server (python/kserve/kserve/protocol/rest/v2_datamodels.py, v2_endpoints.py,
 *   infer_type.py InferResponse.to_rest): FastAPI serialises the pydantic models with their
 *   None fields, so an infer answer carries "model_version": null, "parameters": null and
 *   outputs[].parameters: null; model metadata "versions": null and "platform": ""
 *   (dataplane.py model_metadata); `id` is always a string.
 * - Triton (src/http_server.cc FinalizeResponse): no `id` unless the request gave one,
 *   "model_version" a string ("1"), `parameters` only when there are some; metadata with
 *   "versions": ["1"] and a real platform.
 * Both send flat (row-major) `data` in JSON, and parameter values that are bool, number or string.
 */
const Datatype = z.enum(DATATYPES, { error: (i) => `datatype ${JSON.stringify(i.input)} is not a V2 datatype (${DATATYPES.join(', ')})` });
const Parameters = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).nullish();
/** Metadata dims: -1 = any size. */
const MetaShape = z.array(z.number().int().min(-1));
/** Response dims: the actual sizes. */
const Shape = z.array(z.number().int().nonnegative());

const V2TensorMetadataSchema = z.object({ name: z.string(), datatype: Datatype, shape: MetaShape });
const V2ModelMetadataSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()).nullish(),
  platform: z.string(),
  inputs: z.array(V2TensorMetadataSchema).default([]),
  outputs: z.array(V2TensorMetadataSchema).default([]),
});
const V2ResponseOutputSchema = z
  .object({ name: z.string(), shape: Shape, datatype: Datatype, data: z.array(z.unknown()), parameters: Parameters })
  .refine((o) => countElements(o.data) === o.shape.reduce((a, b) => a * b, 1), {
    error: (i) => {
      const o = i.input as { shape: number[]; data: unknown[] };
      return `data has ${countElements(o.data)} elements, shape ${fmtShape(o.shape)} needs ${o.shape.reduce((a, b) => a * b, 1)}`;
    },
  });
const V2InferResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string().nullish(),
  id: z.string().optional(),
  parameters: Parameters,
  outputs: z.array(V2ResponseOutputSchema),
});
const ReadySchema = z.object({ name: z.string().optional(), ready: z.boolean().optional() });
const LiveSchema = z.object({ live: z.boolean().optional(), ready: z.boolean().optional() });

export type V2ModelMetadata = z.infer<typeof V2ModelMetadataSchema>;
export type V2InferResponse = z.infer<typeof V2InferResponseSchema>;

/** One request tensor. `data` may be flat (row-major) or nested. */
interface V2InferInput {
  name: string;
  shape: number[];
  datatype: V2Datatype;
  data: unknown[];
}

export class KServeV2Client {
  private readonly t: InferenceTransport;

  constructor(endpoint: Endpoint, opts?: ClientOptions) {
    this.t = new InferenceTransport(endpoint, opts);
  }

  /** True when `/v2/health/live` answers 200 (and does not say `live: false`). */
  serverLive(): Promise<boolean> {
    return this.health('/v2/health/live', 'live');
  }

  /** True when `/v2/health/ready` answers 200 (and does not say `ready: false`). */
  serverReady(): Promise<boolean> {
    return this.health('/v2/health/ready', 'ready');
  }

  /** Model metadata; throws `InferenceHttpError` for an unknown model. */
  modelMetadata(name: string): Promise<V2ModelMetadata> {
    return this.t.json(V2ModelMetadataSchema, 'V2 model metadata', 'GET', modelPath(name));
  }

  /**
   * Model readiness. 200 → `ready` from the body (true if the body is empty, as
   * Triton answers); 503/400 (not ready) → false, without retrying; others throw.
   */
  async modelReady(name: string): Promise<{ name: string; ready: boolean }> {
    const res = await this.t.request('GET', `${modelPath(name)}/ready`, { acceptStatus: [400, 503], retry: false });
    if (res.status !== 200 && res.status !== 204) return { name, ready: false };
    if (res.text.trim() === '') return { name, ready: true };
    const body = parseBody(ReadySchema, 'V2 model ready', res);
    return { name: body.name ?? name, ready: body.ready ?? true };
  }

  /** Run inference; the response is validated (outputs with name/shape/datatype/data). */
  infer(name: string, inputs: V2InferInput[]): Promise<V2InferResponse> {
    return this.t.json(V2InferResponseSchema, 'V2 infer response', 'POST', `${modelPath(name)}/infer`, { body: { inputs } });
  }

  close(): void {
    this.t.close();
  }

  private async health(path: string, key: 'live' | 'ready'): Promise<boolean> {
    const res = await this.t.request('GET', path, { acceptStatus: [400, 404, 500, 503], retry: false });
    if (res.status < 200 || res.status >= 300) return false;
    if (res.text.trim() === '') return true;
    return parseBody(LiveSchema, `V2 health/${key}`, res)[key] !== false;
  }
}

function modelPath(name: string): string {
  return `/v2/models/${encodeURIComponent(name)}`;
}

/**
 * Compare request tensors with the model's declared inputs. Every declared
 * input is treated as required. Returns one precise message per mismatch
 * (empty list = consistent): unknown/missing/duplicate names, datatype,
 * rank, each fixed dimension (metadata -1 = any), invalid request dims, and,
 * when `data` is given, its element count against the shape.
 */
export function checkTensorsAgainstMetadata(
  inputs: { name: string; datatype: string; shape: number[]; data?: unknown[] }[],
  metadata: { inputs: { name: string; datatype: string; shape: number[] }[] },
): string[] {
  const problems: string[] = [];
  const declared = new Map(metadata.inputs.map((m) => [m.name, m]));
  const seen = new Set<string>();
  for (const input of inputs) {
    const where = `input "${input.name}"`;
    if (seen.has(input.name)) {
      problems.push(`${where}: given more than once`);
      continue;
    }
    seen.add(input.name);
    const meta = declared.get(input.name);
    if (!meta) {
      problems.push(`${where}: not declared by the model (declared: ${[...declared.keys()].join(', ') || 'none'})`);
      continue;
    }
    if (input.datatype !== meta.datatype) problems.push(`${where}: datatype ${input.datatype}, model expects ${meta.datatype}`);
    const bad = input.shape.filter((d) => !Number.isInteger(d) || d < 0);
    if (bad.length) problems.push(`${where}: shape ${fmtShape(input.shape)} has invalid dims ${bad.join(', ')} (need integers >= 0)`);
    if (input.shape.length !== meta.shape.length) {
      problems.push(`${where}: shape ${fmtShape(input.shape)} has rank ${input.shape.length}, model expects rank ${meta.shape.length} ${fmtShape(meta.shape)}`);
    } else {
      meta.shape.forEach((want, i) => {
        const got = input.shape[i];
        if (want !== -1 && got !== want) {
          problems.push(`${where}: dim ${i} is ${got}, model expects ${want} (shape ${fmtShape(input.shape)} vs ${fmtShape(meta.shape)})`);
        }
      });
    }
    if (input.data && bad.length === 0) {
      const n = countElements(input.data);
      const want = input.shape.reduce((a, b) => a * b, 1);
      if (n !== want) problems.push(`${where}: data has ${n} elements, shape ${fmtShape(input.shape)} needs ${want}`);
    }
  }
  for (const name of declared.keys()) {
    if (!seen.has(name)) problems.push(`input "${name}": required by the model but missing`);
  }
  return problems;
}

function countElements(data: unknown[]): number {
  let n = 0;
  for (const d of data) n += Array.isArray(d) ? countElements(d) : 1;
  return n;
}

function fmtShape(s: number[]): string {
  return `[${s.join(',')}]`;
}
