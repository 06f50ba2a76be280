// The lab's Kubernetes-compatible API server (HTTPS + bearer token), good enough for the real
// kubectl and @kubernetes/client-node: discovery, OpenAPI, CRUD, patch, status subresource,
// watch with resume, CRDs, namespaces with cascading delete, pod logs and Table output.
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, readSync, closeSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { release } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readBody as readRequestBody, send as sendJson } from '../http.ts';
import {
  ApiError,
  STALE_OBJECT,
  alreadyExists,
  badRequest,
  conflict,
  expired,
  forbidden,
  invalid,
  methodNotAllowed,
  notFound,
  pathNotFound,
  unauthorized,
  unsupportedMediaType,
  type StatusCause,
} from './errors.ts';
import { OPENAPI_V2_JSON, OPENAPI_V2_PROTO, OPENAPI_V2_PROTO_TYPE, openapiV3Documents, openapiV3Root } from './openapi.ts';
import { decodeK8sProtobuf, isProtobufContentType } from './protobuf.ts';
import { jsonPatch, mergePatch, sortKeys, strategicMergePatch } from './patch.ts';
import { ensureCa, ensureServerCert, ensureToken, statePaths, writeKubeconfig } from './pki.ts';
import { Registry, apiVersionOf, grKey, typesFromCrd, type ResourceType } from './registry.ts';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { Store, type StoreEvent } from './store.ts';
import { columnsFor, toTable } from './tables.ts';
import { checkMetadata, checkName, nameRuleFor, unknownBuiltinFields, validateCrd, validateCustomResource } from './validation.ts';

export const LOG_PATH_ANNOTATION = 'lab.mlv.io/log-path';
export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-mlv-lab',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};
const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
const MAX_BODY = 16 * 1024 * 1024;

export interface ApiServerOptions {
  /** Where the CA, server cert, token and kubeconfig live (created if missing). */
  stateDir: string;
  host?: string;
  /** 0 picks an ephemeral port. Default 6443. */
  port?: number;
  /** Number of events kept for watch resumption; older resourceVersions get 410 Expired. */
  watchHistorySize?: number;
  /** Interval between BOOKMARK events on watches that allow them. */
  bookmarkIntervalMs?: number;
  /** Default watch duration when the client gives no timeoutSeconds. */
  defaultWatchTimeoutSeconds?: number;
  /** How long namespace deletion waits for objects with finalizers before removing them anyway. */
  namespaceFinalizeTimeoutMs?: number;
  /** Save the store to <stateDir>/store.json on close and load it at start. */
  persist?: boolean;
  /** Server URL written into the kubeconfig (default https://<host>:<port>). */
  kubeconfigServer?: string;
  log?: (line: string) => void;
}

export interface ApiServer {
  url: string;
  host: string;
  port: number;
  stateDir: string;
  kubeconfigPath: string;
  caPath: string;
  token: string;
  close(): Promise<void>;
}

interface Target {
  type: ResourceType;
  namespace?: string;
  name?: string;
  sub?: string;
}

interface Accept {
  table: boolean;
  tableVersion: string;
  partialMeta: boolean;
}

const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const isObj = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);

