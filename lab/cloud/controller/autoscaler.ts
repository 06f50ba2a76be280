/**
 * A KPA-like (Knative Pod Autoscaler) scaling decision for lab
 * InferenceServices. The decision itself is a pure function of the observed
 * metric series so it can be tested on synthetic data; `Autoscaler` only keeps
 * the series per InferenceService.
 *
 * Model (a simplification of Knative's KPA, stable mode only):
 *   - every tick (~1 s) the router reports the metric for the revision:
 *     `concurrency` = time-averaged total in-flight requests over the tick
 *     (including requests queued while no replica is ready, as Knative's
 *     activator does), or `rps` = requests started per second;
 *   - avg = mean of the samples inside the stable window (default 6 s);
 *   - raw = ceil(avg / target)   (target = per-replica scaleTarget, default 1);
 *   - desired = clamp(raw, min, max);
 *   - scale up at once; scale down only to the highest desired value seen in
 *     the last scale-down-delay (default 15 s), i.e. after the delay of lower
 *     recommendations has passed.
 * No panic mode, no max scale rates (Knative defaults: panic window 10% of
 * a 60 s window, max-scale-down-rate 2).
 */

export type ScaleMetric = 'concurrency' | 'rps';

export interface ScalerConfig {
  metric: ScaleMetric;
  /** per-replica target of the metric (> 0) */
  target: number;
  minReplicas: number;
  maxReplicas: number;
  stableWindowMs: number;
  scaleDownDelayMs: number;
}

export interface Sample {
  /** ms timestamp */
  t: number;
  /** metric value observed over the tick ending at t (total across replicas) */
  value: number;
}

export interface Recommendation {
  t: number;
  desired: number;
}

export interface ScalerState {
  samples: Sample[];
  /** clamped recommendations, newest last, kept for scale-down-delay */
  recommendations: Recommendation[];
}

export interface Decision {
  desired: number;
  /** ceil(avg / target) before clamping */
  raw: number;
  /** window average of the metric (total) */
  average: number;
  direction: 'up' | 'down' | 'none';
  state: ScalerState;
}

export function emptyState(): ScalerState {
  return { samples: [], recommendations: [] };
}

export function clamp(n: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, n));
}

/**
 * Pure KPA decision: add `sample` to `state`, compute the desired replica
 * count given `current` replicas. Returns the new state (the input is not mutated).
 */
export function decide(state: ScalerState, sample: Sample, current: number, cfg: ScalerConfig): Decision {
  const now = sample.t;
  const samples = [...state.samples.filter((s) => s.t > now - cfg.stableWindowMs && s.t < now), sample];
  const average = samples.reduce((a, s) => a + s.value, 0) / samples.length;
  // a tiny epsilon so float noise (e.g. 2.0000001) does not add a replica
  const raw = average <= 1e-9 ? 0 : Math.ceil(average / cfg.target - 1e-9);
  const wanted = clamp(raw, cfg.minReplicas, Math.max(cfg.minReplicas, cfg.maxReplicas));
  const recommendations = [...state.recommendations.filter((r) => r.t > now - cfg.scaleDownDelayMs && r.t < now), { t: now, desired: wanted }];
  let desired: number;
  if (wanted >= current) desired = wanted;
  else desired = Math.min(current, Math.max(...recommendations.map((r) => r.desired)));
  return {
    desired,
    raw,
    average,
    direction: desired > current ? 'up' : desired < current ? 'down' : 'none',
    state: { samples, recommendations },
  };
}

// ---------------------------------------------------------------- config from an InferenceService

const ANN = 'autoscaling.knative.dev/';

/** Parse a Knative/Go duration ("6s", "1m30s", "500ms") or plain seconds. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v * 1000;
  if (typeof v !== 'string' || !v.trim()) return undefined;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    consumed += m[0].length;
  }
  return consumed === s.length ? total : undefined;
}

export interface ScalerDefaults {
  stableWindowMs: number;
  scaleDownDelayMs: number;
  /** used when maxReplicas is absent or 0 (KServe: "no limit") */
  replicaCap: number;
}

