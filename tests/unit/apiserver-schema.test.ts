// The lab API server holds InferenceServices and (Cluster)ServingRuntimes to the structural schema of
// lab/cloud/manifests/kserve-crds.yaml (written from KServe's CRDs at aaac4e294dae), as kube-apiserver
// does for a structural CRD: unknown fields pruned, defaults applied, invalid values 422 Invalid with a
// Status whose details.causes name the field, on the main resource and on the status subresource.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../lab/cloud/apiserver/server.ts';
import { buildInferenceService } from '../../helpers/isvc.ts';
import type { Json } from '../../lab/cloud/apiserver/json.ts';
import { validateSchema, type SchemaNode } from '../../lab/cloud/apiserver/schema.ts';

const CRDS = new URL('../../lab/cloud/manifests/kserve-crds.yaml', import.meta.url);
const RUNTIMES = new URL('../../lab/cloud/manifests/serving-runtimes.yaml', import.meta.url);
const ISVC = { group: 'serving.kserve.io', version: 'v1beta1', plural: 'inferenceservices', namespace: 'default' };
const CSR = { group: 'serving.kserve.io', version: 'v1alpha1', plural: 'clusterservingruntimes' };
const MERGE = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

type Cause = { reason: string; field: string; message: string };
type Status = { kind: string; code: number; reason: string; message: string; details: { name: string; group: string; kind: string; causes: Cause[] } };
type Obj = { metadata: { name: string }; spec: Record<string, unknown>; status?: Record<string, unknown> };

let dir: string;
let srv: ApiServer;
let co: k8s.CustomObjectsApi;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'apiserver-schema-'));
  srv = await startApiServer({ stateDir: dir, port: 0 });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(srv.kubeconfigPath);
  co = kc.makeApiClient(k8s.CustomObjectsApi);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const crd of k8s.loadAllYaml(readFileSync(CRDS, 'utf8')) as k8s.V1CustomResourceDefinition[]) await ext.createCustomResourceDefinition({ body: crd });
});

after(async () => {
  await srv?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The Status of a request that must fail. */
async function rejected(p: Promise<unknown>): Promise<Status> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: number; body?: unknown };
    const body = (typeof err.body === 'string' ? JSON.parse(err.body) : err.body) as Status;
    assert.equal(body.kind, 'Status');
    assert.equal(body.code, err.code);
    return body;
  }
  assert.fail('expected the request to fail');
}

const predictor = (extra: Record<string, unknown> = {}, model: Record<string, unknown> = {}) => ({
  minReplicas: 1,
  model: { modelFormat: { name: 'onnx' }, storageUri: 'file:///models/mnist', ...model },
  ...extra,
});
const isvc = (name: string, pred: Record<string, unknown>) => ({
  apiVersion: 'serving.kserve.io/v1beta1',
  kind: 'InferenceService',
  metadata: { name, namespace: 'default' },
  spec: { predictor: pred },
});
const create = (body: unknown): Promise<Obj> => co.createNamespacedCustomObject({ ...ISVC, body });

/** A create that must be 422 Invalid with exactly these causes. */
async function invalidWith(name: string, pred: Record<string, unknown>, causes: Cause[]): Promise<Status> {
  const s = await rejected(create(isvc(name, pred)));
  assert.equal(s.code, 422);
  assert.equal(s.reason, 'Invalid');
  assert.deepEqual(s.details.causes, causes);
  assert.equal(s.details.kind, 'InferenceService');
  assert.equal(s.details.group, 'serving.kserve.io');
  return s;
}

