/**
 * The load generator's transport: one undici `Client` (one keep-alive
 * connection, pipelining 1) per closed-loop worker, all sharing one connector
 * (TLS options and session cache). Requests go through `dispatch` with a small
 * handler instead of `request()`, so a response costs no stream, no promise
 * and no body buffering unless a validator needs the body.
 *
 * Per-request timeout: each lane owns one timer, re-armed with `refresh()` when
 * a request starts (no timer allocated per request). It covers queueing,
 * connect, headers and body; when it fires the outcome is `timeout` at once and
 * the request is aborted (or, if it was not yet written, aborted as soon as
 * undici hands it a socket). undici's own headers/body timeouts are disabled;
 * its connect timeout is set to the same `timeoutMs`.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { buildConnector, Client, type Dispatcher } from 'undici';
import type { LoadOptions } from './loadgen.ts';

/** What the transport needs of runLoad's options; `timeoutMs` is resolved (no default here). */
export type TransportOptions = Pick<LoadOptions, 'url' | 'method' | 'body' | 'headers' | 'hostHeader' | 'servername' | 'bearerToken' | 'ca' | 'insecureSkipVerify' | 'concurrency' | 'validate'> & {
  timeoutMs: number;
};

export type FailureKind = 'timeout' | 'connection' | 'invalid' | 'other';
/** A failed request: `status` for a non-2xx answer (kind undefined), else `kind` and `message`. */
export interface Failure {
  status?: number;
  kind?: FailureKind;
  message?: string;
}
/** Called once per request: `failure` null and the latency in ms, or a failure. */
export type Done = (failure: Failure | null, ms: number) => void;

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET']);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const MAX_BODY_BYTES = 1 << 20;

/** Thrown by `send` for a request undici refuses outright (bad header, method or path): a configuration error. */
export class RequestRejected extends Error {}

/** One worker's connection and timer. */
export interface Lane {
  /** Issue one request; `done` is called exactly once, never synchronously. */
  send(done: Done): void;
}

export interface Transport {
  lanes: Lane[];
  /** Destroy every connection (in-flight requests are abandoned). */
  close(): Promise<void>;
}

