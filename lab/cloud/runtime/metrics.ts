/**
 * The lab model servers' Prometheus metrics (prom-client, one registry per server), under the
 * names, labels and types of the servers they stand in for.
 *
 * Triton (triton-inference-server/core @ 73aad7c3, src/metrics.cc, metric_model_reporter.cc,
 * infer_stats.cc; server @ e1db8a60, src/http_server.cc HTTPMetricsServer): per model version,
 * labels {model, version}; counters without a _total suffix (prometheus-cpp's text format):
 * nv_inference_request_success, nv_inference_request_failure{reason}, nv_inference_count (batch
 * elements), nv_inference_exec_count, nv_inference_request_duration_us (cumulative), the gauge
 * nv_model_load_duration_secs. Latency summaries
 * (nv_inference_request_summary_us, quantiles 0.5 0.9 0.95 0.99 0.999 over a 60 s window of 5
 * buckets, prometheus-cpp's defaults) only with `--metrics-config summary_latencies=true`;
 * counter latencies off with `counter_latencies=false`. A request that fails its checks before
 * it is scheduled (unknown model, batch size) is not counted, as in Triton (PrepareForInference
 * errors return before any statistics); one that fails running the model counts as
 * failure{reason="BACKEND"}. The lab has no scheduler queue and measures no compute-input/output
 * phases, so those families (and the pending-request gauge) are left out rather than made up.
 *
 * KServe's Python ModelServer (kserve/kserve @ aaac4e29, python/kserve/kserve/metrics.py and
 * model.py): histogram request_predict_seconds{model_name} with prometheus_client's default
 * buckets, on the REST port at /metrics. The lab server has no pre/post-processing step, so
 * request_preprocess_seconds and request_postprocess_seconds are left out.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { listenOn } from '../http.ts';

/** The Content-Type of Triton's metrics answer (HTTPMetricsServer::Handle). */
export const TRITON_METRICS_CONTENT_TYPE = 'text/plain; charset=utf-8';
/** Triton's default summary quantiles (MetricReporterConfig::quantiles_). */
export const TRITON_QUANTILES = [0.5, 0.9, 0.95, 0.99, 0.999];
/** prometheus_client's Histogram.DEFAULT_BUCKETS (seconds), which KServe's histograms use. */
export const PROMETHEUS_CLIENT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

export interface TritonMetricsConfig {
  /** --metrics-config summary_latencies=true; default false, as in Triton */
  summaryLatencies: boolean;
  /** --metrics-config counter_latencies=false turns them off; default true */
  counterLatencies: boolean;
}

/** Triton's `--metrics-config <key>=<value>` settings the lab honours; unknown keys are named in `warnings`. */
export function parseTritonMetricsConfig(entries: readonly string[]): TritonMetricsConfig & { warnings: string[] } {
  const out = { summaryLatencies: false, counterLatencies: true, warnings: [] as string[] };
  for (const e of entries) {
    const m = /^([a-z_]+)=(.*)$/.exec(e);
    if (m?.[1] === 'summary_latencies') out.summaryLatencies = m[2] === 'true';
    else if (m?.[1] === 'counter_latencies') out.counterLatencies = m[2] !== 'false';
    else out.warnings.push(`--metrics-config ${e}: not a setting the lab runtime honours (summary_latencies, counter_latencies); ignored`);
  }
  return out;
}

type ModelLabels = { model: string; version: string };

/** Triton's per-model metric families. */
export class TritonMetrics {
  readonly registry = new Registry();
  private readonly success: Counter<'model' | 'version'>;
  private readonly failure: Counter<'model' | 'version' | 'reason'>;
  private readonly count: Counter<'model' | 'version'>;
  private readonly execCount: Counter<'model' | 'version'>;
  private readonly durationUs?: Counter<'model' | 'version'>;
  private readonly loadSecs: Gauge<'model' | 'version'>;
  private readonly summaryUs?: Summary<'model' | 'version'>;

