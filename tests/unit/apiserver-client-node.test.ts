// The lab API server (lab/cloud/apiserver) driven by @kubernetes/client-node 1.4, in-process on
// an ephemeral port with a throwaway state dir.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../lab/cloud/apiserver/server.ts';

const GROUP = 'serving.kserve.io';
const VERSION = 'v1beta1';
const PLURAL = 'inferenceservices';
const CRDS = new URL('../../lab/cloud/manifests/kserve-crds.yaml', import.meta.url);
const MERGE = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const JSON_PATCH = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);

// What these tests send and read back (client-node types custom objects as any).
type IsvcBody = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; finalizers?: string[] };
  spec: { predictor?: unknown; other?: unknown };
};
type Isvc = {
  kind: string;
  metadata: { name: string; uid: string; generation: number; resourceVersion: string; deletionTimestamp?: string };
  spec: { predictor: { minReplicas?: number; maxReplicas?: number; model: { modelFormat: { name: string } } }; ignored?: boolean };
  status: { url?: string; conditions: [{ type: string; status: string }] };
};
type IsvcList = { kind: string; apiVersion: string; metadata: { resourceVersion: string }; items: Isvc[] };
type Status = { kind: string; code: number; reason: string; message: string };
type Watched = { metadata: { name: string; resourceVersion: string; labels: Record<string, string> }; status: { phase?: string } };

let dir: string;
let srv: ApiServer;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let co: k8s.CustomObjectsApi;

/** Status body of a client-node ApiException (client-node 1.x keeps it as the raw JSON text). */
async function statusOf(p: Promise<unknown>): Promise<{ code: number; reason: string; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: number; body?: unknown };
    const body = (typeof err.body === 'string' ? JSON.parse(err.body) : err.body) as Status;
    assert.equal(body.kind, 'Status');
    assert.equal(body.code, err.code);
    return { code: err.code!, reason: body.reason, message: body.message };
  }
  assert.fail('expected the request to fail');
}

function isvc(name: string, namespace = 'default', labels: Record<string, string> = {}): IsvcBody {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'InferenceService',
    metadata: { name, namespace, labels },
    spec: { predictor: { minReplicas: 1, model: { modelFormat: { name: 'onnx' }, storageUri: 'file:///models/mnist' } } },
  };
}

const isvcArgs = (name: string, namespace = 'default') => ({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name });

interface Collected {
  events: { type: string; name: string; rv: string; obj: Watched }[];
  /** the watch's end: its error (client-node's, with the HTTP statusCode), or null */
  done: Promise<{ statusCode?: number } | null>;
  abort: () => void;
}

async function watchPath(path: string, params: Record<string, string | number | boolean | undefined>): Promise<Collected> {
  const events: Collected['events'] = [];
  let resolveDone!: (v: { statusCode?: number } | null) => void;
  const done = new Promise<{ statusCode?: number } | null>((r) => (resolveDone = r));
  const ctl = await new k8s.Watch(kc).watch(
    path,
    params,
    (type, obj: Watched) => events.push({ type, name: obj?.metadata?.name, rv: obj?.metadata?.resourceVersion, obj }),
    (err) => resolveDone(err ?? null),
  );
  return { events, done, abort: () => ctl.abort() };
}

async function until<T>(fn: () => T | undefined | false, what: string, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'apiserver-cn-'));
  srv = await startApiServer({ stateDir: dir, port: 0, watchHistorySize: 60, bookmarkIntervalMs: 150 });
  kc = new k8s.KubeConfig();
  kc.loadFromFile(srv.kubeconfigPath);
  core = kc.makeApiClient(k8s.CoreV1Api);
  co = kc.makeApiClient(k8s.CustomObjectsApi);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  // loadAllYaml deserializes into client-node's typed models; passing raw YAML objects to a typed
  // API would drop keys such as x-kubernetes-preserve-unknown-fields during serialization.
  for (const crd of k8s.loadAllYaml(readFileSync(CRDS, 'utf8')) as k8s.V1CustomResourceDefinition[]) {
    await ext.createCustomResourceDefinition({ body: crd });
  }
});

