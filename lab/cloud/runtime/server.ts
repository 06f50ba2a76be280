/**
 * The KServe Python model server-like front (`--runtime python`, ClusterServingRuntime
 * lab-onnx-python): KServe V1 and Open Inference Protocol V2 REST around one LoadedModel,
 * answering as python/kserve's ModelServer does (kserve/kserve @ aaac4e29,
 * python/kserve/kserve/protocol/rest/v2_datamodels.py and v2_endpoints.py: responses are the
 * pydantic models, so absent optional fields go out as null: InferenceResponse model_version,
 * parameters and outputs[].parameters; ModelMetadataResponse versions; the request id, or a
 * fresh uuid, is always echoed). Plain HTTP on loopback; the ingress router terminates TLS.
 * GET /metrics: KServe's request_predict_seconds histogram (./metrics.ts), on the same port, as the
 * Python server's REST app mounts it (protocol/rest/server.py).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send } from '../http.ts';
import { readJson, RuntimeHttpServer, type BaseServerOptions } from './base.ts';
import { KServeMetrics } from './metrics.ts';
import type { LoadedModel } from './model.ts';

const SERVER_NAME = 'mlv-lab-onnx-python';
const SERVER_VERSION = '0.1.0';

interface ModelServerOptions extends BaseServerOptions {
  modelName: string;
}

type State = { phase: 'loading' } | { phase: 'ready'; model: LoadedModel } | { phase: 'failed'; error: string };

/** A V2 infer answer as the Python server serialises it: every optional field present, null when unset. */
export function pythonInferResponse(r: Record<string, unknown>, requestId: unknown): Record<string, unknown> {
  const outputs = (r.outputs as Record<string, unknown>[]).map(({ name, shape, datatype, data }) => ({ name, shape, datatype, parameters: null, data }));
  return { model_name: r.model_name, model_version: null, id: typeof requestId === 'string' ? requestId : randomUUID(), parameters: null, outputs };
}

export class ModelServer extends RuntimeHttpServer {
  private state: State = { phase: 'loading' };
  readonly metrics = new KServeMetrics();

  constructor(private readonly opts: ModelServerOptions) {
    super(opts);
  }

  get name(): string {
    return this.opts.modelName;
  }

  get ready(): boolean {
    return this.state.phase === 'ready';
  }

  get model(): LoadedModel | undefined {
    return this.state.phase === 'ready' ? this.state.model : undefined;
  }

  setModel(model: LoadedModel): void {
    this.state = { phase: 'ready', model };
  }

  setFailed(error: string): void {
    this.state = { phase: 'failed', error };
  }

  private notReady(res: ServerResponse): void {
    const s = this.state;
    if (s.phase === 'failed') send(res, 503, { error: `model ${this.name} failed to load: ${s.error}` });
    else send(res, 503, { error: `model ${this.name} is not ready (loading)` });
  }

  protected async route(method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const get = method === 'GET' || method === 'HEAD';
    if (path === '/' && get) return send(res, 200, { status: 'alive' });
    if (path === '/metrics' && get) {
      const text = await this.metrics.text();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      return void res.end(text);
    }
    if (path === '/v2/health/live' && get) return send(res, 200, { live: true });
    if (path === '/v2/health/ready' && get) return send(res, this.ready ? 200 : 503, { ready: this.ready });
    if (path === '/v2' && get) return send(res, 200, { name: SERVER_NAME, version: SERVER_VERSION, extensions: ['model_repository_extension'] });
    if ((path === '/v1/models' || path === '/v2/models') && get) return send(res, 200, { models: [this.name] });

    let m = /^\/v1\/models\/([^/:]+)(:predict)?$/.exec(path);
    if (m) {
      const name = decodeURIComponent(m[1]!);
      if (name !== this.name) return send(res, 404, { error: `Model with name ${name} does not exist.` });
      if (!m[2]) {
        if (!get) return send(res, 405, { error: `method ${method} not allowed` });
        return send(res, 200, { name, ready: this.ready });
      }
      if (method !== 'POST') return send(res, 405, { error: `use POST for :predict` });
      const body = await readJson(req);
      const model = this.model;
      if (!model) return this.notReady(res);
      return this.metrics.time(this.name, () => this.answer(res, () => model.predictV1(body)));
    }

    m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/.exec(path);
    if (m) return this.routeV2(m, method, req, res);
    send(res, 404, { error: `no route for ${method} ${path}` });
  }

  private async routeV2(m: RegExpExecArray, method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const get = method === 'GET' || method === 'HEAD';
    const name = decodeURIComponent(m[1]!);
    if (name !== this.name) return send(res, 404, { error: `Model with name ${name} does not exist.` });
    const version = m[2] ? decodeURIComponent(m[2]) : undefined;
    if (version !== undefined && version !== '1') return send(res, 404, { error: `Model ${name} has no version ${version} (versions: 1)` });
    const tail = m[3];
    if (tail === '/ready') {
      if (!get) return send(res, 405, { error: `method ${method} not allowed` });
      return send(res, this.ready ? 200 : 503, { name, ready: this.ready });
    }
    if (tail === '/infer') {
      if (method !== 'POST') return send(res, 405, { error: 'use POST for /infer' });
      const body = await readJson(req);
      const model = this.model;
      if (!model) return this.notReady(res);
      return this.metrics.time(this.name, () => this.answer(res, async () => pythonInferResponse(await model.inferV2(body), (body as { id?: unknown }).id)));
    }
    if (!get) return send(res, 405, { error: `method ${method} not allowed` });
    const model = this.model;
    if (!model) return this.notReady(res);
    const { inputs, outputs } = model.metadataV2();
    return send(res, 200, { name, versions: null, platform: '', inputs, outputs });
  }
}
