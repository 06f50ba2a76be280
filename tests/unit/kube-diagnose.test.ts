// KubeClient's failure path against the lab API server in-process: a predictor pod shaped like a real
// one (kserve-container, queue-proxy, init storage-initializer), logs read per container, the full
// status, container states and events in the details, and waitReady giving up on InvalidSpec and on
// a BlockedByFailedLoad that holds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../lab/cloud/apiserver/server.ts';
import { IsvcNotReadyError, KubeClient } from '../../clients/kube.ts';
import { describeEvents, describePods, logTargets } from '../../clients/kube-diagnose.ts';

const NS = 'kd';
const ISVC = { group: 'serving.kserve.io', version: 'v1beta1', plural: 'inferenceservices', namespace: NS };
const CRDS = new URL('../../lab/cloud/manifests/kserve-crds.yaml', import.meta.url);
let dir: string;
let srv: ApiServer;
let kube: KubeClient;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;

const storageLog = 'INFO:kserve.storage:Copying contents of s3://models/none to local\nRuntimeError: Failed to fetch model. No model found in s3://models/none.\n';
const initTerm = { exitCode: 1, reason: 'Error', message: storageLog, startedAt: new Date('2026-01-01T00:00:00Z'), finishedAt: new Date('2026-01-01T00:00:01Z') };
/** A predictor pod as KServe makes it in Knative mode, with its storage-initializer crash-looping. */
function predictorPod(name: string, isvc: string): k8s.V1Pod {
  const logs = Object.fromEntries(
    (['storage-initializer', 'kserve-container', 'queue-proxy'] as const).map((c) => {
      const file = join(dir, `${name}.${c}.log`);
      writeFileSync(file, c === 'storage-initializer' ? storageLog : `${c} line 1\n${c} line 2\n`);
      return [`lab.mlv.io/log-path.${c}`, file];
    }),
  );
  return {
    metadata: { name, namespace: NS, labels: { 'serving.kserve.io/inferenceservice': isvc }, annotations: logs },
    spec: {
      initContainers: [{ name: 'storage-initializer', image: 'kserve/storage-initializer:v0.15.0' }],
      containers: [
        { name: 'kserve-container', image: 'kserve/sklearnserver:v0.15.0' },
        { name: 'queue-proxy', image: 'gcr.io/knative-releases/queue' },
      ],
    },
  };
}
const podStatus: k8s.V1PodStatus = {
  phase: 'Pending',
  conditions: [
    { type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [storage-initializer]' },
    { type: 'Ready', status: 'False', reason: 'ContainersNotReady' },
  ],
  initContainerStatuses: [
    {
      name: 'storage-initializer',
      image: 'i',
      imageID: '',
      ready: false,
      restartCount: 2,
      state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container' } },
      lastState: { terminated: initTerm },
    },
  ],
  containerStatuses: [
    { name: 'kserve-container', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } },
    { name: 'queue-proxy', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } },
  ],
};
const failure = { reason: 'ModelLoadFailed', message: storageLog, exitCode: 1 };
const isvcStatus = (transitionStatus: string, lastFailureInfo: unknown) => ({
  conditions: [
    { type: 'IngressReady', status: 'False', reason: 'PredictorIngressNotCreated' },
    { type: 'PredictorReady', status: 'False', reason: 'RevisionMissing', message: 'Configuration "m-predictor" does not have any ready Revision.' },
    { type: 'Ready', status: 'False', reason: 'RevisionMissing' },
    { type: 'Stopped', status: 'False' },
  ],
  modelStatus: { transitionStatus, states: { activeModelState: '', targetModelState: 'FailedToLoad' }, lastFailureInfo },
});

