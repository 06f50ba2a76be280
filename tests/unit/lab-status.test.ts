/**
 * The lab controller's InferenceService status, computed from hand-built
 * controller state (revisions with fake replicas): conditions, modelStatus,
 * components.predictor, annotations, and condition transition times.
 */
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { configFromIsvc } from '../../lab/cloud/controller/autoscaler.ts';
import type { KObject } from '../../lab/cloud/controller/informer.ts';
import type { Replica, ReplicaStatus } from '../../lab/cloud/controller/replica.ts';
import { FAILURE_REASONS, computeStatus, condition, failureReason, modelState, readinessEvent, readyCount } from '../../lab/cloud/controller/status.ts';
import type { Failure, IsvcState, Revision } from '../../lab/cloud/controller/types.ts';
import type { JsonObject } from '../../lab/cloud/apiserver/json.ts';
import { mergePatch } from '../../lab/cloud/apiserver/patch.ts';
import { validateSchema, type SchemaNode } from '../../lab/cloud/apiserver/schema.ts';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const URLS = { url: 'https://m.default.lab.mlv.io', predictorUrl: 'https://m-predictor.default.lab.mlv.io' };

/** A replica as status.ts sees it (spec.podName, isStopping, status). */
function replica(podName: string, status: Partial<ReplicaStatus> = {}, isStopping = false): Replica {
  const full: ReplicaStatus = { state: 'running', ready: true, started: true, restartCount: 0, failedBeforeReady: false, everReady: true, ...status };
  return { spec: { podName }, isStopping, status: full } as unknown as Replica;
}

function revision(generation: number, replicas: Replica[], extra: Partial<Revision> = {}): Revision {
  return {
    name: `m-predictor-${String(generation).padStart(5, '0')}`,
    generation,
    storageUri: 'file:///models/m',
    modelDir: '/state/models/m',
    staging: false,
    replicas: new Map(replicas.map((r) => [r.spec.podName, r])),
    desired: replicas.length,
    initialScale: 1,
    resources: {},
    threads: 1,
    ...extra,
  };
}

function state(generation: number, revs: Revision[], extra: Partial<IsvcState> = {}): IsvcState {
  const obj: KObject = { metadata: { name: 'm', namespace: 'default', uid: 'u1', generation }, spec: { predictor: {} } };
  return {
    key: 'default/m',
    namespace: 'default',
    name: 'm',
    uid: 'u1',
    obj,
    revisions: new Map(revs.map((r) => [r.generation, r])),
    scaler: configFromIsvc(obj).config,
    nextOrdinal: 0,
    conditionTimes: new Map(),
    readyAnnounced: false,
    adopted: true,
    ...extra,
  };
}

