/**
 * HTTP front of the lab model server: KServe V1 and Open Inference Protocol V2
 * REST endpoints around one LoadedModel. Plain HTTP on loopback; the ingress
 * router terminates TLS in front of it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody, send } from '../http.ts';
import { LoadedModel, RequestError } from './model.ts';
import { slowed } from './slowdown.ts';

const MAX_BODY = 64 * 1024 * 1024;
const SERVER_NAME = 'mlv-lab-onnx-runtime';
const SERVER_VERSION = '0.1.0';

interface ModelServerOptions {
  modelName: string;
  /** access log sink; one line per request. Default: stdout. null disables. */
  log?: ((line: string) => void) | null;
  /** lab fault knob (./slowdown.ts): answer inference requests this many times slower than computed; default 1 */
  slowdown?: number;
}

type State = { phase: 'loading' } | { phase: 'ready'; model: LoadedModel } | { phase: 'failed'; error: string };

/** The JSON request body of an inference call. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const raw = await readBody(req, MAX_BODY, (limit) => new RequestError(`request body larger than ${limit} bytes`, 413));
  const text = raw.toString('utf8');
  if (!text) throw new RequestError('empty request body; expected JSON');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RequestError(`invalid JSON body: ${(e as Error).message}`);
  }
}

export class ModelServer {
  readonly server: Server;
  private state: State = { phase: 'loading' };
  private inflight = 0;
  private readonly log: ((line: string) => void) | null;

  constructor(private readonly opts: ModelServerOptions) {
    this.log = opts.log === undefined ? (line) => process.stdout.write(line + '\n') : opts.log;
    this.server = createServer({ keepAlive: true }, (req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 65_000; // longer than the router's idle upstream sockets
    this.server.headersTimeout = 70_000;
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

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stop accepting, let in-flight requests finish (up to graceMs), close. */
  async close(graceMs = 5000): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (this.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.server.closeAllConnections();
    await closed;
  }

  /** Answer an inference request: the real computation, then the slowdown's extra wait, if any (reported in x-lab-* headers). */
  private async answer(res: ServerResponse, infer: () => Promise<unknown>): Promise<void> {
    const factor = this.opts.slowdown ?? 1;
    const r = await slowed(factor, infer);
    const headers = factor > 1 ? { 'x-lab-inference-ms': r.inferenceMs.toFixed(3), 'x-lab-slowdown': String(factor) } : undefined;
    send(res, 200, r.value, { headers });
  }

  private notReady(res: ServerResponse): void {
    const s = this.state;
    if (s.phase === 'failed') send(res, 503, { error: `model ${this.name} failed to load: ${s.error}` });
    else send(res, 503, { error: `model ${this.name} is not ready (loading)` });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = process.hrtime.bigint();
    this.inflight++;
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const quiet = req.headers['user-agent']?.startsWith('kube-probe/') ?? false; // kubelet-style probes are not logged
    res.on('finish', () => {
      this.inflight--;
      if (this.log && !quiet) {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        this.log(`${new Date().toISOString()} ${method} ${url} ${res.statusCode} ${ms.toFixed(2)}ms`);
      }
    });
    res.on('close', () => {
      if (!res.writableFinished) this.inflight--;
    });
    try {
      await this.route(method, url.split('?')[0]!, req, res);
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof RequestError) send(res, e.status, { error: e.message });
      else {
        const msg = (e as Error)?.message ?? String(e);
        this.log?.(`${new Date().toISOString()} ERROR ${method} ${url}: ${msg}`);
        send(res, 500, { error: `inference failed: ${msg}` });
      }
    }
  }

  private async route(method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const get = method === 'GET' || method === 'HEAD';
    if (path === '/' && get) return send(res, 200, { status: 'alive' });
    if (path === '/v2/health/live' && get) return send(res, 200, { live: true });
    if (path === '/v2/health/ready' && get) return send(res, this.ready ? 200 : 503, { ready: this.ready });
    if (path === '/v2' && get) return send(res, 200, { name: SERVER_NAME, version: SERVER_VERSION, extensions: [] });
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
      return this.answer(res, () => model.predictV1(body));
    }

    m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/.exec(path);
    if (m) {
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
        return this.answer(res, () => model.inferV2(body));
      }
      if (!get) return send(res, 405, { error: `method ${method} not allowed` });
      const model = this.model;
      if (!model) return this.notReady(res);
      return send(res, 200, model.metadataV2());
    }
    send(res, 404, { error: `no route for ${method} ${path}` });
  }
}
