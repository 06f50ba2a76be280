/**
 * The InferenceService status, computed from the controller's state of one
 * InferenceService: KServe-shaped conditions (IngressReady, PredictorReady,
 * Ready), modelStatus, components.predictor (revisions, traffic), URLs and
 * the lab's replica and autoscaling annotations. No I/O; the only state it
 * touches is st.conditionTimes, where each condition's last transition time
 * is remembered.
 */
import type { Replica } from './replica.ts';
import { activeRevision, latestRevision, ts, type Failure, type IsvcState, type Revision } from './types.ts';

type ConditionStatus = 'True' | 'False' | 'Unknown';
type ModelState = 'Pending' | 'Loading' | 'Loaded' | 'FailedToLoad';
type Condition = Record<string, string>;

/** The external URLs of an InferenceService (from the ingress router). */
interface IsvcUrls {
  url: string;
  predictorUrl: string;
}

export function readyCount(rev: Revision): number {
  let n = 0;
  for (const r of rev.replicas.values()) if (r.status.ready && !r.isStopping) n++;
  return n;
}

export function modelState(rev: Revision | undefined): ModelState {
  if (!rev) return 'Pending';
  if (readyCount(rev) > 0 || (rev.desired === 0 && !rev.failure)) return 'Loaded';
  if (rev.failure) return 'FailedToLoad';
  if (rev.staging || rev.replicas.size === 0) return 'Pending';
  return [...rev.replicas.values()].some((r) => r.status.state === 'running') ? 'Loading' : 'Pending';
}

