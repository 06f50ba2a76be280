// Admission: decoding request bodies, type and schema checks, per-kind validation (422 Invalid)
// and defaulting of new and updated objects, as kube-apiserver does before it stores anything.
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, forbidden, notFound, type StatusCause } from './errors.ts';
import { decodeK8sProtobuf, isProtobufContentType } from './protobuf.ts';
import { PV_KEY, PVC_KEY, prepareVolumeForCreate, validatePv, validatePvc } from './volumes.ts';
import { asObject, isObject, type AdmittedObject, type Json, type JsonObject, type KubeObject } from './json.ts';
import { apiVersionOf, grKey, type CrdNames, type CrdStatus, type CustomResourceDefinition, type ResourceType } from './registry.ts';
import { checkMetadata, unknownBuiltinFields, validateCrd, validateCustomResource } from './validation.ts';
import { gr, now, type ApiContext } from './context.ts';

// The kinds defaulting reads, as it reads them: after validateObject (and, for Secrets, checkDecodable)
// the fields these name are what they say; the rest is unchecked and read defensively.
interface Container extends JsonObject {
  name?: string;
  image?: string;
  imagePullPolicy?: string;
  terminationMessagePath?: string;
  terminationMessagePolicy?: string;
  ports?: Json[];
  resources?: { requests?: Record<string, Json>; limits?: Record<string, Json> };
}
export interface PodSpec extends JsonObject {
  containers?: Container[];
  initContainers?: Container[];
  restartPolicy?: string;
  dnsPolicy?: string;
  schedulerName?: string;
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
}
interface Pod extends KubeObject {
  spec?: PodSpec;
}
interface Service extends KubeObject {
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    sessionAffinity?: string;
    ipFamilies?: string[];
    ipFamilyPolicy?: string;
    internalTrafficPolicy?: string;
    ports?: Json[];
  };
}
interface Secret extends KubeObject {
  data?: Record<string, string> | null;
  stringData?: Json;
}
interface Namespace extends KubeObject {
  spec?: JsonObject;
}

// ---------------------------------------------------------------- decoding

export function decodeBody(t: ResourceType, raw: Buffer, contentType: string): unknown {
  const ct = contentType.split(';')[0]!.trim();
  if (isProtobufContentType(ct)) {
    try {
      return decodeK8sProtobuf(raw);
    } catch (e) {
      throw new ApiError(415, 'UnsupportedMediaType', (e as Error).message);
    }
  }
  const text = raw.toString('utf8');
  let body: unknown;
  try {
    body = ct === 'application/yaml' || ct === 'application/apply-patch+yaml' ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: ${(e as Error).message}`);
  }
  return body;
}

/** A body's apiVersion and kind against the URL's type; fills them in, and an empty metadata. */
export function checkTypeMeta(api: ApiContext, t: ResourceType, body: unknown): asserts body is AdmittedObject {
  if (!isObject(body)) throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: the request body is not a JSON object`);
  if (body.kind !== undefined && body.kind !== t.kind) {
    throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: the kind in the data ("${body.kind}") does not match the expected kind ("${t.kind}")`);
  }
  if (body.apiVersion !== undefined && body.apiVersion !== apiVersionOf(t)) {
    const [g, v] = String(body.apiVersion).includes('/') ? String(body.apiVersion).split('/') : ['', String(body.apiVersion)];
    if (g !== t.group || !api.registry.find(g!, v!, t.plural)) {
      throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(t)})`);
    }
  }
  body.apiVersion = apiVersionOf(t);
  body.kind = t.kind;
  checkDecodable(t, body);
  if (body.metadata !== undefined && !isObject(body.metadata)) throw badRequest('metadata must be an object');
  body.metadata ??= {};
}

/** Type errors that the real server reports while decoding (400, not 422). */
export function checkDecodable(t: ResourceType, obj: JsonObject): void {
  const key = grKey(t);
  const stringMaps: string[] = key === '/configmaps' ? ['data', 'binaryData'] : key === '/secrets' ? ['data', 'stringData'] : [];
  for (const field of stringMaps) {
    const v = obj[field];
    if (v === undefined || v === null) continue;
    const bad = !isObject(v) ? v : Object.values(v).find((x) => typeof x !== 'string');
    if (!isObject(v) || bad !== undefined) {
      const got = Array.isArray(bad) ? 'array' : bad === null ? 'null' : typeof bad === 'object' ? 'object' : typeof bad;
      throw badRequest(
        `${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: json: cannot unmarshal ${got} into Go struct field ${t.kind}.${field} of type ${isObject(v) ? 'string' : 'map[string]string'}`,
      );
    }
  }
}

