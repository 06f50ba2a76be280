/**
 * Revisions and their replicas: a revision per spec generation (model staged
 * by ./storage.ts, or orphans adopted), replicas started and stopped to the
 * wanted count (each mirrored by a Pod), and their teardown.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { claimOrphans } from './adoption.ts';
import { CLAIM_RETRY_MS, claimFor } from './claims.ts';
import { describeError, httpCode } from './kube.ts';
import { createFailedStoragePod, deleteFailedStoragePod } from './init-failure.ts';
import { ADMISSION_RETRY_MS, admitPods, setPodForbidden } from './pod-admission.ts';
import { gpuRequest, unschedulablePod } from './nodes.ts';
import { podLabels, podObject } from './pods.ts';
import { replicaSizing } from './predictor.ts';
import { Replica, type ReplicaMeta, type Termination } from './replica.ts';
import { StorageError, stageModel } from './storage.ts';
import { activeRevision, ts, type ControllerHost, type Failure, type IsvcState, type PredictorSpec, type Revision } from './types.ts';

const pad5 = (n: number) => String(n).padStart(5, '0');

/** A new revision for generation `gen`: adopt the orphans of that generation, or stage the model. */
export function createRevision(c: ControllerHost, st: IsvcState, gen: number, spec: PredictorSpec): void {
  const name = `${st.name}-predictor-${pad5(gen)}`;
  const active = activeRevision(st);
  const cfg = st.scaler;
  const initial = Math.min(Math.max(cfg.minReplicas, 1, active ? active.desired : 0), cfg.maxReplicas);
  const rev: Revision = {
    name,
    generation: gen,
    storageUri: spec.storageUri,
    staging: true,
    replicas: new Map(),
    desired: initial,
    initialScale: initial,
    resources: spec.resources,
    ...replicaSizing(spec.resources),
    slowdown: spec.slowdown ?? 1,
    runtimeFlavor: spec.runtime?.flavor,
    runtime: spec.runtime && { name: spec.runtime.name, cluster: spec.runtime.cluster },
    serviceAccountName: spec.serviceAccountName,
    podAnnotations: spec.podAnnotations,
  };
  st.revisions.set(gen, rev);
  st.latest = gen;
  const adoptable = claimOrphans(c, st, gen);
  if (adoptable.length) return adopt(c, st, rev, adoptable);
  st.adopted = true;
  const slow = (rev.slowdown ?? 1) > 1 ? ` (lab slowdown x${rev.slowdown})` : '';
  void c.event(st, 'Normal', 'RevisionCreated', `created revision ${name} (generation ${gen}) with ${initial} replica(s) for the ${spec.format} model at ${spec.storageUri}${slow}`);
  stage(c, st, rev);
}

/** Take over the running processes of an earlier controller as this revision's replicas. */
function adopt(c: ControllerHost, st: IsvcState, rev: Revision, metas: ReplicaMeta[]): void {
  rev.modelDir = metas[0]!.modelDir;
  rev.staging = false;
  for (const m of metas) {
    const placed = c.scheduler.place(`${st.namespace}/${m.podName}`, gpuRequest(rev.resources));
    const r = newReplica(c, st, rev, m.podName, m.ordinal, 'node' in placed ? placed.node : undefined);
    r.adopt(m.pid, m.startedAt);
    st.nextOrdinal = Math.max(st.nextOrdinal, m.ordinal + 1);
    if (!c.hasPod(`${st.namespace}/${m.podName}`)) void createPodObject(c, st, rev, r);
  }
  rev.desired = Math.max(rev.desired, metas.length);
  st.adopted = true;
  c.log(`adopted ${metas.length} running replica(s) of ${st.key} revision ${rev.name}`);
  c.enqueue(st.key);
}

/**
 * Stage the model (storage-initializer stand-in); replicas start on the next reconcile. The pods
 * must be admitted first (their ServiceAccount, for s3:// the credential Secrets: ./pod-admission.ts),
 * and a pvc:// model waits for its claim in the InferenceService's namespace (./claims.ts); both
 * are retried while the revision lives and the controller runs.
 */
