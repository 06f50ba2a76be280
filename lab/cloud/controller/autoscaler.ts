/**
 * A KPA-like (Knative Pod Autoscaler) scaling decision for lab
 * InferenceServices. The decision itself is a pure function of the observed
 * metric series so it can be tested on synthetic data; `Autoscaler` only keeps
 * the series per InferenceService.
 *
 * Knative's arithmetic (knative/serving pkg/autoscaler/scaling/autoscaler.go,
 * defaults pkg/autoscaler/config/config.go, target resolution
 * pkg/reconciler/autoscaling/resources/target.go; read at 98e5ef90):
 *   - every tick (~1 s) the router reports the metric for the revision:
 *     `concurrency` = time-averaged total in-flight requests over the tick
 *     (including requests queued while no replica is ready, as Knative's
 *     activator does), or `rps` = requests started per second;
 *   - stable = mean of the samples in the stable window, panic = mean of the
 *     samples in the panic window (panic-window-percentage of the stable one);
 *   - targetValue = max(0.01, target * utilisation), target = scaleTarget or
 *     container-concurrency-target-default 100 (rps: 200), utilisation 0.7;
 *   - dspc = ceil(stable / targetValue), dppc = ceil(panic / targetValue), each
 *     kept in [floor(ready / max-scale-down-rate), ceil(max-scale-up-rate * ready)]
 *     with ready = max(1, current);
 *   - panic mode starts when dppc / ready >= panic-threshold (200%), is extended
 *     while over it, and ends a stable window after the last time over it; in
 *     panic the count never goes down (the highest panic count is kept);
 *   - scale-down-delay: the highest count of the last delay wins;
 *   - desired = clamp(count, min, max) (the PodAutoscaler's min/max-scale).
 * Simplified: `current` is the desired count (not the ready pods), no
 * scale-to-zero grace period / activation scale / burst capacity, and the
 * windows average the samples present (one per tick), not fixed buckets.
 */

export type ScaleMetric = 'concurrency' | 'rps';

export interface ScalerConfig {
  metric: ScaleMetric;
  /** per-replica target of the metric (> 0), before utilisation */
  target: number;
  /** target-utilization-percentage / 100 (Knative default 0.7) */
  utilization: number;
  minReplicas: number;
  maxReplicas: number;
  stableWindowMs: number;
  /** panic window = stable window * this / 100 (Knative default 10) */
  panicWindowPercentage: number;
  /** panic when dppc / ready >= this / 100 (Knative default 200) */
  panicThresholdPercentage: number;
  /** Knative default 1000 */
  maxScaleUpRate: number;
  /** Knative default 2 */
  maxScaleDownRate: number;
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
  /** recommendations, newest last, kept for scale-down-delay */
  recommendations: Recommendation[];
  /** ms time panic mode was last (re)entered; undefined when stable */
  panicTime?: number;
  /** the highest count seen in this panic */
  maxPanicPods: number;
}

export interface Decision {
  desired: number;
  /** ceil(stable average / targetValue) before rate limits and clamping */
  raw: number;
  /** stable-window average of the metric (total) */
  average: number;
  /** panic-window average of the metric (total) */
  panicAverage: number;
  panicking: boolean;
  direction: 'up' | 'down' | 'none';
  state: ScalerState;
}

/** Knative's config-autoscaler defaults (pkg/autoscaler/config/config.go defaultConfig). */
export const KNATIVE_KPA = {
  containerConcurrencyTargetDefault: 100,
  rpsTargetDefault: 200,
  targetUtilization: 0.7,
  stableWindowMs: 60_000,
  panicWindowPercentage: 10,
  panicThresholdPercentage: 200,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  scaleToZeroGracePeriodMs: 30_000,
  scaleDownDelayMs: 0,
  initialScale: 1,
  targetBurstCapacity: 211,
  /** autoscaling.TargetMin */
  targetMin: 0.01,
} as const;

export function emptyState(): ScalerState {
  return { samples: [], recommendations: [], maxPanicPods: 0 };
}

export function clamp(n: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, n));
}

/** The per-pod value the KPA aims for: max(TargetMin, target * utilisation). */
export function targetValue(cfg: Pick<ScalerConfig, 'target' | 'utilization'>): number {
  return Math.max(KNATIVE_KPA.targetMin, cfg.target * cfg.utilization);
}

function mean(samples: Sample[]): number {
  return samples.reduce((a, s) => a + s.value, 0) / samples.length;
}

/** ceil(v / tv) with a tiny epsilon so float noise (2.0000001) does not add a pod. */
function podsFor(v: number, tv: number): number {
  return v <= 1e-9 ? 0 : Math.ceil(v / tv - 1e-9);
}

export interface Step {
  /** the count before min/max clamping */
  count: number;
  raw: number;
  panicking: boolean;
  state: Pick<ScalerState, 'panicTime' | 'maxPanicPods' | 'recommendations'>;
}

/**
 * One Knative Scale() step on given stable/panic values (autoscaler.go), then
 * the scale-down-delay window. `ready` is the ready pod count (0 is read as 1).
 */
