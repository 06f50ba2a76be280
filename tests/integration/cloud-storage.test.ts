/**
 * pvc:// storage where KServe looks for it: the claim of that name in the InferenceService's own
 * namespace. Against the lab API server and controller in-process (ephemeral port, temp state dir):
 * - a claim that exists only in another namespace leaves the predictor Pending, PodScheduled=False
 *   Unschedulable with the scheduler's `persistentvolumeclaim "<claim>" not found`, and that reason
 *   is in the status and in the suite's failure (KubeClient.waitReady);
 * - the claim in the same namespace serves; an unbound claim has the scheduler's unbound text;
 * - the suite's copy of a claim into a run namespace (clients/kube-claims.ts) binds there and makes
 *   the Pending service Ready, refuses a ReadWriteOnce volume with the fix, and its volume copy goes
 *   with the namespace; a released volume is Released.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ApiServer } from '../../lab/cloud/apiserver/main.ts';
import { startController, type Controller } from '../../lab/cloud/controller/controller.ts';
import { createHostPathClaim } from '../../lab/cloud/controller/volumes.ts';
import { writeMnistLinear } from '../../lab/cloud/models/make-test-models.ts';
import { IsvcNotReadyError, KubeClient } from '../../clients/kube.ts';
import { copyModelClaim, requireClaim } from '../../clients/kube-claims.ts';
import { InfraError } from '../../helpers/errors.ts';
import type { ObjectStoreTarget } from '../../helpers/config.ts';
import { s3Credentials } from '../../helpers/kserve-s3.ts';
import { startS3Server, type S3Server } from '../../lab/s3/server.ts';
import { ISVC as G, startLabApi } from './lab-api.ts';
import { waitFor } from './wait.ts';

const tmp = mkdtempSync(join(tmpdir(), 'cloud-storage-'));
const stateDir = join(tmp, 'cloud');
const modelsDir = join(tmp, 'models');
let api: ApiServer;
let controller: Controller;
let custom: CustomObjectsApi;
let core: CoreV1Api;

type Condition = { type: string; status: string; reason?: string; message?: string };
type Pod = {
  metadata: { name: string };
  spec: { nodeName?: string; volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[]; containers: { volumeMounts?: { mountPath: string; subPath?: string }[] }[] };
  status: { phase: string; conditions?: Condition[] };
};

const isvc = (name: string, namespace: string, storageUri: string) => ({
  apiVersion: 'serving.kserve.io/v1beta1',
  kind: 'InferenceService',
  metadata: { name, namespace },
  spec: { predictor: { model: { modelFormat: { name: 'onnx' }, runtime: 'lab-onnx-python', storageUri } } },
});
const conditions = async (name: string, namespace: string): Promise<Condition[]> =>
  (((await custom.getNamespacedCustomObject({ ...G, namespace, name })) as { status?: { conditions?: Condition[] } }).status?.conditions ?? []) as Condition[];
type Status = { url?: string; address?: unknown; clusterServingRuntimeName?: string; servingRuntimeName?: string; components?: { predictor?: { url?: string } } };
const statusOf = async (name: string, namespace: string): Promise<Status> => ((await custom.getNamespacedCustomObject({ ...G, namespace, name })) as { status: Status }).status;
const ready = async (name: string, namespace: string) => (await conditions(name, namespace)).some((c) => c.type === 'Ready' && c.status === 'True');
const pods = async (name: string, namespace: string): Promise<Pod[]> =>
  JSON.parse(JSON.stringify((await core.listNamespacedPod({ namespace, labelSelector: `serving.kserve.io/inferenceservice=${name}` })).items));
const namespace = (name: string) => core.createNamespace({ body: { metadata: { name } } });
const NOT_FOUND = (claim: string) => `0/2 nodes are available: persistentvolumeclaim "${claim}" not found. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.`;

before(async () => {
  ({ api, custom, core } = await startLabApi(stateDir));
  writeMnistLinear(join(modelsDir, 'mnist'));
  for (const ns of ['team-a', 'team-b', 'team-c', 'run-1']) await namespace(ns);
  // the models' claim lives in team-a, as a site provisions it (a static hostPath volume, ReadOnlyMany)
  await createHostPathClaim(core, 'team-a', 'models', modelsDir);
  controller = await startController({
    kubeconfig: api.kubeconfigPath,
    stateDir,
    runDir: join(tmp, 'run'),
    ingressPort: 0,
    tickMs: 500,
    log: process.env.CLOUD_TEST_LOG ? (l) => process.stderr.write(`[ctl] ${l}\n`) : () => {},
  });
});

after(async () => {
  await controller?.stop();
  await api?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('pvc:// resolves in the InferenceService namespace only', { timeout: 120_000 }, () => {
  it('the API server serves claims and volumes with the real validation, and the binder binds a pre-bound pair', async () => {
    await waitFor('team-a/models Bound', async () => (await core.readNamespacedPersistentVolumeClaim({ name: 'models', namespace: 'team-a' })).status?.phase === 'Bound', 10_000, 100);
    const pvc = await core.readNamespacedPersistentVolumeClaim({ name: 'models', namespace: 'team-a' });
    assert.deepEqual([pvc.status?.accessModes, pvc.status?.capacity?.storage, pvc.spec?.volumeMode], [['ReadOnlyMany'], '1Gi', 'Filesystem']);
    const pv = await core.readPersistentVolume({ name: 'team-a-models' });
    assert.deepEqual([pv.status?.phase, pv.spec?.claimRef?.namespace, pv.spec?.claimRef?.name, pv.spec?.claimRef?.uid], ['Bound', 'team-a', 'models', pvc.metadata?.uid]);
    const bad = await core.createNamespacedPersistentVolumeClaim({ namespace: 'team-a', body: { metadata: { name: 'x' }, spec: { resources: { requests: {} } } } }).then(
      () => assert.fail('created'),
      (e: { code?: number; body?: string }) => e,
    );
    assert.equal(bad.code, 422);
    assert.match(String(bad.body), /spec\.accessModes: Required value: at least 1 access mode is required/);
    assert.match(String(bad.body), /spec\.resources\[storage\]: Required value/);
    const noSource = await core.createPersistentVolume({ body: { metadata: { name: 'y' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'] } } }).then(
      () => assert.fail('created'),
      (e: { code?: number; body?: string }) => e,
    );
    assert.equal(noSource.code, 422);
    assert.match(String(noSource.body), /spec: Required value: must specify a volume type/);
  });

  it('a claim that exists only in another namespace leaves the predictor Pending, with the scheduler reason in the status and the failure', async () => {
    await custom.createNamespacedCustomObject({ ...G, namespace: 'team-b', body: isvc('mnist', 'team-b', 'pvc://models/mnist') });
    const pod = await waitFor('a Pending pod', async () => (await pods('mnist', 'team-b')).find((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled')));
    const sched = pod.status.conditions!.find((c) => c.type === 'PodScheduled')!;
    assert.deepEqual([pod.status.phase, pod.spec.nodeName, sched.status, sched.reason, sched.message], ['Pending', undefined, 'False', 'Unschedulable', NOT_FOUND('models')]);
    // KServe's webhook mounts the claim itself (no storage-initializer): the volume names it
    assert.deepEqual(pod.spec.volumes, [{ name: 'kserve-pvc-source', persistentVolumeClaim: { claimName: 'models' } }]);
    assert.equal(pod.spec.containers[0]!.volumeMounts?.[0]?.subPath, 'mnist');
    const ev = await waitFor('FailedScheduling', async () =>
      (await core.listNamespacedEvent({ namespace: 'team-b', fieldSelector: `involvedObject.name=${pod.metadata.name}` })).items.find((e) => e.reason === 'FailedScheduling'),
    );
    assert.equal(ev.message, NOT_FOUND('models'));
    const cfg = await waitFor('PredictorConfigurationReady False', async () => (await conditions('mnist', 'team-b')).find((c) => c.type === 'PredictorConfigurationReady' && c.status === 'False'));
    assert.equal(cfg.reason, 'RevisionFailed');
    assert.equal(cfg.message, `Revision "mnist-predictor-00001" failed with message: ${NOT_FOUND('models')}.`);
    // the suite's wait: not Ready at its timeout, and the headline and the diagnosis name the reason
    const kube = await KubeClient.create({ kubeconfig: api.kubeconfigPath });
    const e = await kube.waitReady('mnist', 'team-b', 4000).then(
      () => assert.fail('became Ready'),
      (x: unknown) => x,
    );
    assert.ok(e instanceof IsvcNotReadyError, String(e));
    assert.match(e.headline, /^InferenceService team-b\/mnist not Ready after \d+ s: .*PredictorConfigurationReady=False \(RevisionFailed\): .*persistentvolumeclaim "models" not found/);
    assert.match(e.details, /PodScheduled=False \(Unschedulable\): 0\/2 nodes are available: persistentvolumeclaim "models" not found/);
    assert.match(e.details, /Warning FailedScheduling Pod\/mnist-predictor-\w+: 0\/2 nodes are available: persistentvolumeclaim "models" not found/);
    // and the suite's own check says it before deploying, with the fix
    await assert.rejects(requireClaim(kube.core, 'pvc://models/mnist', 'team-b', true), (x: unknown) => {
      assert.ok(x instanceof InfraError);
      assert.match(
        x.message,
        /persistentvolumeclaim "models" not found in namespace team-b\. KServe looks the claim up .* Fix: set MLV_KUBE_NAMESPACE to the namespace that holds claim "models", or MLV_KUBE_MODEL_NAMESPACE/,
      );
      return true;
    });
    await requireClaim(kube.core, 'pvc://models/mnist', 'team-a', false);
    assert.equal(await ready('mnist', 'team-b'), false);
    // KServe names the runtime it selected at once; the URL comes with the first ready revision (Knative's Route)
    const st = await statusOf('mnist', 'team-b');
    assert.deepEqual([st.clusterServingRuntimeName, st.servingRuntimeName, st.url, st.address, st.components?.predictor?.url], ['lab-onnx-python', undefined, undefined, undefined, undefined]);
  });

  it('the suite binds a claim in the run namespace to a copy of the volume: the Pending service becomes Ready, the copy goes with the namespace', async () => {
    // the service of the test before waits in team-b; the suite's run namespace gets its claim
    const uid = (await core.readNamespace({ name: 'team-b' })).metadata!.uid!;
    const copy = await copyModelClaim(core, { claim: 'models', from: 'team-a', to: 'team-b', namespaceUid: uid, labels: { 'mlv.io/run': 'r1' }, bindTimeoutMs: 10_000 });
    assert.equal(copy, 'mlv-team-b-models');
    const pv = await core.readPersistentVolume({ name: copy });
    assert.deepEqual(
      [pv.spec?.hostPath?.path, pv.spec?.persistentVolumeReclaimPolicy, pv.spec?.accessModes, pv.metadata?.ownerReferences?.[0]?.kind, pv.metadata?.annotations?.['mlv.io/copy-of']],
      [modelsDir, 'Retain', ['ReadOnlyMany'], 'Namespace', 'team-a-models'],
    );
    await waitFor('team-b/mnist Ready', () => ready('mnist', 'team-b'), 60_000);
    assert.equal((await statusOf('mnist', 'team-b')).url, 'https://mnist.team-b.lab.mlv.io');
    assert.ok(!(await pods('mnist', 'team-b')).some((p) => p.status.phase === 'Pending'), 'the Pending pod went when the claim was bound');
    await custom.deleteNamespacedCustomObject({ ...G, namespace: 'team-b', name: 'mnist' });
    await core.deleteNamespace({ name: 'team-b' });
    await waitFor('the copy gone with its namespace', async () => !(await core.readPersistentVolume({ name: copy }).catch(() => undefined)), 30_000);
    // the site's volume and claim are untouched
    assert.equal((await core.readPersistentVolume({ name: 'team-a-models' })).status?.phase, 'Bound');
  });

  it('the claim in the same namespace serves the model', async () => {
    await custom.createNamespacedCustomObject({ ...G, namespace: 'team-a', body: isvc('mnist', 'team-a', 'pvc://models/mnist') });
    await waitFor('team-a/mnist Ready', () => ready('mnist', 'team-a'), 60_000);
    const [pod] = await pods('mnist', 'team-a');
    assert.equal(pod?.status.phase, 'Running');
    await custom.deleteNamespacedCustomObject({ ...G, namespace: 'team-a', name: 'mnist' });
  });

  it('an unbound claim is the scheduler\'s "unbound immediate PersistentVolumeClaims"; a ReadWriteOnce volume is not copied; a claim gone releases its volume', async () => {
    await core.createNamespacedPersistentVolumeClaim({
      namespace: 'team-c',
      body: { metadata: { name: 'models' }, spec: { accessModes: ['ReadOnlyMany'], resources: { requests: { storage: '1Gi' } } } },
    });
    await custom.createNamespacedCustomObject({ ...G, namespace: 'team-c', body: isvc('mnist', 'team-c', 'pvc://models/mnist') });
    const pod = await waitFor('a Pending pod', async () => (await pods('mnist', 'team-c')).find((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled')));
    assert.equal(
      pod.status.conditions!.find((c) => c.type === 'PodScheduled')!.message,
      '0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
    );
    await custom.deleteNamespacedCustomObject({ ...G, namespace: 'team-c', name: 'mnist' });

    await createHostPathClaim(core, 'team-c', 'rwo', modelsDir, ['ReadWriteOnce']);
    await waitFor('team-c/rwo Bound', async () => (await core.readNamespacedPersistentVolumeClaim({ name: 'rwo', namespace: 'team-c' })).status?.phase === 'Bound', 10_000, 100);
    const uid = (await core.readNamespace({ name: 'run-1' })).metadata!.uid!;
    await assert.rejects(copyModelClaim(core, { claim: 'rwo', from: 'team-c', to: 'run-1', namespaceUid: uid, labels: {} }), (x: unknown) => {
      assert.ok(x instanceof InfraError);
      assert.match(x.message, /access modes ReadWriteOnce: .* only ReadOnlyMany or ReadWriteMany volumes allow\. Fix: set MLV_KUBE_NAMESPACE=team-c/);
      return true;
    });
    await assert.rejects(
      copyModelClaim(core, { claim: 'nope', from: 'team-c', to: 'run-1', namespaceUid: uid, labels: {} }),
      /persistentvolumeclaim "nope" not found in namespace team-c \(MLV_KUBE_MODEL_NAMESPACE\)/,
    );
    await core.deleteNamespacedPersistentVolumeClaim({ name: 'rwo', namespace: 'team-c' });
    await waitFor('team-c-rwo Released', async () => (await core.readPersistentVolume({ name: 'team-c-rwo' })).status?.phase === 'Released', 10_000, 200);
  });
});

/**
 * s3:// storage the way KServe fetches it, against the lab object store (lab/s3/server.ts) in-process:
 * the predictor's serviceAccountName → that ServiceAccount in the InferenceService's namespace → its
 * Secret (the suite's own helpers/kserve-s3.ts builds it) → the storage-initializer's download.
 */