function stage(c: ControllerHost, st: IsvcState, rev: Revision): void {
  const dest = join(c.opts.stateDir, 'models', st.namespace, st.name, rev.name);
  const fail = (e: unknown) => {
    rev.staging = false;
    rev.failure = { reason: e instanceof StorageError ? e.reason : 'ModelLoadFailed', message: (e as Error).message, time: ts() };
    st.lastFailure = rev.failure;
    void c.event(st, 'Warning', rev.failure.reason, rev.failure.message);
    void createFailedStoragePod(c, st, rev, dest).then(() => c.enqueue(st.key));
  };
  const live = () => st.revisions.get(rev.generation) === rev && !c.scheduler.stopped;
  const retry = (ms: number) => void setTimeout(() => live() && stage(c, st, rev), ms).unref();
  void admitPods(c, st, rev).then(async (adm) => {
    if (!live()) return;
    if ('pending' in adm) return retry(ADMISSION_RETRY_MS);
    setPodForbidden(c, st, rev, 'forbidden' in adm ? adm.forbidden : undefined);
    if ('forbidden' in adm) return retry(ADMISSION_RETRY_MS);
    const claim = await claimFor(c, st, rev);
    if (!live()) return;
    if ('pending' in claim) return retry(CLAIM_RETRY_MS);
    if ('error' in claim) return fail(new StorageError('ModelLoadFailed', claim.error));
    // the kubelet refuses a secretKeyRef to a missing data key (CreateContainerConfigError): the storage-initializer never runs
    if (adm.missingKey) return fail(new StorageError('ModelLoadFailed', adm.missingKey, 'CreateContainerConfigError'));
    stageModel(rev.storageUri, { stateDir: c.opts.stateDir, claimPath: claim.claimPath, s3Env: adm.s3Env }, dest).then((dir) => {
      rev.modelDir = dir;
      rev.staging = false;
      c.enqueue(st.key);
    }, fail);
  });
}

function newReplica(c: ControllerHost, st: IsvcState, rev: Revision, podName: string, ordinal: number, nodeName?: string): Replica {
  const r = new Replica(
    {
      namespace: st.namespace,
      isvc: st.name,
      uid: st.uid,
      revision: rev.name,
      generation: rev.generation,
      ordinal,
      podName,
      nodeName,
      modelName: st.name,
      modelDir: rev.modelDir!,
      threads: rev.threads,
      memoryLimitBytes: rev.memoryLimitBytes,
      slowdown: rev.slowdown ?? 1,
      runtime: rev.runtimeFlavor ?? 'python',
      logPath: join(c.opts.stateDir, 'logs', st.namespace, `${podName}.log`),
      runDir: c.runDir,
    },
    c.log,
  );
  rev.replicas.set(podName, r);
  r.on('change', onChange(c, st, rev, r));
  r.on('exit', (_r: Replica, term: Termination) => onExit(c, st, rev, r, term));
  return r;
}

/** The replica changed: Pod status, port annotation, Started event, route, reconcile. */
function onChange(c: ControllerHost, st: IsvcState, rev: Revision, r: Replica): () => void {
  const podName = r.spec.podName;
  let wasReady = false;
  let lastState = '';
  return () => {
    c.syncPod(st, r);
    if (r.status.ready && !wasReady) {
      wasReady = true;
      if (rev.failure) rev.failure = undefined;
      if (r.status.port) void c.kube.patchPodMetadata(st.namespace, podName, { annotations: { 'lab.mlv.io/port': String(r.status.port) } }).catch(() => {});
    }
    if (!r.status.ready) wasReady = false;
    const state = `${r.status.state}/${r.status.restartCount}`;
    if (state !== lastState) {
      lastState = state;
      if (r.status.state === 'running' && !r.isStopping && !r.adopted) void c.podEvent(st, podName, 'Normal', 'Started', `Started container kserve-container (pid ${r.pid})`);
    }
    c.updateRoute(st);
    c.enqueue(st.key);
  };
}

/** The replica's process exited: a load failure (before ever ready) fails the revision; events either way. */
function onExit(c: ControllerHost, st: IsvcState, rev: Revision, r: Replica, term: Termination): void {
  const podName = r.spec.podName;
  const before = r.status.failedBeforeReady && !r.status.everReady;
  const reason = term.reason === 'OOMKilled' ? 'OOMKilled' : before ? 'ModelLoadFailed' : 'RuntimeUnhealthy';
  const what = before ? `failed to load the model (exit code ${term.exitCode})` : `exited with code ${term.exitCode} (${term.reason})`;
  const f: Failure = { reason, message: `predictor pod ${podName} of revision ${rev.name} ${what}${term.message ? `: ${term.message}` : ''}`, location: podName, exitCode: term.exitCode, time: ts() };
  if (before) rev.failure = f;
  st.lastFailure = f;
  void c.event(st, 'Warning', reason, f.message);
  void c.podEvent(st, podName, 'Warning', 'BackOff', `Back-off restarting failed container kserve-container in pod ${podName}_${st.namespace}`);
}

