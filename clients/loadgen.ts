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
 * Transport (clients/loadgen-transport.ts): undici, one keep-alive `Client`
 * (pipelining 1) per worker, all destroyed when the run ends. TLS verification
 * is ON unless `insecureSkipVerify` is set; pass `ca` (PEM) for a private CA.
 * A request undici refuses outright (invalid header, method or path) rejects
 * the run instead of being counted.
 */
import { performance } from 'node:perf_hooks';
import { LatencyRecorder, type HistogramBucket, type LatencySummary } from '../helpers/percentiles.ts';
import { redact } from '../helpers/redact.ts';
import { createTransport, type Done, type Failure, type Lane } from './loadgen-transport.ts';

export interface LoadOptions {
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

const MAX_SAMPLES = 10;
/** Hard wall-clock cap, for runs sized by `totalRequests` only. */
const MAX_WALL_MS = 600_000;

/** Count a failed request by kind (and status code), keeping a few distinct samples, the token redacted. */
function countError(errors: ErrorCounts, f: Failure, token: string | undefined): void {
  errors.total++;
  let sample: string;
  if (f.kind === undefined) {
    const status = f.status ?? 0;
    errors.byStatus[status] = (errors.byStatus[status] ?? 0) + 1;
    sample = `HTTP ${status}`;
  } else {
    errors[f.kind]++;
    sample = `${f.kind}: ${f.message ?? ''}`;
  }
  if (errors.samples.length >= MAX_SAMPLES) return;
  sample = redact(sample, [token]);
  if (!errors.samples.includes(sample)) errors.samples.push(sample);
}

/** Run a closed-loop load test; resolves when every worker has stopped. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  validateOptions(opts);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const tickMs = opts.tickMs ?? 1000;
  const transport = createTransport({ ...opts, timeoutMs });

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
  const limit = opts.totalRequests ?? Infinity;

  const pushPoint = () => {
    timeline.push({ tMs: Math.round(performance.now() - start), inFlight, completed: intervalOk, errors: intervalErr });
    intervalOk = 0;
    intervalErr = 0;
  };
  const ticker = setInterval(pushPoint, tickMs);

  // Each worker: send, and from the completion callback send again until stopped (no promise per request).
  let fatal: { error: unknown } | undefined;
  try {
    await new Promise<void>((allStopped) => {
      let running = transport.lanes.length;
      const stop = () => {
        if (--running === 0) allStopped();
      };
      const next = (lane: Lane, done: Done) => {
        if (fatal || issued >= limit || performance.now() >= deadline) return stop();
        issued++;
        inFlight++;
        try {
          lane.send(done);
        } catch (error) {
          issued--;
          inFlight--;
          fatal = { error };
          stop();
        }
      };
      for (const lane of transport.lanes) {
        const done: Done = (failure, ms) => {
          inFlight--;
          if (failure === null) {
            successes++;
            intervalOk++;
            recorder.record(ms);
          } else {
            intervalErr++;
            countError(errors, failure, opts.bearerToken);
          }
          next(lane, done);
        };
        next(lane, done);
      }
    });
  } finally {
    clearInterval(ticker);
    await transport.close();
  }
  if (fatal) throw fatal.error;
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
