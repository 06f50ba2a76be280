/**
 * The lab ingress: one HTTPS listener that routes by Host header to the ready
 * replicas of an InferenceService, like Istio's ingress gateway + Knative's
 * activator in KServe serverless mode.
 *
 * Host convention (Knative/KServe default domain template, lab domain):
 *   <isvc>.<namespace>.lab.mlv.io            the InferenceService URL (status.url)
 *   <isvc>-predictor.<namespace>.lab.mlv.io  the predictor component URL
 * Both route to the predictor replicas. A `:port` suffix is ignored.
 *
 * Per route it keeps the in-flight count (requests being served plus requests
 * waiting for a replica), a time-weighted integral of it for the autoscaler,
 * and a request counter (rps). Upstream selection: least in-flight, round-robin
 * among ties. Upstream sockets are keep-alive.
 *
 * Unknown host -> 404. No ready replica: while the route is "activating"
 * (replicas starting, or scaled to zero) requests wait up to
 * activatorTimeoutMs and the route's onDemand hook is called (scale from
 * zero); otherwise 503 with the reason.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureContext } from 'node:tls';
import { readBody, send } from '../http.ts';
import { LAB_DOMAIN } from './certs.ts';

interface UpstreamSpec {
  /** pod name */
  id: string;
  /** on 127.0.0.1 */
  port: number;
}

interface Upstream extends UpstreamSpec {
  inflight: number;
  served: number;
}

interface RouteOptions {
  /** replicas are starting / scale from zero pending: queue instead of 503 */
  activating?: boolean;
  /** shown in the 503 when nothing can serve */
  unavailableReason?: string;
  /** called when a request arrives and no replica is ready */
  onDemand?: () => void;
}

interface Route {
  namespace: string;
  name: string;
  upstreams: Upstream[];
  rr: number;
  opts: RouteOptions;
  inflight: number;
  integral: number; // sum of inflight * ms since lastSample
  lastChange: number;
  lastSample: number;
  started: number; // requests started since lastSample
  waiters: Set<() => void>;
}

interface RouteSample {
  /** time-averaged in-flight requests since the previous sample */
  concurrency: number;
  /** requests per second since the previous sample */
  rps: number;
  inflight: number;
  intervalMs: number;
}

