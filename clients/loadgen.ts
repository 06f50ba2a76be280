/**
 * Closed-loop HTTP load generator.
 *
 * `concurrency` workers each loop send → await the full response → send again,
 * until `durationMs` has elapsed and/or `totalRequests` have been issued
 * (whichever comes first). Requests already in flight at the deadline are
 * allowed to finish (each is bounded by `timeoutMs`), so a run always ends by
 * `min(durationMs, 600 s) + timeoutMs`.
 *
 * Units: all times in **milliseconds**; throughput in **requests per second**,
 * computed as successes / wall-clock seconds (never from the sum of latencies).
 * Latency percentiles cover **successful** requests only.
 *
 * Transport: Node `http`/`https` with one keep-alive Agent (maxSockets =
 * concurrency), destroyed when the run ends. TLS verification is ON unless
 * `insecureSkipVerify` is set; pass `ca` (PEM) for a private CA.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { LatencyRecorder, type HistogramBucket, type LatencySummary } from '../helpers/percentiles.ts';

interface LoadOptions {
  /** Full target URL (http or https). */
  url: string;
  /** HTTP method; defaults to POST when `body` is given, else GET. */
  method?: string;
  /** JSON body, serialised once (string/Buffer are sent as-is). */
  body?: unknown;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Override of the `Host` header (Istio/Knative virtual host); also used as TLS SNI unless `servername` is set. */
  hostHeader?: string;
  /** TLS SNI server name. */
  servername?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /** PEM CA bundle for https targets. */
  ca?: string | Buffer;
  /** Disable TLS certificate verification (default false). */
  insecureSkipVerify?: boolean;
  /** Number of closed-loop workers (>= 1). */
  concurrency: number;
  /** Stop issuing new requests after this many ms. */
  durationMs?: number;
  /** Stop after this many requests have been issued in total. */
  totalRequests?: number;
  /** Per-request timeout covering connect → last body byte (default 10 000 ms). */
  timeoutMs?: number;
  /**
   * Called on each 2xx response body; return `false` or a reason string (or throw)
   * to count the response as an `invalid` error instead of a success.
   */
  validate?: (body: string, status: number) => boolean | string | void;
  /** Timeline resolution (default 1000 ms). */
  tickMs?: number;
}

interface ErrorCounts {
  /** Non-2xx responses by status code. */
  byStatus: Record<number, number>;
  /** Requests that exceeded `timeoutMs`. */
  timeout: number;
  /** Refused / reset / unreachable connections. */
  connection: number;
  /** 2xx responses rejected by `validate`. */
  invalid: number;
  /** Anything else (TLS failures, protocol errors, ...). */
  other: number;
  /** Total of all of the above. */
  total: number;
  /** First few distinct error messages, for diagnosis. */
  samples: string[];
}

/** One timeline entry; `completed` and `errors` count the interval ending at `tMs`. */
interface TimelinePoint {
  /** ms since the run started. */
  tMs: number;
  /** Requests in flight at `tMs`. */
  inFlight: number;
  /** Successes during this interval. */
  completed: number;
  /** Errors during this interval. */
  errors: number;
}

export interface LoadResult {
  successes: number;
  errors: ErrorCounts;
  /** Requests issued (successes + errors). */
  requests: number;
  /** Wall-clock ms from first request to last response. */
  wallMs: number;
  /** successes / (wallMs / 1000). */
  throughputRps: number;
  /** Latency of successful requests (ms); `null` when there was no success. */
  latency: LatencySummary | null;
  timeline: TimelinePoint[];
  /** Latency histogram of successes (20 bins, in ms). */
  histogram: HistogramBucket[];
}

type Outcome = { kind: 'ok'; ms: number } | { kind: 'status'; status: number } | { kind: 'timeout' | 'connection' | 'invalid' | 'other'; message: string };

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
const MAX_BODY_BYTES = 1 << 20;
const MAX_SAMPLES = 10;
/** Hard wall-clock cap, for runs sized by `totalRequests` only. */
const MAX_WALL_MS = 600_000;

interface Wire {
  url: URL;
  transport: typeof http | typeof https;
  agent: http.Agent;
  method: string;
  headers: Record<string, string>;
  payload?: Buffer;
}

/** URL, method, headers, body and a keep-alive agent sized for the workers. */
function wireFor(opts: LoadOptions): Wire {
  const url = new URL(opts.url);
  const isHttps = url.protocol === 'https:';
  const payload = encodeBody(opts.body);
  const method = (opts.method ?? (payload ? 'POST' : 'GET')).toUpperCase();
  const headers: Record<string, string> = { ...opts.headers };
  if (payload) {
    headers['content-length'] = String(payload.length);
    if (typeof opts.body !== 'string' && !Buffer.isBuffer(opts.body)) headers['content-type'] ??= 'application/json';
  }
  if (opts.hostHeader) headers['host'] = opts.hostHeader;
  if (opts.bearerToken) headers['authorization'] = `Bearer ${opts.bearerToken}`;
  const agentOpts = { keepAlive: true, maxSockets: opts.concurrency };
  const agent = isHttps
    ? new https.Agent({
        ...agentOpts,
        ca: opts.ca,
        rejectUnauthorized: !opts.insecureSkipVerify,
        servername: opts.servername ?? sniName(opts.hostHeader),
      })
    : new http.Agent(agentOpts);
  return { url, transport: isHttps ? https : http, agent, method, headers, payload };
}