describe('InferenceService spec', () => {
  test('what the suite sends is accepted as sent (model form, custom container, scaling, placement)', async () => {
    const model = buildInferenceService({
      name: 'suite-model',
      namespace: 'default',
      model: { format: 'onnx', formatVersion: '1', protocolVersion: 'v2', runtime: 'kserve-tritonserver', storageUri: 'pvc://models/repo', args: ['--strict'] },
      minReplicas: 1,
      maxReplicas: 3,
      scaleMetric: 'concurrency',
      scaleTarget: 5,
      resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: 2, memory: '4Gi', 'nvidia.com/gpu': 1 } },
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      serviceAccountName: 'models',
      deploymentMode: 'Serverless',
    });
    const stored = await create(model);
    assert.deepEqual(stored.spec, model.spec);
    const custom = buildInferenceService({ name: 'suite-container', namespace: 'default', container: { image: 'example.com/server:1', args: ['--port', '8080'], port: 8080 } });
    assert.deepEqual((await create(custom)).spec, custom.spec);
  });

  test('unknown fields are pruned at every level; known ones kept, defaults applied', async () => {
    const body = isvc('pruned', {
      ...predictor({ notAField: 1, containers: [{ name: 'kserve-container', image: 'x', ports: [{ containerPort: 8080 }], bogus: true }] }, { alsoNot: 'x' }),
    });
    Object.assign(body.spec, { typo: { a: 1 } });
    const stored = await create(body);
    assert.deepEqual(Object.keys(stored.spec), ['predictor']);
    const p = stored.spec.predictor as Record<string, unknown> & { model: Record<string, unknown>; containers: Record<string, unknown>[] };
    assert.equal(p.notAField, undefined);
    assert.equal(p.model.alsoNot, undefined);
    assert.deepEqual(p.containers, [{ name: 'kserve-container', image: 'x', ports: [{ containerPort: 8080, protocol: 'TCP' }] }]);
    assert.equal(p.minReplicas, 1);
  });

  test('a scaleMetric outside the enum is 422 with the field path', async () => {
    const s = await invalidWith('bad-metric', predictor({ scaleMetric: 'gpu' }), [
      { reason: 'FieldValueNotSupported', field: 'spec.predictor.scaleMetric', message: 'Unsupported value: "gpu": supported values: "cpu", "memory", "concurrency", "rps"' },
    ]);
    assert.equal(
      s.message,
      'InferenceService.serving.kserve.io "bad-metric" is invalid: spec.predictor.scaleMetric: Unsupported value: "gpu": supported values: "cpu", "memory", "concurrency", "rps"',
    );
  });

  test('wrong types are 422: protocolVersion a number, replicas a string, scaleTarget a float', async () => {
    await invalidWith('bad-proto', predictor({}, { protocolVersion: 2 }), [
      {
        reason: 'FieldValueTypeInvalid',
        field: 'spec.predictor.model.protocolVersion',
        message: 'Invalid value: "integer": spec.predictor.model.protocolVersion in body must be of type string: "integer"',
      },
    ]);
    await invalidWith('bad-types', predictor({ minReplicas: 'one', scaleTarget: 1.5 }), [
      { reason: 'FieldValueTypeInvalid', field: 'spec.predictor.minReplicas', message: 'Invalid value: "string": spec.predictor.minReplicas in body must be of type integer: "string"' },
      { reason: 'FieldValueTypeInvalid', field: 'spec.predictor.scaleTarget', message: 'Invalid value: "number": spec.predictor.scaleTarget in body must be of type integer: "number"' },
    ]);
  });

  test('a protocolVersion string outside v1/v2 passes the schema, as in the real CRD (KServe answers NoSupportingRuntime)', async () => {
    const stored = await create(isvc('proto-v3', predictor({}, { protocolVersion: 'v3' })));
    assert.equal((stored.spec.predictor as { model: { protocolVersion: string } }).model.protocolVersion, 'v3');
  });

  test('quantities: pattern for strings, int-or-string for the rest; required, name pattern, list-map duplicates', async () => {
    const q = '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';
    await invalidWith('bad-quantity', predictor({}, { resources: { limits: { cpu: 'lots', memory: true } } }), [
      { reason: 'FieldValueInvalid', field: 'spec.predictor.model.resources.limits.cpu', message: `Invalid value: "lots": spec.predictor.model.resources.limits.cpu in body should match '${q}'` },
      {
        reason: 'FieldValueTypeInvalid',
        field: 'spec.predictor.model.resources.limits.memory',
        message: 'Invalid value: "boolean": spec.predictor.model.resources.limits.memory in body must be of type integer,string: "boolean"',
      },
      {
        reason: 'FieldValueInvalid',
        field: 'spec.predictor.model.resources.limits.memory',
        message: 'Invalid value: "": "spec.predictor.model.resources.limits.memory" must validate at least one schema (anyOf)',
      },
    ]);
    await invalidWith('no-format', { model: { modelFormat: {}, storageUri: 's3://b/m' }, name: 'Bad_Name' }, [
      { reason: 'FieldValueRequired', field: 'spec.predictor.model.modelFormat.name', message: 'Required value' },
      { reason: 'FieldValueInvalid', field: 'spec.predictor.name', message: `Invalid value: "Bad_Name": spec.predictor.name in body should match '^[a-z]([-a-z0-9]*[a-z0-9])?$'` },
    ]);
    // the second port's protocol defaults to TCP before the list-map keys are compared
    await invalidWith('dup-port', predictor({}, { ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 80 }] }), [
      { reason: 'FieldValueDuplicate', field: 'spec.predictor.model.ports[1]', message: 'Duplicate value: {"containerPort":80,"protocol":"TCP"}' },
    ]);
    await invalidWith(
      'dup-env',
      predictor(
        {},
        {
          env: [
            { name: 'A', value: '1' },
            { name: 'A', value: '2' },
          ],
        },
      ),
      [{ reason: 'FieldValueDuplicate', field: 'spec.predictor.model.env[1]', message: 'Duplicate value: {"name":"A"}' }],
    );
    const noPredictor = await rejected(create({ apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name: 'empty' }, spec: {} }));
    assert.deepEqual(noPredictor.details.causes, [{ reason: 'FieldValueRequired', field: 'spec.predictor', message: 'Required value' }]);
  });
});