/** A condition; its lastTransitionTime changes only when its status does. */
export function condition(st: IsvcState, type: string, status: ConditionStatus, reason?: string, message?: string, clock: () => string = ts): Condition {
  const prev = st.conditionTimes.get(type);
  let time = prev?.time;
  if (!prev || prev.status !== status) {
    time = clock();
    st.conditionTimes.set(type, { status, reason, time });
  }
  const c: Condition = { type, status, lastTransitionTime: time! };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

/** What the status is computed from, derived once. */
interface View {
  st: IsvcState;
  gen: number;
  active?: Revision;
  latest?: Revision;
  /** the serving revision stays Ready while at zero or while replicas (re)start, unless they crash */
  activeReady: boolean;
  upToDate: boolean;
  failure?: Failure;
  clock: () => string;
}

const crashLooping = (rev: Revision) => [...rev.replicas.values()].some((r) => !r.isStopping && r.status.state === 'waiting' && r.status.waitingReason === 'CrashLoopBackOff');

function view(st: IsvcState, clock: () => string): View {
  const gen = st.obj.metadata.generation ?? 1;
  const active = activeRevision(st);
  const latest = latestRevision(st);
  const activeReady = !!active && (readyCount(active) > 0 || (!active.failure && !crashLooping(active)));
  const upToDate = !!latest && latest === active && latest.generation === gen && !st.specFailure;
  const failure: Failure | undefined = st.specFailure ?? latest?.failure ?? (active && !activeReady ? active.failure : undefined);
  return { st, gen, active, latest, activeReady, upToDate, failure, clock };
}

export function computeStatus(st: IsvcState, urls: IsvcUrls, clock: () => string = ts): Record<string, unknown> {
  const v = view(st, clock);
  const pred = predictorCondition(v);
  const ingress = v.active
    ? condition(st, 'IngressReady', 'True', undefined, undefined, clock)
    : condition(st, 'IngressReady', 'False', 'PredictorIngressNotCreated', 'no ready predictor revision to route to yet', clock);
  const ready = readyCondition(v, pred, ingress);
  const serving = v.active ?? v.latest;
  const replicas = serving ? [...serving.replicas.values()].filter((r) => !r.isStopping) : [];
  const status: Record<string, unknown> = {
    observedGeneration: v.gen,
    conditions: [ingress, pred, ready],
    modelStatus: modelStatus(v, replicas),
    components: { predictor: predictorComponent(v, urls.predictorUrl) },
    annotations: annotations(st, serving, replicas),
  };
  status.url = urls.url;
  status.address = { url: urls.url };
  return status;
}

function predictorCondition(v: View): Condition {
  const { st, active, latest, failure, clock } = v;
  const cond = (status: ConditionStatus, reason?: string, message?: string) => condition(st, 'PredictorReady', status, reason, message, clock);
  if (failure) return cond('False', failure.reason, failure.message);
  if (v.activeReady && v.upToDate) return cond('True');
  if (v.activeReady) return cond('Unknown', 'RolloutInProgress', `revision ${latest?.name ?? '?'} is loading; ${active!.name} keeps serving`);
  if (active) return cond('False', 'RuntimeUnhealthy', `no ready replica of revision ${active.name}`);
  return cond('Unknown', 'Deploying', latest ? `revision ${latest.name} is ${modelState(latest) === 'Pending' ? 'starting' : 'loading the model'}` : 'waiting for a revision');
}

/** Ready: True when both are; else the first not-True of PredictorReady and IngressReady. */
function readyCondition(v: View, pred: Condition, ingress: Condition): Condition {
  if (pred.status === 'True' && ingress.status === 'True') return condition(v.st, 'Ready', 'True', undefined, undefined, v.clock);
  const cause = pred.status !== 'True' ? pred : ingress;
  return condition(v.st, 'Ready', cause.status as 'False' | 'Unknown', cause.reason, cause.message, v.clock);
}

function transitionStatus(v: View): string {
  const { st, latest } = v;
  if (st.specFailure) return st.specFailure.reason === 'UnsupportedModelFormat' || st.specFailure.reason === 'InvalidPredictorSpec' ? 'InvalidSpec' : 'BlockedByFailedLoad';
  if (latest?.failure) return 'BlockedByFailedLoad';
  return v.upToDate && v.activeReady ? 'UpToDate' : 'InProgress';
}

function modelStatus(v: View, replicas: Replica[]): Record<string, unknown> {
  const { st, active, latest } = v;
  const activeState = active ? (v.activeReady ? 'Loaded' : modelState(active)) : modelState(latest);
  const targetState = latest && latest !== active ? modelState(latest) : activeState;
  const out: Record<string, unknown> = {
    states: { activeModelState: activeState, targetModelState: targetState },
    transitionStatus: transitionStatus(v),
    copies: { totalCopies: replicas.length, failedCopies: replicas.filter((r) => r.status.state !== 'running' && r.status.restartCount + (r.status.lastTermination ? 1 : 0) > 0).length },
  };
  if (st.lastFailure) {
    const lf: Record<string, unknown> = { reason: st.lastFailure.reason, message: st.lastFailure.message, time: st.lastFailure.time };
    if (st.lastFailure.location) lf.location = st.lastFailure.location;
    if (st.lastFailure.exitCode !== undefined) lf.exitCode = st.lastFailure.exitCode;
    out.lastFailureInfo = lf;
  }
  return out;
}

function predictorComponent(v: View, predUrl: string): Record<string, unknown> {
  const { active, latest } = v;
  const predictor: Record<string, unknown> = { url: predUrl, address: { url: predUrl } };
  if (latest) predictor.latestCreatedRevision = latest.name;
  if (active) {
    predictor.latestReadyRevision = active.name;
    predictor.latestRolledoutRevision = active.name;
    predictor.traffic = [{ revisionName: active.name, percent: 100, latestRevision: active === latest }];
  }
  return predictor;
}

function annotations(st: IsvcState, serving: Revision | undefined, replicas: Replica[]): Record<string, string> {
  const cfg = st.scaler;
  const out: Record<string, string> = {
    'lab.mlv.io/replicas': String(serving?.desired ?? 0),
    'lab.mlv.io/ready-replicas': String(serving ? readyCount(serving) : 0),
    'lab.mlv.io/pods': replicas.map((r) => r.spec.podName).join(','),
    'autoscaling.lab.mlv.io/class': 'kpa.autoscaling.knative.dev',
    'autoscaling.lab.mlv.io/metric': cfg.metric,
    'autoscaling.lab.mlv.io/target': String(cfg.target),
    'autoscaling.lab.mlv.io/min-scale': String(cfg.minReplicas),
    'autoscaling.lab.mlv.io/max-scale': String(cfg.maxReplicas),
    'autoscaling.lab.mlv.io/window': `${cfg.stableWindowMs / 1000}s`,
    'autoscaling.lab.mlv.io/scale-down-delay': `${cfg.scaleDownDelayMs / 1000}s`,
  };
  if (st.lastScale) out['autoscaling.lab.mlv.io/last-scale'] = st.lastScale;
  return out;
}