export function kpaStep(state: Omit<ScalerState, 'samples'>, now: number, stable: number, panic: number, ready: number, cfg: ScalerConfig): Step {
  const tv = targetValue(cfg);
  const pods = Math.max(1, ready);
  const maxUp = Math.ceil(cfg.maxScaleUpRate * pods);
  const maxDown = Math.floor(pods / cfg.maxScaleDownRate);
  const raw = podsFor(stable, tv);
  const dppc = podsFor(panic, tv);
  const stablePods = Math.min(Math.max(raw, maxDown), maxUp);
  const panicPods = Math.min(Math.max(dppc, maxDown), maxUp);

  const over = dppc / pods >= cfg.panicThresholdPercentage / 100;
  let panicTime = state.panicTime;
  let maxPanicPods = state.maxPanicPods;
  if (over) panicTime = now;
  else if (panicTime !== undefined && panicTime + cfg.stableWindowMs < now) {
    panicTime = undefined;
    maxPanicPods = 0;
  }
  let count = stablePods;
  if (panicTime !== undefined) {
    // in panic the count only grows: the higher of stable and panic, never below the panic's peak
    maxPanicPods = Math.max(maxPanicPods, count, panicPods);
    count = maxPanicPods;
  }
  let recommendations = state.recommendations;
  if (cfg.scaleDownDelayMs > 0) {
    recommendations = [...recommendations.filter((r) => r.t > now - cfg.scaleDownDelayMs && r.t < now), { t: now, desired: count }];
    count = Math.max(...recommendations.map((r) => r.desired));
  }
  return { count, raw, panicking: panicTime !== undefined, state: { panicTime, maxPanicPods, recommendations } };
}

/**
 * Pure KPA decision: add `sample` to `state`, compute the desired replica
 * count given `current` replicas. Returns the new state (the input is not mutated).
 */
export function decide(state: ScalerState, sample: Sample, current: number, cfg: ScalerConfig): Decision {
  const now = sample.t;
  const samples = [...state.samples.filter((s) => s.t > now - cfg.stableWindowMs && s.t < now), sample];
  const panicWindowMs = (cfg.stableWindowMs * cfg.panicWindowPercentage) / 100;
  const average = mean(samples);
  const panicAverage = mean(samples.filter((s) => s.t > now - panicWindowMs));
  const step = kpaStep(state, now, average, panicAverage, current, cfg);
  const desired = clamp(step.count, cfg.minReplicas, Math.max(cfg.minReplicas, cfg.maxReplicas));
  return {
    desired,
    raw: step.raw,
    average,
    panicAverage,
    panicking: step.panicking,
    direction: desired > current ? 'up' : desired < current ? 'down' : 'none',
    state: { samples, ...step.state },
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

/**
 * Knative's stable window and scale-down delay; the lab controller passes its own
 * (its --window / --scale-down-delay flags, like a site's config-autoscaler).
 */
export const LAB_DEFAULTS: ScalerDefaults = { stableWindowMs: KNATIVE_KPA.stableWindowMs, scaleDownDelayMs: KNATIVE_KPA.scaleDownDelayMs, replicaCap: 5 };

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

  // KServe writes scaleTarget as autoscaling.knative.dev/target; without one Knative targets
  // container-concurrency-target-default (100) or requests-per-second-target-default (200)
  const targetDefault = metric === 'rps' ? KNATIVE_KPA.rpsTargetDefault : KNATIVE_KPA.containerConcurrencyTargetDefault;
  let target = num(pred.scaleTarget) ?? num(ann[`${ANN}target`]) ?? targetDefault;
  if (!(target > 0)) {
    warnings.push(`scaleTarget ${target} must be > 0; using Knative's default ${targetDefault}`);
    target = targetDefault;
  }
  const percent = (key: string, dflt: number, min: number, max: number): number => {
    if (ann[`${ANN}${key}`] === undefined) return dflt;
    const v = num(ann[`${ANN}${key}`]);
    if (v !== undefined && v >= min && v <= max) return v;
    warnings.push(`annotation ${ANN}${key}=${ann[`${ANN}${key}`]} is invalid (${min}..${max}); using ${dflt}`);
    return dflt;
  };
  // bounds as Knative validates them (pkg/apis/autoscaling/register.go, annotation_validation.go)
  const utilization = percent('target-utilization-percentage', KNATIVE_KPA.targetUtilization * 100, 1, 100) / 100;
  const panicWindowPercentage = percent('panic-window-percentage', KNATIVE_KPA.panicWindowPercentage, 1, 100);
  const panicThresholdPercentage = percent('panic-threshold-percentage', KNATIVE_KPA.panicThresholdPercentage, 110, 1000);

  // Knative's minimum window is 6 s; the lab allows 1 s so tests can scale down quickly
  let stableWindowMs = defaults.stableWindowMs;
  if (ann[`${ANN}window`] !== undefined) {
    const w = parseDuration(ann[`${ANN}window`]);
    if (w === undefined || w < 1000 || w > 3_600_000) warnings.push(`annotation ${ANN}window=${ann[`${ANN}window`]} is invalid (lab range 1s..1h); using ${stableWindowMs / 1000}s`);
    else stableWindowMs = w;
  }
  let scaleDownDelayMs = defaults.scaleDownDelayMs;
  if (ann[`${ANN}scale-down-delay`] !== undefined) {
    const d = parseDuration(ann[`${ANN}scale-down-delay`]);
    if (d === undefined) warnings.push(`annotation ${ANN}scale-down-delay=${ann[`${ANN}scale-down-delay`]} is invalid; using ${scaleDownDelayMs / 1000}s`);
    else scaleDownDelayMs = d;
  }
  const rates = { maxScaleUpRate: KNATIVE_KPA.maxScaleUpRate, maxScaleDownRate: KNATIVE_KPA.maxScaleDownRate };
  return {
    config: { metric, target, utilization, minReplicas, maxReplicas, stableWindowMs, panicWindowPercentage, panicThresholdPercentage, ...rates, scaleDownDelayMs },
    warnings,
  };
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
