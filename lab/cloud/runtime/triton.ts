/**
 * The Triton-like front (`--runtime triton`, ClusterServingRuntime kserve-tritonserver): the
 * models of a model repository (./repository.ts), each named after its directory, over the
 * Open Inference Protocol V2 REST only, answering as tritonserver does
 * (triton-inference-server/server @ e1db8a60, src/http_server.cc HTTPAPIServer::Handle):
 * - any other path, the KServe V1 ones included: 404 {"error":"Not Found"};
 * - responses carry no nulls: absent fields are left out (id only when the request had one);
 * - an unknown model: 400 "Request for unknown model: '<m>' is not found" (core
 *   model_repository_manager.cc, INVALID_ARG);
 * - a batch over max_batch_size: 400 "[request id: <id>] inference request batch-size must be
 *   <= N for '<m>'" (core src/infer_request.cc);
 * - health and model ready: 200 with an empty body, 400 when not ready.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send } from '../http.ts';
import { readJson, RuntimeHttpServer, type BaseServerOptions } from './base.ts';
import { TritonMetrics } from './metrics.ts';
import { RequestError, type LoadedModel } from './model.ts';

export interface TritonModel {
  name: string;
  version: string;
  maxBatchSize: number;
  model: LoadedModel;
}

type State = { phase: 'loading' } | { phase: 'ready'; models: Map<string, TritonModel> } | { phase: 'failed'; error: string };

const empty = (res: ServerResponse, status: number) => {
  res.writeHead(status, { 'content-length': 0 });
  res.end();
};

/** The request-id prefix of Triton's request errors (core InferenceRequest::LogRequest). */
const requestTag = (body: unknown) => {
  const id = (body as { id?: unknown })?.id;
  return `[request id: ${typeof id === 'string' && id ? id : '<id_unknown>'}] `;
};

/** Triton's batch check: with max_batch_size > 0 the first dimension of the first input is the batch. */
export function checkBatch(m: Pick<TritonModel, 'name' | 'maxBatchSize'>, body: unknown): void {
  const batch = batchSize(m, body);
  if (m.maxBatchSize > 0 && batch > m.maxBatchSize) {
    throw new RequestError(`${requestTag(body)}inference request batch-size must be <= ${m.maxBatchSize} for '${m.name}'`);
  }
}

/** The request's batch size: the first dimension of the first input where the model batches, else 1. */
export function batchSize(m: Pick<TritonModel, 'maxBatchSize'>, body: unknown): number {
  if (m.maxBatchSize <= 0) return 1;
  const shape = (body as { inputs?: { shape?: unknown }[] })?.inputs?.[0]?.shape;
  const batch = Array.isArray(shape) ? Number(shape[0]) : NaN;
  return Number.isFinite(batch) ? batch : 1;
}

export class TritonServer extends RuntimeHttpServer {
  private state: State = { phase: 'loading' };
  /** what its metrics listener (./metrics.ts MetricsServer) publishes */
  readonly metrics: TritonMetrics;

  constructor(opts: BaseServerOptions & { metrics?: TritonMetrics }) {
    super(opts);
    this.metrics = opts.metrics ?? new TritonMetrics();
  }

  get ready(): boolean {
    return this.state.phase === 'ready';
  }

  /** The models are loaded (`loadSeconds`: how long that took, nv_model_load_duration_secs). */
  setModels(models: TritonModel[], loadSeconds = 0): void {
    for (const m of models) this.metrics.loaded({ model: m.name, version: m.version }, loadSeconds);
    this.state = { phase: 'ready', models: new Map(models.map((m) => [m.name, m])) };
  }

  setFailed(error: string): void {
    this.state = { phase: 'failed', error };
  }

  private find(name: string, version: string | undefined): TritonModel {
    const m = this.state.phase === 'ready' ? this.state.models.get(name) : undefined;
    if (!m) throw new RequestError(`Request for unknown model: '${name}' is not found`);
    if (version !== undefined && version !== '' && version !== m.version) {
      throw new RequestError(`Request for unknown model: '${name}' version ${version} is not found`);
    }
    return m;
  }

  protected async route(method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const get = method === 'GET' || method === 'HEAD';
    if (path === '/v2/health/live' && get) return empty(res, 200);
    if (path === '/v2/health/ready' && get) return empty(res, this.ready ? 200 : 400);
    if (path === '/v2' && get) return send(res, 200, { name: 'triton', version: '2.59.0', extensions: ['classification', 'model_repository', 'schedule_policy', 'model_configuration', 'statistics'] });
    const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([0-9]*))?(?:\/(ready|infer|config))?$/.exec(path);
    if (!m) return send(res, 404, { error: 'Not Found' });
    const name = decodeURIComponent(m[1]!);
    const kind = m[3] ?? '';
    if (kind === 'ready' && get) {
      const ok = this.state.phase === 'ready' && this.state.models.has(name);
      return empty(res, ok ? 200 : 400);
    }
    if (kind === 'infer' && method === 'POST') {
      const body = await readJson(req);
      const tm = this.find(name, m[2]);
      checkBatch(tm, body);
      // counted once the request reaches the model, as Triton's statistics are
      return this.metrics.request(
        { model: tm.name, version: tm.version },
        batchSize(tm, body),
        () => this.answer(res, async () => ({ ...(await tm.model.inferV2(body)), model_version: tm.version })),
        (e) => !(e instanceof RequestError),
      );
    }
    if (kind === 'config' && get) return send(res, 200, this.config(this.find(name, m[2])));
    if (kind === '' && get) {
      const tm = this.find(name, m[2]);
      const { inputs, outputs } = tm.model.metadataV2();
      return send(res, 200, { name: tm.name, versions: [tm.version], platform: 'onnxruntime_onnx', inputs, outputs });
    }
    send(res, 405, { error: `Method Not Allowed` });
  }

  /** The auto-completed model configuration (a subset of Triton's /config answer). */
  private config(tm: TritonModel): Record<string, unknown> {
    const strip = (shape: number[]) => (tm.maxBatchSize > 0 ? shape.slice(1) : shape);
    const io = (t: { name: string; datatype: string; shape: number[] }) => ({ name: t.name, data_type: `TYPE_${t.datatype}`, dims: strip(t.shape) });
    return { name: tm.name, platform: 'onnxruntime_onnx', backend: 'onnxruntime', max_batch_size: tm.maxBatchSize, input: tm.model.inputs.map(io), output: tm.model.outputs.map(io) };
  }
}