async function createPodObject(c: ControllerHost, st: IsvcState, rev: Revision, r: Replica): Promise<boolean> {
  try {
    await c.kube.createPod(st.namespace, podObject(st, rev, r));
    return true;
  } catch (e) {
    if (httpCode(e) === 409) return true;
    c.log(`create pod ${st.namespace}/${r.spec.podName} failed: ${describeError(e)}`);
    return false;
  }
}

/** Start or stop replicas of `rev` until `target` are live (not stopping). */
export async function ensureReplicas(c: ControllerHost, st: IsvcState, rev: Revision, target: number): Promise<void> {
  const live = [...rev.replicas.values()].filter((r) => !r.isStopping);
  if (live.length < target) {
    for (let i = live.length; i < target; i++) {
      const podName = `${st.name}-predictor-${randomBytes(4).toString('hex').slice(0, 5)}`;
      const placed = c.scheduler.place(`${st.namespace}/${podName}`, gpuRequest(rev.resources));
      if ('message' in placed) return unschedulable(c, st, rev, placed.message);
      if (rev.unschedulable) void c.kube.deletePod(st.namespace, rev.unschedulable.pod).catch(() => {});
      rev.unschedulable = undefined;
      const r = newReplica(c, st, rev, podName, st.nextOrdinal++, placed.node);
      if (!(await createPodObject(c, st, rev, r))) {
        c.scheduler.release(`${st.namespace}/${podName}`);
        rev.replicas.delete(podName);
        setTimeout(() => c.enqueue(st.key), 2000).unref();
        return;
      }
      r.start();
    }
  } else if (live.length > target) {
    // not-ready first, then the least busy
    const inflight = (r: Replica) => c.router.upstreamInflight(st.namespace, st.name, r.spec.podName);
    const victims = live.sort((a, b) => Number(a.status.ready) - Number(b.status.ready) || inflight(a) - inflight(b)).slice(0, live.length - target);
    for (const v of victims) void stopReplica(c, st, rev, v);
  }
}

/** Drain (router first), stop the process, delete the pod. */
async function stopReplica(c: ControllerHost, st: IsvcState, rev: Revision, r: Replica): Promise<void> {
  if (r.isStopping) return;
  // take it out of the route, let in-flight requests finish
  r.draining = true;
  c.updateRoute(st);
  const deadline = Date.now() + 5000;
  while (c.router.upstreamInflight(st.namespace, st.name, r.spec.podName) > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  void c.podEvent(st, r.spec.podName, 'Normal', 'Killing', 'Stopping container kserve-container');
  await r.stop(5000);
  c.scheduler.release(`${st.namespace}/${r.spec.podName}`);
  rev.replicas.delete(r.spec.podName);
  c.forgetPod(`${st.namespace}/${r.spec.podName}`);
  await c.kube.deletePod(st.namespace, r.spec.podName).catch((e) => c.log(`delete pod ${r.spec.podName}: ${describeError(e)}`));
  c.enqueue(st.key);
}

/** Forget the revision, stop its replicas, remove its staged model. */
export async function teardownRevision(c: ControllerHost, st: IsvcState, rev: Revision): Promise<void> {
  st.revisions.delete(rev.generation);
  await Promise.all([...rev.replicas.values()].map((r) => stopReplica(c, st, rev, r)));
  if (rev.failure) await deleteFailedStoragePod(c, st, rev);
  if (rev.unschedulable) await c.kube.deletePod(st.namespace, rev.unschedulable.pod).catch((e) => c.log(`delete pod ${rev.unschedulable?.pod}: ${describeError(e)}`));
  if (rev.modelDir && rev.modelDir.startsWith(join(c.opts.stateDir, 'models'))) await rm(rev.modelDir, { recursive: true, force: true });
}

/** No node can take another replica: one Pending pod (PodScheduled=False Unschedulable) stands for them, with a FailedScheduling event; retried later. */
async function unschedulable(c: ControllerHost, st: IsvcState, rev: Revision, message: string): Promise<void> {
  setTimeout(() => c.enqueue(st.key), 5000).unref();
  if (rev.unschedulable) return;
  const name = `${st.name}-predictor-${randomBytes(4).toString('hex').slice(0, 5)}`;
  rev.unschedulable = { pod: name, message };
  const { pod, status } = unschedulablePod(st, rev, name, podLabels(st, rev), message);
  try {
    await c.kube.createPod(st.namespace, pod);
    await c.kube.patchPodStatus(st.namespace, name, status);
  } catch (e) {
    c.log(`pending pod ${st.namespace}/${name}: ${describeError(e)}`);
  }
  void c.podEvent(st, name, 'Warning', 'FailedScheduling', message);
}