function parseAccept(header: string | undefined): Accept {
  const out: Accept = { table: false, tableVersion: 'v1', partialMeta: false };
  if (!header) return out;
  for (const part of header.split(',')) {
    const [mt, ...params] = part.split(';').map((s) => s.trim());
    if (mt !== 'application/json' && mt !== '*/*') continue;
    const p: Record<string, string> = {};
    for (const kv of params) {
      const i = kv.indexOf('=');
      if (i > 0) p[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
    }
    if (p.as === 'Table' && p.g === 'meta.k8s.io' && (p.v === 'v1' || p.v === 'v1beta1')) {
      out.table = true;
      out.tableVersion = p.v;
      return out;
    }
    if ((p.as === 'PartialObjectMetadataList' || p.as === 'PartialObjectMetadata') && p.g === 'meta.k8s.io') {
      out.partialMeta = true;
      return out;
    }
    if (!p.as) return out; // plain JSON preferred over anything listed after it
  }
  return out;
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = randomBytes(5);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

function withoutRv(o: any): any {
  const c = structuredClone(o);
  if (c.metadata) delete c.metadata.resourceVersion;
  return sortKeys(c);
}

function sameObject(a: any, b: any): boolean {
  return JSON.stringify(withoutRv(a)) === JSON.stringify(withoutRv(b));
}

function specPart(o: any): string {
  const c: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (k !== 'metadata' && k !== 'status' && k !== 'apiVersion' && k !== 'kind') c[k] = v;
  return JSON.stringify(sortKeys(c));
}

function warningHeader(msgs: string[]): string {
  return msgs.map((m) => `299 - ${JSON.stringify(m)}`).join(', ');
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const host = opts.host ?? '127.0.0.1';
  const stateDir = opts.stateDir;
  const log = opts.log ?? (() => {});
  mkdirSync(stateDir, { recursive: true });
  ensureCa(stateDir);
  ensureServerCert(stateDir);
  const token = ensureToken(stateDir);
  const paths = statePaths(stateDir);
  const tokenBuf = Buffer.from(token);

  const registry = new Registry();
  const store = new Store(opts.watchHistorySize ?? 10_000);
  const bookmarkMs = opts.bookmarkIntervalMs ?? 30_000;
  const defaultWatchTimeout = opts.defaultWatchTimeoutSeconds ?? 1800;
  const nsFinalizeTimeout = opts.namespaceFinalizeTimeoutMs ?? 10_000;
  const snapshotFile = join(stateDir, 'store.json');
  const activeWatches = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();
  let nextServiceIp = 10;

  const later = (fn: () => void, ms: number) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  // ---------------------------------------------------------------- storage helpers

  const present = (t: ResourceType, obj: any): any => {
    const o = structuredClone(obj);
    o.apiVersion = apiVersionOf(t);
    o.kind = t.kind;
    return o;
  };

  const gr = (t: ResourceType) => ({ group: t.group, resource: t.plural });
  const nsType = registry.find('', 'v1', 'namespaces')!;
  const crdType = registry.find('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;

  function removeAndCollect(t: ResourceType | undefined, key: string, namespace: string | undefined, name: string): any | undefined {
    const gone = store.remove(key, namespace, name);
    if (gone) {
      onRemoved(key, gone);
      if (t) return present(t, gone);
    }
    return gone;
  }

  /** After an object is really gone: CRD teardown and owner-reference garbage collection. */
  function onRemoved(key: string, gone: any): void {
    if (key === grKey(crdType)) teardownCrd(gone);
    const uid = gone.metadata?.uid;
    if (!uid) return;
    later(() => collectGarbage(uid, gone.metadata?.namespace), 0);
  }

  function collectGarbage(ownerUid: string, ownerNs: string | undefined): void {
    for (const key of store.groupResources()) {
      for (const o of store.list(key)) {
        const refs: any[] = o.metadata?.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === ownerUid)) continue;
        if (ownerNs && o.metadata?.namespace && o.metadata.namespace !== ownerNs) continue;
        const others = refs.filter((r) => r.uid !== ownerUid);
        const otherAlive = others.some((r) => ownerExists(r.uid));
        if (otherAlive) {
          const upd = structuredClone(o);
          upd.metadata.ownerReferences = others;
          store.put(key, upd, 'MODIFIED', o);
        } else {
          removeAndCollect(undefined, key, o.metadata?.namespace, o.metadata?.name);
        }
      }
    }
  }

  function ownerExists(uid: string): boolean {
    for (const key of store.groupResources()) for (const o of store.list(key)) if (o.metadata?.uid === uid) return true;
    return false;
  }

  function teardownCrd(crd: any): void {
    const spec = crd.spec ?? {};
    const key = `${spec.group}/${spec.names?.plural}`;
    for (const o of store.list(key)) removeAndCollect(undefined, key, o.metadata?.namespace, o.metadata?.name);
    registry.removeCustom(crd.metadata?.name);
    log(`unregistered ${key}`);
  }

  function crdStatus(crd: any, prev?: any): any {
    const names = { ...(crd.spec?.names ?? {}) };
    names.singular ||= String(names.kind ?? '').toLowerCase();
    names.listKind ||= `${names.kind}List`;
    const ts = prev?.conditions?.[0]?.lastTransitionTime ?? now();
    const storage = (crd.spec?.versions ?? []).find((v: any) => v.storage)?.name;
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

  function defaultCrd(crd: any): void {
    const spec = crd.spec;
    spec.names.singular ||= String(spec.names.kind).toLowerCase();
    spec.names.listKind ||= `${spec.names.kind}List`;
    spec.conversion ??= { strategy: 'None' };
    for (const v of spec.versions) v.served ??= true;
  }

  // ---------------------------------------------------------------- kind-specific behaviour

  function prepareForCreate(t: ResourceType, obj: any): void {
    const key = grKey(t);
    if (t.status && key !== '/nodes') delete obj.status;
    switch (key) {
      case '/namespaces':
        obj.spec = { finalizers: ['kubernetes'], ...(obj.spec ?? {}) };
        obj.status = { phase: 'Active' };
        break;
      case '/pods': {
        const spec = (obj.spec ??= {});
        spec.restartPolicy ??= 'Always';
        spec.dnsPolicy ??= 'ClusterFirst';
        spec.schedulerName ??= 'default-scheduler';
        spec.serviceAccountName ??= 'default';
        spec.terminationGracePeriodSeconds ??= 30;
        for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
          if (!isObj(c)) continue;
          const img = String(c.image ?? '');
          c.imagePullPolicy ??= img.endsWith(':latest') || !/:[^/]+$/.test(img) ? 'Always' : 'IfNotPresent';
          c.terminationMessagePath ??= '/dev/termination-log';
          c.terminationMessagePolicy ??= 'File';
          for (const p of c.ports ?? []) if (isObj(p)) p.protocol ??= 'TCP';
        }
        obj.status = { phase: 'Pending', qosClass: qosClass(spec) };
        break;
      }
      case '/services': {
        const spec = (obj.spec ??= {});
        spec.type ??= 'ClusterIP';
        if (spec.type !== 'ExternalName' && spec.clusterIP !== 'None' && !spec.clusterIP) {
          spec.clusterIP = allocateServiceIp();
        }
        if (spec.clusterIP && spec.type !== 'ExternalName') spec.clusterIPs ??= [spec.clusterIP];
        spec.sessionAffinity ??= 'None';
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
        spec.internalTrafficPolicy ??= 'Cluster';
        for (const p of spec.ports ?? []) {
          if (!isObj(p)) continue;
          p.protocol ??= 'TCP';
          p.targetPort ??= p.port;
        }
        obj.status = { loadBalancer: {} };
        break;
      }
      case '/secrets':
        obj.type ??= 'Opaque';
        break;
      case 'apiextensions.k8s.io/customresourcedefinitions':
        defaultCrd(obj);
        obj.status = crdStatus(obj);
        break;
    }
    if (key === '/secrets') foldStringData(obj);
  }

  function prepareForUpdate(t: ResourceType, obj: any, old: any): void {
    const key = grKey(t);
    if (key === '/services') {
      const spec = (obj.spec ??= {});
      spec.clusterIP ??= old.spec?.clusterIP;
      spec.clusterIPs ??= old.spec?.clusterIPs;
      spec.type ??= old.spec?.type ?? 'ClusterIP';
      for (const p of spec.ports ?? []) if (isObj(p)) (p.protocol ??= 'TCP'), (p.targetPort ??= p.port);
    }
    if (key === '/secrets') foldStringData(obj);
    if (key === 'apiextensions.k8s.io/customresourcedefinitions') {
      defaultCrd(obj);
      obj.status = crdStatus(obj, old.status);
    }
    if (key === '/namespaces' && old.status?.phase === 'Terminating') obj.status = old.status;
  }

  function foldStringData(obj: any): void {
    if (isObj(obj.stringData)) {
      obj.data ??= {};
      for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v)).toString('base64');
    }
    delete obj.stringData;
  }

  function qosClass(spec: any): string {
    const cs: any[] = spec.containers ?? [];
    let anySet = false;
    let guaranteed = cs.length > 0;
    for (const c of cs) {
      const req = c?.resources?.requests ?? {};
      const lim = c?.resources?.limits ?? {};
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

  function allocateServiceIp(): string {
    const used = new Set(store.list('/services').map((s) => s.spec?.clusterIP));
    for (;;) {
      const n = nextServiceIp++;
      const ip = `10.96.${Math.floor(n / 256) % 256}.${n % 256}`;
      if (n % 256 !== 0 && n % 256 !== 255 && !used.has(ip)) return ip;
    }
  }

  function validateObject(t: ResourceType, obj: any): StatusCause[] {
    const errs: StatusCause[] = [...checkMetadata(obj.metadata)];
    const key = grKey(t);
    if (key === '/pods') {
      const cs = obj.spec?.containers;
      if (!Array.isArray(cs) || cs.length === 0) errs.push({ reason: 'FieldValueRequired', field: 'spec.containers', message: 'Required value' });
      else
        cs.forEach((c: any, i: number) => {
          if (!c?.name) errs.push({ reason: 'FieldValueRequired', field: `spec.containers[${i}].name`, message: 'Required value' });
          if (!c?.image) errs.push({ reason: 'FieldValueRequired', field: `spec.containers[${i}].image`, message: 'Required value' });
        });
    }
    if (key === '/services') {
      const type = obj.spec?.type ?? 'ClusterIP';
      if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type)) {
        errs.push({ reason: 'FieldValueNotSupported', field: 'spec.type', message: `Unsupported value: "${type}": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"` });
      }
      if (type !== 'ExternalName' && (!Array.isArray(obj.spec?.ports) || obj.spec.ports.length === 0) && obj.spec?.clusterIP !== 'None') {
        errs.push({ reason: 'FieldValueRequired', field: 'spec.ports', message: 'Required value' });
      }
    }
    if (key === 'apiextensions.k8s.io/customresourcedefinitions') errs.push(...validateCrd(obj));
    return errs;
  }

  /** Type errors that the real server reports while decoding (400, not 422). */
  function checkDecodable(t: ResourceType, obj: any): void {
    const key = grKey(t);
    const stringMaps: string[] = key === '/configmaps' ? ['data', 'binaryData'] : key === '/secrets' ? ['data', 'stringData'] : [];
    for (const field of stringMaps) {
      const v = obj[field];
      if (v === undefined || v === null) continue;
      const bad = !isObj(v) ? v : Object.values(v).find((x) => typeof x !== 'string');
      if (!isObj(v) || bad !== undefined) {
        const got = Array.isArray(bad) ? 'array' : bad === null ? 'null' : typeof bad === 'object' ? 'object' : typeof bad;
        throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: json: cannot unmarshal ${got} into Go struct field ${t.kind}.${field} of type ${isObj(v) ? 'string' : 'map[string]string'}`);
      }
    }
  }

  // ---------------------------------------------------------------- request parsing helpers

  function decodeBody(t: ResourceType, raw: Buffer, contentType: string): any {
    const ct = contentType.split(';')[0]!.trim();
    if (isProtobufContentType(ct)) {
      try {
        return decodeK8sProtobuf(raw);
      } catch (e) {
        throw new ApiError(415, 'UnsupportedMediaType', (e as Error).message);
      }
    }
    const text = raw.toString('utf8');
    let body: any;
    try {
      body = ct === 'application/yaml' || ct === 'application/apply-patch+yaml' ? parseYaml(text) : JSON.parse(text);
    } catch (e) {
      throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: ${(e as Error).message}`);
    }
    return body;
  }

  function checkTypeMeta(t: ResourceType, body: any): void {
    if (!isObj(body)) throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: the request body is not a JSON object`);
    if (body.kind !== undefined && body.kind !== t.kind) {
      throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: the kind in the data ("${body.kind}") does not match the expected kind ("${t.kind}")`);
    }
    if (body.apiVersion !== undefined && body.apiVersion !== apiVersionOf(t)) {
      const [g, v] = String(body.apiVersion).includes('/') ? String(body.apiVersion).split('/') : ['', String(body.apiVersion)];
      if (g !== t.group || !registry.find(g!, v!, t.plural)) {
        throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(t)})`);
      }
    }
    body.apiVersion = apiVersionOf(t);
    body.kind = t.kind;
    checkDecodable(t, body);
    if (body.metadata !== undefined && !isObj(body.metadata)) throw badRequest('metadata must be an object');
    body.metadata ??= {};
  }

  /** Schema validation / pruning for CRs and unknown-field handling per fieldValidation. */
  function fieldValidation(t: ResourceType, obj: any, directive: string, warnings: string[]): StatusCause[] {
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
      if (!t.crd) for (const u of unknown) {
        if (u.startsWith('metadata.')) delete obj.metadata[u.slice('metadata.'.length)];
        else delete obj[u];
      }
    }
    return errors;
  }

  function requireNamespaceForWrite(ns: string, objName: string, t: ResourceType): void {
    const nsObj = store.get('/namespaces', undefined, ns);
    if (!nsObj) throw notFound({ group: '', resource: 'namespaces' }, ns);
    if (nsObj.status?.phase === 'Terminating') {
      throw forbidden(gr(t), objName, `unable to create new content in namespace ${ns} because it is being terminated`);
    }
  }

  // ---------------------------------------------------------------- verbs

  interface WriteCtx {
    dryRun: boolean;
    validation: string;
    warnings: string[];
  }

  function createObject(t: ResourceType, ns: string | undefined, body: any, ctx: WriteCtx): any {
    checkTypeMeta(t, body);
    const meta = body.metadata;
    if (t.namespaced) {
      if (meta.namespace && ns && meta.namespace !== ns) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = ns ?? meta.namespace;
      if (!meta.namespace) throw badRequest('a namespace must be specified for a namespaced resource');
    } else delete meta.namespace;
    const key = grKey(t);
    if (!meta.name && meta.generateName) {
      for (let i = 0; i < 10; i++) {
        const candidate = `${meta.generateName}${randomSuffix()}`;
        if (!store.get(key, meta.namespace, candidate)) {
          meta.name = candidate;
          break;
        }
      }
    }
    if (!meta.name) {
      throw invalid(t.group, t.kind, '', [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    }
    const errs = [...checkName(String(meta.name), nameRuleFor(t)), ...validateObject(t, body)];
    errs.push(...fieldValidation(t, body, ctx.validation, ctx.warnings));
    if (errs.length) throw invalid(t.group, t.kind, String(meta.name), errs);
    if (t.namespaced) requireNamespaceForWrite(meta.namespace, meta.name, t);
    if (store.get(key, meta.namespace, meta.name)) throw alreadyExists(gr(t), meta.name);

    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.managedFields;
    delete meta.selfLink;
    meta.uid = randomUUID();
    meta.creationTimestamp = now();
    if (t.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    prepareForCreate(t, body);
    if (ctx.dryRun) return present(t, body);
    const stored = store.put(key, body, 'ADDED');
    afterWrite(t, stored);
    return present(t, stored);
  }

  function afterWrite(t: ResourceType, stored: any): void {
    const key = grKey(t);
    if (key === grKey(crdType)) {
      registry.setCustom(stored.metadata.name, typesFromCrd(stored));
      log(`registered ${stored.spec.group}/${stored.spec.names.plural}`);
    }
  }

  function afterCreateNamespace(ns: any): void {
    const name = ns.metadata.name;
    if (!store.get('/serviceaccounts', name, 'default')) {
      store.put('/serviceaccounts', {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'default', namespace: name, uid: randomUUID(), creationTimestamp: now() },
      }, 'ADDED');
    }
  }

  function updateObject(t: ResourceType, ns: string | undefined, name: string, body: any, sub: string | undefined, ctx: WriteCtx): any {
    const key = grKey(t);
    const cur = store.get(key, ns, name);
    if (!cur) throw notFound(gr(t), name);
    checkTypeMeta(t, body);
    const meta = body.metadata;
    if (meta.name !== undefined && meta.name !== name) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    }
    if (t.namespaced && meta.namespace !== undefined && meta.namespace !== ns) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '' && String(meta.resourceVersion) !== cur.metadata.resourceVersion) {
      throw conflict(gr(t), name, STALE_OBJECT);
    }
    let next: any;
    if (sub === 'status') {
      next = structuredClone(cur);
      if (body.status === undefined) delete next.status;
      else next.status = body.status;
      if (t.crd && t.schema?.properties?.status && next.status !== undefined) {
        const r = validateCustomResource({ ...t, schema: { type: 'object', properties: { status: t.schema.properties.status } } }, { status: next.status });
        if (r.errors.length) throw invalid(t.group, t.kind, name, r.errors);
      }
    } else {
      next = body;
      next.metadata = {
        ...meta,
        name,
        namespace: cur.metadata.namespace,
        uid: cur.metadata.uid,
        creationTimestamp: cur.metadata.creationTimestamp,
        resourceVersion: cur.metadata.resourceVersion,
      };
      if (t.namespaced) next.metadata.namespace = ns;
      else delete next.metadata.namespace;
      delete next.metadata.managedFields;
      delete next.metadata.selfLink;
      for (const k of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
        if (cur.metadata[k] !== undefined) next.metadata[k] = cur.metadata[k];
        else delete next.metadata[k];
      }
      if (t.status) {
        if (cur.status === undefined) delete next.status;
        else next.status = cur.status;
      }
      prepareForUpdate(t, next, cur);
      const errs = [...validateObject(t, next), ...fieldValidation(t, next, ctx.validation, ctx.warnings)];
      if (errs.length) throw invalid(t.group, t.kind, name, errs);
      if (t.tracksGeneration && specPart(next) !== specPart(cur)) next.metadata.generation = (cur.metadata.generation ?? 0) + 1;
    }
    return commitUpdate(t, cur, next, ctx);
  }

  function commitUpdate(t: ResourceType, cur: any, next: any, ctx: WriteCtx): any {
    const key = grKey(t);
    const { namespace, name } = next.metadata;
    if (next.metadata.deletionTimestamp && !(next.metadata.finalizers ?? []).length && key !== '/namespaces') {
      if (ctx.dryRun) return present(t, next);
      store.put(key, next, 'MODIFIED', cur);
      return removeAndCollect(t, key, namespace, name);
    }
    if (sameObject(next, cur)) return present(t, cur);
    if (ctx.dryRun) return present(t, next);
    const stored = store.put(key, next, 'MODIFIED', cur);
    afterWrite(t, stored);
    return present(t, stored);
  }

  function patchObject(t: ResourceType, ns: string | undefined, name: string, raw: Buffer, contentType: string, sub: string | undefined, ctx: WriteCtx, force: boolean): { code: number; obj: any } {
    const ct = contentType.split(';')[0]!.trim();
    const key = grKey(t);
    const cur = store.get(key, ns, name);
    const body = decodeBody(t, raw, ct);
    if (ct === 'application/apply-patch+yaml') {
      // Server-side apply, approximated: create if missing, else JSON-merge the applied config.
      if (!isObj(body)) throw badRequest('apply patch must be an object');
      if (!cur) {
        body.metadata = { ...(body.metadata ?? {}), name };
        return { code: 201, obj: createObject(t, ns, body, ctx) };
      }
      void force;
    }
    if (!cur) throw notFound(gr(t), name);
    const curView = present(t, cur);
    let patched: any;
    switch (ct) {
      case 'application/merge-patch+json':
      case 'application/apply-patch+yaml':
        if (!isObj(body)) throw badRequest('merge patch must be a JSON object');
        patched = mergePatch(curView, body);
        break;
      case 'application/strategic-merge-patch+json':
        if (!isObj(body)) throw badRequest('strategic merge patch must be a JSON object');
        patched = strategicMergePatch(curView, body);
        break;
      case 'application/json-patch+json':
        patched = jsonPatch(curView, body);
        break;
      default:
        throw unsupportedMediaType(ct);
    }
    if (!isObj(patched)) throw new ApiError(422, 'Invalid', 'the patched object is not a JSON object');
    if (!isObj(patched.metadata)) patched.metadata = {};
    // A patch without a resourceVersion is unconditional.
    if (patched.metadata.resourceVersion === undefined) patched.metadata.resourceVersion = cur.metadata.resourceVersion;
    return { code: 200, obj: updateObject(t, ns, name, patched, sub, ctx) };
  }

  function deleteObject(t: ResourceType, ns: string | undefined, name: string, options: any, ctx: WriteCtx): { code: number; body: any } {
    const key = grKey(t);
    const cur = store.get(key, ns, name);
    if (!cur) throw notFound(gr(t), name);
    const pre = options?.preconditions ?? {};
    if (pre.uid && pre.uid !== cur.metadata.uid) {
      throw conflict(gr(t), name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
    }
    if (pre.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw conflict(gr(t), name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
    }
    if (ctx.dryRun) return { code: 200, body: present(t, cur) };
    if (key === '/namespaces') {
      if (PROTECTED_NAMESPACES.has(name)) throw forbidden(gr(t), name, 'this namespace may not be deleted');
      if (cur.status?.phase === 'Terminating') return { code: 200, body: present(t, cur) };
      const next = structuredClone(cur);
      next.metadata.deletionTimestamp = now();
      next.metadata.deletionGracePeriodSeconds = 0;
      next.status = { ...(next.status ?? {}), phase: 'Terminating' };
      const stored = store.put(key, next, 'MODIFIED', cur);
      later(() => finalizeNamespace(name, Date.now()), 0);
      return { code: 200, body: present(t, stored) };
    }
    const orphan = options?.propagationPolicy === 'Orphan' || options?.orphanDependents === true;
    if ((cur.metadata.finalizers ?? []).length) {
      if (cur.metadata.deletionTimestamp) return { code: 200, body: present(t, cur) };
      const next = structuredClone(cur);
      next.metadata.deletionTimestamp = now();
      next.metadata.deletionGracePeriodSeconds = 0;
      const stored = store.put(key, next, 'MODIFIED', cur);
      return { code: 200, body: present(t, stored) };
    }
    const gone = store.remove(key, ns, name)!;
    if (orphan) {
      if (key === grKey(crdType)) teardownCrd(gone);
    } else onRemoved(key, gone);
    if (t.crd || key === '/pods' || key === grKey(crdType)) return { code: 200, body: present(t, gone) };
    return {
      code: 200,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name, ...(t.group ? { group: t.group } : {}), kind: t.plural, uid: gone.metadata.uid },
      },
    };
  }

  function finalizeNamespace(ns: string, started: number): void {
    const nsObj = store.get('/namespaces', undefined, ns);
    if (!nsObj || nsObj.status?.phase !== 'Terminating') return;
    const force = Date.now() - started > nsFinalizeTimeout;
    let pending = 0;
    for (const key of store.groupResources()) {
      if (key === '/namespaces') continue;
      for (const o of store.list(key, ns)) {
        if (!force && (o.metadata?.finalizers ?? []).length) {
          pending++;
          if (!o.metadata.deletionTimestamp) {
            const next = structuredClone(o);
            next.metadata.deletionTimestamp = now();
            store.put(key, next, 'MODIFIED', o);
          }
          continue;
        }
        removeAndCollect(undefined, key, ns, o.metadata.name);
      }
    }
    if (pending) {
      later(() => finalizeNamespace(ns, started), 100);
      return;
    }
    removeAndCollect(nsType, '/namespaces', undefined, ns);
    log(`namespace ${ns} deleted`);
  }

  function listObjects(t: ResourceType, ns: string | undefined, q: URLSearchParams): { items: any[]; meta: any } {
    const labels = parseLabelSelector(q.get('labelSelector'));
    const fields = parseFieldSelector(q.get('fieldSelector'));
    let items = store
      .list(grKey(t), t.namespaced ? ns : undefined)
      .filter((o) => matchLabels(labels, o.metadata?.labels) && matchFields(fields, o))
      .map((o) => present(t, o));
    const meta: any = { resourceVersion: String(store.currentRv()) };
    const limit = Number(q.get('limit') ?? 0);
    const cont = q.get('continue');
    if (cont) {
      let start: string;
      try {
        const tok = JSON.parse(Buffer.from(cont, 'base64').toString('utf8'));
        start = String(tok.start);
        meta.resourceVersion = String(tok.rv ?? meta.resourceVersion);
      } catch {
        throw badRequest('continue key is not valid');
      }
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` >= start);
    }
    if (limit > 0 && items.length > limit) {
      const next = items[limit]!;
      meta.continue = Buffer.from(JSON.stringify({ start: `${next.metadata.namespace ?? ''}/${next.metadata.name}`, rv: meta.resourceVersion })).toString('base64');
      meta.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    return { items, meta };
  }

  // ---------------------------------------------------------------- HTTP plumbing

  function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}, pretty = false): void {
    sendJson(res, code, body, { headers: { 'Cache-Control': 'no-cache, private', ...headers }, pretty, apiFraming: true });
  }

  function sendError(res: ServerResponse, e: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e instanceof ApiError) {
      send(res, e.code, e.toStatus(), e.headers);
      return;
    }
    log(`internal error: ${(e as Error)?.stack ?? e}`);
    send(res, 500, new ApiError(500, 'InternalError', `Internal error occurred: ${(e as Error)?.message ?? e}`).toStatus());
  }

  function readBody(req: IncomingMessage): Promise<Buffer> {
    return readRequestBody(req, MAX_BODY, () => new ApiError(413, 'RequestEntityTooLarge', 'the request is too large'));
  }

  function authorized(req: IncomingMessage): boolean {
    const h = req.headers.authorization ?? '';
    const m = h.match(/^Bearer\s+(.+)$/i);
    if (!m) return false;
    const got = Buffer.from(m[1]!.trim());
    return got.length === tokenBuf.length && timingSafeEqual(got, tokenBuf);
  }

  function resolveTarget(segs: string[], group: string, version: string): { target: Target; watchPath: boolean } {
    let rest = segs;
    let watchPath = false;
    if (rest[0] === 'watch') {
      watchPath = true;
      rest = rest.slice(1);
    }
    let namespace: string | undefined;
    let plural: string;
    let name: string | undefined;
    let sub: string | undefined;
    const nsSub = !group && rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize');
    if (rest[0] === 'namespaces' && rest.length >= 3 && !nsSub) {
      namespace = rest[1];
      plural = rest[2]!;
      name = rest[3];
      sub = rest[4];
      if (rest.length > 5) throw pathNotFound();
    } else {
      plural = rest[0]!;
      name = rest[1];
      sub = rest[2];
      if (rest.length > 3) throw pathNotFound();
    }
    const type = registry.find(group, version, plural);
    if (!type) throw pathNotFound();
    if (namespace !== undefined && !type.namespaced) throw pathNotFound();
    if (type.namespaced && namespace === undefined && name !== undefined) throw pathNotFound();
    return { target: { type, namespace, name, sub }, watchPath };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://lab');
    let path = url.pathname.replace(/\/+$/, '') || '/';
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const pretty = q.get('pretty') === 'true';

    if (['/healthz', '/livez', '/readyz'].includes(path) || /^\/(healthz|livez|readyz)\//.test(path)) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    if (path === '/version') return send(res, 200, SERVER_VERSION, {}, pretty);
    if (!authorized(req)) throw unauthorized();

    const accept = parseAccept(req.headers.accept);
    if (path === '/api') return send(res, 200, registry.apiVersions(`${host}:${serverPort}`), {}, pretty);
    if (path === '/apis') return send(res, 200, registry.apiGroupList(), {}, pretty);
    if (path === '/openapi/v2' || path === '/swagger-2.0.0.pb-v1') {
      if ((req.headers.accept ?? '').includes('protobuf')) {
        res.writeHead(200, { 'Content-Type': OPENAPI_V2_PROTO_TYPE });
        res.end(OPENAPI_V2_PROTO);
        return;
      }
      return send(res, 200, OPENAPI_V2_JSON, {}, pretty);
    }
    if (path === '/openapi/v3') return send(res, 200, openapiV3Root(openapiV3Documents(registry)), {}, pretty);
    if (path.startsWith('/openapi/v3/')) {
      const doc = openapiV3Documents(registry).get(path.slice('/openapi/v3/'.length));
      if (!doc) throw pathNotFound();
      return send(res, 200, doc, { 'Cache-Control': 'public, immutable' }, pretty);
    }

    const segs = path.split('/').filter(Boolean).map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api') {
      if (segs.length === 1) throw pathNotFound();
      group = '';
      version = segs[1]!;
      rest = segs.slice(2);
      if (version !== 'v1') throw pathNotFound();
    } else if (segs[0] === 'apis' && segs.length >= 2) {
      group = segs[1]!;
      if (segs.length === 2) {
        const g = registry.apiGroup(group);
        if (!g) throw pathNotFound();
        return send(res, 200, g, {}, pretty);
      }
      version = segs[2]!;
      rest = segs.slice(3);
    } else throw pathNotFound();

    if (rest.length === 0) {
      if (method !== 'GET') throw methodNotAllowed();
      const list = registry.resourceList(group, version);
      if (!list) throw pathNotFound();
      return send(res, 200, list, {}, pretty);
    }

    const { target, watchPath } = resolveTarget(rest, group, version);
    const { type: t, namespace: ns, name, sub } = target;
    const watch = watchPath || q.get('watch') === 'true' || q.get('watch') === '1';
    const ctx: WriteCtx = {
      dryRun: q.getAll('dryRun').includes('All'),
      validation: q.get('fieldValidation') ?? 'Warn',
      warnings: [],
    };
    const warn = (): Record<string, string> => (ctx.warnings.length ? { Warning: warningHeader(ctx.warnings) } : {});
    const contentType = String(req.headers['content-type'] ?? 'application/json');

    if (name === undefined) {
      if (method === 'GET') {
        if (watch) return startWatch(req, res, t, ns, q, accept);
        const { items, meta } = listObjects(t, ns, q);
        if (accept.table) {
          const table = toTable(items, columnsFor(grKey(t), t.printerColumns), q.get('includeObject') ?? 'Metadata', meta);
          table.apiVersion = `meta.k8s.io/${accept.tableVersion}`;
          return send(res, 200, table, {}, pretty);
        }
        if (accept.partialMeta) {
          return send(res, 200, {
            kind: 'PartialObjectMetadataList',
            apiVersion: 'meta.k8s.io/v1',
            metadata: meta,
            items: items.map((o) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata })),
          }, {}, pretty);
        }
        return send(res, 200, { kind: t.listKind, apiVersion: apiVersionOf(t), metadata: meta, items }, {}, pretty);
      }
      if (method === 'POST') {
        if (t.namespaced && ns === undefined) throw methodNotAllowed();
        const body = decodeBody(t, await readBody(req), contentType);
        const created = createObject(t, ns, body, ctx);
        if (grKey(t) === '/namespaces' && !ctx.dryRun) afterCreateNamespace(created);
        return send(res, 201, created, warn(), pretty);
      }
      if (method === 'DELETE') {
        const raw = await readBody(req);
        const options = raw.length ? decodeBody(t, raw, 'application/json') : {};
        const { items } = listObjects(t, ns, q);
        for (const o of items) {
          try {
            deleteObject(t, o.metadata.namespace, o.metadata.name, options, ctx);
          } catch (e) {
            if (!(e instanceof ApiError && (e.code === 404 || e.code === 403))) throw e;
          }
        }
        return send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' }, {}, pretty);
      }
      throw methodNotAllowed();
    }

    if (sub === undefined) {
      if (method === 'GET') {
        const obj = store.get(grKey(t), ns, name);
        if (!obj) throw notFound(gr(t), name);
        return sendObject(res, t, present(t, obj), accept, q, pretty);
      }
      if (method === 'PUT') {
        const body = decodeBody(t, await readBody(req), contentType);
        return send(res, 200, updateObject(t, ns, name, body, undefined, ctx), warn(), pretty);
      }
      if (method === 'PATCH') {
        const { code, obj } = patchObject(t, ns, name, await readBody(req), contentType, undefined, ctx, q.get('force') === 'true');
        if (code === 201 && grKey(t) === '/namespaces' && !ctx.dryRun) afterCreateNamespace(obj);
        return send(res, code, obj, warn(), pretty);
      }
      if (method === 'DELETE') {
        const raw = await readBody(req);
        const options = raw.length ? decodeBody(t, raw, 'application/json') : {};
        if (q.get('propagationPolicy')) options.propagationPolicy = q.get('propagationPolicy');
        const { code, body } = deleteObject(t, ns, name, options, ctx);
        return send(res, code, body, {}, pretty);
      }
      throw methodNotAllowed();
    }

    if (sub === 'status' && t.status) {
      if (method === 'GET') {
        const obj = store.get(grKey(t), ns, name);
        if (!obj) throw notFound(gr(t), name);
        return sendObject(res, t, present(t, obj), accept, q, pretty);
      }
      if (method === 'PUT') {
        const body = decodeBody(t, await readBody(req), contentType);
        return send(res, 200, updateObject(t, ns, name, body, 'status', ctx), warn(), pretty);
      }
      if (method === 'PATCH') {
        const { obj } = patchObject(t, ns, name, await readBody(req), contentType, 'status', ctx, false);
        return send(res, 200, obj, warn(), pretty);
      }
      throw methodNotAllowed();
    }
    if (sub === 'finalize' && grKey(t) === '/namespaces') {
      if (method !== 'PUT') throw methodNotAllowed();
      const body = decodeBody(t, await readBody(req), contentType);
      const cur = store.get('/namespaces', undefined, name);
      if (!cur) throw notFound(gr(t), name);
      const next = structuredClone(cur);
      next.spec = { ...(next.spec ?? {}), finalizers: body?.spec?.finalizers ?? [] };
      return send(res, 200, commitUpdate(t, cur, next, ctx), {}, pretty);
    }
    if (sub === 'log' && t.log) {
      if (method !== 'GET') throw methodNotAllowed();
      return podLog(req, res, t, ns!, name, q);
    }
    throw pathNotFound();
  }

  function sendObject(res: ServerResponse, t: ResourceType, obj: any, accept: Accept, q: URLSearchParams, pretty: boolean): void {
    if (accept.table) {
      const table = toTable([obj], columnsFor(grKey(t), t.printerColumns), q.get('includeObject') ?? 'Metadata', { resourceVersion: obj.metadata.resourceVersion });
      table.apiVersion = `meta.k8s.io/${accept.tableVersion}`;
      return send(res, 200, table, {}, pretty);
    }
    if (accept.partialMeta) return send(res, 200, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata }, {}, pretty);
    send(res, 200, obj, {}, pretty);
  }

  // ---------------------------------------------------------------- watch

  function startWatch(req: IncomingMessage, res: ServerResponse, t: ResourceType, ns: string | undefined, q: URLSearchParams, accept: Accept): void {
    const labels = parseLabelSelector(q.get('labelSelector'));
    const fields = parseFieldSelector(q.get('fieldSelector'));
    const key = grKey(t);
    const matches = (o: any): boolean =>
      (ns === undefined || (o.metadata?.namespace ?? '') === ns) && matchLabels(labels, o.metadata?.labels) && matchFields(fields, o);
    const rvParam = q.get('resourceVersion') ?? '';
    const sendInitial = q.get('sendInitialEvents') === 'true';
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const timeoutS = Number(q.get('timeoutSeconds') ?? defaultWatchTimeout);
    let replay: StoreEvent[] = [];
    if (rvParam !== '' && rvParam !== '0' && !sendInitial) {
      const rv = Number(rvParam);
      if (!Number.isInteger(rv) || rv < 0) throw badRequest(`invalid resource version "${rvParam}"`);
      const evs = store.eventsSince(key, rv);
      if (!evs) throw expired(`too old resource version: ${rv} (${store.oldestResumableRv() + 1})`);
      replay = evs;
    }
    const columns = accept.table ? columnsFor(key, t.printerColumns) : undefined;
    const includeObject = q.get('includeObject') ?? 'Metadata';
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders(); // clients (client-go) block on the response headers until they arrive
    res.socket?.setNoDelay(true);
    let closed = false;
    const write = (type: string, object: any) => {
      if (closed) return;
      res.write(JSON.stringify({ type, object }) + '\n');
    };
    const emit = (type: string, raw: any) => {
      const o = present(t, raw);
      if (columns) {
        const table = toTable([o], columns, includeObject, { resourceVersion: o.metadata.resourceVersion });
        table.apiVersion = `meta.k8s.io/${accept.tableVersion}`;
        write(type, table);
      } else write(type, o);
    };
    const bookmark = (annotations?: Record<string, string>) => {
      const metadata: any = { resourceVersion: String(store.currentRv()) };
      if (annotations) metadata.annotations = annotations;
      if (columns) write('BOOKMARK', { kind: 'Table', apiVersion: `meta.k8s.io/${accept.tableVersion}`, metadata, columnDefinitions: [], rows: [] });
      else write('BOOKMARK', { kind: t.kind, apiVersion: apiVersionOf(t), metadata });
    };
    const dispatch = (ev: StoreEvent) => {
      if (ev.type === 'MODIFIED') {
        const now = matches(ev.obj);
        const before = ev.old ? matches(ev.old) : now;
        if (now && before) emit('MODIFIED', ev.obj);
        else if (now) emit('ADDED', ev.obj);
        else if (before) emit('DELETED', ev.obj);
      } else if (matches(ev.obj)) emit(ev.type, ev.obj);
    };

    if (replay.length || (rvParam !== '' && rvParam !== '0' && !sendInitial)) for (const ev of replay) dispatch(ev);
    else {
      for (const o of store.list(key, t.namespaced ? ns : undefined)) if (matches(o)) emit('ADDED', o);
      if (sendInitial && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
    }
    const watcher = { gr: key, onEvent: dispatch };
    store.addWatcher(watcher);
    const bmTimer = bookmarks ? setInterval(() => bookmark(), bookmarkMs) : undefined;
    const end = () => {
      if (closed) return;
      closed = true;
      store.removeWatcher(watcher);
      if (bmTimer) clearInterval(bmTimer);
      clearTimeout(toTimer);
      activeWatches.delete(end);
      res.end();
    };
    const toTimer = setTimeout(end, Math.max(0, timeoutS) * 1000);
    activeWatches.add(end);
    req.on('close', end);
    res.on('close', end);
    res.on('error', end);
  }

  // ---------------------------------------------------------------- pod logs

  function podLog(req: IncomingMessage, res: ServerResponse, t: ResourceType, ns: string, name: string, q: URLSearchParams): void {
    const pod = store.get('/pods', ns, name);
    if (!pod) throw notFound(gr(t), name);
    const names: string[] = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c: any) => c?.name).filter(Boolean);
    let container = q.get('container') ?? '';
    if (!container) {
      const def = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
      if (names.length === 1) container = names[0]!;
      else if (def && names.includes(def)) container = def;
      else if (names.length > 1) throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`);
    } else if (!names.includes(container)) {
      throw badRequest(`container ${container} is not valid for pod ${name}`);
    }
    if (q.get('previous') === 'true') throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
    const ann = pod.metadata?.annotations ?? {};
    const file: string | undefined = ann[`${LOG_PATH_ANNOTATION}.${container}`] ?? ann[LOG_PATH_ANNOTATION];
    if (!file) {
      throw badRequest(`container "${container}" in pod "${name}" is waiting to start: no log available (annotation ${LOG_PATH_ANNOTATION} is not set)`);
    }
    let content: Buffer;
    try {
      content = readFileSync(file);
    } catch {
      throw new ApiError(404, 'NotFound', `log file for container "${container}" in pod "${name}" not found (${file})`, { name, kind: 'pods' });
    }
    let text = content.toString('utf8');
    const tail = q.get('tailLines');
    if (tail !== null) {
      const n = Number(tail);
      if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid tailLines "${tail}"`);
      const lines = text.split('\n');
      const trailing = lines[lines.length - 1] === '';
      if (trailing) lines.pop();
      text = n === 0 ? '' : lines.slice(-n).join('\n') + (trailing && lines.length ? '\n' : '');
    }
    const limit = q.get('limitBytes');
    let out = Buffer.from(text, 'utf8');
    if (limit !== null && Number(limit) > 0) out = out.subarray(0, Number(limit));
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
    if (q.get('follow') !== 'true') {
      res.end(out);
      return;
    }
    res.flushHeaders();
    if (out.length) res.write(out);
    let offset = content.length;
    let closed = false;
    const poll = setInterval(() => {
      if (!store.get('/pods', ns, name)) return end();
      try {
        const size = statSync(file).size;
        if (size < offset) offset = 0;
        if (size > offset) {
          const fd = openSync(file, 'r');
          const buf = Buffer.alloc(size - offset);
          readSync(fd, buf, 0, buf.length, offset);
          closeSync(fd);
          offset = size;
          res.write(buf);
        }
      } catch {
        /* file may be rotated or gone */
      }
    }, 250);
    const end = () => {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      activeWatches.delete(end);
      res.end();
    };
    activeWatches.add(end);
    req.on('close', end);
  }

  // ---------------------------------------------------------------- seed / persistence

  function seed(): void {
    const mk = (t: ResourceType, body: any) => {
      const created = createObject(t, body.metadata.namespace, body, { dryRun: false, validation: 'Ignore', warnings: [] });
      if (grKey(t) === '/namespaces') afterCreateNamespace(created);
    };
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) mk(nsType, { metadata: { name: n } });
    const nodeType = registry.find('', 'v1', 'nodes')!;
    const resources = { cpu: '2', memory: '24Gi', pods: '110', 'ephemeral-storage': '20Gi' };
    const ts = now();
    mk(nodeType, {
      metadata: {
        name: 'lab-cloud-node',
        labels: {
          'kubernetes.io/hostname': 'lab-cloud-node',
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'beta.kubernetes.io/os': 'linux',
          'beta.kubernetes.io/arch': 'amd64',
        },
      },
      spec: {},
      status: {
        capacity: resources,
        allocatable: resources,
        conditions: [
          { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available', lastHeartbeatTime: ts, lastTransitionTime: ts },
          { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure', lastHeartbeatTime: ts, lastTransitionTime: ts },
          { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available', lastHeartbeatTime: ts, lastTransitionTime: ts },
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: ts, lastTransitionTime: ts },
        ],
        addresses: [
          { type: 'InternalIP', address: '127.0.0.1' },
          { type: 'Hostname', address: 'lab-cloud-node' },
        ],
        nodeInfo: {
          kubeletVersion: SERVER_VERSION.gitVersion,
          kubeProxyVersion: SERVER_VERSION.gitVersion,
          osImage: 'mlv-lab (processes on the host)',
          kernelVersion: release(),
          containerRuntimeVersion: 'mlv-lab://process',
          operatingSystem: 'linux',
          architecture: 'amd64',
          machineID: '',
          systemUUID: '',
          bootID: '',
        },
      },
    });
    const svcType = registry.find('', 'v1', 'services')!;
    mk(svcType, {
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { type: 'ClusterIP', clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: serverPort }] },
    });
  }

  function loadSnapshot(): boolean {
    if (!opts.persist || !existsSync(snapshotFile)) return false;
    try {
      const snap = JSON.parse(readFileSync(snapshotFile, 'utf8'));
      store.restore(snap);
      for (const crd of store.list(grKey(crdType))) registry.setCustom(crd.metadata.name, typesFromCrd(crd));
      log(`restored ${snapshotFile} at resourceVersion ${snap.rv}`);
      return true;
    } catch (e) {
      log(`ignoring unreadable snapshot ${snapshotFile}: ${(e as Error).message}`);
      return false;
    }
  }

  function saveSnapshot(): void {
    if (!opts.persist) return;
    writeFileSync(snapshotFile + '.tmp', JSON.stringify(store.snapshot()));
    renameSync(snapshotFile + '.tmp', snapshotFile);
  }

  // ---------------------------------------------------------------- listen

  const server: Server = createServer({ key: readFileSync(paths.serverKey), cert: readFileSync(paths.serverCert) }, (req, res) => {
    const started = Date.now();
    res.on('finish', () => log(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms`));
    handle(req, res).catch((e) => sendError(res, e));
  });
  server.keepAliveTimeout = 120_000;
  server.requestTimeout = 0;
  const sockets = new Set<Socket>();
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  let serverPort = opts.port ?? 6443;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(serverPort, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr && typeof addr === 'object') serverPort = addr.port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `https://${urlHost}:${serverPort}`;
  if (!loadSnapshot()) seed();
  const kubeconfigPath = writeKubeconfig(stateDir, opts.kubeconfigServer ?? url, token);
  log(`listening on ${url} (kubeconfig ${kubeconfigPath})`);

  return {
    url,
    host: urlHost,
    port: serverPort,
    stateDir,
    kubeconfigPath,
    caPath: paths.caCert,
    token,
    close: async () => {
      for (const end of [...activeWatches]) end();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      saveSnapshot();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