after(async () => {
  await srv?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kubeconfig and auth', () => {
  test('kubeconfig has cluster/context mlv-lab with CA data and a token', () => {
    assert.equal(kc.getCurrentContext(), 'mlv-lab');
    const cluster = kc.getCurrentCluster()!;
    assert.equal(cluster.name, 'mlv-lab');
    assert.equal(cluster.server, srv.url);
    assert.ok(cluster.caData);
    assert.equal(kc.getCurrentUser()!.token, srv.token);
  });

  test('a wrong token gets 401', async () => {
    const bad = new k8s.KubeConfig();
    bad.loadFromString(readFileSync(srv.kubeconfigPath, 'utf8').replace(srv.token, 'nope'));
    await assert.rejects(bad.makeApiClient(k8s.CoreV1Api).listNamespace(), (e: { code?: number }) => e.code === 401);
  });
});

describe('CoreV1Api', () => {
  test('seeded namespaces and the lab node', async () => {
    const nss = await core.listNamespace();
    assert.ok(nss.items.some((n) => n.metadata?.name === 'default' && n.status?.phase === 'Active'));
    const node = await core.readNode({ name: 'lab-cloud-node' });
    assert.deepEqual({ cpu: node.status?.allocatable?.cpu, memory: node.status?.allocatable?.memory, pods: node.status?.allocatable?.pods }, { cpu: '2', memory: '24Gi', pods: '110' });
    assert.equal(node.status?.allocatable?.['nvidia.com/gpu'], undefined);
    assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  });

  test('namespace CRUD with labels, merge patch and a label selector', async () => {
    const created = await core.createNamespace({ body: { metadata: { name: 'cn-a', labels: { tier: 'gold' } } } });
    assert.equal(created.status?.phase, 'Active');
    assert.match(created.metadata!.uid!, /^[0-9a-f-]{36}$/);
    assert.match(created.metadata!.resourceVersion!, /^\d+$/);
    await core.createNamespace({ body: { metadata: { name: 'cn-b', labels: { tier: 'silver' } } } });
    const gold = await core.listNamespace({ labelSelector: 'tier=gold' });
    assert.deepEqual(
      gold.items.map((n) => n.metadata?.name),
      ['cn-a'],
    );
    const some = await core.listNamespace({ labelSelector: 'tier in (gold,silver),tier!=silver' });
    assert.deepEqual(
      some.items.map((n) => n.metadata?.name),
      ['cn-a'],
    );
    const withTier = await core.listNamespace({ labelSelector: 'tier' });
    assert.equal(withTier.items.length, 2);
    const byName = await core.listNamespace({ fieldSelector: 'metadata.name=cn-b' });
    assert.deepEqual(
      byName.items.map((n) => n.metadata?.name),
      ['cn-b'],
    );
    const patched = await core.patchNamespace({ name: 'cn-b', body: { metadata: { labels: { tier: 'gold', extra: 'x' } } } }, MERGE);
    assert.deepEqual(patched.metadata?.labels, { tier: 'gold', extra: 'x' });
    assert.ok(Number(patched.metadata!.resourceVersion) > Number(created.metadata!.resourceVersion));
  });

  test('pods: create, read, list by label and field, update with resourceVersion, delete', async () => {
    const pod = await core.createNamespacedPod({
      namespace: 'cn-a',
      body: { metadata: { name: 'p1', labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'lab/x:1' }] } },
    });
    assert.equal(pod.status?.phase, 'Pending');
    assert.equal(pod.metadata?.namespace, 'cn-a');
    await core.createNamespacedPod({ namespace: 'cn-a', body: { metadata: { name: 'p2', labels: { app: 'db' } }, spec: { containers: [{ name: 'main', image: 'lab/y:1' }] } } });
    const web = await core.listNamespacedPod({ namespace: 'cn-a', labelSelector: 'app notin (db)' });
    assert.deepEqual(
      web.items.map((p) => p.metadata?.name),
      ['p1'],
    );
    const all = await core.listPodForAllNamespaces({ fieldSelector: 'metadata.namespace=cn-a' });
    assert.equal(all.items.length, 2);
    assert.equal(all.kind, 'PodList');

    const fresh = await core.readNamespacedPod({ name: 'p1', namespace: 'cn-a' });
    fresh.metadata!.labels = { app: 'web', v: '2' };
    const updated = await core.replaceNamespacedPod({ name: 'p1', namespace: 'cn-a', body: fresh });
    assert.equal(updated.metadata?.labels?.v, '2');

    // fresh now carries a stale resourceVersion
    const st = await statusOf(core.replaceNamespacedPod({ name: 'p1', namespace: 'cn-a', body: fresh }));
    assert.equal(st.code, 409);
    assert.equal(st.reason, 'Conflict');
    assert.match(st.message, /the object has been modified/);

    await core.deleteNamespacedPod({ name: 'p2', namespace: 'cn-a' });
    const gone = await statusOf(core.readNamespacedPod({ name: 'p2', namespace: 'cn-a' }));
    assert.deepEqual([gone.code, gone.reason, gone.message], [404, 'NotFound', 'pods "p2" not found']);
  });

  test('errors: 422 invalid name, 409 AlreadyExists, 404 missing namespace, 405', async () => {
    const inv = await statusOf(core.createNamespacedPod({ namespace: 'cn-a', body: { metadata: { name: 'Bad_Name' }, spec: { containers: [{ name: 'c', image: 'i' }] } } }));
    assert.equal(inv.code, 422);
    assert.equal(inv.reason, 'Invalid');
    assert.match(inv.message, /Pod "Bad_Name" is invalid: metadata.name: Invalid value/);
    const noName = await statusOf(core.createNamespace({ body: { metadata: {} } }));
    assert.equal(noName.code, 422);
    assert.match(noName.message, /name or generateName is required/);
    const dup = await statusOf(core.createNamespace({ body: { metadata: { name: 'cn-a' } } }));
    assert.deepEqual([dup.code, dup.reason], [409, 'AlreadyExists']);
    const nons = await statusOf(core.createNamespacedConfigMap({ namespace: 'nope', body: { metadata: { name: 'c' } } }));
    assert.deepEqual([nons.code, nons.reason, nons.message], [404, 'NotFound', 'namespaces "nope" not found']);
    const res = await fetchApi('POST', '/api/v1/pods', {});
    assert.equal(res.status, 405);
    assert.equal((await res.json()).reason, 'MethodNotAllowed');
  });

  test('generateName, secrets stringData, configmaps', async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: 'cn-a', body: { metadata: { generateName: 'cfg-' }, data: { a: '1' } } });
    assert.match(cm.metadata!.name!, /^cfg-[a-z0-9]{5}$/);
    const sec = await core.createNamespacedSecret({ namespace: 'cn-a', body: { metadata: { name: 's' }, stringData: { pw: 'hunter2' } } });
    assert.equal(sec.type, 'Opaque');
    assert.equal(Buffer.from(sec.data!.pw!, 'base64').toString(), 'hunter2');
    assert.equal(sec.stringData, undefined);
  });

  test('pod logs from the lab.mlv.io/log-path annotation, with tailLines and container', async () => {
    const log = join(dir, 'p.log');
    writeFileSync(log, 'one\ntwo\nthree\n');
    const side = join(dir, 'side.log');
    writeFileSync(side, 'side-1\n');
    await core.createNamespacedPod({
      namespace: 'cn-a',
      body: {
        metadata: { name: 'logger', annotations: { 'lab.mlv.io/log-path': log, 'lab.mlv.io/log-path.side': side } },
        spec: {
          containers: [
            { name: 'main', image: 'lab/x:1' },
            { name: 'side', image: 'lab/s:1' },
          ],
        },
      },
    });
    assert.equal(await core.readNamespacedPodLog({ name: 'logger', namespace: 'cn-a', container: 'main' }), 'one\ntwo\nthree\n');
    assert.equal(await core.readNamespacedPodLog({ name: 'logger', namespace: 'cn-a', container: 'main', tailLines: 2 }), 'two\nthree\n');
    assert.equal(await core.readNamespacedPodLog({ name: 'logger', namespace: 'cn-a', container: 'side' }), 'side-1\n');
    const noContainer = await statusOf(core.readNamespacedPodLog({ name: 'logger', namespace: 'cn-a' }));
    assert.equal(noContainer.code, 400);
    assert.match(noContainer.message, /a container name must be specified/);
    const badContainer = await statusOf(core.readNamespacedPodLog({ name: 'logger', namespace: 'cn-a', container: 'zzz' }));
    assert.equal(badContainer.code, 400);
    const missing = await statusOf(core.readNamespacedPodLog({ name: 'ghost', namespace: 'cn-a' }));
    assert.equal(missing.code, 404);
  });
});