  constructor(readonly config: TritonMetricsConfig = { summaryLatencies: false, counterLatencies: true }) {
    const registers = [this.registry];
    const labelNames = ['model', 'version'] as const;
    this.success = new Counter({ name: 'nv_inference_request_success', help: 'Number of successful inference requests, all batch sizes', labelNames, registers });
    this.failure = new Counter({ name: 'nv_inference_request_failure', help: 'Number of failed inference requests, all batch sizes', labelNames: [...labelNames, 'reason'], registers });
    this.count = new Counter({ name: 'nv_inference_count', help: 'Number of inferences performed (does not include cached requests)', labelNames, registers });
    this.execCount = new Counter({ name: 'nv_inference_exec_count', help: 'Number of model executions performed (does not include cached requests)', labelNames, registers });
    if (config.counterLatencies) {
      this.durationUs = new Counter({ name: 'nv_inference_request_duration_us', help: 'Cumulative inference request duration in microseconds (includes cached requests)', labelNames, registers });
    }
    this.loadSecs = new Gauge({ name: 'nv_model_load_duration_secs', help: 'Model load time in seconds', labelNames, registers });
    if (config.summaryLatencies) {
      this.summaryUs = new Summary({
        name: 'nv_inference_request_summary_us',
        help: 'Summary of inference request duration in microseconds (includes cached requests)',
        labelNames,
        percentiles: TRITON_QUANTILES,
        maxAgeSeconds: 60,
        ageBuckets: 5,
        registers,
      });
    }
  }

  /** A model version loaded: its series start at zero, as Triton creates them at load. */
  loaded(l: ModelLabels, seconds: number): void {
    for (const c of [this.success, this.count, this.execCount, this.durationUs]) c?.labels(l).inc(0);
    for (const reason of ['REJECTED', 'CANCELED', 'BACKEND', 'OTHER']) this.failure.labels({ ...l, reason }).inc(0);
    this.loadSecs.labels(l).set(seconds);
  }

  /**
   * Run one request through the model: a success (with its batch size and duration), or a BACKEND
   * failure when it throws an error `failed` accepts (default: any; the Triton-like server passes
   * over request errors, which Triton rejects before running the model, uncounted).
   */
  async request<T>(l: ModelLabels, batch: number, run: () => Promise<T>, failed: (e: unknown) => boolean = () => true): Promise<T> {
    const t0 = process.hrtime.bigint();
    try {
      const v = await run();
      const us = Number((process.hrtime.bigint() - t0) / 1000n);
      this.success.labels(l).inc();
      this.count.labels(l).inc(batch);
      this.execCount.labels(l).inc();
      this.durationUs?.labels(l).inc(us);
      this.summaryUs?.labels(l).observe(us);
      return v;
    } catch (e) {
      if (failed(e)) this.failure.labels({ ...l, reason: 'BACKEND' }).inc();
      throw e;
    }
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** KServe Python ModelServer's request_predict_seconds. */
export class KServeMetrics {
  readonly registry = new Registry();
  private readonly predict = new Histogram({
    name: 'request_predict_seconds',
    help: 'predict request latency',
    labelNames: ['model_name'],
    buckets: PROMETHEUS_CLIENT_BUCKETS,
    registers: [this.registry],
  });

  /** Time one predict call (PREDICT_HIST_TIME.labels(model_name).time(), which observes failures too). */
  async time<T>(modelName: string, run: () => Promise<T>): Promise<T> {
    const end = this.predict.labels({ model_name: modelName }).startTimer();
    try {
      return await run();
    } finally {
      end();
    }
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * Triton's metrics listener (--metrics-port, 8002 in a container; the lab's pods are processes on
 * loopback, so it takes a free port like the inference listener). As HTTPMetricsServer::Handle: GET
 * /metrics is the text format; any other GET path is 200 with an empty body; other methods 405.
 */
export class MetricsServer {
  readonly server: Server;

  constructor(private readonly metrics: { text(): Promise<string> }) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET') {
      res.writeHead(405, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Method Not Allowed' }));
      return;
    }
    const body = (req.url ?? '/').split('?')[0] === '/metrics' ? await this.metrics.text() : '';
    res.writeHead(200, { 'content-type': TRITON_METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) }).end(body);
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return listenOn(this.server, host, port);
  }

  close(): Promise<void> {
    return new Promise((r) => {
      this.server.closeAllConnections();
      this.server.close(() => r());
    });
  }
}