interface RouterOptions {
  activatorTimeoutMs?: number;
  log?: (line: string) => void;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export class IngressRouter {
  readonly domain = LAB_DOMAIN;
  private routes = new Map<string, Route>();
  private readonly agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 10_000, maxSockets: 256, maxFreeSockets: 64, timeout: 120_000 });
  private server?: https.Server;
  private readonly activatorTimeoutMs: number;
  private readonly maxBody = 64 * 1024 * 1024;
  private readonly log: (line: string) => void;

  constructor(opts: RouterOptions = {}) {
    this.activatorTimeoutMs = opts.activatorTimeoutMs ?? 30_000;
    this.log = opts.log ?? (() => {});
  }

  static key(namespace: string, name: string): string {
    return `${namespace}/${name}`;
  }

  hostFor(namespace: string, name: string, component = false): string {
    return `${name}${component ? '-predictor' : ''}.${namespace}.${this.domain}`;
  }

  /** Create or update a route; `upstreams` are the READY replicas. */
  setRoute(namespace: string, name: string, upstreams: UpstreamSpec[], opts: RouteOptions = {}): void {
    const key = IngressRouter.key(namespace, name);
    const now = performance.now();
    let r = this.routes.get(key);
    if (!r) {
      r = { namespace, name, upstreams: [], rr: 0, opts, inflight: 0, integral: 0, lastChange: now, lastSample: now, started: 0, waiters: new Set() };
      this.routes.set(key, r);
    }
    r.opts = opts;
    const old = new Map(r.upstreams.map((u) => [u.id, u]));
    r.upstreams = upstreams.map((u) => {
      const prev = old.get(u.id);
      if (prev && prev.port === u.port) return prev;
      return { id: u.id, port: u.port, inflight: 0, served: 0 };
    });
    if (r.upstreams.length > 0 || !opts.activating) {
      for (const w of [...r.waiters]) w();
    }
  }

  removeRoute(namespace: string, name: string): void {
    const key = IngressRouter.key(namespace, name);
    const r = this.routes.get(key);
    if (!r) return;
    this.routes.delete(key);
    r.upstreams = [];
    r.opts = { unavailableReason: `InferenceService ${key} was deleted` };
    for (const w of [...r.waiters]) w();
  }

  hasRoute(namespace: string, name: string): boolean {
    return this.routes.has(IngressRouter.key(namespace, name));
  }

  /** In-flight requests on one upstream (for draining before a replica stops). */
  upstreamInflight(namespace: string, name: string, id: string): number {
    return this.routes.get(IngressRouter.key(namespace, name))?.upstreams.find((u) => u.id === id)?.inflight ?? 0;
  }

  /** Per-replica served counters (debug / tests). */
  stats(namespace: string, name: string): { inflight: number; upstreams: { id: string; inflight: number; served: number }[] } | undefined {
    const r = this.routes.get(IngressRouter.key(namespace, name));
    if (!r) return undefined;
    return { inflight: r.inflight, upstreams: r.upstreams.map((u) => ({ id: u.id, inflight: u.inflight, served: u.served })) };
  }

  /** Metric sample since the previous call (the autoscaler calls this every tick). */
  sample(namespace: string, name: string, now = performance.now()): RouteSample {
    const r = this.routes.get(IngressRouter.key(namespace, name));
    if (!r) return { concurrency: 0, rps: 0, inflight: 0, intervalMs: 0 };
    this.account(r, now);
    const intervalMs = Math.max(1, now - r.lastSample);
    const s = { concurrency: r.integral / intervalMs, rps: (r.started * 1000) / intervalMs, inflight: r.inflight, intervalMs };
    r.integral = 0;
    r.started = 0;
    r.lastSample = now;
    return s;
  }

  private account(r: Route, now: number): void {
    r.integral += r.inflight * (now - r.lastChange);
    r.lastChange = now;
  }

  private changeInflight(r: Route, delta: number): void {
    this.account(r, performance.now());
    r.inflight += delta;
  }

  /** Resolve a Host header to a route. */
  resolve(hostHeader: string | undefined): Route | undefined {
    if (!hostHeader) return undefined;
    const host = hostHeader.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
    if (!host.endsWith(`.${this.domain}`)) return undefined;
    const labels = host.slice(0, -(this.domain.length + 1)).split('.');
    if (labels.length !== 2) return undefined;
    const [svc, ns] = labels as [string, string];
    const exact = this.routes.get(IngressRouter.key(ns, svc));
    if (exact) return exact;
    if (svc.endsWith('-predictor')) return this.routes.get(IngressRouter.key(ns, svc.slice(0, -'-predictor'.length)));
    return undefined;
  }

  private pick(r: Route, exclude?: Upstream): Upstream | undefined {
    const ups = exclude ? r.upstreams.filter((u) => u !== exclude) : r.upstreams;
    if (ups.length === 0) return undefined;
    let best: Upstream | undefined;
    const n = ups.length;
    for (let i = 0; i < n; i++) {
      const u = ups[(r.rr + i) % n]!;
      if (!best || u.inflight < best.inflight) best = u;
    }
    r.rr = (r.rr + 1) % n;
    return best;
  }

  private waitForUpstream(r: Route): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        r.waiters.delete(wake);
        resolve(ok);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), this.activatorTimeoutMs);
      r.waiters.add(wake);
    });
  }

  /** The request handler (exported for tests that mount it on their own server). */
  readonly handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const route = this.resolve(req.headers.host);
    if (!route) {
      send(res, 404, { error: `no InferenceService serves host ${JSON.stringify(req.headers.host ?? '')}; use <isvc>.<namespace>.${this.domain}` });
      return;
    }
    this.changeInflight(route, +1);
    route.started++;
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        this.changeInflight(route, -1);
      }
    };
    res.on('close', release);
    try {
      const body = await readBody(req, this.maxBody, (limit) => Object.assign(new Error(`request body larger than ${limit} bytes`), { status: 413 }));
      let up = this.pick(route);
      if (!up && route.opts.activating) {
        route.opts.onDemand?.();
        const t0 = Date.now();
        while (!up && route.opts.activating && Date.now() - t0 < this.activatorTimeoutMs) {
          if (!(await this.waitForUpstream(route))) break;
          up = this.pick(route);
        }
      }
      if (!up) {
        const reason = route.opts.unavailableReason ?? (route.opts.activating ? 'timed out waiting for a ready replica' : 'no ready replica');
        send(res, 503, { error: `InferenceService ${route.namespace}/${route.name} is not available: ${reason}` });
        return;
      }
      await this.forward(route, up, req, res, body, true);
    } catch (e) {
      const err = e as Error & { status?: number };
      if (!res.headersSent) send(res, err.status ?? 502, { error: err.message });
      else res.destroy();
    } finally {
      if (res.writableFinished) release();
    }
  };

  private forward(route: Route, up: Upstream, req: IncomingMessage, res: ServerResponse, body: Buffer, mayRetry: boolean): Promise<void> {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    }
    headers['content-length'] = String(body.length);
    const xff = req.headers['x-forwarded-for'];
    const peer = req.socket.remoteAddress ?? '';
    headers['x-forwarded-for'] = xff ? `${xff}, ${peer}` : peer;
    headers['x-forwarded-proto'] = 'https';
    headers['x-forwarded-host'] = req.headers.host ?? '';
    up.inflight++;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = () => {
        if (!settled) {
          settled = true;
          up.inflight--;
          up.served++;
        }
      };
      const upReq = http.request({ host: '127.0.0.1', port: up.port, method: req.method, path: req.url, headers, agent: this.agent }, (upRes) => {
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(upRes.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
        out['x-lab-pod'] = up.id;
        res.writeHead(upRes.statusCode ?? 502, out);
        upRes.pipe(res);
        upRes.on('end', () => {
          finish();
          resolve();
        });
        upRes.on('error', (e) => {
          finish();
          reject(e);
        });
      });
      upReq.on('error', (e: NodeJS.ErrnoException) => {
        finish();
        if (res.headersSent) return reject(e);
        // the replica died between readiness and this request: one retry on another one
        const retry = mayRetry && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(e.code ?? '') ? this.pick(route, up) : undefined;
        if (retry) {
          this.log(`router: ${route.namespace}/${route.name} upstream ${up.id} ${e.code}; retrying on ${retry.id}`);
          this.forward(route, retry, req, res, body, false).then(resolve, reject);
        } else reject(Object.assign(new Error(`upstream ${up.id} failed: ${e.code ?? e.message}`), { status: 502 }));
      });
      upReq.end(body);
    });
  }

  listen(host: string, port: number, tls: { cert: Buffer; key: Buffer; sni?: (servername: string) => Promise<SecureContext> | undefined }): Promise<AddressInfo> {
    const sni = tls.sni;
    this.server = https.createServer(
      {
        cert: tls.cert,
        key: tls.key,
        keepAlive: true,
        SNICallback: sni
          ? (servername, cb) => {
              const p = sni(servername);
              if (!p) return cb(null, undefined);
              p.then(
                (ctx) => cb(null, ctx),
                (e) => {
                  this.log(`router: SNI certificate for ${servername} failed: ${(e as Error).message}`);
                  cb(null, undefined);
                },
              );
            }
          : undefined,
      },
      (req, res) => void this.handle(req, res),
    );
    this.server.keepAliveTimeout = 30_000;
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => {
        this.server!.off('error', reject);
        resolve(this.server!.address() as AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    for (const r of this.routes.values()) for (const w of [...r.waiters]) w();
    if (this.server) {
      const s = this.server;
      await new Promise<void>((r) => {
        s.close(() => r());
        s.closeAllConnections();
      });
    }
    this.agent.destroy();
  }
}