/** A clock that ticks one second per reading. */
function ticking(): () => string {
  let t = Date.parse('2025-01-01T00:00:00Z');
  return () => new Date((t += 1000)).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const conds = (status: Record<string, unknown>) => Object.fromEntries((status.conditions as Record<string, string>[]).map((c) => [c.type, c]));
const summary = (status: Record<string, unknown>) => (status.conditions as Record<string, string>[]).map((c) => `${c.type}=${c.status}${c.reason ? `/${c.reason}` : ''}`);
// The parts of modelStatus and components.predictor these tests read.
type ModelStatus = { states: { activeModelState: string; targetModelState: string }; transitionStatus: string; copies?: { totalCopies: number; failedCopies: number }; lastFailureInfo?: unknown };
type Condition = Record<string, string>;
type PredictorComponent = { latestCreatedRevision?: string; traffic?: { revisionName: string; percent: number; latestRevision: boolean }[] };
const model = (status: Record<string, unknown>) => status.modelStatus as ModelStatus;
const predictor = (status: Record<string, unknown>) => (status.components as { predictor: PredictorComponent }).predictor;

const ALL = ['IngressReady', 'LatestDeploymentReady', 'PredictorConfigurationReady', 'PredictorReady', 'PredictorRouteReady', 'Ready', 'RoutesReady', 'Stopped'];
/** IngressReady, PredictorReady and Ready as type=status/reason. */
const core = (status: Record<string, unknown>) => summary(status).filter((c) => /^(IngressReady|PredictorReady|Ready)=/.test(c));
const WAITING = 'Configuration "m-predictor" is waiting for a Revision to become ready.';
const NO_INGRESS = 'Predictor ingress not created';

describe('InferenceService status', () => {
  it('is Ready when the active revision is the current generation and has a ready replica', () => {
    const rev = revision(1, [replica('m-predictor-aaaaa')]);
    const st = state(1, [rev], { active: 1, latest: 1 });
    const s = computeStatus(st, URLS, ticking());
    assert.deepEqual(summary(s), [...ALL.slice(0, 7).map((t) => `${t}=True`), 'Stopped=False']);
    assert.equal(conds(s).RoutesReady!.severity, 'Info');
    assert.equal(conds(s).Ready!.severity, undefined);
    assert.equal(s.observedGeneration, 1);
    assert.equal(s.deploymentMode, 'Knative');
    assert.equal(s.url, URLS.url);
    assert.deepEqual(s.address, { url: URLS.url });
    assert.deepEqual(model(s).states, { activeModelState: 'Loaded', targetModelState: 'Loaded' });
    assert.equal(model(s).transitionStatus, 'UpToDate');
    assert.deepEqual(model(s).copies, { failedCopies: 0, totalCopies: 1 });
    assert.deepEqual(predictor(s), {
      url: URLS.predictorUrl,
      address: { url: URLS.predictorUrl },
      latestCreatedRevision: 'm-predictor-00001',
      latestReadyRevision: 'm-predictor-00001',
      latestRolledoutRevision: 'm-predictor-00001',
      traffic: [{ revisionName: 'm-predictor-00001', percent: 100, latestRevision: true }],
    });
    const ann = s.annotations as Record<string, string>;
    assert.equal(ann['lab.mlv.io/replicas'], '1');
    assert.equal(ann['lab.mlv.io/ready-replicas'], '1');
    assert.equal(ann['lab.mlv.io/pods'], 'm-predictor-aaaaa');
    assert.equal(ann['autoscaling.lab.mlv.io/metric'], 'concurrency');
    assert.equal(ann['autoscaling.lab.mlv.io/min-scale'], '1');
  });

  it('is not Ready before any revision exists: Knative RevisionMissing, no ingress, activeModelState ""', () => {
    const s = computeStatus(state(1, []), URLS, ticking());
    const c = conds(s);
    assert.deepEqual(core(s), [`IngressReady=Unknown/${NO_INGRESS}`, 'PredictorReady=Unknown/RevisionMissing', `Ready=Unknown/${NO_INGRESS}`]);
    assert.equal(c.PredictorReady!.message, WAITING);
    assert.equal(c.PredictorConfigurationReady!.reason, undefined);
    assert.equal(c.LatestDeploymentReady!.reason, 'PredictorConfigurationReady not ready');
    assert.equal(c.RoutesReady!.reason, 'PredictorRouteReady not ready');
    assert.equal(model(s).transitionStatus, 'InProgress');
    assert.deepEqual(model(s).states, { activeModelState: '', targetModelState: 'Pending' });
    assert.equal(predictor(s).traffic, undefined);
  });

  it('is not Ready while the first revision stages or loads its model', () => {
    const staging = state(1, [revision(1, [], { staging: true, desired: 1 })], { latest: 1 });
    assert.equal(model(computeStatus(staging, URLS)).states.targetModelState, 'Pending');
    const loading = state(1, [revision(1, [replica('p', { ready: false })])], { latest: 1 });
    const s = computeStatus(loading, URLS);
    assert.equal(conds(s).PredictorReady!.message, WAITING);
    assert.equal(conds(s).Ready!.status, 'Unknown');
    assert.deepEqual(model(s).states, { activeModelState: '', targetModelState: 'Loading' });
    assert.equal(model(s).transitionStatus, 'InProgress');
  });

  it('stays Ready while a serving replica restarts, but not when it crash-loops (RevisionFailed, ModelLoadFailed)', () => {
    const restarting = state(1, [revision(1, [replica('p', { state: 'waiting', ready: false, waitingReason: 'ContainerCreating' })])], { active: 1, latest: 1 });
    assert.equal(conds(computeStatus(restarting, URLS)).Ready!.status, 'True');

    const crash: Failure = { reason: 'RuntimeUnhealthy', message: 'predictor pod p exited with code 1 (Error)', location: 'p', exitCode: 1, time: '2025-01-01T00:00:00Z' };
    const crashing = state(1, [revision(1, [replica('p', { state: 'waiting', ready: false, waitingReason: 'CrashLoopBackOff', restartCount: 3 })])], { active: 1, latest: 1, lastFailure: crash });
    const s = computeStatus(crashing, URLS);
    assert.deepEqual(core(s), [`IngressReady=False/${NO_INGRESS}`, 'PredictorReady=False/RevisionFailed', `Ready=False/${NO_INGRESS}`]);
    assert.equal(conds(s).PredictorReady!.message, `Revision "m-predictor-00001" failed with message: Container failed with: ${crash.message}.`);
    assert.equal(conds(s).PredictorRouteReady!.status, 'True');
    assert.deepEqual(model(s).copies, { failedCopies: 0, totalCopies: 0 });
    assert.equal(model(s).transitionStatus, 'BlockedByFailedLoad');
    assert.deepEqual(model(s).states, { activeModelState: 'Loaded', targetModelState: 'FailedToLoad' });
    assert.deepEqual(model(s).lastFailureInfo, { reason: 'ModelLoadFailed', message: crash.message, time: crash.time, location: 'p', exitCode: 1 });
  });

  it('is Ready when scaled to zero', () => {
    const st = state(1, [revision(1, [], { desired: 0 })], { active: 1, latest: 1 });
    const s = computeStatus(st, URLS);
    assert.equal(conds(s).Ready!.status, 'True');
    assert.equal(model(s).states.activeModelState, 'Loaded');
    assert.equal((s.annotations as Record<string, string>)['lab.mlv.io/replicas'], '0');
  });

  it('reports a rollout in progress while the old revision keeps serving', () => {
    const old = revision(1, [replica('old')]);
    const next = revision(2, [replica('new', { ready: false })]);
    const s = computeStatus(state(2, [old, next], { active: 1, latest: 2 }), URLS);
    const c = conds(s);
    assert.deepEqual(core(s), [`IngressReady=Unknown/${NO_INGRESS}`, 'PredictorReady=Unknown', `Ready=Unknown/${NO_INGRESS}`]);
    assert.equal(c.PredictorRouteReady!.status, 'True');
    assert.equal(c.PredictorConfigurationReady!.status, 'Unknown');
    assert.deepEqual(model(s).states, { activeModelState: 'Loaded', targetModelState: 'Loading' });
    assert.equal(model(s).transitionStatus, 'InProgress');
    const pred = predictor(s);
    assert.equal(pred.latestCreatedRevision, 'm-predictor-00002');
    assert.deepEqual(pred.traffic, [{ revisionName: 'm-predictor-00001', percent: 100, latestRevision: true }]);
    assert.equal(s.observedGeneration, 2);
  });

  it('a new revision that failed to load blocks the rollout and is reported, the old one serving', () => {
    const failure: Failure = {
      reason: 'ModelLoadFailed',
      message: 'predictor pod new of revision m-predictor-00002 failed to load the model (exit code 1)',
      location: 'new',
      exitCode: 1,
      time: '2025-01-01T00:00:00Z',
    };
    const old = revision(1, [replica('old')]);
    const next = revision(2, [], { failure });
    const s = computeStatus(state(2, [old, next], { active: 1, latest: 2, lastFailure: failure }), URLS);
    assert.deepEqual(core(s), [`IngressReady=False/${NO_INGRESS}`, 'PredictorReady=False/RevisionFailed', `Ready=False/${NO_INGRESS}`]);
    assert.equal(conds(s).PredictorReady!.message, `Revision "m-predictor-00002" failed with message: Container failed with: ${failure.message}.`);
    assert.equal(model(s).transitionStatus, 'BlockedByFailedLoad');
    assert.deepEqual(model(s).states, { activeModelState: 'Loaded', targetModelState: 'FailedToLoad' });
    assert.deepEqual(model(s).lastFailureInfo, { reason: 'ModelLoadFailed', message: failure.message, time: failure.time, location: 'new', exitCode: 1 });
  });

  it('a first revision that failed to load: RevisionMissing, activeModelState "", FailedToLoad', () => {
    const failure: Failure = { reason: 'OOMKilled', message: 'predictor pod p of revision m-predictor-00001 exited with code 137 (OOMKilled)', exitCode: 137, time: '2025-01-01T00:00:00Z' };
    const s = computeStatus(state(1, [revision(1, [], { failure })], { latest: 1, lastFailure: failure }), URLS);
    assert.deepEqual(core(s), [`IngressReady=False/${NO_INGRESS}`, 'PredictorReady=False/RevisionMissing', `Ready=False/${NO_INGRESS}`]);
    assert.equal(conds(s).PredictorReady!.message, 'Configuration "m-predictor" does not have any ready Revision.');
    assert.equal(conds(s).PredictorConfigurationReady!.reason, 'RevisionFailed');
    assert.deepEqual(model(s).states, { activeModelState: '', targetModelState: 'FailedToLoad' });
    assert.equal(model(s).transitionStatus, 'BlockedByFailedLoad');
    assert.equal((model(s).lastFailureInfo as { reason: string }).reason, 'ModelLoadFailed');
  });

  it('a first revision whose model could not be staged (storage-initializer, no exit code): Knative still waiting, BlockedByFailedLoad', () => {
    const failure: Failure = { reason: 'ModelLoadFailed', message: 'storageUri pvc://models/nope: /pvc/models/nope does not exist', time: '2025-01-01T00:00:00Z' };
    const s = computeStatus(state(1, [revision(1, [], { failure, desired: 1 })], { latest: 1, lastFailure: failure }), URLS);
    assert.deepEqual(core(s), [`IngressReady=Unknown/${NO_INGRESS}`, 'PredictorReady=Unknown/RevisionMissing', `Ready=Unknown/${NO_INGRESS}`]);
    assert.equal(conds(s).PredictorReady!.message, WAITING);
    assert.equal(model(s).transitionStatus, 'BlockedByFailedLoad');
    assert.deepEqual(model(s).states, { activeModelState: '', targetModelState: 'FailedToLoad' });
    assert.deepEqual(model(s).lastFailureInfo, { reason: 'ModelLoadFailed', message: failure.message, time: failure.time, location: null, exitCode: null });
  });

  it('a spec failure: InvalidSpec with KServe reasons only, conditions as KServe leaves them', () => {
    for (const [lab, kserve] of [
      ['NoSupportingRuntime', 'NoSupportingRuntime'],
      ['UnsupportedModelFormat', 'NoSupportingRuntime'],
      ['RuntimeNotRecognized', 'RuntimeNotRecognized'],
      ['RuntimeDisabled', 'RuntimeDisabled'],
      ['InvalidPredictorSpec', 'InvalidPredictorSpec'],
    ]) {
      const f = { reason: lab!, message: 'No runtime found to support specified framework/version', time: '2025-01-01T00:00:00Z' };
      const s = computeStatus(state(1, [], { specFailure: { ...f, generation: 1 }, lastFailure: f }), URLS);
      assert.deepEqual(summary(s), ['IngressReady=Unknown', 'PredictorReady=Unknown', 'Ready=Unknown'], lab);
      assert.equal(model(s).transitionStatus, 'InvalidSpec', lab);
      assert.deepEqual(model(s).states, { activeModelState: '', targetModelState: 'FailedToLoad' }, lab);
      assert.deepEqual(model(s).lastFailureInfo, { reason: kserve, message: f.message, time: f.time, location: null, exitCode: null }, lab);
      assert.equal(model(s).copies, undefined);
    }
    // a bad spec on a serving service: the old revision's conditions stay, the model status says why
    const f = { reason: 'NoSupportingRuntime', message: 'No runtime found to support specified framework/version', time: 't', generation: 2 };
    const s = computeStatus(state(2, [revision(1, [replica('old')])], { active: 1, latest: 1, specFailure: f, lastFailure: f }), URLS);
    assert.equal(conds(s).Ready!.status, 'True');
    assert.equal(model(s).transitionStatus, 'InvalidSpec');
    assert.deepEqual(model(s).states, { activeModelState: 'Loaded', targetModelState: 'FailedToLoad' });
  });

  it('a storage failure (no revision made): BlockedByFailedLoad, ModelLoadFailed, Knative still waiting', () => {
    for (const reason of ['ModelLoadFailed', 'InvalidStorageUri']) {
      const f = { reason, message: 'storageUri file:///nope: /nope does not exist', time: '2025-01-01T00:00:00Z' };
      const s = computeStatus(state(1, [], { specFailure: { ...f, generation: 1 }, lastFailure: f }), URLS);
      assert.deepEqual(core(s), [`IngressReady=Unknown/${NO_INGRESS}`, 'PredictorReady=Unknown/RevisionMissing', `Ready=Unknown/${NO_INGRESS}`]);
      assert.equal(model(s).transitionStatus, 'BlockedByFailedLoad');
      assert.deepEqual(model(s).states, { activeModelState: '', targetModelState: 'FailedToLoad' });
      assert.equal((model(s).lastFailureInfo as { reason: string }).reason, 'ModelLoadFailed');
    }
  });

  it('a new lastFailureInfo merge-patched over an old one keeps none of the old exitCode or location', () => {
    const oom: Failure = { reason: 'OOMKilled', message: 'exited with code 137', location: 'p', exitCode: 137, time: '2025-01-01T00:00:00Z' };
    const old = computeStatus(state(1, [revision(1, [], { failure: oom })], { latest: 1, lastFailure: oom }), URLS);
    const spec = { reason: 'NoSupportingRuntime', message: 'No runtime found to support specified framework/version', time: '2025-01-01T00:01:00Z' };
    const next = computeStatus(state(2, [], { specFailure: { ...spec, generation: 2 }, lastFailure: spec }), URLS);
    const merged = mergePatch(old as JsonObject, next as JsonObject) as { modelStatus: { lastFailureInfo: unknown } };
    assert.deepEqual(merged.modelStatus.lastFailureInfo, { reason: 'NoSupportingRuntime', message: spec.message, time: spec.time });
  });

  it('never writes ModelLoadFailed (or another FailureReason) as a condition reason', () => {
    const f: Failure = { reason: 'ModelLoadFailed', message: 'x', time: 't' };
    const states = [
      state(1, [revision(1, [], { failure: f })], { latest: 1, lastFailure: f }),
      state(1, [], { specFailure: { ...f, generation: 1 }, lastFailure: f }),
      state(2, [revision(1, [replica('old')]), revision(2, [], { failure: f })], { active: 1, latest: 2, lastFailure: f }),
    ];
    for (const st of states) for (const c of computeStatus(st, URLS).conditions as Condition[]) assert.ok(!FAILURE_REASONS.includes(c.reason as never), `${c.type}: ${c.reason}`);
  });

  it("failureReason maps every lab reason into KServe's enum", () => {
    for (const r of ['ModelLoadFailed', 'OOMKilled', 'RuntimeUnhealthy', 'InvalidStorageUri', 'StorageNotFound', 'Error']) assert.equal(failureReason(r), 'ModelLoadFailed', r);
    assert.equal(failureReason('UnsupportedModelFormat'), 'NoSupportingRuntime');
    for (const r of ['NoSupportingRuntime', 'RuntimeNotRecognized', 'RuntimeDisabled', 'InvalidPredictorSpec']) assert.equal(failureReason(r), r);
  });

  it('a condition keeps its lastTransitionTime until its status, reason or message changes', () => {
    const clock = ticking();
    const rev = revision(1, [replica('p', { ready: false })]);
    const st = state(1, [rev], { latest: 1 });
    const first = conds(computeStatus(st, URLS, clock));
    const again = conds(computeStatus(st, URLS, clock));
    assert.equal(again.Ready!.lastTransitionTime, first.Ready!.lastTransitionTime);
    assert.equal(again.Stopped!.lastTransitionTime, first.Stopped!.lastTransitionTime);
    rev.replicas.set('p', replica('p'));
    st.active = 1;
    const ready = conds(computeStatus(st, URLS, clock));
    assert.equal(ready.Ready!.status, 'True');
    assert.ok(ready.Ready!.lastTransitionTime! > first.Ready!.lastTransitionTime!, 'Ready changed, so did its time');
    assert.notEqual(ready.IngressReady!.lastTransitionTime, first.IngressReady!.lastTransitionTime);
    assert.equal(ready.Stopped!.lastTransitionTime, first.Stopped!.lastTransitionTime);
    const sameStatus = state(1, [], { specFailure: { reason: 'ModelLoadFailed', message: 'a', time: 't', generation: 1 } });
    const t1 = conds(computeStatus(sameStatus, URLS, clock)).PredictorReady!.lastTransitionTime;
    const t2 = conds(computeStatus(sameStatus, URLS, clock)).PredictorReady!.lastTransitionTime;
    assert.equal(t1, t2);
    condition(sameStatus, 'PredictorReady', 'Unknown', 'Other', 'reason changed', clock);
    assert.notEqual(condition(sameStatus, 'PredictorReady', 'Unknown', 'RevisionMissing', WAITING, clock).lastTransitionTime, t1);
  });
});

describe('every status the controller writes passes the CRD status schema (lab/cloud/manifests/kserve-crds.yaml)', () => {
  const crd = parseAllDocuments(readFileSync(new URL('../../lab/cloud/manifests/kserve-crds.yaml', import.meta.url), 'utf8'))[0]!.toJS() as {
    spec: { versions: [{ schema: { openAPIV3Schema: { properties: { status: SchemaNode } } } }] };
  };
  const schema = crd.spec.versions[0].schema.openAPIV3Schema.properties.status;
  const errorsOf = (status: Record<string, unknown>) => {
    const res = { errors: [] as { field?: string; message: string }[], unknown: [] as string[] };
    validateSchema(mergePatch({}, status as JsonObject) as JsonObject, schema, 'status', res);
    return [...res.errors.map((e) => `${e.field}: ${e.message}`), ...res.unknown.map((u) => `pruned ${u}`)];
  };

  it('in each situation: serving, loading, rollout, crash, failed load, spec and storage failures, scaled to zero', () => {
    const crash: Failure = { reason: 'OOMKilled', message: 'exited with code 137', location: 'p', exitCode: 137, time: '2025-01-01T00:00:00Z' };
    const spec = { reason: 'UnsupportedModelFormat', message: 'sklearn', time: '2025-01-01T00:00:00Z', generation: 1 };
    const storage = { reason: 'InvalidStorageUri', message: 'gs://', time: '2025-01-01T00:00:00Z', generation: 1 };
    const situations: IsvcState[] = [
      state(1, []),
      state(1, [revision(1, [replica('a')])], { active: 1, latest: 1 }),
      state(1, [revision(1, [replica('a', { ready: false })])], { latest: 1 }),
      state(2, [revision(1, [replica('old')]), revision(2, [replica('new', { ready: false })])], { active: 1, latest: 2 }),
      state(1, [revision(1, [replica('p', { state: 'waiting', ready: false, waitingReason: 'CrashLoopBackOff' })])], { active: 1, latest: 1, lastFailure: { ...crash, reason: 'RuntimeUnhealthy' } }),
      state(1, [revision(1, [], { failure: crash })], { latest: 1, lastFailure: crash }),
      state(1, [], { specFailure: spec, lastFailure: spec }),
      state(1, [], { specFailure: storage, lastFailure: storage }),
      state(1, [revision(1, [], { desired: 0 })], { active: 1, latest: 1 }),
    ];
    for (const [i, st] of situations.entries()) assert.deepEqual(errorsOf(computeStatus(st, URLS)), [], `situation ${i}`);
  });

  it('the check catches what the real schema rejects', () => {
    const bad = { modelStatus: { transitionStatus: 'Failed', lastFailureInfo: { reason: 'OOMKilled' }, states: { activeModelState: 'Crashed' } }, conditions: [{ status: 'True' }] };
    assert.equal(errorsOf(bad).length, 4);
  });
});

describe('status helpers', () => {
  it('readyCount counts ready replicas that are not stopping', () => {
    const rev = revision(1, [replica('a'), replica('b', { ready: false }), replica('c', {}, true)]);
    assert.equal(readyCount(rev), 1);
  });

  it('modelState: Pending, Loading, Loaded, FailedToLoad', () => {
    assert.equal(modelState(undefined), 'Pending');
    assert.equal(modelState(revision(1, [], { staging: true, desired: 1 })), 'Pending');
    assert.equal(modelState(revision(1, [replica('a', { state: 'waiting', ready: false })])), 'Pending');
    assert.equal(modelState(revision(1, [replica('a', { ready: false })])), 'Loading');
    assert.equal(modelState(revision(1, [replica('a')])), 'Loaded');
    assert.equal(modelState(revision(1, [], { desired: 0 })), 'Loaded');
    assert.equal(modelState(revision(1, [], { desired: 1, failure: { reason: 'x', message: 'y', time: 't' } })), 'FailedToLoad');
  });

  it('condition omits empty reason and message', () => {
    const st = state(1, []);
    assert.deepEqual(
      condition(st, 'Ready', 'True', undefined, undefined, () => 'T0'),
      { type: 'Ready', status: 'True', lastTransitionTime: 'T0' },
    );
    assert.deepEqual(
      condition(st, 'Ready', 'False', 'Why', 'because', () => 'T1'),
      { type: 'Ready', status: 'False', lastTransitionTime: 'T1', reason: 'Why', message: 'because' },
    );
  });
});

test('readiness events as KServe writes them: Ready once on becoming Ready; NotReady, naming the False conditions, only when Ready turns False', () => {
  const c = (ready: string, extra: { type: string; status: string }[] = []) => [...extra, { type: 'Ready', status: ready }];
  assert.deepEqual(readinessEvent('mnist', c('True'), false), { type: 'Normal', reason: 'InferenceServiceReady', message: 'InferenceService [mnist] is Ready' });
  assert.equal(readinessEvent('mnist', c('True'), true), undefined, 'already Ready: no second event');
  assert.deepEqual(
    readinessEvent(
      'mnist',
      c('False', [
        { type: 'PredictorReady', status: 'False' },
        { type: 'IngressReady', status: 'True' },
      ]),
      true,
    ),
    {
      type: 'Warning',
      reason: 'InferenceServiceNotReady',
      message: 'InferenceService [mnist] is no longer Ready because of: PredictorReady, Ready',
    },
  );
  assert.equal(readinessEvent('mnist', c('Unknown'), true), undefined, 'Unknown is not False');
  assert.equal(readinessEvent('mnist', c('False'), false), undefined, 'never Ready: nothing to announce');
});