// ---------------------------------------------------------------- validation

export function validateObject(t: ResourceType, obj: KubeObject): StatusCause[] {
  const errs: StatusCause[] = [...checkMetadata(obj.metadata)];
  const key = grKey(t);
  if (key === '/pods') {
    const cs = asObject(obj.spec).containers;
    if (!Array.isArray(cs) || cs.length === 0) errs.push({ reason: 'FieldValueRequired', field: 'spec.containers', message: 'Required value' });
    else
      cs.forEach((c, i) => {
        const { name, image } = asObject(c);
        if (!name) errs.push({ reason: 'FieldValueRequired', field: `spec.containers[${i}].name`, message: 'Required value' });
        if (!image) errs.push({ reason: 'FieldValueRequired', field: `spec.containers[${i}].image`, message: 'Required value' });
      });
  }
  if (key === '/services') {
    const spec = asObject(obj.spec);
    const type = spec.type ?? 'ClusterIP';
    if (typeof type !== 'string' || !['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type)) {
      errs.push({ reason: 'FieldValueNotSupported', field: 'spec.type', message: `Unsupported value: "${type}": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"` });
    }
    if (type !== 'ExternalName' && (!Array.isArray(spec.ports) || spec.ports.length === 0) && spec.clusterIP !== 'None') {
      errs.push({ reason: 'FieldValueRequired', field: 'spec.ports', message: 'Required value' });
    }
  }
  if (key === 'apiextensions.k8s.io/customresourcedefinitions') errs.push(...validateCrd(obj));
  if (key === PVC_KEY) errs.push(...validatePvc(obj));
  if (key === PV_KEY) errs.push(...validatePv(obj));
  return errs;
}

/** Schema validation / pruning for CRs and unknown-field handling per fieldValidation. */
export function fieldValidation(t: ResourceType, obj: AdmittedObject, directive: string, warnings: string[]): StatusCause[] {
  let unknown: string[];
  let errors: StatusCause[] = [];
  if (t.crd) {
    const r = validateCustomResource(t, obj);
    unknown = r.unknown;
    errors = r.errors;
  } else unknown = unknownBuiltinFields(t, obj);
  if (unknown.length) {
    const msgs = unknown.map((u) => `unknown field "${u}"`);
    if (directive === 'Strict') {
      throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: strict decoding error: ${msgs.join(', ')}`);
    }
    if (directive !== 'Ignore') warnings.push(...msgs);
    if (!t.crd)
      for (const u of unknown) {
        if (u.startsWith('metadata.')) delete obj.metadata[u.slice('metadata.'.length)];
        else delete obj[u];
      }
  }
  return errors;
}

export function requireNamespaceForWrite(api: ApiContext, ns: string, objName: string, t: ResourceType): void {
  const nsObj = api.store.get('/namespaces', undefined, ns);
  if (!nsObj) throw notFound({ group: '', resource: 'namespaces' }, ns);
  if (asObject(nsObj.status).phase === 'Terminating') {
    throw forbidden(gr(t), objName, `unable to create new content in namespace ${ns} because it is being terminated`);
  }
}

// ---------------------------------------------------------------- defaulting

/** Defaults and server-set fields of a new object, by kind (status reset, clusterIP, QoS class, CRD names...). */
export function prepareForCreate(api: ApiContext, t: ResourceType, obj: KubeObject): void {
  const key = grKey(t);
  if (t.status && key !== '/nodes') delete obj.status;
  switch (key) {
    case '/namespaces':
      obj.spec = { finalizers: ['kubernetes'], ...((obj as Namespace).spec ?? {}) };
      obj.status = { phase: 'Active' };
      break;
    case '/pods':
      defaultPod(obj);
      break;
    case '/services':
      defaultService(api, obj);
      break;
    case '/secrets':
      obj.type ??= 'Opaque';
      break;
    case PVC_KEY:
    case PV_KEY:
      prepareVolumeForCreate(key, obj);
      break;
    case 'apiextensions.k8s.io/customresourcedefinitions':
      defaultCrd(obj as CustomResourceDefinition);
      obj.status = crdStatus(obj as CustomResourceDefinition);
      break;
  }
  if (key === '/secrets') foldStringData(obj);
}

function defaultPod(obj: Pod): void {
  const spec = (obj.spec ??= {});
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.serviceAccountName ??= 'default';
  spec.terminationGracePeriodSeconds ??= 30;
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    if (!isObject(c)) continue;
    const img = String(c.image ?? '');
    c.imagePullPolicy ??= img.endsWith(':latest') || !/:[^/]+$/.test(img) ? 'Always' : 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    for (const p of c.ports ?? []) if (isObject(p)) p.protocol ??= 'TCP';
  }
  obj.status = { phase: 'Pending', qosClass: qosClass(spec) };
}

function defaultService(api: ApiContext, obj: Service): void {
  const spec = (obj.spec ??= {});
  spec.type ??= 'ClusterIP';
  if (spec.type !== 'ExternalName' && spec.clusterIP !== 'None' && !spec.clusterIP) {
    spec.clusterIP = allocateServiceIp(api);
  }
  if (spec.clusterIP && spec.type !== 'ExternalName') spec.clusterIPs ??= [spec.clusterIP];
  spec.sessionAffinity ??= 'None';
  spec.ipFamilies ??= ['IPv4'];
  spec.ipFamilyPolicy ??= 'SingleStack';
  spec.internalTrafficPolicy ??= 'Cluster';
  for (const p of spec.ports ?? []) {
    if (!isObject(p)) continue;
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port;
  }
  obj.status = { loadBalancer: {} };
}

export function prepareForUpdate(t: ResourceType, obj: KubeObject, old: KubeObject): void {
  const key = grKey(t);
  if (key === '/services') {
    const spec = ((obj as Service).spec ??= {});
    const prev = (old as Service).spec;
    spec.clusterIP ??= prev?.clusterIP;
    spec.clusterIPs ??= prev?.clusterIPs;
    spec.type ??= prev?.type ?? 'ClusterIP';
    for (const p of spec.ports ?? []) {
      if (!isObject(p)) continue;
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
    }
  }
  if (key === '/secrets') foldStringData(obj);
  if (key === 'apiextensions.k8s.io/customresourcedefinitions') {
    defaultCrd(obj as CustomResourceDefinition);
    obj.status = crdStatus(obj as CustomResourceDefinition, (old as CustomResourceDefinition).status);
  }
  if (key === '/namespaces' && asObject(old.status).phase === 'Terminating') obj.status = old.status;
}

export function foldStringData(obj: Secret): void {
  if (isObject(obj.stringData)) {
    obj.data ??= {};
    for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v)).toString('base64');
  }
  delete obj.stringData;
}

export function qosClass(spec: PodSpec): string {
  const cs: Container[] = spec.containers ?? [];
  let anySet = false;
  let guaranteed = cs.length > 0;
  for (const c of cs) {
    const req: Record<string, Json> = c?.resources?.requests ?? {};
    const lim: Record<string, Json> = c?.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) anySet = true;
    for (const r of ['cpu', 'memory']) {
      const l = lim[r];
      const q = req[r] ?? l;
      if (l === undefined || String(q) !== String(l)) guaranteed = false;
    }
  }
  if (!anySet) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export function allocateServiceIp(api: ApiContext): string {
  const used = new Set(api.store.list('/services').map((s) => asObject(s.spec).clusterIP));
  for (;;) {
    const n = api.nextServiceIp++;
    const ip = `10.96.${Math.floor(n / 256) % 256}.${n % 256}`;
    if (n % 256 !== 0 && n % 256 !== 255 && !used.has(ip)) return ip;
  }
}

export function defaultCrd(crd: CustomResourceDefinition): void {
  const spec = crd.spec;
  spec.names.singular ||= String(spec.names.kind).toLowerCase();
  spec.names.listKind ||= `${spec.names.kind}List`;
  spec.conversion ??= { strategy: 'None' };
  for (const v of spec.versions) v.served ??= true;
}

export function crdStatus(crd: CustomResourceDefinition, prev?: CrdStatus): CrdStatus {
  const names: Partial<CrdNames> = { ...(crd.spec?.names ?? {}) };
  names.singular ||= String(names.kind ?? '').toLowerCase();
  names.listKind ||= `${names.kind}List`;
  const ts = prev?.conditions?.[0]?.lastTransitionTime ?? now();
  const storage = (crd.spec?.versions ?? []).find((v) => v.storage)?.name;
  const stored = new Set<string>(prev?.storedVersions ?? []);
  if (storage) stored.add(storage);
  return {
    acceptedNames: names,
    conditions: [
      { type: 'NamesAccepted', status: 'True', lastTransitionTime: ts, reason: 'NoConflicts', message: 'no conflicts found' },
      { type: 'Established', status: 'True', lastTransitionTime: ts, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
    ],
    storedVersions: [...stored],
  };
}