describe('CustomObjectsApi on InferenceService', () => {
  test('CRD registration shows up in discovery', async () => {
    const res = await fetchApi('GET', `/apis/${GROUP}/${VERSION}`);
    const list = (await res.json()) as { resources: { name: string; shortNames?: string[]; namespaced: boolean }[] };
    const r = list.resources.find((x) => x.name === PLURAL);
    assert.ok(r);
    assert.deepEqual(r.shortNames, ['isvc']);
    assert.equal(r.namespaced, true);
    assert.ok(list.resources.some((x) => x.name === `${PLURAL}/status`));
  });

  test('create, get, list, merge patch (generation bump), JSON patch', async () => {
    const created: Isvc = await co.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, body: isvc('iris', 'default', { team: 'ml' }) });
    assert.equal(created.metadata.generation, 1);
    assert.equal(created.status, undefined);
    const got: Isvc = await co.getNamespacedCustomObject(isvcArgs('iris'));
    assert.equal(got.spec.predictor.model.modelFormat.name, 'onnx');
    const list: IsvcList = await co.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, labelSelector: 'team=ml' });
    assert.equal(list.kind, 'InferenceServiceList');
    assert.equal(list.apiVersion, `${GROUP}/${VERSION}`);
    assert.match(list.metadata.resourceVersion, /^\d+$/);
    assert.deepEqual(
      list.items.map((i) => i.metadata.name),
      ['iris'],
    );

    const patched: Isvc = await co.patchNamespacedCustomObject({ ...isvcArgs('iris'), body: { spec: { predictor: { maxReplicas: 3 } } } }, MERGE);
    assert.equal(patched.spec.predictor.maxReplicas, 3);
    assert.equal(patched.spec.predictor.minReplicas, 1);
    assert.equal(patched.metadata.generation, 2);
    const labelOnly: Isvc = await co.patchNamespacedCustomObject({ ...isvcArgs('iris'), body: { metadata: { labels: { x: 'y' } } } }, MERGE);
    assert.equal(labelOnly.metadata.generation, 2, 'metadata-only changes keep the generation');

    const jp: Isvc = await co.patchNamespacedCustomObject(
      {
        ...isvcArgs('iris'),
        body: [
          { op: 'test', path: '/spec/predictor/maxReplicas', value: 3 },
          { op: 'replace', path: '/spec/predictor/maxReplicas', value: 4 },
        ],
      },
      JSON_PATCH,
    );
    assert.equal(jp.spec.predictor.maxReplicas, 4);
    const failed = await statusOf(co.patchNamespacedCustomObject({ ...isvcArgs('iris'), body: [{ op: 'test', path: '/spec/predictor/maxReplicas', value: 99 }] }, JSON_PATCH));
    assert.equal(failed.code, 422);
  });

  test('schema validation: required spec.predictor, strict unknown fields', async () => {
    const body = isvc('nopred');
    delete body.spec.predictor;
    body.spec.other = {};
    const inv = await statusOf(co.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, body }));
    assert.equal(inv.code, 422);
    assert.match(inv.message, /InferenceService.serving.kserve.io "nopred" is invalid: .*spec.predictor: Required value/);
    const strict = await statusOf(
      co.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, body: { ...isvc('strict'), bogus: 1 }, fieldValidation: 'Strict' }),
    );
    assert.equal(strict.code, 400);
    assert.match(strict.message, /unknown field "bogus"/);
  });

  test('status subresource: replace/patch status change only status; main updates ignore status', async () => {
    const cur: Isvc = await co.getNamespacedCustomObject(isvcArgs('iris'));
    const withStatus = { ...cur, spec: { ...cur.spec, ignored: true }, status: { url: 'https://iris.default.lab.mlv.io', conditions: [{ type: 'Ready', status: 'False' }] } };
    const st: Isvc = await co.replaceNamespacedCustomObjectStatus({ ...isvcArgs('iris'), body: withStatus });
    assert.equal(st.status.url, 'https://iris.default.lab.mlv.io');
    assert.equal(st.spec.ignored, undefined, 'status update must not change spec');
    assert.equal(st.metadata.generation, cur.metadata.generation, 'status update keeps the generation');

    const st2: Isvc = await co.patchNamespacedCustomObjectStatus(
      { ...isvcArgs('iris'), body: { status: { conditions: [{ type: 'Ready', status: 'True' }], observedGeneration: cur.metadata.generation } } },
      MERGE,
    );
    assert.equal(st2.status.conditions[0].status, 'True');
    assert.equal(st2.status.url, 'https://iris.default.lab.mlv.io');

    const main: Isvc = await co.patchNamespacedCustomObject({ ...isvcArgs('iris'), body: { status: { url: 'http://hijack' } } }, MERGE);
    assert.equal(main.status.url, 'https://iris.default.lab.mlv.io', 'main resource updates ignore status');
    const statusGet: Isvc = await co.getNamespacedCustomObjectStatus(isvcArgs('iris'));
    assert.equal(statusGet.status.conditions[0].type, 'Ready');
  });

  test('replace with a stale resourceVersion is a 409 Conflict', async () => {
    const cur: Isvc = await co.getNamespacedCustomObject(isvcArgs('iris'));
    await co.patchNamespacedCustomObject({ ...isvcArgs('iris'), body: { metadata: { annotations: { bump: '1' } } } }, MERGE);
    const st = await statusOf(co.replaceNamespacedCustomObject({ ...isvcArgs('iris'), body: cur }));
    assert.deepEqual([st.code, st.reason], [409, 'Conflict']);
  });

  test('404 shapes for custom objects and missing CRD plurals', async () => {
    const st = await statusOf(co.getNamespacedCustomObject(isvcArgs('ghost')));
    assert.deepEqual([st.code, st.reason, st.message], [404, 'NotFound', 'inferenceservices.serving.kserve.io "ghost" not found']);
    const nores = await statusOf(co.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: 'nothings' }));
    assert.deepEqual([nores.code, nores.reason], [404, 'NotFound']);
  });

  test('finalizers delay deletion; owner references are garbage-collected', async () => {
    const owner: Isvc = await co.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: PLURAL,
      body: { ...isvc('owner'), metadata: { name: 'owner', finalizers: ['lab.mlv.io/cleanup'] } },
    });
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'owned', ownerReferences: [{ apiVersion: `${GROUP}/${VERSION}`, kind: 'InferenceService', name: 'owner', uid: owner.metadata.uid, controller: true }] },
        spec: { containers: [{ name: 'c', image: 'i' }] },
      },
    });
    const del: Isvc = await co.deleteNamespacedCustomObject(isvcArgs('owner'));
    assert.ok(del.metadata.deletionTimestamp, 'deletion with a finalizer sets deletionTimestamp');
    assert.ok(await co.getNamespacedCustomObject(isvcArgs('owner')));
    await co.patchNamespacedCustomObject({ ...isvcArgs('owner'), body: { metadata: { finalizers: null } } }, MERGE);
    const gone = await statusOf(co.getNamespacedCustomObject(isvcArgs('owner')));
    assert.equal(gone.code, 404, 'removing the last finalizer completes the deletion');
    for (let i = 0; i < 50; i++) {
      const pods = await core.listNamespacedPod({ namespace: 'default', fieldSelector: 'metadata.name=owned' });
      if (pods.items.length === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail('owned pod was not garbage-collected');
  });
});