async function makeIsvc(name: string, status: Record<string, unknown>): Promise<void> {
  const body = {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name, namespace: NS },
    spec: { predictor: { model: { modelFormat: { name: 'sklearn' }, storageUri: 's3://models/none' } } },
  };
  await custom.createNamespacedCustomObject({ ...ISVC, body });
  await setStatus(name, status);
}
const setStatus = (name: string, status: Record<string, unknown>) =>
  custom.patchNamespacedCustomObjectStatus({ ...ISVC, name, body: { status } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kube-diagnose-'));
  srv = await startApiServer({ stateDir: dir, port: 0 });
  kube = await KubeClient.create({ kubeconfig: srv.kubeconfigPath });
  core = kube.core;
  custom = kube.custom;
  const ext = kube.kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const crd of k8s.loadAllYaml(readFileSync(CRDS, 'utf8')) as k8s.V1CustomResourceDefinition[]) await ext.createCustomResourceDefinition({ body: crd });
  await core.createNamespace({ body: { metadata: { name: NS } } });
  await core.createNamespacedPod({ namespace: NS, body: predictorPod('m-predictor-00001-abc', 'm') });
  await core.patchNamespacedPodStatus({ namespace: NS, name: 'm-predictor-00001-abc', body: { status: podStatus } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  await core.createNamespacedEvent({
    namespace: NS,
    body: {
      metadata: { name: 'm.1' },
      involvedObject: { kind: 'Pod', name: 'm-predictor-00001-abc', namespace: NS },
      reason: 'BackOff',
      message: 'Back-off restarting failed container storage-initializer',
      type: 'Warning',
      lastTimestamp: new Date(),
    },
  });
});
after(async () => {
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a log read without a container name on a multi-container pod is refused as kube-apiserver refuses it', async () => {
  const e = await core.readNamespacedPodLog({ name: 'm-predictor-00001-abc', namespace: NS }).then(
    () => assert.fail('accepted'),
    (x: { code?: number; body?: string }) => x,
  );
  assert.equal(e.code, 400);
  assert.equal(
    (JSON.parse(e.body!) as { message: string }).message,
    'a container name must be specified for pod m-predictor-00001-abc, choose one of: [kserve-container queue-proxy] or one of the init containers: [storage-initializer]',
  );
});

test('diagnose: full status, init and app container states, events, and each container log by name', async () => {
  await makeIsvc('m', isvcStatus('BlockedByFailedLoad', failure));
  const text = await kube.diagnose('m', NS);
  assert.match(text, /^InferenceService status:\n {2}conditions:/);
  assert.match(text, /transitionStatus: BlockedByFailedLoad/);
  assert.match(
    text,
    / {4}init storage-initializer: waiting \(CrashLoopBackOff: back-off 20s restarting failed container\), ready=false, restarts=2; last: terminated \(Error, exit code 1: INFO:kserve.storage:Copying .* \| RuntimeError: Failed to fetch model/,
  );
  assert.match(text, / {4}kserve-container: waiting \(PodInitializing\), ready=false, restarts=0\n {4}queue-proxy: waiting \(PodInitializing\)/);
  assert.match(
    text,
    /m-predictor-00001-abc phase=Pending \[Initialized=False \(ContainersNotInitialized\): containers with incomplete status: \[storage-initializer\]; Ready=False \(ContainersNotReady\)\]/,
  );
  assert.match(text, /events \(1\):\n {2}\S+ Warning BackOff Pod\/m-predictor-00001-abc: Back-off restarting failed container storage-initializer/);
  // previous instance asked for; the lab keeps none, so the current log is read
  assert.match(
    text,
    /log tail of m-predictor-00001-abc\/storage-initializer \(init container\):\n {2}INFO:kserve.storage:Copying contents of s3:\/\/models\/none to local\n {2}RuntimeError: Failed to fetch model/,
  );
  assert.match(text, /log tail of m-predictor-00001-abc\/kserve-container:\n {2}kserve-container line 1\n {2}kserve-container line 2/);
  assert.match(text, /log tail of m-predictor-00001-abc\/queue-proxy:\n {2}queue-proxy line 1/);
  assert.doesNotMatch(text, /no log|container name must be specified/);
});

test('waitReady gives up on InvalidSpec at once, headline first (one line), details after', async () => {
  await makeIsvc('bad-rt', isvcStatus('InvalidSpec', { reason: 'NoSupportingRuntime', message: 'No runtime found to support specified framework/version' }));
  const t0 = Date.now();
  const e = await kube.waitReady('bad-rt', NS, 60_000).then(
    () => assert.fail('became Ready'),
    (x: unknown) => x,
  );
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  assert.ok(e instanceof IsvcNotReadyError);
  assert.equal(
    e.headline,
    `InferenceService ${NS}/bad-rt cannot become Ready: transitionStatus InvalidSpec, lastFailureInfo NoSupportingRuntime: No runtime found to support specified framework/version (after 0 s)`,
  );
  assert.equal(e.message.split('\n')[0], e.headline);
  assert.match(e.details, /^InferenceService status:\n/);
});

test('waitReady gives up on a BlockedByFailedLoad that holds for the grace period, not before', async () => {
  await makeIsvc('blocked', isvcStatus('BlockedByFailedLoad', failure));
  const t0 = Date.now();
  const e = (await kube.waitReady('blocked', NS, 60_000, undefined, { blockedGraceMs: 1500 }).catch((x: unknown) => x)) as IsvcNotReadyError;
  const took = Date.now() - t0;
  assert.ok(took >= 1500 && took < 5000, `took ${took} ms`);
  assert.match(
    e.headline,
    /^InferenceService kd\/blocked cannot become Ready: transitionStatus BlockedByFailedLoad, lastFailureInfo ModelLoadFailed: \[\.\.\.\] RuntimeError: Failed to fetch model\. No model found in s3:\/\/models\/none\. \(exit code 1\) \(after \d s\)$/,
  );
  // recovers within the grace period: Ready is returned
  await makeIsvc('recovers', isvcStatus('BlockedByFailedLoad', failure));
  setTimeout(() => void setStatus('recovers', { conditions: [{ type: 'Ready', status: 'True' }], modelStatus: { transitionStatus: 'UpToDate', lastFailureInfo: null } }), 500);
  const st = await kube.waitReady('recovers', NS, 60_000, undefined, { blockedGraceMs: 3000 });
  assert.equal(st.modelStatus?.transitionStatus, 'UpToDate');
  // a plain timeout still says what it saw
  await makeIsvc('slow', { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Deploying' }], modelStatus: { transitionStatus: 'InProgress' } });
  const slow = (await kube.waitReady('slow', NS, 1200).catch((x: unknown) => x)) as IsvcNotReadyError;
  assert.match(slow.headline, /^InferenceService kd\/slow not Ready after 1 s: Ready=Unknown \(Deploying\)$/);
});

test('pure parts: pods without statuses yet, events sorted and capped, log targets skip Ready pods', () => {
  const pod = predictorPod('p', 'x');
  assert.deepEqual(describePods([pod]).slice(1), ['  p phase=?', '    storage-initializer: no status yet', '    kserve-container: no status yet', '    queue-proxy: no status yet']);
  const ev = (n: number, name: string) => ({
    metadata: {},
    involvedObject: { kind: 'Pod', name },
    reason: `R${n}`,
    message: 'm',
    type: 'Normal',
    lastTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
  });
  const lines = describeEvents([ev(3, 'x-a'), ev(1, 'x'), ev(2, 'x-b'), ev(4, 'other'), ev(5, 'xy')], 'x', 2);
  assert.deepEqual(
    lines.map((l) => l.replace(/^ {2}\S+ /, '')),
    ['events (2 of 3):', 'Normal R2 Pod/x-b: m', 'Normal R3 Pod/x-a: m'],
  );
  const ready = { ...predictorPod('r', 'x'), status: { conditions: [{ type: 'Ready', status: 'True' }] } };
  assert.deepEqual(logTargets([ready, { ...pod, status: podStatus }]), [
    { pod: 'p', container: 'storage-initializer', init: true, previous: true },
    { pod: 'p', container: 'kserve-container', init: false, previous: false },
    { pod: 'p', container: 'queue-proxy', init: false, previous: false },
  ]);
});