export function createTransport(o: TransportOptions): Transport {
  const url = new URL(o.url);
  const payload = encodeBody(o.body);
  const headers: Record<string, string> = { ...o.headers };
  if (payload && typeof o.body !== 'string' && !Buffer.isBuffer(o.body)) headers['content-type'] ??= 'application/json';
  if (o.hostHeader) headers['host'] = o.hostHeader;
  if (o.bearerToken) headers['authorization'] = `Bearer ${o.bearerToken}`;
  else if ((url.username || url.password) && !Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) {
    headers['authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  }
  const request: Dispatcher.DispatchOptions = {
    path: url.pathname + url.search,
    method: (o.method ?? (payload ? 'POST' : 'GET')).toUpperCase() as Dispatcher.HttpMethod,
    headers,
    body: payload,
  };

  const base = buildConnector({ timeout: o.timeoutMs, ca: o.ca, rejectUnauthorized: !o.insecureSkipVerify });
  const sni = o.servername ?? sniName(o.hostHeader);
  const connect: buildConnector.connector = sni === undefined ? base : (opts, cb) => base({ ...opts, servername: sni }, cb);
  const clientOpts: Client.Options = { connect, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 };

  const newClient = () => new Client(url.origin, clientOpts);
  const lanes = Array.from({ length: o.concurrency }, () => new HttpLane(newClient, request, o.timeoutMs, o.validate));
  return { lanes, close: () => Promise.all(lanes.map((l) => l.close())).then(() => {}) };
}

class HttpLane implements Lane {
  private current: Exchange | null = null;
  private readonly timer: NodeJS.Timeout;
  private client: Client;

  constructor(
    private readonly newClient: () => Client,
    readonly request: Dispatcher.DispatchOptions,
    readonly timeoutMs: number,
    readonly validate: TransportOptions['validate'],
  ) {
    // Re-armed by refresh() as each request starts; a firing with no request in flight does nothing.
    this.timer = setTimeout(() => this.expire(), timeoutMs);
    this.client = newClient();
  }

  send(done: Done): void {
    const x = new Exchange(this, done);
    this.current = x;
    this.timer.refresh();
    x.dispatching = true;
    this.client.dispatch(this.request, x);
    x.dispatching = false;
    if (x.syncError) {
      this.current = null;
      throw new RequestRejected(errorMessage(x.syncError));
    }
  }

  /** The exchange finished (or failed): report once, unless the timer already did. */
  settle(x: Exchange, failure: Failure | null): void {
    if (x.settled) return;
    x.settled = true;
    if (this.current === x) this.current = null;
    x.done(failure, failure ? 0 : performance.now() - x.t0);
  }

  private expire(): void {
    const x = this.current;
    if (!x) return;
    this.current = null;
    x.settled = true; // what undici reports for it from now on is ignored
    x.abort?.(new Error('timed out')); // not yet written: aborted in onConnect
    x.done({ kind: 'timeout', message: `request timed out after ${this.timeoutMs} ms` }, 0);
  }

  /**
   * undici (6.29, 7.30) leaves a Client wedged after ERR_TLS_CERT_ALTNAME_INVALID: the failed request
   * still counts as running, so with pipelining 1 the next one never starts. Start over on a new Client.
   */
  replaceClient(): void {
    this.client.destroy().catch(() => {});
    this.client = this.newClient();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.client.destroy().catch(() => {});
  }
}

/** undici dispatch handler for one request. */
class Exchange implements Dispatcher.DispatchHandlers {
  readonly t0 = performance.now();
  status = 0;
  chunks: Buffer[] | null = null;
  size = 0;
  settled = false;
  dispatching = false;
  syncError: Error | null = null;
  abort: ((err?: Error) => void) | null = null;

  constructor(
    readonly lane: HttpLane,
    readonly done: Done,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    if (this.settled) abort(new Error('timed out'));
    else this.abort = abort;
  }

  onHeaders(status: number): boolean {
    this.status = status;
    if (status >= 200 && status < 300 && this.lane.validate) this.chunks = [];
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.chunks) {
      this.size += chunk.length;
      if (this.size <= MAX_BODY_BYTES) this.chunks.push(chunk);
    }
    return true;
  }

  onComplete(): void {
    const status = this.status;
    if (status < 200 || status >= 300) return this.lane.settle(this, { status });
    const validate = this.lane.validate;
    if (validate) {
      const verdict = runValidator(validate, Buffer.concat(this.chunks ?? []).toString('utf8'), status);
      if (verdict !== true) return this.lane.settle(this, { kind: 'invalid', message: verdict });
    }
    this.lane.settle(this, null);
  }

  onError(err: Error): void {
    if (this.dispatching) this.syncError = err;
    // undici may fail several queued requests in one loop that must not see a new dispatch: report after it.
    else if (!this.settled) queueMicrotask(() => this.failed(err));
  }

  private failed(err: Error): void {
    if (this.settled) return;
    if ((err as NodeJS.ErrnoException).code === 'ERR_TLS_CERT_ALTNAME_INVALID') this.lane.replaceClient();
    this.lane.settle(this, classify(err));
  }
}

function encodeBody(body: unknown): Buffer | undefined {
  if (body === undefined) return undefined;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body);
  return Buffer.from(JSON.stringify(body));
}

function runValidator(fn: NonNullable<TransportOptions['validate']>, body: string, status: number): true | string {
  try {
    const v = fn(body, status);
    if (v === false) return 'response rejected by validator';
    if (typeof v === 'string') return v;
    return true;
  } catch (e) {
    return errorMessage(e);
  }
}

function classify(e: unknown): Failure {
  const code = (e as NodeJS.ErrnoException).code;
  const message = errorMessage(e);
  if (code && CONNECTION_CODES.has(code)) return { kind: 'connection', message };
  if (code && TIMEOUT_CODES.has(code)) return { kind: 'timeout', message };
  return { kind: 'other', message };
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}

/** Host header → SNI name (no port; undefined for IP literals). */
function sniName(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return net.isIP(name) ? undefined : name; // SNI must not be an IP address
}
