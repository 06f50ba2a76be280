/**
 * The monitoring check's pure parts: the PromQL that reads a deployed model's request count,
 * latency quantile and sample freshness from the metrics its serving runtime publishes, and the
 * decisions on what Prometheus answered.
 *
 * Two runtimes' metrics (their real names, read from their sources):
 *   triton  Triton Inference Server (kserve-tritonserver): the counter nv_inference_request_success
 *           {model, version}; the latency summary nv_inference_request_summary_us{quantile}, which
 *           tritonserver publishes only with --metrics-config summary_latencies=true
 *           (triton-inference-server/core src/metrics.cc, metric_model_reporter.cc).
 *   kserve  KServe's Python ModelServer: the histogram request_predict_seconds{model_name}
 *           (kserve/kserve python/kserve/kserve/metrics.py), whose _count counts predict calls.
 * The pods are selected as MLOPS-4.2 selects them: namespace, and pod names of the
 * InferenceService's predictor (`<isvc>-predictor-…`, Knative and raw mode alike), the target labels
 * of kubernetes_sd_configs + the Prometheus Operator's relabeling.
 */

export type MetricsDialect = 'triton' | 'kserve';

/** The requests the check sends, one digit each. */
export const MONITORING_REQUESTS = 20;
/** The quantile it reads: the P95 the plan's latency budgets are written in. */
export const MONITORING_QUANTILE = 0.95;

/** Which metrics a ServingRuntime publishes: Triton's for a Triton runtime, else KServe's Python server's. */
export function metricsDialect(runtime: string): MetricsDialect {
  return /triton/i.test(runtime) ? 'triton' : 'kserve';
}

/** A PromQL string literal (double-quoted; backslash and quote escaped). */
const str = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
/** A regular expression matching `v` literally (RE2 metacharacters escaped). */
const literalRe = (v: string) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface MonitoredService {
  namespace: string;
  /** the InferenceService */
  name: string;
  /** the name the runtime serves the model under (Triton: the repository's directory) */
  modelName: string;
}

export interface MonitoringQueries {
  /** the requests the model's pods have answered, summed over the pods */
  requests: string;
  /** the oldest of the pods' latest samples (seconds since the epoch): every pod was scraped after it */
  scrapedAt: string;
  /** every request-count series of the pods, one per pod and scrape job: the baseline waits until their set is stable */
  series: string;
  /** the pods' latest request-count series, one per pod (which pods Prometheus sees) */
  perPod: string;
  /** how many request-count series each scrape job has: a pod scraped twice shows in two jobs */
  perJob: string;
  /** the latency quantile, in milliseconds (the slowest pod's) */
  latencyMs: string;
  /** what `latencyMs` reads, for messages */
  latencyOf: string;
}

/** The request counter's queries: `counter` is the series selector, e.g. nv_inference_request_success{…}. */
const counterQueries = (counter: string) => ({
  requests: `sum(${counter})`,
  scrapedAt: `min(timestamp(${counter}))`,
  series: counter,
  perPod: `sum by (pod) (${counter})`,
  perJob: `count by (job) (${counter})`,
});

/** The check's queries for `svc` on a runtime publishing `dialect`. */
export function monitoringQueries(dialect: MetricsDialect, svc: MonitoredService, quantile = MONITORING_QUANTILE): MonitoringQueries {
  const pods = `namespace=${str(svc.namespace)},pod=~${str(`${literalRe(svc.name)}-predictor-.*`)}`;
  if (dialect === 'triton') {
    return {
      ...counterQueries(`nv_inference_request_success{${pods},model=${str(svc.modelName)}}`),
      latencyMs: `max(nv_inference_request_summary_us{${pods},model=${str(svc.modelName)},quantile=${str(String(quantile))}}) / 1000`,
      latencyOf: `nv_inference_request_summary_us{quantile="${quantile}"} (Triton's latency summary, last 60 s)`,
    };
  }
  const sel = `{${pods},model_name=${str(svc.modelName)}}`;
  return {
    ...counterQueries(`request_predict_seconds_count${sel}`),
    latencyMs: `histogram_quantile(${quantile}, sum by (le) (request_predict_seconds_bucket${sel})) * 1000`,
    latencyOf: `histogram_quantile(${quantile}) over request_predict_seconds_bucket (KServe's predict histogram, since the pods started)`,
  };
}

/** Why the latency quantile cannot be read, or null. */
export function latencyProblem(dialect: MetricsDialect, value: number | undefined): string | null {
  if (value === undefined) {
    return dialect === 'triton'
      ? 'Prometheus has no nv_inference_request_summary_us series for these pods: tritonserver publishes latency summaries only with --metrics-config summary_latencies=true (add it to the ServingRuntime args)'
      : 'Prometheus has no request_predict_seconds_bucket series for these pods';
  }
  if (!Number.isFinite(value) || value <= 0) return `the latency quantile is ${value}: no request observed in the metric's window`;
  return null;
}

/** How the model's request counter moved over the requests the check sent. */
export interface CounterReading {
  sent: number;
  before: number;
  after: number;
  /** seconds between the two readings' scrapes */
  seconds: number;
}

/** Why the counter cannot say how many requests were served (a restart, a pod gone), or null. */
export function counterProblem(r: CounterReading): string | null {
  if (r.after < r.before) return `the request counter went down (${r.before} → ${r.after}): a pod restarted or left while the requests were sent`;
  return null;
}

/** Counted over sent, and the detail line of the check. */
export function counted(r: CounterReading): { ratio: number; detail: string } {
  const n = r.after - r.before;
  const rate = r.seconds > 0 ? ` (${(n / r.seconds).toFixed(2)} req/s over the ${r.seconds.toFixed(1)} s between the two scrapes)` : '';
  return { ratio: r.sent > 0 ? n / r.sent : NaN, detail: `counted ${n} of ${r.sent} requests sent: ${r.before} → ${r.after}${rate}` };
}