export const LAB_DEFAULTS: ScalerDefaults = { stableWindowMs: 6000, scaleDownDelayMs: 15000, replicaCap: 5 };

export interface ConfigResult {
  config: ScalerConfig;
  warnings: string[];
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** The scaling fields of spec.predictor as the API server hands them over: unchecked (num() and the checks below read them). */
interface PredictorScaling {
  minReplicas?: unknown;
  maxReplicas?: unknown;
  scaleMetric?: unknown;
  scaleTarget?: unknown;
  annotations?: Record<string, string>;
}

/** Build the scaler config from an InferenceService object (spec + annotations). */
export function configFromIsvc(isvc: { metadata?: { annotations?: Record<string, string> }; spec?: { predictor?: PredictorScaling } }, defaults: ScalerDefaults = LAB_DEFAULTS): ConfigResult {
  const warnings: string[] = [];
  const pred = isvc.spec?.predictor ?? {};
  const ann: Record<string, string> = { ...(pred.annotations ?? {}), ...(isvc.metadata?.annotations ?? {}) };

  let minReplicas = num(pred.minReplicas) ?? num(ann[`${ANN}min-scale`]) ?? 1;
  if (minReplicas < 0 || !Number.isInteger(minReplicas)) {
    warnings.push(`minReplicas ${minReplicas} is invalid; using 1`);
    minReplicas = 1;
  }
  let maxReplicas = num(pred.maxReplicas) ?? num(ann[`${ANN}max-scale`]) ?? 0;
  if (maxReplicas <= 0) maxReplicas = defaults.replicaCap;
  if (maxReplicas > defaults.replicaCap) {
    warnings.push(`maxReplicas ${maxReplicas} capped to the lab limit ${defaults.replicaCap}`);
    maxReplicas = defaults.replicaCap;
  }
  if (maxReplicas < minReplicas) {
    warnings.push(`maxReplicas ${maxReplicas} < minReplicas ${minReplicas}; using ${minReplicas}`);
    maxReplicas = minReplicas;
  }

  let metric: ScaleMetric = 'concurrency';
  const m = pred.scaleMetric ?? ann[`${ANN}metric`];
  if (m === 'rps' || m === 'concurrency') metric = m;
  else if (m !== undefined) warnings.push(`scaleMetric ${JSON.stringify(m)} is not supported by the KPA (only concurrency|rps; cpu/memory need HPA/RawDeployment); using concurrency`);

  let target = num(pred.scaleTarget) ?? num(ann[`${ANN}target`]) ?? 1;
  if (!(target > 0)) {
    warnings.push(`scaleTarget ${target} must be > 0; using 1`);
    target = 1;
  }

  let stableWindowMs = defaults.stableWindowMs;
  if (ann[`${ANN}window`] !== undefined) {
    const w = parseDuration(ann[`${ANN}window`]);
    if (w === undefined || w < 1000) warnings.push(`annotation ${ANN}window=${ann[`${ANN}window`]} is invalid (lab minimum 1s); using ${stableWindowMs / 1000}s`);
    else stableWindowMs = w;
  }
  let scaleDownDelayMs = defaults.scaleDownDelayMs;
  if (ann[`${ANN}scale-down-delay`] !== undefined) {
    const d = parseDuration(ann[`${ANN}scale-down-delay`]);
    if (d === undefined) warnings.push(`annotation ${ANN}scale-down-delay=${ann[`${ANN}scale-down-delay`]} is invalid; using ${scaleDownDelayMs / 1000}s`);
    else scaleDownDelayMs = d;
  }
  return { config: { metric, target, minReplicas, maxReplicas, stableWindowMs, scaleDownDelayMs }, warnings };
}

// ---------------------------------------------------------------- stateful wrapper

/** Keeps the KPA state per key (namespace/name). */
export class Autoscaler {
  private states = new Map<string, ScalerState>();

  tick(key: string, sample: Sample, current: number, cfg: ScalerConfig): Decision {
    const d = decide(this.states.get(key) ?? emptyState(), sample, current, cfg);
    this.states.set(key, d.state);
    return d;
  }

  reset(key: string): void {
    this.states.delete(key);
  }
}