describe('watch', () => {
  test('resume from a resourceVersion delivers only later events, in order', async () => {
    await co.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, body: isvc('w-before') });
    const list: IsvcList = await co.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL });
    const rv = list.metadata.resourceVersion;
    await co.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, body: isvc('w-after') });
    await co.patchNamespacedCustomObject({ ...isvcArgs('w-after'), body: { metadata: { labels: { a: 'b' } } } }, MERGE);
    await co.deleteNamespacedCustomObject(isvcArgs('w-before'));

    const w = await watchPath(`/apis/${GROUP}/${VERSION}/namespaces/default/${PLURAL}`, { resourceVersion: rv });
    await until(() => w.events.length >= 3, 'replayed events');
    assert.deepEqual(
      w.events.map((e) => [e.type, e.name]),
      [
        ['ADDED', 'w-after'],
        ['MODIFIED', 'w-after'],
        ['DELETED', 'w-before'],
      ],
    );
    assert.ok(w.events.every((e) => Number(e.rv) > Number(rv)));
    // live events continue on the same stream
    await co.patchNamespacedCustomObject({ ...isvcArgs('w-after'), body: { metadata: { labels: { a: 'c' } } } }, MERGE);
    await until(() => w.events.length >= 4, 'live event');
    assert.deepEqual([w.events[3]!.type, w.events[3]!.obj.metadata.labels.a], ['MODIFIED', 'c']);
    w.abort();
  });

  test('all-namespaces watch with a label selector sees selector transitions', async () => {
    await core.createNamespace({ body: { metadata: { name: 'cn-w' } } });
    const w = await watchPath(`/apis/${GROUP}/${VERSION}/${PLURAL}`, { labelSelector: 'stage=live', allowWatchBookmarks: false });
    await co.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'cn-w', plural: PLURAL, body: isvc('sel', 'cn-w', { stage: 'draft' }) });
    await co.patchNamespacedCustomObject({ ...isvcArgs('sel', 'cn-w'), body: { metadata: { labels: { stage: 'live' } } } }, MERGE);
    await co.patchNamespacedCustomObject({ ...isvcArgs('sel', 'cn-w'), body: { metadata: { labels: { stage: 'old' } } } }, MERGE);
    await until(() => w.events.length >= 2, 'selector events');
    assert.deepEqual(
      w.events.map((e) => e.type),
      ['ADDED', 'DELETED'],
    );
    w.abort();
  });

  test('too old resourceVersion is 410 Gone', async () => {
    // push the history window (60 events) past resourceVersion 1
    for (let i = 0; i < 35; i++) {
      await core.patchNamespace({ name: 'cn-b', body: { metadata: { annotations: { n: String(i) } } } }, MERGE);
      await core.patchNamespace({ name: 'cn-b', body: { metadata: { annotations: { n: `x${i}` } } } }, MERGE);
    }
    const w = await watchPath('/api/v1/namespaces', { resourceVersion: '1' });
    const err = await w.done;
    assert.equal(err?.statusCode, 410);
    const res = await fetchApi('GET', '/api/v1/namespaces?watch=true&resourceVersion=1');
    assert.equal(res.status, 410);
    const body = await res.json();
    assert.deepEqual([body.kind, body.code, body.reason], ['Status', 410, 'Expired']);
  });

  test('bookmarks and timeoutSeconds', async () => {
    const w = await watchPath('/api/v1/namespaces/default/pods', { allowWatchBookmarks: true, timeoutSeconds: 1 });
    await until(() => w.events.some((e) => e.type === 'BOOKMARK'), 'a bookmark');
    const bm = w.events.find((e) => e.type === 'BOOKMARK')!;
    assert.match(bm.rv, /^\d+$/);
    const err = await w.done; // the server ends the stream after timeoutSeconds
    assert.equal(err, null);
  });

  test('makeInformer lists, then follows add/update/delete', async () => {
    const path = `/apis/${GROUP}/${VERSION}/namespaces/cn-w/${PLURAL}`;
    type Informed = k8s.KubernetesObject & { status?: { url?: string } };
    const list = (): Promise<k8s.KubernetesListObject<Informed>> => co.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'cn-w', plural: PLURAL });
    const informer = k8s.makeInformer<Informed>(kc, path, list);
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add:${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update:${o.metadata?.name}`));
    informer.on('delete', (o) => seen.push(`delete:${o.metadata?.name}`));
    await informer.start();
    await until(() => seen.includes('add:sel'), 'initial list');
    await co.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'cn-w', plural: PLURAL, body: isvc('inf', 'cn-w') });
    await until(() => seen.includes('add:inf'), 'add');
    await co.patchNamespacedCustomObjectStatus({ ...isvcArgs('inf', 'cn-w'), body: { status: { url: 'x' } } }, MERGE);
    await until(() => seen.includes('update:inf'), 'update');
    assert.equal(informer.get('inf', 'cn-w')?.status?.url, 'x');
    await co.deleteNamespacedCustomObject(isvcArgs('inf', 'cn-w'));
    await until(() => seen.includes('delete:inf'), 'delete');
    await informer.stop();
  });
});

describe('namespace deletion', () => {
  test('cascades to every namespaced object, passing through Terminating', async () => {
    const w = await watchPath('/api/v1/namespaces', { fieldSelector: 'metadata.name=cn-w' });
    const del = await core.deleteNamespace({ name: 'cn-w' });
    assert.equal((del as k8s.V1Namespace).status?.phase, 'Terminating'); // the server returns the Namespace, not a Status
    await until(() => w.events.some((e) => e.type === 'DELETED'), 'namespace DELETED');
    assert.ok(w.events.some((e) => e.type === 'MODIFIED' && e.obj.status.phase === 'Terminating'));
    w.abort();
    const st = await statusOf(core.readNamespace({ name: 'cn-w' }));
    assert.equal(st.code, 404);
    const left: IsvcList = await co.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, fieldSelector: 'metadata.namespace=cn-w' });
    assert.equal(left.items.length, 0);
    const sas = await core.listServiceAccountForAllNamespaces({ fieldSelector: 'metadata.namespace=cn-w' });
    assert.equal(sas.items.length, 0);
    const protectedNs = await statusOf(core.deleteNamespace({ name: 'default' }));
    assert.equal(protectedNs.code, 403);
  });
});

async function fetchApi(method: string, path: string, body?: unknown): Promise<Response> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(`${srv.url}${path}`, { method, ca: readFileSync(srv.caPath), headers: { Authorization: `Bearer ${srv.token}`, 'Content-Type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode })));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}
