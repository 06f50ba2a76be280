/**
 * The InferenceService status, computed from the controller's state of one
 * InferenceService, as KServe v0.20 in Serverless mode writes it (kserve/kserve
 * aaac4e294dae: pkg/apis/serving/v1beta1/inference_service_status.go,
 * pkg/controller/v1beta1/inferenceservice/{controller.go,components/predictor.go,
 * reconcilers/ingress/ingress_reconciler.go}) over the Knative Service
 * conditions it copies (knative/serving pkg/apis/serving/v1/*_lifecycle.go,
 * knative/pkg apis/condition_set.go). Also components.predictor (revisions,
 * traffic), URLs and the lab's replica and autoscaling annotations. No I/O;
 * the only state it touches is st.conditionTimes, where each condition's last
 * transition time is remembered.
 */
import type { Replica } from './replica.ts';
import { activeRevision, latestRevision, ts, type Failure, type IsvcState, type Revision } from './types.ts';

type ConditionStatus = 'True' | 'False' | 'Unknown';
type ModelState = 'Pending' | 'Loading' | 'Loaded' | 'FailedToLoad';
type Condition = Record<string, string>;
/** A condition before it gets its type and time. */
interface Cond {
  status: ConditionStatus;
  reason?: string;
  message?: string;
}

/** KServe's FailureReason enum (inference_service_status.go): the only values of modelStatus.lastFailureInfo.reason. */
export const FAILURE_REASONS = ['ModelLoadFailed', 'RuntimeUnhealthy', 'RuntimeDisabled', 'NoSupportingRuntime', 'RuntimeNotRecognized', 'InvalidPredictorSpec'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** The reasons KServe's predictor reconciler reports with transitionStatus InvalidSpec (UpdateModelTransitionStatus). */
const SPEC_REASONS = new Set<FailureReason>(['NoSupportingRuntime', 'RuntimeNotRecognized', 'RuntimeDisabled', 'InvalidPredictorSpec']);

/**
 * The FailureReason KServe reports for a failure the lab found. KServe's own spec reasons stay; a
 * model format no runtime serves is NoSupportingRuntime; everything found while fetching or loading
 * the model is ModelLoadFailed, the only reason PropagateModelStatus writes (the storage-initializer
 * or kserve-container terminated with Error or in CrashLoopBackOff, OOMKilled included). That covers
 * the lab's InvalidStorageUri: KServe passes a URI without a scheme or with a supported prefix
 * (utils.ValidateStorageURI) and the storage-initializer fails on it. KServe never writes
 * RuntimeUnhealthy there.
 */
export function failureReason(reason: string): FailureReason {
  if (SPEC_REASONS.has(reason as FailureReason)) return reason as FailureReason;
  if (reason === 'UnsupportedModelFormat') return 'NoSupportingRuntime';
  return 'ModelLoadFailed';
}

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

/** Knative's severity: Error ("", omitted) for Ready and its dependents, Info for the others. */
const INFO = new Set(['LatestDeploymentReady', 'PredictorConfigurationReady', 'PredictorRouteReady', 'RoutesReady', 'Stopped']);

/** A condition; its lastTransitionTime changes only when its status, reason or message does (knative.dev/pkg SetCondition). */
export function condition(st: IsvcState, type: string, status: ConditionStatus, reason?: string, message?: string, clock: () => string = ts): Condition {
  const prev = st.conditionTimes.get(type);
  let time = prev?.time;
  if (!prev || prev.status !== status || prev.reason !== reason || prev.message !== message) {
    time = clock();
    st.conditionTimes.set(type, { status, reason, message, time });
  }
  const c: Condition = { type, status, lastTransitionTime: time! };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  if (INFO.has(type)) c.severity = 'Info';
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
  /** the predictor reflects the spec the conditions describe (for an invalid spec: the last valid one, which KServe leaves alone) */
  upToDate: boolean;
  /** a spec failure KServe reports as InvalidSpec */
  invalidSpec?: Failure;
  /** the target model failed to load: the latest revision failed, or the serving one has no ready replica */
  loadFailed: boolean;
  /**
   * The revision whose kserve-container failed (Knative marks it failed): the latest one when its
   * failure is a container exit, or the serving one when it has no ready replica. A failure without
   * an exit code is the storage-initializer's: the main container never starts, so Knative keeps
   * waiting (until its progress deadline) and only KServe's modelStatus says it failed.
   */
  failedRev?: Revision;
  clock: () => string;
}

const crashLooping = (rev: Revision) => [...rev.replicas.values()].some((r) => !r.isStopping && r.status.state === 'waiting' && r.status.waitingReason === 'CrashLoopBackOff');

function view(st: IsvcState, clock: () => string): View {
  const gen = st.obj.metadata.generation ?? 1;
  const active = activeRevision(st);
  const latest = latestRevision(st);
  const activeReady = !!active && (readyCount(active) > 0 || (!active.failure && !crashLooping(active)));
  const invalidSpec = st.specFailure && SPEC_REASONS.has(failureReason(st.specFailure.reason)) ? st.specFailure : undefined;
  const upToDate = !!latest && latest === active && (!!invalidSpec || (latest.generation === gen && !st.specFailure));
  const failedRev = latest?.failure?.exitCode !== undefined ? latest : active && !activeReady ? active : undefined;
  // no pod of the latest revision can be created: PropagateModelStatus sees no pods and a False Knative condition (FailedToLoad)
  const loadFailed = !!latest?.failure || !!latest?.podForbidden || (!!active && !activeReady);
  return { st, gen, active, latest, activeReady, upToDate, invalidSpec, loadFailed, failedRev, clock };
}

export function computeStatus(st: IsvcState, urls: IsvcUrls, clock: () => string = ts): Record<string, unknown> {
  const v = view(st, clock);
  const serving = v.active ?? v.latest;
  const replicas = serving ? [...serving.replicas.values()].filter((r) => !r.isStopping) : [];
  const status: Record<string, unknown> = {
    observedGeneration: v.gen,
    conditions: conditions(v),
    modelStatus: modelStatus(v, serving),
    components: { predictor: predictorComponent(v, urls.predictorUrl) },
    annotations: annotations(st, serving, replicas),
    deploymentMode: 'Knative', // KServe v0.20 writes the normalised mode (constants.go: Serverless is the deprecated spelling)
  };
  // the runtime KServe selected (components/predictor.go): one of the two names, the other cleared
  const rt = v.latest?.runtime;
  if (rt) {
    status.clusterServingRuntimeName = rt.cluster ? rt.name : null;
    status.servingRuntimeName = rt.cluster ? null : rt.name;
  }
  // Knative's Route gets its URL once a revision of it is ready (configureTraffic); KServe derives
  // status.url from the predictor's URL (ingress_reconciler.go getServiceHost), so neither is there before
  if (v.active) {
    status.url = urls.url;
    status.address = { url: urls.url };
  }
  return status;
}

/**
 * The Knative Service's ConfigurationsReady and RoutesReady, and its Ready from them as
 * PropagateConfigurationStatus then PropagateRouteStatus leave it.
 */
function knativeService(v: View): { cfg: Cond; route: Cond; ready: Cond } {
  const config = `${v.st.name}-predictor`;
  let cfg: Cond;
  const unschedulable = v.latest?.unschedulable;
  if (v.upToDate && v.activeReady) cfg = { status: 'True' };
  // the latest revision's pod cannot be scheduled: Knative marks the revision's ResourcesAvailable False with the
  // pod's PodScheduled reason and message (reconcile_resources.go), the Configuration RevisionFailed with it
  else if (unschedulable) cfg = { status: 'False', reason: 'RevisionFailed', message: `Revision "${v.latest!.name}" failed with message: ${unschedulable.message}.` };
  // its pods are refused at admission: the Deployment's ReplicaFailure (FailedCreate) message makes ResourcesAvailable False (revision_lifecycle.go PropagateDeploymentStatus)
  else if (v.latest?.podForbidden) cfg = { status: 'False', reason: 'RevisionFailed', message: `Revision "${v.latest.name}" failed with message: ${v.latest.podForbidden}.` };
  else if (v.failedRev) {
    const msg = (v.failedRev.failure ?? v.st.lastFailure)?.message ?? 'container failed';
    cfg = { status: 'False', reason: 'RevisionFailed', message: `Revision "${v.failedRev.name}" failed with message: Container failed with: ${msg}.` };
  } else cfg = { status: 'Unknown' }; // SetLatestCreatedRevisionName: MarkUnknown(Ready, "", "")
  let route: Cond;
  if (v.active) route = { status: 'True' };
  else if (cfg.status === 'False') route = { status: 'False', reason: 'RevisionMissing', message: `Configuration "${config}" does not have any ready Revision.` };
  else route = { status: 'Unknown', reason: 'RevisionMissing', message: `Configuration "${config}" is waiting for a Revision to become ready.` };
  const ready = [route, cfg].find((c) => c.status === 'False') ?? [route, cfg].find((c) => c.status === 'Unknown') ?? { status: 'True' };
  return { cfg, route, ready };
}

/** KServe's conditions, sorted by type as Knative keeps them. */
function conditions(v: View): Condition[] {
  const c = (type: string, x: Cond) => condition(v.st, type, x.status, x.reason, x.message, v.clock);
  // An invalid spec stops the reconcile before the predictor: a new service keeps InitializeConditions' Unknowns.
  if (v.invalidSpec && !v.active) return ['IngressReady', 'PredictorReady', 'Ready'].map((t) => c(t, { status: 'Unknown' }));
  const ksvc = knativeService(v);
  const ingress: Cond = ksvc.ready.status === 'True' ? { status: 'True' } : { status: ksvc.ready.status, reason: 'Predictor ingress not created' };
  const cross = (x: Cond, dep: string): Cond => (x.status === 'True' ? x : { status: x.status, reason: `${dep} not ready` });
  return [
    c('IngressReady', ingress),
    c('LatestDeploymentReady', cross(ksvc.cfg, 'PredictorConfigurationReady')),
    c('PredictorConfigurationReady', ksvc.cfg),
    c('PredictorReady', ksvc.ready),
    c('PredictorRouteReady', ksvc.route),
    // Ready is set last from IngressReady (MarkFalse/MarkUnknown give it IngressReady's reason)
    c('Ready', ingress),
    c('RoutesReady', cross(ksvc.route, 'PredictorRouteReady')),
    c('Stopped', { status: 'False' }),
  ];
}

/**
 * The target model's state and the transition: UpdateModelTransitionStatus(InvalidSpec) for a spec
 * failure, else UpdateModelRevisionStates from PropagateModelStatus (Pending/Loading: InProgress,
 * Loaded: UpToDate, FailedToLoad: BlockedByFailedLoad).
 */
function target(v: View): { state: ModelState; transition: string } {
  if (v.invalidSpec) return { state: 'FailedToLoad', transition: 'InvalidSpec' };
  if (v.st.specFailure || v.loadFailed) return { state: 'FailedToLoad', transition: 'BlockedByFailedLoad' };
  if (v.upToDate && v.activeReady) return { state: 'Loaded', transition: 'UpToDate' };
  const s = v.latest && v.latest !== v.active ? modelState(v.latest) : 'Pending';
  return { state: s === 'Loaded' ? 'Loading' : s, transition: 'InProgress' };
}

function modelStatus(v: View, serving: Revision | undefined): Record<string, unknown> {
  const { st } = v;
  const t = target(v);
  // activeModelState is set to Loaded only, when a model first loads, and never reset; "" before
  const out: Record<string, unknown> = {
    transitionStatus: t.transition,
    states: { activeModelState: v.active ? 'Loaded' : '', targetModelState: t.state },
  };
  // PropagateModelStatus: totalCopies counts ready pods, failedCopies stays at its default 0 (the lab
  // merge-patches status, so totalCopies 0 is written, not omitted as KServe's Update does)
  if (!v.invalidSpec) out.copies = { failedCopies: 0, totalCopies: serving ? readyCount(serving) : 0 };
  if (st.lastFailure) {
    const f = st.lastFailure;
    // KServe replaces lastFailureInfo whole; the lab merge-patches status, so null clears what an earlier failure left
    out.lastFailureInfo = { reason: failureReason(f.reason), message: f.message, time: f.time, location: f.location || null, exitCode: f.exitCode ?? null };
  }
  return out;
}

function predictorComponent(v: View, predUrl: string): Record<string, unknown> {
  const { active, latest } = v;
  const predictor: Record<string, unknown> = active ? { url: predUrl, address: { url: predUrl } } : {};
  if (latest) predictor.latestCreatedRevision = latest.name;
  if (active) {
    predictor.latestReadyRevision = active.name;
    predictor.latestRolledoutRevision = active.name;
    // the Knative Service's traffic: 100% to the latest ready revision (latestRevision: true follows it)
    predictor.traffic = [{ revisionName: active.name, percent: 100, latestRevision: true }];
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

type CondLike = { type: string; status: string };

/**
 * KServe's readiness events (pkg/controller/v1beta1/inferenceservice/controller.go): Normal
 * InferenceServiceReady "InferenceService [<name>] is Ready" on becoming Ready; Warning
 * InferenceServiceNotReady "… is no longer Ready because of: <the False conditions>" when Ready
 * turns False (not Unknown) after it was Ready.
 */
export function readinessEvent(name: string, conditions: readonly CondLike[], wasReady: boolean): { type: 'Normal' | 'Warning'; reason: string; message: string } | undefined {
  const ready = conditions.find((c) => c.type === 'Ready')?.status;
  if (!wasReady && ready === 'True') return { type: 'Normal', reason: 'InferenceServiceReady', message: `InferenceService [${name}] is Ready` };
  if (wasReady && ready === 'False') {
    const failed = conditions.filter((c) => c.status === 'False').map((c) => c.type);
    return { type: 'Warning', reason: 'InferenceServiceNotReady', message: `InferenceService [${name}] is no longer Ready because of: ${failed.join(', ')}` };
  }
  return undefined;
}