describe('s3:// resolves through the predictor ServiceAccount', { timeout: 120_000 }, () => {
  const NS3 = 'team-s3';
  const KEY = { accessKeyId: 'LABINTEGRATION000001', secretAccessKey: 'integration-secret-00000000000000000001' };
  let s3: S3Server;
  const store = (): ObjectStoreTarget => ({ endpoint: s3.url, clusterEndpoint: s3.url, bucket: 'models', region: 'us-east-1', prefix: '', ...KEY });
  const s3Isvc = (name: string, storageUri: string, serviceAccountName?: string) => {
    const o = isvc(name, NS3, storageUri);
    return { ...o, spec: { predictor: { ...o.spec.predictor, ...(serviceAccountName && { serviceAccountName }) } } };
  };
  type Isvc = { status?: { conditions?: Condition[]; modelStatus?: { transitionStatus?: string; states?: { targetModelState?: string }; lastFailureInfo?: { reason: string; message: string } } } };
  const getIsvc = async (name: string) => (await custom.getNamespacedCustomObject({ ...G, namespace: NS3, name })) as Isvc;
  const failure = (name: string) => waitFor(`${name} lastFailureInfo`, async () => (await getIsvc(name)).status?.modelStatus?.lastFailureInfo, 30_000);

  before(async () => {
    s3 = await startS3Server({ directory: join(tmp, 's3'), port: 0, keys: [KEY], buckets: ['models'] });
    const client = new S3Client({ region: 'us-east-1', endpoint: s3.url, forcePathStyle: true, credentials: KEY });
    for (const f of readdirSync(join(modelsDir, 'mnist'))) await client.send(new PutObjectCommand({ Bucket: 'models', Key: `mnist/${f}`, Body: readFileSync(join(modelsDir, 'mnist', f)) }));
    client.destroy();
    await namespace(NS3);
  });
  after(() => s3?.close());

  it('the ServiceAccount named by the predictor lists the Secret with the store credentials: the model downloads and serves', async () => {
    const kube = await KubeClient.create({ kubeconfig: api.kubeconfigPath });
    await kube.applyS3Credentials(s3Credentials(store(), NS3, 'models-s3', { 'mlv.io/run': 'r1' }));
    await custom.createNamespacedCustomObject({ ...G, namespace: NS3, body: s3Isvc('mnist', 's3://models/mnist', 'models-s3') });
    await waitFor('team-s3/mnist Ready', () => ready('mnist', NS3), 60_000);
    const [pod] = await pods('mnist', NS3);
    const log = await core.readNamespacedPodLog({ namespace: NS3, name: pod!.metadata.name, container: 'storage-initializer' });
    assert.match(log, /Found S3 object: mnist\/model\.onnx \(\d+ bytes\)/);
    assert.match(log, /Successfully copied s3:\/\/models\/mnist to \/mnt\/models/);
    assert.equal((pod as unknown as { spec: { serviceAccountName?: string } }).spec.serviceAccountName, 'models-s3');
    await custom.deleteNamespacedCustomObject({ ...G, namespace: NS3, name: 'mnist' });
  });

  it('a ServiceAccount that does not exist: no pod can be created (RevisionFailed with the admission error) until it is', async () => {
    await custom.createNamespacedCustomObject({ ...G, namespace: NS3, body: s3Isvc('nosa', 's3://models/mnist', 'nobody') });
    const cfg = await waitFor('PredictorConfigurationReady False', async () => (await conditions('nosa', NS3)).find((c) => c.type === 'PredictorConfigurationReady' && c.status === 'False'));
    assert.equal(cfg.reason, 'RevisionFailed');
    assert.match(
      cfg.message!,
      /^Revision "nosa-predictor-00001" failed with message: pods "nosa-predictor-00001-deployment-[b-z2-9]{10}-" is forbidden: error looking up service account team-s3\/nobody: serviceaccount "nobody" not found\.$/,
    );
    assert.equal((await pods('nosa', NS3)).length, 0);
    const st = (await getIsvc('nosa')).status!.modelStatus!;
    assert.deepEqual([st.transitionStatus, st.states?.targetModelState, st.lastFailureInfo], ['BlockedByFailedLoad', 'FailedToLoad', undefined]);
    const ev = (await core.listNamespacedEvent({ namespace: NS3 })).items.find((e) => e.reason === 'FailedCreate');
    assert.match(ev?.message ?? '', /^Error creating: pods "nosa-predictor-00001-deployment-\w+-" is forbidden/);
    await core.createNamespacedServiceAccount({ namespace: NS3, body: { metadata: { name: 'nobody' }, secrets: [{ name: 'models-s3' }] } });
    await waitFor('team-s3/nosa Ready', () => ready('nosa', NS3), 60_000);
    await custom.deleteNamespacedCustomObject({ ...G, namespace: NS3, name: 'nosa' });
  });

  it('a wrong secret is the storage-initializer failing with S3 error [403]; a missing key is "No model found"', async () => {
    await kubeApplyBadCredentials();
    await custom.createNamespacedCustomObject({ ...G, namespace: NS3, body: s3Isvc('badkey', 's3://models/mnist', 'bad-s3') });
    await custom.createNamespacedCustomObject({ ...G, namespace: NS3, body: s3Isvc('nokey', 's3://models/nope/model', 'models-s3') });
    const bad = await failure('badkey');
    assert.deepEqual([bad.reason, bad.message], ['ModelLoadFailed', 'S3 error [403]: Forbidden']);
    // the failed pod's storage-initializer log (and its termination message) has boto's error
    const log = await core.readNamespacedPodLog({ namespace: NS3, name: 'badkey-predictor-00001-deployment-storage', container: 'storage-initializer' });
    assert.match(log, /S3 error for s3:\/\/models\/mnist: An error occurred \(403\) when calling the HeadBucket operation: Forbidden\n(.*\n)*RuntimeError: S3 error \[403\]: Forbidden\n$/);
    const none = await failure('nokey');
    assert.deepEqual([none.reason, none.message], ['ModelLoadFailed', 'Failed to fetch model. No model found in nope/model.']);
    for (const name of ['badkey', 'nokey']) await custom.deleteNamespacedCustomObject({ ...G, namespace: NS3, name });
  });

  async function kubeApplyBadCredentials(): Promise<void> {
    const kube = await KubeClient.create({ kubeconfig: api.kubeconfigPath });
    await kube.applyS3Credentials(s3Credentials({ ...store(), secretAccessKey: 'not-the-secret' }, NS3, 'bad-s3', {}));
  }
});
