// The verbs over the store: create, update (and the status subresource), patch, delete, list.
// Each takes the server context and the per-request write options (dry run, field validation).
import { randomBytes, randomUUID } from 'node:crypto';
import { ApiError, STALE_OBJECT, alreadyExists, badRequest, conflict, forbidden, invalid, notFound, unsupportedMediaType } from './errors.ts';
import { asObject, isObject, type AdmittedObject, type Json, type JsonObject, type KubeObject, type ObjectMeta, type StoredObject } from './json.ts';
import { jsonPatch, mergePatch, sortKeys, strategicMergePatch } from './patch.ts';
import { grKey, typesFromCrd, type CustomResourceDefinition, type ResourceType } from './registry.ts';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { checkName, nameRuleFor, ratchet, validateCustomResource } from './validation.ts';
import { checkTypeMeta, decodeBody, fieldValidation, prepareForCreate, prepareForUpdate, requireNamespaceForWrite, validateObject } from './admission.ts';
import { finalizeNamespace, onRemoved, removeAndCollect, teardownCrd } from './cascade.ts';
import { gr, later, now, present, type ApiContext, type WriteCtx } from './context.ts';

const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = randomBytes(5);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

function withoutRv(o: KubeObject): Json | undefined {
  const c = structuredClone(o);
  if (c.metadata) delete c.metadata.resourceVersion;
  return sortKeys(c);
}

function sameObject(a: KubeObject, b: KubeObject): boolean {
  return JSON.stringify(withoutRv(a)) === JSON.stringify(withoutRv(b));
}

function specPart(o: KubeObject): string {
  const c: JsonObject = {};
  for (const [k, v] of Object.entries(o ?? {})) if (k !== 'metadata' && k !== 'status' && k !== 'apiVersion' && k !== 'kind') c[k] = v;
  return JSON.stringify(sortKeys(c));
}

const hasName = (o: AdmittedObject): o is StoredObject => !!o.metadata.name;

/** POST: name (or generateName), validation, server-set metadata, defaulting. */
export function createObject(api: ApiContext, t: ResourceType, ns: string | undefined, body: unknown, ctx: WriteCtx): StoredObject {
  checkTypeMeta(api, t, body);
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
      if (!api.store.get(key, meta.namespace, candidate)) {
        meta.name = candidate;
        break;
      }
    }
  }
  if (!hasName(body)) {
    throw invalid(t.group, t.kind, '', [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
  }
  const { name } = body.metadata;
  const errs = [...checkName(String(name), nameRuleFor(t)), ...validateObject(t, body)];
  errs.push(...fieldValidation(t, body, ctx.validation, ctx.warnings));
  if (errs.length) throw invalid(t.group, t.kind, String(name), errs);
  // a namespaced object's namespace was set (or the request refused) above
  if (t.namespaced) requireNamespaceForWrite(api, meta.namespace!, name, t);
  if (api.store.get(key, meta.namespace, name)) throw alreadyExists(gr(t), name);

  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta.managedFields;
  delete meta.selfLink;
  meta.uid = randomUUID();
  meta.creationTimestamp = now();
  if (t.tracksGeneration) meta.generation = 1;
  else delete meta.generation;
  prepareForCreate(api, t, body);
  if (ctx.dryRun) return present(t, body);
  const stored = api.store.put(key, body, 'ADDED');
  afterWrite(api, t, stored);
  return present(t, stored);
}

export function afterWrite(api: ApiContext, t: ResourceType, stored: StoredObject): void {
  const key = grKey(t);
  if (key === grKey(api.crdType)) {
    const crd = stored as StoredObject & CustomResourceDefinition; // validated by validateCrd
    api.registry.setCustom(crd.metadata.name, typesFromCrd(crd));
    api.log(`registered ${crd.spec.group}/${crd.spec.names.plural}`);
  }
}

/** A new namespace gets its default ServiceAccount. */
export function afterCreateNamespace(api: ApiContext, ns: StoredObject): void {
  const name = ns.metadata.name;
  if (!api.store.get('/serviceaccounts', name, 'default')) {
    api.store.put(
      '/serviceaccounts',
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'default', namespace: name, uid: randomUUID(), creationTimestamp: now() },
      },
      'ADDED',
    );
  }
}

/** PUT (sub undefined) or PUT .../status: preconditions, then the replacement or the new status. */
export function updateObject(api: ApiContext, t: ResourceType, ns: string | undefined, name: string, body: unknown, sub: string | undefined, ctx: WriteCtx): StoredObject | undefined {
  const key = grKey(t);
  const cur = api.store.get(key, ns, name);
  if (!cur) throw notFound(gr(t), name);
  checkTypeMeta(api, t, body);
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
  const next = sub === 'status' ? withNewStatus(t, name, cur, body) : replacement(t, ns, name, cur, body, ctx);
  return commitUpdate(api, t, cur, next, ctx);
}

