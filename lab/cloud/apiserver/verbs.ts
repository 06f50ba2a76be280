// The verbs over the store: create, update (and the status subresource), patch, delete, list.
// Each takes the server context and the per-request write options (dry run, field validation).
import { randomBytes, randomUUID } from 'node:crypto';
import { ApiError, STALE_OBJECT, alreadyExists, badRequest, conflict, forbidden, invalid, notFound, unsupportedMediaType } from './errors.ts';
import { jsonPatch, mergePatch, sortKeys, strategicMergePatch } from './patch.ts';
import { grKey, typesFromCrd, type ResourceType } from './registry.ts';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { checkName, nameRuleFor, validateCustomResource } from './validation.ts';
import { checkTypeMeta, decodeBody, fieldValidation, prepareForCreate, prepareForUpdate, requireNamespaceForWrite, validateObject } from './admission.ts';
import { finalizeNamespace, onRemoved, removeAndCollect, teardownCrd } from './cascade.ts';
import { gr, isObj, later, now, present, type ApiContext, type WriteCtx } from './context.ts';

const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

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

/** POST: name (or generateName), validation, server-set metadata, defaulting. */
export function createObject(api: ApiContext, t: ResourceType, ns: string | undefined, body: any, ctx: WriteCtx): any {
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
  if (!meta.name) {
    throw invalid(t.group, t.kind, '', [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
  }
  const errs = [...checkName(String(meta.name), nameRuleFor(t)), ...validateObject(t, body)];
  errs.push(...fieldValidation(t, body, ctx.validation, ctx.warnings));
  if (errs.length) throw invalid(t.group, t.kind, String(meta.name), errs);
  if (t.namespaced) requireNamespaceForWrite(api, meta.namespace, meta.name, t);
  if (api.store.get(key, meta.namespace, meta.name)) throw alreadyExists(gr(t), meta.name);

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

export function afterWrite(api: ApiContext, t: ResourceType, stored: any): void {
  const key = grKey(t);
  if (key === grKey(api.crdType)) {
    api.registry.setCustom(stored.metadata.name, typesFromCrd(stored));
    api.log(`registered ${stored.spec.group}/${stored.spec.names.plural}`);
  }
}

/** A new namespace gets its default ServiceAccount. */
export function afterCreateNamespace(api: ApiContext, ns: any): void {
  const name = ns.metadata.name;
  if (!api.store.get('/serviceaccounts', name, 'default')) {
    api.store.put('/serviceaccounts', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: name, uid: randomUUID(), creationTimestamp: now() },
    }, 'ADDED');
  }
}

/** PUT (sub undefined) or PUT .../status: preconditions, then the replacement or the new status. */
export function updateObject(api: ApiContext, t: ResourceType, ns: string | undefined, name: string, body: any, sub: string | undefined, ctx: WriteCtx): any {
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
function withNewStatus(t: ResourceType, name: string, cur: any, body: any): any {
  const next = structuredClone(cur);
  if (body.status === undefined) delete next.status;
  else next.status = body.status;
  if (t.crd && t.schema?.properties?.status && next.status !== undefined) {
    const r = validateCustomResource({ ...t, schema: { type: 'object', properties: { status: t.schema.properties.status } } }, { status: next.status });
    if (r.errors.length) throw invalid(t.group, t.kind, name, r.errors);
  }
  return next;
}

/** The main resource: the body, keeping server-owned metadata and status, validated; generation bumped on a spec change. */
function replacement(t: ResourceType, ns: string | undefined, name: string, cur: any, body: any, ctx: WriteCtx): any {
  const next = body;
  next.metadata = {
    ...body.metadata,
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
  return next;
}

/** Store `next` over `cur` unless nothing changed; an object being deleted whose finalizers are gone is removed. */
export function commitUpdate(api: ApiContext, t: ResourceType, cur: any, next: any, ctx: WriteCtx): any {
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
export function patchObject(api: ApiContext, t: ResourceType, ns: string | undefined, name: string, raw: Buffer, contentType: string, sub: string | undefined, ctx: WriteCtx, force: boolean): { code: number; obj: any } {
  const ct = contentType.split(';')[0]!.trim();
  const key = grKey(t);
  const cur = api.store.get(key, ns, name);
  const body = decodeBody(t, raw, ct);
  if (ct === 'application/apply-patch+yaml') {
    // Server-side apply, approximated: create if missing, else JSON-merge the applied config.
    if (!isObj(body)) throw badRequest('apply patch must be an object');
    if (!cur) {
      body.metadata = { ...(body.metadata ?? {}), name };
      return { code: 201, obj: createObject(api, t, ns, body, ctx) };
    }
    void force;
  }
  if (!cur) throw notFound(gr(t), name);
  const patched = applyPatch(ct, present(t, cur), body);
  if (!isObj(patched)) throw new ApiError(422, 'Invalid', 'the patched object is not a JSON object');
  if (!isObj(patched.metadata)) patched.metadata = {};
  // A patch without a resourceVersion is unconditional.
  if (patched.metadata.resourceVersion === undefined) patched.metadata.resourceVersion = cur.metadata.resourceVersion;
  return { code: 200, obj: updateObject(api, t, ns, name, patched, sub, ctx) };
}

function applyPatch(ct: string, curView: any, body: any): any {
  switch (ct) {
    case 'application/merge-patch+json':
    case 'application/apply-patch+yaml':
      if (!isObj(body)) throw badRequest('merge patch must be a JSON object');
      return mergePatch(curView, body);
    case 'application/strategic-merge-patch+json':
      if (!isObj(body)) throw badRequest('strategic merge patch must be a JSON object');
      return strategicMergePatch(curView, body);
    case 'application/json-patch+json':
      return jsonPatch(curView, body);
    default:
      throw unsupportedMediaType(ct);
  }
}

/** DELETE: preconditions; namespaces turn Terminating, objects with finalizers get a deletionTimestamp, others go. */
export function deleteObject(api: ApiContext, t: ResourceType, ns: string | undefined, name: string, options: any, ctx: WriteCtx): { code: number; body: any } {
  const key = grKey(t);
  const cur = api.store.get(key, ns, name);
  if (!cur) throw notFound(gr(t), name);
  const pre = options?.preconditions ?? {};
  if (pre.uid && pre.uid !== cur.metadata.uid) {
    throw conflict(gr(t), name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
  }
  if (pre.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
    throw conflict(gr(t), name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
  }
  if (ctx.dryRun) return { code: 200, body: present(t, cur) };
  if (key === '/namespaces') return deleteNamespace(api, t, name, cur);
  const orphan = options?.propagationPolicy === 'Orphan' || options?.orphanDependents === true;
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

function deleteNamespace(api: ApiContext, t: ResourceType, name: string, cur: any): { code: number; body: any } {
  if (PROTECTED_NAMESPACES.has(name)) throw forbidden(gr(t), name, 'this namespace may not be deleted');
  if (cur.status?.phase === 'Terminating') return { code: 200, body: present(t, cur) };
  const next = structuredClone(cur);
  next.metadata.deletionTimestamp = now();
  next.metadata.deletionGracePeriodSeconds = 0;
  next.status = { ...(next.status ?? {}), phase: 'Terminating' };
  const stored = api.store.put('/namespaces', next, 'MODIFIED', cur);
  later(api, () => finalizeNamespace(api, name, Date.now()), 0);
  return { code: 200, body: present(t, stored) };
}

/** LIST: label and field selectors, limit/continue paging. */
export function listObjects(api: ApiContext, t: ResourceType, ns: string | undefined, q: URLSearchParams): { items: any[]; meta: any } {
  const labels = parseLabelSelector(q.get('labelSelector'));
  const fields = parseFieldSelector(q.get('fieldSelector'));
  let items = api.store
    .list(grKey(t), t.namespaced ? ns : undefined)
    .filter((o) => matchLabels(labels, o.metadata?.labels) && matchFields(fields, o))
    .map((o) => present(t, o));
  const meta: any = { resourceVersion: String(api.store.currentRv()) };
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
