/**
 * The lab InferenceService controller end to end, against the lab API server
 * (in-process, ephemeral port, temp state dir) through @kubernetes/client-node
 * only: apply the KServe CRD, create InferenceServices for real ONNX models,
 * wait for Ready, predict through the HTTPS ingress (Host header, lab CA
 * verified), scale up under concurrent load and back down after the delay,
 * failure reasons (missing storageUri, corrupt model, no supporting runtime),
 * and deletion stopping the runtime processes.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, CustomObjectsApi, type CoreV1Event } from '@kubernetes/client-node';
import type { ApiServer } from '../../lab/cloud/apiserver/main.ts';
import { startController, type Controller } from '../../lab/cloud/controller/controller.ts';
import { createHostPathClaim } from '../../lab/cloud/controller/volumes.ts';
import { mnistDigits, writeCorrupt, writeMnistLinear } from '../../lab/cloud/models/make-test-models.ts';
import { IsvcNotReadyError, KubeClient } from '../../clients/kube.ts';
import { ISVC as G, startLabApi } from './lab-api.ts';
import { waitFor } from './wait.ts';

const NS = 'default';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tmp = mkdtempSync(join(tmpdir(), 'cloud-ctl-'));
const stateDir = join(tmp, 'cloud');
const runDir = join(tmp, 'run');
let api: ApiServer;
let controller: Controller;
let custom: CustomObjectsApi;
let core: CoreV1Api;
let ca: Buffer;
const agent = new https.Agent({ keepAlive: true, maxSockets: 64 });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The parts of the objects and replies these tests read, as the lab serves them.
type Condition = { type: string; status: string; reason?: string; message: string; lastTransitionTime?: string };
type Isvc = {
  metadata: { uid: string };
  status: {
    url: string;
    address: { url: string };
    observedGeneration: number;
    conditions?: Condition[];
    annotations: Record<string, string>;
    modelStatus: { states: { activeModelState: string; targetModelState?: string }; transitionStatus: string; lastFailureInfo: { reason: string; message?: string } };
    components: { predictor: { latestReadyRevision: string; traffic: unknown } };
  };
};
type Termination = { exitCode: number; message: string };
type ContainerStatus = { ready: boolean; state: { running?: unknown; waiting?: { reason?: string }; terminated?: Termination }; lastState: { terminated?: Termination } };
type OwnerRef = { kind: string; uid: string };
type Pod = {
  metadata: { name: string; labels: Record<string, string>; annotations: { 'lab.mlv.io/log-path': string }; ownerReferences: [OwnerRef, ...OwnerRef[]] };
  spec: { nodeName: string; containers: [{ name: string; resources: { limits: Record<string, string> } }] };
  status: { phase: string; containerStatuses: [ContainerStatus, ...ContainerStatus[]] };
};
type Reply = { predictions: number[][]; outputs: [{ shape: number[] }]; inputs: unknown };

async function getIsvc(name: string): Promise<Isvc> {
  return custom.getNamespacedCustomObject({ ...G, namespace: NS, name });
}

const cond = (isvc: Isvc, type: string) => (isvc?.status?.conditions ?? []).find((c) => c.type === type);

function isvc(name: string, predictor: Record<string, unknown>, annotations: Record<string, string> = {}): Record<string, unknown> {
  return { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name, namespace: NS, annotations }, spec: { predictor } };
}

function call(host: string, path: string, body?: unknown): Promise<{ status: number; body: Reply | undefined; pod?: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request({ host: '127.0.0.1', port: controller.ingressPort, path, method: data ? 'POST' : 'GET', ca, agent, headers: { host, 'content-type': 'application/json' } }, (res) => {
      let t = '';
      res.on('data', (c) => (t += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: t ? (JSON.parse(t) as Reply) : undefined, pod: res.headers['x-lab-pod'] as string, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function events(name: string): Promise<CoreV1Event[]> {
  const list = await core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=${name}` });
  return list.items;
}

async function pods(name: string): Promise<Pod[]> {
  const list = await core.listNamespacedPod({ namespace: NS, labelSelector: `serving.kserve.io/inferenceservice=${name}` });
  return JSON.parse(JSON.stringify(list.items));
}

describe('cloud controller (API server + controller + runtime + router)', { timeout: 120_000 }, () => {
  const modelDir = join(tmp, 'models', 'mnist');
  const digits = mnistDigits()
    .test.filter((_, i) => i % 97 === 0)
    .slice(0, 4);

  before(async () => {
    ({ api, custom, core } = await startLabApi(stateDir));
    ca = readFileSync(join(stateDir, 'ca.crt'));
    writeMnistLinear(modelDir);
    // the same model on a "PVC", and as a Triton model repository (<repo>/<model>/<version>/model.onnx)
    mkdirSync(join(stateDir, 'pvc', 'models', 'mnist'), { recursive: true });
    copyFileSync(join(modelDir, 'model.onnx'), join(stateDir, 'pvc', 'models', 'mnist', 'model.onnx'));
    mkdirSync(join(stateDir, 'pvc', 'models', 'repo', 'digits', '1'), { recursive: true });
    copyFileSync(join(modelDir, 'model.onnx'), join(stateDir, 'pvc', 'models', 'repo', 'digits', '1', 'model.onnx'));
    // the claim pvc://models/... names, in the InferenceServices' namespace, bound to that folder
    await createHostPathClaim(core, NS, 'models', join(stateDir, 'pvc', 'models'));
    writeCorrupt(join(tmp, 'models', 'corrupt'));
    controller = await startController({
      kubeconfig: api.kubeconfigPath,
      stateDir,
      runDir,
      ingressPort: 0,
      stableWindowMs: 2000,
      scaleDownDelayMs: 3000,
      tickMs: 500,
      activatorTimeoutMs: 10_000,
      log: process.env.CLOUD_TEST_LOG ? (l) => process.stderr.write(`[ctl] ${l}\n`) : () => {},
    });
  });

  after(async () => {
    agent.destroy();
    const pids = controller?.pids() ?? [];
    await controller?.stop();
    for (const pid of pids) assert.equal(alive(pid), false, `runtime pid ${pid} still alive after controller stop`);
    await api?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('deploys an ONNX InferenceService to Ready with KServe-shaped status, pods and events', async () => {
    await custom.createNamespacedCustomObject({
      ...G,
      namespace: NS,
      body: isvc(
        'mnist',
        {
          minReplicas: 1,
          maxReplicas: 3,
          scaleMetric: 'concurrency',
          scaleTarget: 1,
          model: {
            // V1 and V2: the lab's custom KServe Python-like runtime, named (it is not auto-selected)
            modelFormat: { name: 'onnx' },
            runtime: 'lab-onnx-python',
            storageUri: `file://${modelDir}`,
            resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } },
          },
        },
        { 'autoscaling.knative.dev/window': '2s', 'autoscaling.knative.dev/scale-down-delay': '3s' },
      ),
    });
    const t0 = Date.now();
    const obj = await waitFor('mnist Ready', async () => {
      const o = await getIsvc('mnist');
      return cond(o, 'Ready')?.status === 'True' && o;
    });
    const deployMs = Date.now() - t0;
    assert.ok(deployMs < 15_000, `deploy took ${deployMs} ms`);
    const st = obj.status;
    assert.equal(st.url, 'https://mnist.default.lab.mlv.io');
    assert.equal(st.address.url, 'https://mnist.default.lab.mlv.io');
    assert.equal(st.observedGeneration, 1);
    for (const t of ['IngressReady', 'PredictorReady', 'Ready']) {
      assert.equal(cond(obj, t)?.status, 'True', t);
      assert.ok(cond(obj, t)?.lastTransitionTime, `${t} lastTransitionTime`);
    }
    assert.equal(st.modelStatus.states.activeModelState, 'Loaded');
    assert.equal(st.modelStatus.transitionStatus, 'UpToDate');
    assert.equal(st.components.predictor.latestReadyRevision, 'mnist-predictor-00001');
    assert.deepEqual(st.components.predictor.traffic, [{ revisionName: 'mnist-predictor-00001', percent: 100, latestRevision: true }]);
    assert.equal(st.annotations['lab.mlv.io/ready-replicas'], '1');

    const [pod, ...rest] = await pods('mnist');
    assert.equal(rest.length, 0);
    assert.ok(pod);
    assert.match(pod.metadata.name, /^mnist-predictor-[0-9a-f]{5}$/);
    assert.equal(pod.metadata.labels.component, 'predictor');
    assert.equal(pod.metadata.ownerReferences[0].kind, 'InferenceService');
    assert.equal(pod.metadata.ownerReferences[0].uid, obj.metadata.uid);
    assert.equal(pod.spec.nodeName, 'lab-cloud-node');
    assert.equal(pod.spec.containers[0].name, 'kserve-container');
    assert.deepEqual(pod.spec.containers[0].resources.limits, { cpu: '2', memory: '4Gi' });
    assert.equal(pod.status.phase, 'Running');
    assert.equal(pod.status.containerStatuses[0].ready, true);
    assert.ok(pod.status.containerStatuses[0].state.running);
    const logPath = pod.metadata.annotations['lab.mlv.io/log-path'];
    assert.match(readFileSync(logPath, 'utf8'), /READY port=\d+/);
    // the API server serves it as the pod log
    const log = await core.readNamespacedPodLog({ namespace: NS, name: pod.metadata.name, container: 'kserve-container' });
    assert.match(String(log), /loaded .*model\.onnx/);
    const pidFiles = readdirSync(runDir).filter((f) => /^runtime-default-mnist-\d+\.pid$/.test(f));
    assert.equal(pidFiles.length, 1);
    assert.ok(alive(Number(readFileSync(join(runDir, pidFiles[0]!), 'utf8'))));
    const reasons = (await events('mnist')).map((e) => e.reason);
    assert.ok(reasons.includes('RevisionCreated'), reasons.join());
    assert.ok(reasons.includes('InferenceServiceReady'), reasons.join());
  });

  it('predicts through the HTTPS ingress by Host header (V1 and V2), TLS verified with the lab CA', async () => {
    const flat = digits.map((d) => Array.from(d.pixels));
    const v1 = await call('mnist.default.lab.mlv.io', '/v1/models/mnist:predict', { instances: flat });
    assert.equal(v1.status, 200);
    assert.equal(v1.body?.predictions.length, digits.length);
    assert.ok(v1.body?.predictions.every((p) => p.length === 10));
    const v2 = await call('mnist-predictor.default.lab.mlv.io', '/v2/models/mnist/infer', {
      inputs: [{ name: 'input', shape: [digits.length, 1, 28, 28], datatype: 'FP32', data: flat.flat() }],
    });
    assert.equal(v2.status, 200);
    assert.deepEqual(v2.body?.outputs[0].shape, [digits.length, 10]);
    const meta = await call('mnist.default.lab.mlv.io', '/v2/models/mnist');
    assert.deepEqual(meta.body?.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 1, 28, 28] }]);
    assert.equal((await call('nothing.default.lab.mlv.io', '/v1/models/x')).status, 404);
    // single-request latency through the router (warm)
    const one = { instances: [flat[0]] };
    const times: number[] = [];
    for (let i = 0; i < 50; i++) times.push((await call('mnist.default.lab.mlv.io', '/v1/models/mnist:predict', one)).ms);
    times.sort((a, b) => a - b);
    process.stderr.write(`# router single-request latency: p50 ${times[25]!.toFixed(2)} ms, p90 ${times[45]!.toFixed(2)} ms\n`);
    assert.ok(times[25]! < 20, `p50 ${times[25]} ms`);
  });

  it('scales up under concurrent load and back down after the scale-down delay', async () => {
    const body = { instances: [Array.from(digits[0]!.pixels)] };
    let stop = false;
    let ok = 0;
    let errors = 0;
    const byPod = new Map<string, number>();
    const worker = async () => {
      while (!stop) {
        const r = await call('mnist.default.lab.mlv.io', '/v1/models/mnist:predict', body).catch(() => undefined);
        if (r?.status === 200) {
          ok++;
          byPod.set(r.pod!, (byPod.get(r.pod!) ?? 0) + 1);
        } else errors++;
      }
    };
    const t0 = Date.now();
    const workers = Array.from({ length: 12 }, worker);
    const scaled = await waitFor(
      'scale-up to 2+ ready replicas',
      async () => {
        const o = await getIsvc('mnist');
        return Number(o.status?.annotations?.['lab.mlv.io/ready-replicas']) >= 2 && o;
      },
      20_000,
      200,
    );
    const upMs = Date.now() - t0;
    await sleep(1500); // let traffic spread over the new replicas
    stop = true;
    await Promise.all(workers);
    const loadEnd = Date.now();
    const rps = ok / ((loadEnd - t0) / 1000);
    process.stderr.write(`# scale-up after ${upMs} ms; ${ok} ok / ${errors} errors, ${rps.toFixed(0)} req/s, per pod ${JSON.stringify([...byPod])}\n`);
    assert.equal(errors, 0);
    assert.ok(Number(scaled.status.annotations['lab.mlv.io/replicas']) >= 2);
    assert.ok(byPod.size >= 2, 'traffic reached more than one replica');
    assert.ok((await pods('mnist')).length >= 2);
    const up = (await events('mnist')).find((e) => e.reason === 'ScaledUp');
    assert.ok(up, 'ScaledUp event');
    assert.match(up.message ?? '', /from 1 to [23] replica/);

    const down = await waitFor(
      'scale-down to 1',
      async () => {
        const o = await getIsvc('mnist');
        return o.status?.annotations?.['lab.mlv.io/replicas'] === '1' && (await pods('mnist')).length === 1 && o;
      },
      20_000,
      200,
    );
    const downMs = Date.now() - loadEnd;
    process.stderr.write(`# scale-down ${downMs} ms after load stopped\n`);
    assert.ok(downMs >= 3000, `scaled down ${downMs} ms after load, before the 3 s delay`);
    assert.equal(cond(down, 'Ready')?.status, 'True');
    assert.ok((await events('mnist')).some((e) => e.reason === 'ScaledDown'));
    assert.equal(readdirSync(runDir).filter((f) => /^runtime-default-mnist-\d+\.pid$/.test(f)).length, 1, 'pid files of stopped replicas removed');
  });

  it("Knative's defaults (target 100 x 0.7): 10 concurrent requests keep 1 replica without scaleTarget; scaleTarget 2 scales", async (t) => {
    const name = 'kpa-defaults';
    t.after(async () => {
      await custom.deleteNamespacedCustomObject({ ...G, namespace: NS, name }).catch(() => {});
      await waitFor(`${name} pods gone`, async () => (await pods(name)).length === 0);
    });
    const model = { modelFormat: { name: 'onnx' }, runtime: 'lab-onnx-python', storageUri: `file://${modelDir}` };
    await custom.createNamespacedCustomObject({
      ...G,
      namespace: NS,
      body: isvc(name, { minReplicas: 1, maxReplicas: 3, scaleMetric: 'concurrency', model }, { 'autoscaling.knative.dev/window': '2s' }),
    });
    await waitFor(`${name} Ready`, async () => cond(await getIsvc(name), 'Ready')?.status === 'True');
    const body = { instances: [Array.from(digits[0]!.pixels)] };
    let stop = false;
    let ok = 0;
    const worker = async () => {
      while (!stop) if ((await call(`${name}.default.lab.mlv.io`, `/v1/models/${name}:predict`, body).catch(() => undefined))?.status === 200) ok++;
    };
    const workers = Array.from({ length: 10 }, worker);
    const seen = new Set<string>();
    for (const until = Date.now() + 6000; Date.now() < until; await sleep(250)) seen.add(String((await getIsvc(name)).status?.annotations?.['lab.mlv.io/replicas']));
    assert.ok(ok > 50, `${ok} requests answered in 6 s`);
    const o = await getIsvc(name);
    assert.equal(o.status.annotations['autoscaling.lab.mlv.io/target'], '100');
    assert.deepEqual([...seen], ['1'], `replicas seen during 6 s of 10 concurrent requests (${ok} ok)`);
    assert.ok(!(await events(name)).some((e) => e.reason === 'ScaledUp'), 'no ScaledUp event');
    // the same load with scaleTarget 2 (a new revision, as on Knative): ceil(~10 / 1.4) > 1
    await custom.patchNamespacedCustomObject({ ...G, namespace: NS, name, body: [{ op: 'add', path: '/spec/predictor/scaleTarget', value: 2 }] });
    await waitFor(`${name} 2+ ready replicas with scaleTarget 2`, async () => Number((await getIsvc(name)).status?.annotations?.['lab.mlv.io/ready-replicas']) >= 2, 20_000, 200);
    stop = true;
    await Promise.all(workers);
  });

  it('pvc:// storageUri and the older predictor.onnx form: protocol v2 on the Triton-like runtime, the model named after its directory', async () => {
    await custom.createNamespacedCustomObject({ ...G, namespace: NS, body: isvc('mnist-pvc', { onnx: { storageUri: 'pvc://models/repo' } }) });
    await waitFor('mnist-pvc Ready', async () => cond(await getIsvc('mnist-pvc'), 'Ready')?.status === 'True');
    const tensor = { name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32', data: Array.from(digits[1]!.pixels) };
    const r = await call('mnist-pvc.default.lab.mlv.io', '/v2/models/digits/infer', { inputs: [tensor] });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body!.outputs[0].shape, [1, 10]);
    assert.equal((await call('mnist-pvc.default.lab.mlv.io', '/v2/models/mnist-pvc/infer', { inputs: [tensor] })).status, 400, 'Triton knows no model named after the InferenceService');
    assert.equal((await call('mnist-pvc.default.lab.mlv.io', '/v1/models/digits:predict', { instances: [tensor.data] })).status, 404, 'Triton has no V1');
    await custom.deleteNamespacedCustomObject({ ...G, namespace: NS, name: 'mnist-pvc' });
  });

  it('onnx with protocol v1 (the default) gives NoSupportingRuntime within 10 s, as on a stock KServe', async (t) => {
    t.after(() => custom.deleteNamespacedCustomObject({ ...G, namespace: NS, name: 'onnx-v1' }).catch(() => {}));
    const t0 = Date.now();
    await custom.createNamespacedCustomObject({ ...G, namespace: NS, body: isvc('onnx-v1', { model: { modelFormat: { name: 'onnx' }, protocolVersion: 'v1', storageUri: `file://${modelDir}` } }) });
    const o = await waitFor(
      'onnx-v1 NoSupportingRuntime',
      async () => {
        const x = await getIsvc('onnx-v1');
        return x.status?.modelStatus?.lastFailureInfo?.reason === 'NoSupportingRuntime' && x;
      },
      10_000,
    );
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(o.status.modelStatus.transitionStatus, 'InvalidSpec');
    // KServe stops before the predictor: a new service keeps InitializeConditions' Unknown
    assert.equal(cond(o, 'Ready')?.status, 'Unknown');
    assert.equal((await pods('onnx-v1')).length, 0);
  });

  it("a bad storageUri gives lastFailureInfo ModelLoadFailed with the storage-initializer's log line in the failure text", async (t) => {
    t.after(() => custom.deleteNamespacedCustomObject({ ...G, namespace: NS, name: 'bad-uri' }).catch(() => {}));
    await custom.createNamespacedCustomObject({
      ...G,
      namespace: NS,
      body: isvc('bad-uri', { model: { modelFormat: { name: 'onnx' }, runtime: 'lab-onnx-python', storageUri: 'pvc://models/no-such-model' } }),
    });
    const kube = await KubeClient.create({ kubeconfig: api.kubeconfigPath });
    const e = await kube.waitReady('bad-uri', NS, 60_000, undefined, { blockedGraceMs: 1000 }).then(
      () => assert.fail('became Ready'),
      (x: unknown) => x,
    );
    assert.ok(e instanceof IsvcNotReadyError, String(e));
    assert.match(e.headline, /^InferenceService default\/bad-uri cannot become Ready: transitionStatus BlockedByFailedLoad, lastFailureInfo ModelLoadFailed: .*pvc:\/\/models\/no-such-model/);
    // the pod's storage-initializer failed, and its log (read by container name) ends with the error
    assert.match(e.details, /init storage-initializer: terminated \(Error, exit code 1: .*RuntimeError: storageUri pvc:\/\/models\/no-such-model/);
    assert.match(
      e.details,
      /log tail of bad-uri-predictor-\d+-deployment-storage\/storage-initializer \(init container\):\n(.*\n)*.*Copying contents of pvc:\/\/models\/no-such-model to local\n(.*\n)* {2}RuntimeError: storageUri pvc:\/\/models\/no-such-model: .* does not exist/,
    );
    assert.doesNotMatch(e.details, /container name must be specified/);
  });

  it('a named runtime that does not exist is RuntimeNotRecognized until it is created, then the model loads on it', async (t) => {
    const CSR = { group: 'serving.kserve.io', version: 'v1alpha1', plural: 'clusterservingruntimes' };
    t.after(async () => {
      await custom.deleteNamespacedCustomObject({ ...G, namespace: NS, name: 'late' }).catch(() => {});
      await custom.deleteClusterCustomObject({ ...CSR, name: 'lab-late' }).catch(() => {});
    });
    await custom.createNamespacedCustomObject({ ...G, namespace: NS, body: isvc('late', { model: { modelFormat: { name: 'onnx' }, runtime: 'lab-late', storageUri: `file://${modelDir}` } }) });
    await waitFor('late RuntimeNotRecognized', async () => (await getIsvc('late')).status?.modelStatus?.lastFailureInfo?.reason === 'RuntimeNotRecognized', 10_000);
    const spec = {
      supportedModelFormats: [{ name: 'onnx', version: '1', autoSelect: false }],
      protocolVersions: ['v1', 'v2'],
      containers: [{ name: 'kserve-container', image: 'lab.mlv.io/x:local' }],
    };
    await custom.createClusterCustomObject({ ...CSR, body: { apiVersion: 'serving.kserve.io/v1alpha1', kind: 'ClusterServingRuntime', metadata: { name: 'lab-late' }, spec } });
    await waitFor('late Ready', async () => cond(await getIsvc('late'), 'Ready')?.status === 'True');
    assert.equal((await call('late.default.lab.mlv.io', '/v1/models/late')).status, 200, 'no lab.mlv.io/runtime annotation, no tritonserver type: a KServe Python-like server');
  });

  it('reports failures: missing storageUri path, corrupt model, no runtime for sklearn', async (t) => {
    const create = (name: string, predictor: Record<string, unknown>) => custom.createNamespacedCustomObject({ ...G, namespace: NS, body: isvc(name, predictor) });
    t.after(async () => {
      for (const n of ['missing', 'corrupt', 'sk']) await custom.deleteNamespacedCustomObject({ ...G, namespace: NS, name: n }).catch(() => {});
    });
    await create('missing', { model: { modelFormat: { name: 'onnx' }, runtime: 'lab-onnx-python', storageUri: 'file:///nonexistent/lab/model' } });
    await create('corrupt', { model: { modelFormat: { name: 'onnx' }, runtime: 'lab-onnx-python', storageUri: `file://${join(tmp, 'models', 'corrupt')}` } });
    await create('sk', { model: { modelFormat: { name: 'sklearn' }, storageUri: `file://${modelDir}` } });

    // KServe: ModelLoadFailed only in lastFailureInfo; Knative keeps waiting for the revision (Unknown)
    const missing = await waitFor('missing BlockedByFailedLoad', async () => {
      const o = await getIsvc('missing');
      return o.status?.modelStatus?.transitionStatus === 'BlockedByFailedLoad' && o;
    });
    assert.notEqual(cond(missing, 'Ready')!.status, 'True');
    assert.equal(missing.status.modelStatus.lastFailureInfo.reason, 'ModelLoadFailed');
    assert.match(missing.status.modelStatus.lastFailureInfo.message ?? '', /file:\/\/\/nonexistent\/lab\/model/);
    assert.deepEqual(missing.status.modelStatus.states, { activeModelState: '', targetModelState: 'FailedToLoad' });
    assert.ok(!(missing.status.conditions ?? []).some((c) => c.reason === 'ModelLoadFailed'), 'ModelLoadFailed is no condition reason');

    const corrupt = await waitFor('corrupt FailedToLoad', async () => {
      const o = await getIsvc('corrupt');
      return o.status?.modelStatus?.states?.targetModelState === 'FailedToLoad' && o;
    });
    assert.equal(corrupt.status.modelStatus.states.activeModelState, '', 'a first revision never loaded');
    assert.equal(cond(corrupt, 'Ready')!.status, 'False');
    assert.equal(cond(corrupt, 'PredictorReady')!.reason, 'RevisionMissing');
    assert.equal(corrupt.status.modelStatus.lastFailureInfo.reason, 'ModelLoadFailed');
    assert.match(corrupt.status.modelStatus.lastFailureInfo.message ?? '', /Protobuf parsing failed|failed to load/);
    const [cpod] = await pods('corrupt');
    assert.ok(cpod);
    const cs = cpod.status.containerStatuses[0];
    assert.equal(cs.ready, false);
    const term = (cs.state.terminated ?? cs.lastState.terminated)!;
    assert.equal(term.exitCode, 1);
    assert.match(term.message, /FATAL: failed to load model corrupt/);
    assert.ok(cs.state.waiting?.reason === 'CrashLoopBackOff' || cs.state.running || cs.state.terminated);
    assert.equal((await call('corrupt.default.lab.mlv.io', '/v1/models/corrupt')).status, 503);

    const sk = await waitFor('sk InvalidSpec', async () => {
      const o = await getIsvc('sk');
      return o.status?.modelStatus?.transitionStatus === 'InvalidSpec' && o;
    });
    assert.equal(sk.status.modelStatus.lastFailureInfo.reason, 'NoSupportingRuntime');
    assert.equal(sk.status.modelStatus.transitionStatus, 'InvalidSpec');
    assert.equal((await pods('sk')).length, 0);
    const ev = (await events('sk')).find((e) => e.reason === 'NoSupportingRuntime');
    assert.equal(ev?.type, 'Warning');
  });

  it('rolls a new revision on spec change and stops the old one', async () => {
    const before = await pods('mnist');
    const oldPids = controller.pids();
    await custom.patchNamespacedCustomObject({ ...G, namespace: NS, name: 'mnist', body: [{ op: 'replace', path: '/spec/predictor/model/storageUri', value: 'pvc://models/mnist' }] });
    const rolled = await waitFor('revision 2 Ready', async () => {
      const o = await getIsvc('mnist');
      return o.status?.observedGeneration === 2 && o.status?.components?.predictor?.latestReadyRevision === 'mnist-predictor-00002' && cond(o, 'Ready')?.status === 'True' && o;
    });
    assert.equal(rolled.status.modelStatus.transitionStatus, 'UpToDate');
    await waitFor('old pod gone', async () => {
      const now = await pods('mnist');
      return now.length === 1 && now[0]!.metadata.name !== before[0]!.metadata.name && now[0]!.metadata.labels['serving.knative.dev/revision'] === 'mnist-predictor-00002';
    });
    await waitFor('old process gone', async () => oldPids.every((p) => !controller.pids().includes(p) || !alive(p)));
    assert.equal((await call('mnist.default.lab.mlv.io', '/v1/models/mnist')).status, 200);
  });

  it('delete stops the runtime processes, removes pods and the route', async () => {
    const pids = controller.pids();
    assert.ok(pids.length >= 1);
    await custom.deleteNamespacedCustomObject({ ...G, namespace: NS, name: 'mnist' });
    await waitFor('processes gone', async () => pids.every((p) => !alive(p)), 15_000);
    await waitFor('pods gone', async () => (await pods('mnist')).length === 0);
    assert.equal((await call('mnist.default.lab.mlv.io', '/v1/models/mnist')).status, 404);
    await waitFor('pid files removed', async () => readdirSync(runDir).filter((f) => f.endsWith('.pid')).length === 0);
    // The controller removes the staged model after every revision has stopped: wait for it, do not race it.
    await waitFor('staged model removed', async () => !existsSync(join(stateDir, 'models', NS, 'mnist')));
  });
});
