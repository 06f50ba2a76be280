/**
 * The HTTP plumbing both lab model servers share (the KServe Python server-like one in
 * ./server.ts, the Triton-like one in ./triton.ts): keep-alive loopback listener, access log,
 * draining close, JSON bodies, error answers and the slowdown knob.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenOn, readBody, send } from '../http.ts';
import { RequestError } from './model.ts';
import { slowed } from './slowdown.ts';

const MAX_BODY = 64 * 1024 * 1024;

export interface BaseServerOptions {
  /** access log sink; one line per request. Default: stdout. null disables. */
  log?: ((line: string) => void) | null;
  /** lab fault knob (./slowdown.ts): answer inference requests this many times slower than computed; default 1 */
  slowdown?: number;
}

/** The JSON request body of an inference call. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const raw = await readBody(req, MAX_BODY, (limit) => new RequestError(`request body larger than ${limit} bytes`, 413));
  const text = raw.toString('utf8');
  if (!text) throw new RequestError('empty request body; expected JSON');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RequestError(`invalid JSON body: ${(e as Error).message}`);
  }
}

export abstract class RuntimeHttpServer {
  readonly server: Server;
  private inflight = 0;
  protected readonly log: ((line: string) => void) | null;

  constructor(protected readonly base: BaseServerOptions) {
    this.log = base.log === undefined ? (line) => process.stdout.write(line + '\n') : base.log;
    this.server = createServer({ keepAlive: true }, (req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 65_000; // longer than the router's idle upstream sockets
    this.server.headersTimeout = 70_000;
  }

  protected abstract route(method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void>;

  listen(host: string, port: number): Promise<AddressInfo> {
    return listenOn(this.server, host, port);
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

  /** Answer an inference request: the real computation, then the slowdown's extra work, if any (reported in x-lab-* headers). */
  protected async answer(res: ServerResponse, infer: () => Promise<unknown>): Promise<void> {
    const factor = this.base.slowdown ?? 1;
    const r = await slowed(factor, infer);
    const headers = factor > 1 ? { 'x-lab-inference-ms': r.inferenceMs.toFixed(3), 'x-lab-slowdown': String(factor) } : undefined;
    send(res, 200, r.value, { headers });
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
}