/** One request, classified; the body is read only when a validator needs it. */
function sendOne(w: Wire, timeoutMs: number, validate: LoadOptions['validate']): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    const t0 = performance.now();
    let settled = false;
    const finish = (o: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(o);
    };
    const req = w.transport.request(w.url, { method: w.method, headers: w.headers, agent: w.agent }, (res) => {
      const status = res.statusCode ?? 0;
      const ok = status >= 200 && status < 300;
      const chunks: Buffer[] = [];
      let size = 0;
      if (ok && validate) {
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_BODY_BYTES) chunks.push(c);
        });
      } else {
        res.resume();
      }
      res.on('error', (e) => finish(classify(e)));
      res.on('end', () => {
        if (!ok) return finish({ kind: 'status', status });
        if (validate) {
          const verdict = runValidator(validate, Buffer.concat(chunks).toString('utf8'), status);
          if (verdict !== true) return finish({ kind: 'invalid', message: verdict });
        }
        finish({ kind: 'ok', ms: performance.now() - t0 });
      });
    });
    const timer = setTimeout(() => {
      finish({ kind: 'timeout', message: `request timed out after ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (e) => finish(classify(e)));
    req.end(w.payload);
  });
}

/** Count a failed outcome by kind (and status code), keeping a few samples. */
function countError(errors: ErrorCounts, o: Exclude<Outcome, { kind: 'ok' }>) {
  errors.total++;
  if (o.kind === 'status') {
    errors.byStatus[o.status] = (errors.byStatus[o.status] ?? 0) + 1;
    addSample(errors, `HTTP ${o.status}`);
  } else {
    errors[o.kind]++;
    addSample(errors, `${o.kind}: ${o.message}`);
  }
}

/** Run a closed-loop load test; resolves when every worker has stopped. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  validateOptions(opts);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const tickMs = opts.tickMs ?? 1000;
  const wire = wireFor(opts);

  const recorder = new LatencyRecorder();
  const errors: ErrorCounts = { byStatus: {}, timeout: 0, connection: 0, invalid: 0, other: 0, total: 0, samples: [] };
  const timeline: TimelinePoint[] = [];
  let successes = 0;
  let issued = 0;
  let inFlight = 0;
  let intervalOk = 0;
  let intervalErr = 0;

  const start = performance.now();
  const deadline = start + Math.min(opts.durationMs ?? Infinity, MAX_WALL_MS);
  const stopped = () => performance.now() >= deadline || (opts.totalRequests !== undefined && issued >= opts.totalRequests);

  const pushPoint = () => {
    timeline.push({ tMs: Math.round(performance.now() - start), inFlight, completed: intervalOk, errors: intervalErr });
    intervalOk = 0;
    intervalErr = 0;
  };
  const ticker = setInterval(pushPoint, tickMs);

  const account = (o: Outcome) => {
    if (o.kind === 'ok') {
      successes++;
      intervalOk++;
      recorder.record(o.ms);
      return;
    }
    intervalErr++;
    countError(errors, o);
  };

  const worker = async () => {
    while (!stopped()) {
      issued++;
      inFlight++;
      const outcome = await sendOne(wire, timeoutMs, opts.validate);
      inFlight--;
      account(outcome);
    }
  };

  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    clearInterval(ticker);
    wire.agent.destroy();
  }
  const wallMs = performance.now() - start;
  if (intervalOk > 0 || intervalErr > 0) pushPoint();

  return {
    successes,
    errors,
    requests: issued,
    wallMs,
    throughputRps: wallMs > 0 ? successes / (wallMs / 1000) : 0,
    latency: recorder.count > 0 ? recorder.summary() : null,
    timeline,
    histogram: recorder.buckets(20),
  };
}

function validateOptions(o: LoadOptions): void {
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new RangeError(`concurrency must be an integer >= 1, got ${o.concurrency}`);
  if (o.durationMs === undefined && o.totalRequests === undefined) throw new RangeError('give durationMs and/or totalRequests');
  if (o.durationMs !== undefined && !(o.durationMs > 0)) throw new RangeError(`durationMs must be > 0, got ${o.durationMs}`);
  if (o.totalRequests !== undefined && (!Number.isInteger(o.totalRequests) || o.totalRequests < 1)) {
    throw new RangeError(`totalRequests must be an integer >= 1, got ${o.totalRequests}`);
  }
  if (o.timeoutMs !== undefined && !(o.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${o.timeoutMs}`);
  const protocol = new URL(o.url).protocol;
  if (protocol !== 'http:' && protocol !== 'https:') throw new RangeError(`unsupported protocol ${protocol}`);
}

function encodeBody(body: unknown): Buffer | undefined {
  if (body === undefined) return undefined;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body);
  return Buffer.from(JSON.stringify(body));
}

function runValidator(fn: NonNullable<LoadOptions['validate']>, body: string, status: number): true | string {
  try {
    const v = fn(body, status);
    if (v === false) return 'response rejected by validator';
    if (typeof v === 'string') return v;
    return true;
  } catch (e) {
    return errorMessage(e);
  }
}

function classify(e: unknown): Outcome {
  const code = (e as NodeJS.ErrnoException).code;
  const message = errorMessage(e);
  if (code && CONNECTION_CODES.has(code)) return { kind: 'connection', message };
  if (message === 'socket hang up') return { kind: 'connection', message };
  return { kind: 'other', message };
}

function addSample(errors: ErrorCounts, msg: string): void {
  if (errors.samples.length < MAX_SAMPLES && !errors.samples.includes(msg)) errors.samples.push(msg);
}

function errorMessage(e: unknown): string {
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