/** The status subresource: the stored object with the body's status (schema-checked for CRs). */
function withNewStatus(t: ResourceType, name: string, cur: StoredObject, body: AdmittedObject): StoredObject {
  const next = structuredClone(cur);
  if (body.status === undefined) delete next.status;
  else next.status = body.status;
  if (t.crd && t.schema?.properties?.status && next.status !== undefined) {
    // pruned, defaulted and validated as kube-apiserver does on PUT/PATCH .../status
    const statusOnly = { ...t, schema: { type: 'object', properties: { status: t.schema.properties.status } } };
    const part: KubeObject = { status: next.status };
    const errors = ratchet(validateCustomResource(statusOnly, part).errors, statusOnly, { status: cur.status });
    if (errors.length) throw invalid(t.group, t.kind, name, errors);
    if (part.status === undefined) delete next.status;
    else next.status = part.status;
  }
  return next;
}

/** The main resource: the body, keeping server-owned metadata and status, validated; generation bumped on a spec change. */
function replacement(t: ResourceType, ns: string | undefined, name: string, cur: StoredObject, body: AdmittedObject, ctx: WriteCtx): StoredObject {
  const metadata = {
    ...body.metadata,
    name,
    namespace: cur.metadata.namespace,
    uid: cur.metadata.uid,
    creationTimestamp: cur.metadata.creationTimestamp,
    resourceVersion: cur.metadata.resourceVersion,
  };
  const next: StoredObject = Object.assign(body, { metadata });
  if (t.namespaced) next.metadata.namespace = ns;
  else delete next.metadata.namespace;
  delete next.metadata.managedFields;
  delete next.metadata.selfLink;
  for (const k of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'generation']) {
    if (cur.metadata[k] !== undefined) next.metadata[k] = cur.metadata[k];
    else delete next.metadata[k];
  }
  if (t.status) {
    if (cur.status === undefined) delete next.status;
    else next.status = cur.status;
  }
  prepareForUpdate(t, next, cur);
  const schemaErrs = fieldValidation(t, next, ctx.validation, ctx.warnings);
  const errs = [...validateObject(t, next), ...(t.crd ? ratchet(schemaErrs, t, cur) : schemaErrs)];
  if (errs.length) throw invalid(t.group, t.kind, name, errs);
  if (t.tracksGeneration && specPart(next) !== specPart(cur)) next.metadata.generation = (cur.metadata.generation ?? 0) + 1;
  return next;
}

/** Store `next` over `cur` unless nothing changed; an object being deleted whose finalizers are gone is removed. */
export function commitUpdate(api: ApiContext, t: ResourceType, cur: StoredObject, next: StoredObject, ctx: WriteCtx): StoredObject | undefined {
  const key = grKey(t);
  const { namespace, name } = next.metadata;
  if (next.metadata.deletionTimestamp && !(next.metadata.finalizers ?? []).length && key !== '/namespaces') {
    if (ctx.dryRun) return present(t, next);
    api.store.put(key, next, 'MODIFIED', cur);
    return removeAndCollect(api, t, key, namespace, name);
  }
  if (sameObject(next, cur)) return present(t, cur);
  if (ctx.dryRun) return present(t, next);
  const stored = api.store.put(key, next, 'MODIFIED', cur);
  afterWrite(api, t, stored);
  return present(t, stored);
}

/** PATCH: merge, strategic-merge, JSON and (approximated) server-side apply, which also creates. */
export function patchObject(
  api: ApiContext,
  t: ResourceType,
  ns: string | undefined,
  name: string,
  raw: Buffer,
  contentType: string,
  sub: string | undefined,
  ctx: WriteCtx,
  force: boolean,
): { code: 201; obj: StoredObject } | { code: 200; obj: StoredObject | undefined } {
  const ct = contentType.split(';')[0]!.trim();
  const key = grKey(t);
  const cur = api.store.get(key, ns, name);
  const body = decodeBody(t, raw, ct);
  if (ct === 'application/apply-patch+yaml') {
    // Server-side apply, approximated: create if missing, else JSON-merge the applied config.
    if (!isObject(body)) throw badRequest('apply patch must be an object');
    if (!cur) {
      body.metadata = { ...((body as KubeObject).metadata ?? {}), name };
      return { code: 201, obj: createObject(api, t, ns, body, ctx) };
    }
    void force;
  }
  if (!cur) throw notFound(gr(t), name);
  const patched = applyPatch(ct, present(t, cur), body);
  if (!isObject(patched)) throw new ApiError(422, 'Invalid', 'the patched object is not a JSON object');
  if (!isObject(patched.metadata)) patched.metadata = {};
  // A patch without a resourceVersion is unconditional.
  const meta: ObjectMeta = patched.metadata;
  if (meta.resourceVersion === undefined) meta.resourceVersion = cur.metadata.resourceVersion;
  return { code: 200, obj: updateObject(api, t, ns, name, patched, sub, ctx) };
}