describe('InferenceService status subresource', () => {
  const patchStatus = (name: string, status: unknown): Promise<Obj> => co.patchNamespacedCustomObjectStatus({ ...ISVC, name, body: { status } }, MERGE);

  test('KServe-shaped status is accepted and defaulted; unknown modelStatus fields pruned, unknown top-level ones kept', async () => {
    await create(isvc('st-ok', predictor()));
    const out = await patchStatus('st-ok', {
      conditions: [{ type: 'Ready', status: 'Unknown', lastTransitionTime: '2025-01-01T00:00:00Z' }],
      modelStatus: {
        transitionStatus: 'InvalidSpec',
        states: { activeModelState: '' },
        copies: {},
        lastFailureInfo: { reason: 'NoSupportingRuntime', message: 'm', time: '2025-01-01T00:00:00Z' },
        labOnly: 1,
      },
      deploymentMode: 'Serverless',
      somethingNew: { kept: true },
    });
    const ms = out.status!.modelStatus as Record<string, unknown>;
    assert.deepEqual(ms.states, { activeModelState: '', targetModelState: '' });
    assert.deepEqual(ms.copies, { failedCopies: 0 });
    assert.equal(ms.labOnly, undefined);
    assert.deepEqual(out.status!.somethingNew, { kept: true });
    assert.equal(out.status!.deploymentMode, 'Serverless');
  });

  test("a lastFailureInfo.reason outside KServe's FailureReason enum is 422 on a status update; nothing is stored", async () => {
    for (const reason of ['UnsupportedModelFormat', 'InvalidStorageUri', 'OOMKilled']) {
      const s = await rejected(patchStatus('st-ok', { modelStatus: { transitionStatus: 'BlockedByFailedLoad', lastFailureInfo: { reason } } }));
      assert.equal(s.code, 422);
      assert.deepEqual(s.details.causes, [
        {
          reason: 'FieldValueNotSupported',
          field: 'status.modelStatus.lastFailureInfo.reason',
          message: `Unsupported value: "${reason}": supported values: "ModelLoadFailed", "RuntimeUnhealthy", "RuntimeDisabled", "NoSupportingRuntime", "RuntimeNotRecognized", "InvalidPredictorSpec"`,
        },
      ]);
    }
    const now = await co.getNamespacedCustomObject({ ...ISVC, name: 'st-ok' });
    assert.equal((now as Obj).status!.deploymentMode, 'Serverless');
    assert.equal(((now as Obj).status!.modelStatus as { lastFailureInfo: { reason: string } }).lastFailureInfo.reason, 'NoSupportingRuntime');
  });

  test('other status values the real schema rejects: states and transitionStatus enums, date-time, a condition without a type', async () => {
    const s = await rejected(
      patchStatus('st-ok', {
        conditions: [{ status: 'True' }],
        modelStatus: { transitionStatus: 'Broken', states: { activeModelState: 'Ready' }, lastFailureInfo: { time: 'yesterday' } },
      }),
    );
    assert.equal(s.code, 422);
    assert.deepEqual(
      s.details.causes.map((c) => `${c.reason} ${c.field}`).sort(),
      [
        'FieldValueRequired status.conditions[0].type',
        'FieldValueTypeInvalid status.modelStatus.lastFailureInfo.time',
        'FieldValueNotSupported status.modelStatus.states.activeModelState',
        'FieldValueNotSupported status.modelStatus.transitionStatus',
      ].sort(),
    );
  });
});

