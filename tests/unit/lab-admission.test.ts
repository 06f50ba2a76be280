/**
 * The lab API server's admission code, called directly (no HTTP): decoding,
 * type checks (400), per-kind validation (422 Invalid through createObject),
 * field validation modes, and the defaults new objects get.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  allocateServiceIp,
  checkTypeMeta,
  decodeBody,
  fieldValidation,
  prepareForCreate,
  prepareForUpdate,
  qosClass,
  requireNamespaceForWrite,
  validateObject,
} from '../../lab/cloud/apiserver/admission.ts';
import { createApiContext, type ApiContext, type WriteCtx } from '../../lab/cloud/apiserver/context.ts';
import { ApiError } from '../../lab/cloud/apiserver/errors.ts';
import type { JsonObject } from '../../lab/cloud/apiserver/json.ts';
import type { CustomResourceDefinition, ResourceType } from '../../lab/cloud/apiserver/registry.ts';
import { createObject, updateObject } from '../../lab/cloud/apiserver/verbs.ts';

const newApi = (): ApiContext => createApiContext({ stateDir: '/nonexistent-lab-admission-test' }, 'token');
const type = (api: ApiContext, group: string, version: string, plural: string): ResourceType => {
  const t = api.registry.find(group, version, plural);
  assert.ok(t, `${group}/${version}/${plural} is registered`);
  return t;
};
const write = (validation = 'Warn'): WriteCtx => ({ dryRun: false, validation, warnings: [] });

/** The ApiError `fn` throws (fails when it does not throw one). */
function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${e}`);
    return e;
  }
  assert.fail('expected an ApiError');
}

/** A context with the default namespace, as a seeded server has. */
function withDefaultNamespace(): ApiContext {
  const api = newApi();
  createObject(api, api.nsType, undefined, { metadata: { name: 'default' } }, write());
  return api;
}

describe('decoding', () => {
  it('reads JSON and YAML bodies; malformed ones are 400 BadRequest', () => {
    const api = newApi();
    const pods = type(api, '', 'v1', 'pods');
    assert.deepEqual(decodeBody(pods, Buffer.from('{"metadata":{"name":"a"}}'), 'application/json; charset=utf-8'), { metadata: { name: 'a' } });
    assert.deepEqual(decodeBody(pods, Buffer.from('metadata:\n  name: b\n'), 'application/yaml'), { metadata: { name: 'b' } });
    const e = apiError(() => decodeBody(pods, Buffer.from('{not json'), 'application/json'));
    assert.equal(e.code, 400);
    assert.equal(e.reason, 'BadRequest');
    assert.match(e.message, /^Pod in version "v1" cannot be handled as a Pod: /);
  });

  it('checkTypeMeta fills apiVersion, kind and metadata, and rejects a wrong kind or apiVersion', () => {
    const api = newApi();
    const cms = type(api, '', 'v1', 'configmaps');
    const body: unknown = {};
    checkTypeMeta(api, cms, body);
    assert.deepEqual(body, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} });
    assert.match(apiError(() => checkTypeMeta(api, cms, { kind: 'Secret' })).message, /the kind in the data \("Secret"\) does not match the expected kind \("ConfigMap"\)/);
    assert.equal(apiError(() => checkTypeMeta(api, cms, { apiVersion: 'apps/v1' })).code, 400);
    assert.equal(apiError(() => checkTypeMeta(api, cms, [])).code, 400);
    assert.equal(apiError(() => checkTypeMeta(api, cms, { metadata: 'x' })).code, 400);
  });

  it('a ConfigMap whose data is not a map of strings is a 400 decoding error, as kube-apiserver reports it', () => {
    const api = newApi();
    const cms = type(api, '', 'v1', 'configmaps');
    const e = apiError(() => checkTypeMeta(api, cms, { data: { n: 5 } }));
    assert.equal(e.code, 400);
    assert.match(e.message, /cannot unmarshal number into Go struct field ConfigMap\.data of type string/);
    assert.match(apiError(() => checkTypeMeta(api, cms, { data: ['a'] })).message, /cannot unmarshal array into Go struct field ConfigMap\.data of type map\[string\]string/);
  });
});

describe('validation', () => {
  it('a Pod needs containers, each with a name and an image', () => {
    const api = newApi();
    const pods = type(api, '', 'v1', 'pods');
    assert.deepEqual(
      validateObject(pods, { metadata: { name: 'p' }, spec: {} }).map((c) => c.field),
      ['spec.containers'],
    );
    assert.deepEqual(
      validateObject(pods, { metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'x' }, {}] } }).map((c) => `${c.reason} ${c.field}`),
      ['FieldValueRequired spec.containers[1].name', 'FieldValueRequired spec.containers[1].image'],
    );
    assert.deepEqual(validateObject(pods, { metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'x' }] } }), []);
  });

  it('a Service needs a supported type and ports (unless headless or ExternalName)', () => {
    const api = newApi();
    const svcs = type(api, '', 'v1', 'services');
    const ok = { metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } };
    assert.deepEqual(validateObject(svcs, ok), []);
    assert.deepEqual(
      validateObject(svcs, { metadata: { name: 's' }, spec: {} }).map((c) => c.field),
      ['spec.ports'],
    );
    assert.deepEqual(validateObject(svcs, { metadata: { name: 's' }, spec: { clusterIP: 'None' } }), []);
    assert.deepEqual(validateObject(svcs, { metadata: { name: 's' }, spec: { type: 'ExternalName' } }), []);
    const bad = validateObject(svcs, { metadata: { name: 's' }, spec: { type: 'Magic', ports: [{ port: 1 }] } });
    assert.equal(bad.length, 1);
    assert.equal(bad[0]!.reason, 'FieldValueNotSupported');
    assert.equal(bad[0]!.field, 'spec.type');
  });

  it('creating an invalid object is 422 Invalid with the causes; nothing is stored', () => {
    const api = withDefaultNamespace();
    const pods = type(api, '', 'v1', 'pods');
    const e = apiError(() => createObject(api, pods, 'default', { metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] } }, write()));
    assert.equal(e.code, 422);
    assert.equal(e.reason, 'Invalid');
    assert.equal(e.message, 'Pod "p" is invalid: spec.containers[0].image: Required value');
    assert.deepEqual(e.details?.causes, [{ reason: 'FieldValueRequired', field: 'spec.containers[0].image', message: 'Required value' }]);
    assert.equal(api.store.get('/pods', 'default', 'p'), undefined);

    const badName = apiError(() => createObject(api, pods, 'default', { metadata: { name: 'Not_A_Name' }, spec: { containers: [{ name: 'c', image: 'i' }] } }, write()));
    assert.equal(badName.code, 422);
    assert.match(badName.message, /metadata\.name/);
    assert.equal(apiError(() => createObject(api, pods, 'default', { metadata: {}, spec: {} }, write())).code, 422);
  });

  it('an update that makes an object invalid is 422 too', () => {
    const api = withDefaultNamespace();
    const svcs = type(api, '', 'v1', 'services');
    createObject(api, svcs, 'default', { metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } }, write());
    const e = apiError(() => updateObject(api, svcs, 'default', 's', { metadata: { name: 's' }, spec: { type: 'Nope', ports: [{ port: 80 }] } }, undefined, write()));
    assert.equal(e.code, 422);
    const svc = api.store.get('/services', 'default', 's') as { spec: { type: string } } | undefined;
    assert.equal(svc?.spec.type, 'ClusterIP');
  });

  it('writes into a missing namespace are 404, into a terminating one 403', () => {
    const api = withDefaultNamespace();
    const cms = type(api, '', 'v1', 'configmaps');
    assert.equal(apiError(() => requireNamespaceForWrite(api, 'nope', 'c', cms)).code, 404);
    const ns = api.store.get('/namespaces', undefined, 'default');
    assert.ok(ns);
    api.store.put('/namespaces', { ...ns, status: { phase: 'Terminating' } }, 'MODIFIED', ns);
    const e = apiError(() => requireNamespaceForWrite(api, 'default', 'c', cms));
    assert.equal(e.code, 403);
    assert.match(e.message, /because it is being terminated/);
    requireNamespaceForWrite(withDefaultNamespace(), 'default', 'c', cms); // does not throw
  });

  it('fieldValidation: Strict rejects unknown fields, Warn warns and prunes them, Ignore prunes silently', () => {
    const api = newApi();
    const cms = type(api, '', 'v1', 'configmaps');
    const obj = () => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', colour: 'red' }, data: {}, extra: 1 });
    const strict = apiError(() => fieldValidation(cms, obj(), 'Strict', []));
    assert.equal(strict.code, 400);
    assert.match(strict.message, /strict decoding error: unknown field "extra", unknown field "metadata\.colour"/);

    const warnings: string[] = [];
    const warned = obj();
    assert.deepEqual(fieldValidation(cms, warned, 'Warn', warnings), []);
    assert.deepEqual(warnings, ['unknown field "extra"', 'unknown field "metadata.colour"']);
    assert.equal('extra' in warned, false);
    assert.equal('colour' in warned.metadata, false);

    const quiet: string[] = [];
    const ignored = obj();
    fieldValidation(cms, ignored, 'Ignore', quiet);
    assert.deepEqual(quiet, []);
    assert.equal('extra' in ignored, false);
  });
});

describe('defaulting', () => {
  // The objects as these tests read them back: what defaulting sets is optional until it runs.
  type Container = { name: string; image: string; ports?: { containerPort: number; protocol?: string }[]; imagePullPolicy?: string; terminationMessagePath?: string };
  type PodSpec = { containers: Container[]; restartPolicy?: string; dnsPolicy?: string; schedulerName?: string; serviceAccountName?: string; terminationGracePeriodSeconds?: number };
  type ServiceSpec = { type?: string; clusterIP?: string; clusterIPs?: string[]; sessionAffinity?: string; ports?: { port: number; protocol?: string; targetPort?: number }[] };
  type Obj<Spec> = { metadata?: { name: string }; spec: Spec; status?: JsonObject };

  it('a new Pod gets the kubelet-side defaults, Pending status and its QoS class', () => {
    const api = newApi();
    const pods = type(api, '', 'v1', 'pods');
    const pod: Obj<PodSpec> = {
      metadata: { name: 'p' },
      spec: {
        containers: [
          { name: 'a', image: 'repo/img:1.2', ports: [{ containerPort: 80 }] },
          { name: 'b', image: 'img' },
          { name: 'c', image: 'img:latest' },
        ],
      },
      status: { phase: 'Running' },
    };
    prepareForCreate(api, pods, pod);
    assert.equal(pod.spec.restartPolicy, 'Always');
    assert.equal(pod.spec.dnsPolicy, 'ClusterFirst');
    assert.equal(pod.spec.schedulerName, 'default-scheduler');
    assert.equal(pod.spec.serviceAccountName, 'default');
    assert.equal(pod.spec.terminationGracePeriodSeconds, 30);
    assert.deepEqual(
      pod.spec.containers.map((c) => c.imagePullPolicy),
      ['IfNotPresent', 'Always', 'Always'],
    );
    assert.equal(pod.spec.containers[0]?.terminationMessagePath, '/dev/termination-log');
    assert.equal(pod.spec.containers[0]?.ports?.[0]?.protocol, 'TCP');
    assert.deepEqual(pod.status, { phase: 'Pending', qosClass: 'BestEffort' });
  });

  it('qosClass: BestEffort without resources, Guaranteed when requests equal limits, else Burstable', () => {
    assert.equal(qosClass({ containers: [{}] }), 'BestEffort');
    assert.equal(qosClass({ containers: [{ resources: { limits: { cpu: '1', memory: '1Gi' } } }] }), 'Guaranteed');
    assert.equal(qosClass({ containers: [{ resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } }] }), 'Guaranteed');
    assert.equal(qosClass({ containers: [{ resources: { requests: { cpu: '500m' }, limits: { cpu: '1', memory: '1Gi' } } }] }), 'Burstable');
    assert.equal(qosClass({ containers: [{ resources: { requests: { cpu: '1' } } }] }), 'Burstable');
  });

  it('a new Service gets a cluster IP from 10.96.0.0/16 and port defaults; a given IP is kept', () => {
    const api = newApi();
    const svcs = type(api, '', 'v1', 'services');
    const a: Obj<ServiceSpec> = { metadata: { name: 'a' }, spec: { ports: [{ port: 80 }] } };
    prepareForCreate(api, svcs, a);
    assert.equal(a.spec.type, 'ClusterIP');
    assert.equal(a.spec.clusterIP, '10.96.0.10');
    assert.deepEqual(a.spec.clusterIPs, ['10.96.0.10']);
    assert.deepEqual(a.spec.ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
    assert.equal(a.spec.sessionAffinity, 'None');
    assert.deepEqual(a.status, { loadBalancer: {} });
    const b: Obj<ServiceSpec> = { metadata: { name: 'b' }, spec: { clusterIP: '10.96.5.5', ports: [{ port: 1, targetPort: 2 }] } };
    prepareForCreate(api, svcs, b);
    assert.equal(b.spec.clusterIP, '10.96.5.5');
    assert.equal(b.spec.ports?.[0]?.targetPort, 2);
    const headless: Obj<ServiceSpec> = { metadata: { name: 'h' }, spec: { clusterIP: 'None' } };
    prepareForCreate(api, svcs, headless);
    assert.equal(headless.spec.clusterIP, 'None');
  });

  it('allocateServiceIp skips addresses in use and the .0/.255 of each block', () => {
    const api = newApi();
    api.store.put('/services', { metadata: { name: 'x', namespace: 'default' }, spec: { clusterIP: '10.96.0.10' } }, 'ADDED');
    assert.equal(allocateServiceIp(api), '10.96.0.11');
    api.nextServiceIp = 255;
    assert.equal(allocateServiceIp(api), '10.96.1.1');
  });

  it('an update keeps the Service cluster IP and defaults new ports', () => {
    const api = newApi();
    const svcs = type(api, '', 'v1', 'services');
    const next: Obj<ServiceSpec> = { spec: { ports: [{ port: 81 }] } };
    prepareForUpdate(svcs, next, { spec: { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], type: 'NodePort' } });
    assert.equal(next.spec.clusterIP, '10.96.0.10');
    assert.equal(next.spec.type, 'NodePort');
    assert.deepEqual(next.spec.ports, [{ port: 81, protocol: 'TCP', targetPort: 81 }]);
  });

  it('a Secret folds stringData into base64 data and is Opaque by default', () => {
    const api = newApi();
    const secrets = type(api, '', 'v1', 'secrets');
    const s: JsonObject = { metadata: { name: 's' }, data: { a: 'YQ==' }, stringData: { b: 'hello' } };
    prepareForCreate(api, secrets, s);
    assert.deepEqual(s, { metadata: { name: 's' }, type: 'Opaque', data: { a: 'YQ==', b: Buffer.from('hello').toString('base64') } });
  });

  it('a Namespace gets the kubernetes finalizer and phase Active', () => {
    const api = newApi();
    const ns: JsonObject = { metadata: { name: 'n' } };
    prepareForCreate(api, api.nsType, ns);
    assert.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
    assert.deepEqual(ns.status, { phase: 'Active' });
  });

  it('a CRD gets its name defaults and an Established status', () => {
    const api = newApi();
    const crd: CustomResourceDefinition = {
      metadata: { name: 'widgets.example.com' },
      spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' }, versions: [{ name: 'v1', storage: true }] },
    };
    prepareForCreate(api, api.crdType, crd);
    assert.equal(crd.spec.names.singular, 'widget');
    assert.equal(crd.spec.names.listKind, 'WidgetList');
    assert.deepEqual(crd.spec.conversion, { strategy: 'None' });
    assert.equal(crd.spec.versions[0]?.served, true);
    assert.deepEqual(
      crd.status?.conditions?.map((c) => `${c.type}=${c.status}`),
      ['NamesAccepted=True', 'Established=True'],
    );
    assert.deepEqual(crd.status?.storedVersions, ['v1']);
  });

  it('createObject sets uid, creationTimestamp and generation, and strips client-set server fields', () => {
    const api = withDefaultNamespace();
    const cms = type(api, '', 'v1', 'configmaps');
    const created = createObject(api, cms, 'default', { metadata: { name: 'c', resourceVersion: '99', uid: 'mine', selfLink: '/x' }, data: { k: 'v' } }, write());
    assert.match(String(created.metadata.uid), /^[0-9a-f-]{36}$/);
    assert.notEqual(created.metadata.uid, 'mine');
    assert.match(String(created.metadata.creationTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(created.metadata.selfLink, undefined);
    assert.notEqual(created.metadata.resourceVersion, '99');
    assert.equal(created.metadata.namespace, 'default');
    const gen = createObject(
      api,
      api.crdType,
      undefined,
      {
        metadata: { name: 'widgets.example.com' },
        spec: {
          group: 'example.com',
          scope: 'Namespaced',
          names: { plural: 'widgets', kind: 'Widget' },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }],
        },
      },
      write(),
    );
    assert.equal(gen.metadata.generation, 1);
  });
});