function applyPatch(ct: string, curView: StoredObject, body: unknown): Json | undefined {
  switch (ct) {
    case 'application/merge-patch+json':
    case 'application/apply-patch+yaml':
      if (!isObject(body)) throw badRequest('merge patch must be a JSON object');
      return mergePatch(curView, body);
    case 'application/strategic-merge-patch+json':
      if (!isObject(body)) throw badRequest('strategic merge patch must be a JSON object');
      return strategicMergePatch(curView, body);
    case 'application/json-patch+json':
      return jsonPatch(curView, body);
    default:
      throw unsupportedMediaType(ct);
  }
}

/** DELETE: preconditions; namespaces turn Terminating, objects with finalizers get a deletionTimestamp, others go. */
export function deleteObject(api: ApiContext, t: ResourceType, ns: string | undefined, name: string, options: unknown, ctx: WriteCtx): { code: number; body: KubeObject } {
  const key = grKey(t);
  const cur = api.store.get(key, ns, name);
  if (!cur) throw notFound(gr(t), name);
  const pre = asObject(asObject(options).preconditions);
  if (pre.uid && pre.uid !== cur.metadata.uid) {
    throw conflict(gr(t), name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
  }
  if (pre.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
    throw conflict(gr(t), name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
  }
  if (ctx.dryRun) return { code: 200, body: present(t, cur) };
  if (key === '/namespaces') return deleteNamespace(api, t, name, cur);
  const orphan = asObject(options).propagationPolicy === 'Orphan' || asObject(options).orphanDependents === true;
  if ((cur.metadata.finalizers ?? []).length) {
    if (cur.metadata.deletionTimestamp) return { code: 200, body: present(t, cur) };
    const next = structuredClone(cur);
    next.metadata.deletionTimestamp = now();
    next.metadata.deletionGracePeriodSeconds = 0;
    const stored = api.store.put(key, next, 'MODIFIED', cur);
    return { code: 200, body: present(t, stored) };
  }
  const gone = api.store.remove(key, ns, name)!;
  if (orphan) {
    if (key === grKey(api.crdType)) teardownCrd(api, gone);
  } else onRemoved(api, key, gone);
  if (t.crd || key === '/pods' || key === grKey(api.crdType)) return { code: 200, body: present(t, gone) };
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

function deleteNamespace(api: ApiContext, t: ResourceType, name: string, cur: StoredObject): { code: number; body: KubeObject } {
  if (PROTECTED_NAMESPACES.has(name)) throw forbidden(gr(t), name, 'this namespace may not be deleted');
  if (asObject(cur.status).phase === 'Terminating') return { code: 200, body: present(t, cur) };
  const next: StoredObject & { status?: JsonObject } = structuredClone(cur);
  next.metadata.deletionTimestamp = now();
  next.metadata.deletionGracePeriodSeconds = 0;
  next.status = { ...(next.status ?? {}), phase: 'Terminating' };
  const stored = api.store.put('/namespaces', next, 'MODIFIED', cur);
  later(api, () => finalizeNamespace(api, name, Date.now()), 0);
  return { code: 200, body: present(t, stored) };
}

/** LIST: label and field selectors, limit/continue paging. */
/** The list metadata: resourceVersion, and continue with remainingItemCount when the list is cut at ?limit. */
export type ListMeta = {
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
};

export function listObjects(api: ApiContext, t: ResourceType, ns: string | undefined, q: URLSearchParams): { items: StoredObject[]; meta: ListMeta } {
  const labels = parseLabelSelector(q.get('labelSelector'));
  const fields = parseFieldSelector(q.get('fieldSelector'));
  let items = api.store
    .list(grKey(t), t.namespaced ? ns : undefined)
    .filter((o) => matchLabels(labels, o.metadata?.labels) && matchFields(fields, o))
    .map((o) => present(t, o));
  const meta: ListMeta = { resourceVersion: String(api.store.currentRv()) };
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