describe('ClusterServingRuntime', () => {
  test("the lab's runtimes (manifests/serving-runtimes.yaml) are accepted unchanged; status is pruned", async () => {
    for (const rt of k8s.loadAllYaml(readFileSync(RUNTIMES, 'utf8')) as Obj[]) {
      const stored = (await co.createClusterCustomObject({ ...CSR, body: { ...rt, status: { x: 1 } } })) as Obj;
      assert.deepEqual(stored.spec, rt.spec, rt.metadata.name);
      assert.deepEqual(stored.status, {});
    }
  });

  test('priority below 1, a format without a name, a missing containers list are 422', async () => {
    const body = {
      apiVersion: 'serving.kserve.io/v1alpha1',
      kind: 'ClusterServingRuntime',
      metadata: { name: 'bad-rt' },
      spec: { supportedModelFormats: [{ priority: 0 }], protocolVersions: ['v2'] },
    };
    const s = await rejected(co.createClusterCustomObject({ ...CSR, body }));
    assert.equal(s.code, 422);
    assert.deepEqual(s.details.causes.map((c) => `${c.reason} ${c.field}`).sort(), [
      'FieldValueInvalid spec.supportedModelFormats[0].priority',
      'FieldValueRequired spec.containers',
      'FieldValueRequired spec.supportedModelFormats[0].name',
    ]);
  });
});

describe('validation ratcheting (Kubernetes 1.30+)', () => {
  const W = { group: 'lab.example.com', version: 'v1', plural: 'widgets', namespace: 'default' };
  const crd = (sizes?: string[]): k8s.V1CustomResourceDefinition => {
    const size: k8s.V1JSONSchemaProps = sizes ? { type: 'string', _enum: sizes } : { type: 'string' };
    const obj: k8s.V1JSONSchemaProps = { type: 'object', properties: { size, other: { type: 'string' } } };
    return {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.lab.example.com' },
      spec: {
        group: 'lab.example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [{ name: 'v1', served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: { type: 'object', properties: { spec: obj, status: obj } } } }],
      },
    };
  };

  test('a value made invalid by a CRD update does not block other changes; changing it to another invalid one is 422', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(srv.kubeconfigPath);
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({ body: crd() });
    await co.createNamespacedCustomObject({ ...W, body: { apiVersion: 'lab.example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 'huge' } } });
    await co.patchNamespacedCustomObjectStatus({ ...W, name: 'w', body: { status: { size: 'huge' } } }, MERGE);
    const cur = await ext.readCustomResourceDefinition({ name: 'widgets.lab.example.com' });
    await ext.replaceCustomResourceDefinition({ name: 'widgets.lab.example.com', body: { ...crd(['small', 'large']), metadata: cur.metadata } });
    const patch = (body: unknown) => co.patchNamespacedCustomObject({ ...W, name: 'w', body }, MERGE);
    const patchStatus = (body: unknown) => co.patchNamespacedCustomObjectStatus({ ...W, name: 'w', body }, MERGE);
    assert.equal(((await patch({ spec: { other: 'x' } })) as Obj).spec.size, 'huge');
    assert.equal(((await patchStatus({ status: { other: 'x' } })) as Obj).status!.size, 'huge');
    for (const s of [await rejected(patch({ spec: { size: 'tiny' } })), await rejected(patchStatus({ status: { size: 'tiny' } }))]) {
      assert.equal(s.code, 422);
      assert.match(s.details.causes[0]!.message, /^Unsupported value: "tiny": supported values: "small", "large"$/);
    }
    assert.equal(((await patch({ spec: { size: 'small' } })) as Obj).spec.size, 'small');
  });
});

describe('validateSchema rules the KServe CRDs use little or not at all', () => {
  const run = (value: Json, schema: SchemaNode) => {
    const res = { errors: [] as Cause[], unknown: [] as string[] };
    const out = validateSchema(value, schema, 'spec', res);
    return { out, errors: res.errors.map((e) => `${e.reason} ${e.field}: ${e.message}`), unknown: res.unknown };
  };

  test('nullable keeps a null; a non-nullable null is dropped, or defaulted when there is a default; a null list item is a type error', () => {
    const schema: SchemaNode = {
      type: 'object',
      properties: { a: { type: 'string', nullable: true }, b: { type: 'string' }, c: { type: 'string', default: 'd' }, l: { type: 'array', items: { type: 'string' } } },
    };
    const r = run({ a: null, b: null, c: null, l: ['x', null] }, schema);
    assert.deepEqual(r.out, { a: null, c: 'd', l: ['x', null] });
    assert.deepEqual(r.errors, ['FieldValueTypeInvalid spec.l[1]: Invalid value: "null": spec.l[1] in body must be of type string: "null"']);
  });

  test('x-kubernetes-list-type set, maxItems, minLength/maxLength, maximum', () => {
    const schema: SchemaNode = {
      type: 'object',
      properties: {
        s: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set', maxItems: 2 },
        n: { type: 'string', minLength: 2, maxLength: 3 },
        m: { type: 'integer', maximum: 100 },
      },
    };
    assert.deepEqual(run({ s: ['a', 'b', 'a'], n: 'abcd', m: 101 }, schema).errors, [
      'FieldValueTooMany spec.s: Too many: 3: must have at most 2 items',
      'FieldValueDuplicate spec.s[2]: Duplicate value: "a"',
      'FieldValueTooLong spec.n: Too long: may not be more than 3 bytes',
      'FieldValueInvalid spec.m: Invalid value: 101: spec.m in body should be less than or equal to 100',
    ]);
    assert.deepEqual(run({ s: ['a'], n: 'a', m: 100 }, schema).errors, ['FieldValueInvalid spec.n: Invalid value: "a": spec.n in body should be at least 2 chars long']);
  });

  test('preserve-unknown-fields keeps unknown keys but still prunes inside listed properties', () => {
    const schema: SchemaNode = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { known: { type: 'object', properties: { x: { type: 'integer' } } } } };
    const r = run({ extra: { any: 1 }, known: { x: 1, y: 2 } }, schema);
    assert.deepEqual(r.out, { extra: { any: 1 }, known: { x: 1 } });
    assert.deepEqual(r.unknown, ['spec.known.y']);
  });
});

describe('CRD schemas must be structural', () => {
  test('a node without a type, an array without items, additionalProperties at the root are 422', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(srv.kubeconfigPath);
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    const openAPIV3Schema = {
      type: 'object',
      additionalProperties: { type: 'string' },
      properties: { spec: { type: 'object', properties: { size: { description: 'no type' }, list: { type: 'array' }, q: { x_kubernetes_int_or_string: true } } } },
    } as k8s.V1JSONSchemaProps;
    const body: k8s.V1CustomResourceDefinition = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.lab.example.com' },
      spec: { group: 'lab.example.com', scope: 'Namespaced', names: { plural: 'gadgets', kind: 'Gadget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema } }] },
    };
    const s = await rejected(ext.createCustomResourceDefinition({ body }));
    assert.equal(s.code, 422);
    const at = 'spec.versions[0].schema.openAPIV3Schema';
    assert.deepEqual(
      s.details.causes.map((c) => `${c.field}: ${c.message}`),
      [
        `${at}.properties[spec].properties[size].type: Required value: must not be empty for specified object fields`,
        `${at}.properties[spec].properties[list].items: Required value: must be specified`,
        `${at}.additionalProperties: Forbidden: must not be used at the root`,
        `${at}.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`,
      ],
    );
  });
});
