// Routing: health, version, discovery and OpenAPI, bearer-token auth, then the resource paths
// (/api/v1/..., /apis/<group>/<version>/...) to the verbs, watch and pod logs.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody as readRequestBody, send as sendJson } from '../http.ts';
import { ApiError, methodNotAllowed, notFound, pathNotFound, unauthorized } from './errors.ts';
import { OPENAPI_V2_JSON, OPENAPI_V2_PROTO, OPENAPI_V2_PROTO_TYPE, openapiV3Documents, openapiV3Root } from './openapi.ts';
import { asObject, type JsonObject, type StoredObject } from './json.ts';
import { apiVersionOf, grKey, type ResourceType } from './registry.ts';
import { columnsFor, toTable } from './tables.ts';
import { decodeBody } from './admission.ts';
import { podLog } from './logs.ts';
import { afterCreateNamespace, commitUpdate, createObject, deleteObject, listObjects, patchObject, updateObject, type ListMeta } from './verbs.ts';
import { startWatch } from './watch.ts';
import { SERVER_VERSION, gr, present, type Accept, type ApiContext, type WriteCtx } from './context.ts';

const MAX_BODY = 16 * 1024 * 1024;

interface Target {
  type: ResourceType;
  namespace?: string;
  name?: string;
  sub?: string;
}

/** A request for a resource, its collection or a subresource, parsed. */
interface ResourceRequest {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  q: URLSearchParams;
  pretty: boolean;
  accept: Accept;
  t: ResourceType;
  ns?: string;
  watch: boolean;
  ctx: WriteCtx;
  contentType: string;
}

export function parseAccept(header: string | undefined): Accept {
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

function warningHeader(msgs: string[]): string {
  return msgs.map((m) => `299 - ${JSON.stringify(m)}`).join(', ');
}

// ---------------------------------------------------------------- HTTP plumbing

export function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}, pretty = false): void {
  sendJson(res, code, body, { headers: { 'Cache-Control': 'no-cache, private', ...headers }, pretty, apiFraming: true });
}

export function sendError(api: ApiContext, res: ServerResponse, e: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (e instanceof ApiError) {
    send(res, e.code, e.toStatus(), e.headers);
    return;
  }
  api.log(`internal error: ${(e as Error)?.stack ?? e}`);
  send(res, 500, new ApiError(500, 'InternalError', `Internal error occurred: ${(e as Error)?.message ?? e}`).toStatus());
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return readRequestBody(req, MAX_BODY, () => new ApiError(413, 'RequestEntityTooLarge', 'the request is too large'));
}

export function authorized(api: ApiContext, req: IncomingMessage): boolean {
  const h = req.headers.authorization ?? '';
  const m = h.match(/^Bearer\s+(.+)$/i);
  if (!m) return false;
  const got = Buffer.from(m[1]!.trim());
  return got.length === api.token.length && timingSafeEqual(got, api.token);
}

// ---------------------------------------------------------------- paths

/** The resource type, namespace, name and subresource a path below /api/v1 or /apis/<g>/<v> names. */
export function resolveTarget(api: ApiContext, segs: string[], group: string, version: string): { target: Target; watchPath: boolean } {
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
  const type = api.registry.find(group, version, plural);
  if (!type) throw pathNotFound();
  if (namespace !== undefined && !type.namespaced) throw pathNotFound();
  if (type.namespaced && namespace === undefined && name !== undefined) throw pathNotFound();
  return { target: { type, namespace, name, sub }, watchPath };
}

/** /api/v1/<rest> or /apis/<group>/<version>/<rest>; version undefined for /apis/<group>. */
function splitApiPath(segs: string[]): { group: string; version?: string; rest: string[] } {
  if (segs[0] === 'api') {
    if (segs.length === 1) throw pathNotFound();
    const version = segs[1]!;
    if (version !== 'v1') throw pathNotFound();
    return { group: '', version, rest: segs.slice(2) };
  }
  if (segs[0] === 'apis' && segs.length >= 2) {
    if (segs.length === 2) return { group: segs[1]!, rest: [] };
    return { group: segs[1]!, version: segs[2]!, rest: segs.slice(3) };
  }
  throw pathNotFound();
}

// ---------------------------------------------------------------- handler

export async function handle(api: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://lab');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const q = url.searchParams;
  const method = req.method ?? 'GET';
  const pretty = q.get('pretty') === 'true';

  if (['/healthz', '/livez', '/readyz'].includes(path) || /^\/(healthz|livez|readyz)\//.test(path)) {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('ok');
    return;
  }
  if (path === '/version') return send(res, 200, SERVER_VERSION, {}, pretty);
  if (!authorized(api, req)) throw unauthorized();

  const accept = parseAccept(req.headers.accept);
  if (serveDiscovery(api, req, res, path, pretty)) return;

  const { group, version, rest } = splitApiPath(path.split('/').filter(Boolean).map(decodeURIComponent));
  if (version === undefined) {
    const g = api.registry.apiGroup(group);
    if (!g) throw pathNotFound();
    return send(res, 200, g, {}, pretty);
  }
  if (rest.length === 0) {
    if (method !== 'GET') throw methodNotAllowed();
    const list = api.registry.resourceList(group, version);
    if (!list) throw pathNotFound();
    return send(res, 200, list, {}, pretty);
  }

  const { target, watchPath } = resolveTarget(api, rest, group, version);
  const r: ResourceRequest = {
    req,
    res,
    method,
    q,
    pretty,
    accept,
    t: target.type,
    ns: target.namespace,
    watch: watchPath || q.get('watch') === 'true' || q.get('watch') === '1',
    ctx: { dryRun: q.getAll('dryRun').includes('All'), validation: q.get('fieldValidation') ?? 'Warn', warnings: [] },
    contentType: String(req.headers['content-type'] ?? 'application/json'),
  };
  if (target.name === undefined) return collection(api, r);
  if (target.sub === undefined) return object(api, r, target.name);
  return subresource(api, r, target.name, target.sub);
}

/** /api, /apis and the OpenAPI documents; false when `path` is none of them. */
function serveDiscovery(api: ApiContext, req: IncomingMessage, res: ServerResponse, path: string, pretty: boolean): boolean {
  if (path === '/api') send(res, 200, api.registry.apiVersions(`${api.host}:${api.port}`), {}, pretty);
  else if (path === '/apis') send(res, 200, api.registry.apiGroupList(), {}, pretty);
  else if (path === '/openapi/v2' || path === '/swagger-2.0.0.pb-v1') {
    if ((req.headers.accept ?? '').includes('protobuf')) {
      res.writeHead(200, { 'Content-Type': OPENAPI_V2_PROTO_TYPE });
      res.end(OPENAPI_V2_PROTO);
    } else send(res, 200, OPENAPI_V2_JSON, {}, pretty);
  } else if (path === '/openapi/v3') send(res, 200, openapiV3Root(openapiV3Documents(api.registry)), {}, pretty);
  else if (path.startsWith('/openapi/v3/')) {
    const doc = openapiV3Documents(api.registry).get(path.slice('/openapi/v3/'.length));
    if (!doc) throw pathNotFound();
    send(res, 200, doc, { 'Cache-Control': 'public, immutable' }, pretty);
  } else return false;
  return true;
}

/** The Warning header for what field validation found. */
function warn(r: ResourceRequest): Record<string, string> {
  return r.ctx.warnings.length ? { Warning: warningHeader(r.ctx.warnings) } : {};
}

/** The DeleteOptions in a DELETE body (none when empty). */
async function deleteOptions(r: ResourceRequest): Promise<unknown> {
  const raw = await readBody(r.req);
  return raw.length ? decodeBody(r.t, raw, 'application/json') : {};
}

/** GET (list or watch), POST, DELETE (deletecollection) on a collection. */
async function collection(api: ApiContext, r: ResourceRequest): Promise<void> {
  const { t, ns, q, res, ctx, pretty } = r;
  if (r.method === 'GET') {
    if (r.watch) return startWatch(api, r.req, res, t, ns, q, r.accept);
    const { items, meta } = listObjects(api, t, ns, q);
    return sendList(r, items, meta);
  }
  if (r.method === 'POST') {
    if (t.namespaced && ns === undefined) throw methodNotAllowed();
    const body = decodeBody(t, await readBody(r.req), r.contentType);
    const created = createObject(api, t, ns, body, ctx);
    if (grKey(t) === '/namespaces' && !ctx.dryRun) afterCreateNamespace(api, created);
    return send(res, 201, created, warn(r), pretty);
  }
  if (r.method === 'DELETE') {
    const options = await deleteOptions(r);
    const { items } = listObjects(api, t, ns, q);
    for (const o of items) {
      try {
        deleteObject(api, t, o.metadata.namespace, o.metadata.name, options, ctx);
      } catch (e) {
        if (!(e instanceof ApiError && (e.code === 404 || e.code === 403))) throw e;
      }
    }
    return send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' }, {}, pretty);
  }
  throw methodNotAllowed();
}

function sendList(r: ResourceRequest, items: StoredObject[], meta: ListMeta): void {
  const { t, q, res, accept, pretty } = r;
  if (accept.table) {
    const table = toTable(items, columnsFor(grKey(t), t.printerColumns), q.get('includeObject') ?? 'Metadata', meta);
    table.apiVersion = `meta.k8s.io/${accept.tableVersion}`;
    return send(res, 200, table, {}, pretty);
  }
  if (accept.partialMeta) {
    return send(
      res,
      200,
      {
        kind: 'PartialObjectMetadataList',
        apiVersion: 'meta.k8s.io/v1',
        metadata: meta,
        items: items.map((o) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata })),
      },
      {},
      pretty,
    );
  }
  return send(res, 200, { kind: t.listKind, apiVersion: apiVersionOf(t), metadata: meta, items }, {}, pretty);
}

/** GET, PUT, PATCH, DELETE on one object. */
async function object(api: ApiContext, r: ResourceRequest, name: string): Promise<void> {
  const { t, ns, q, res, ctx, pretty } = r;
  if (r.method === 'GET') {
    const obj = api.store.get(grKey(t), ns, name);
    if (!obj) throw notFound(gr(t), name);
    return sendObject(res, t, present(t, obj), r.accept, q, pretty);
  }
  if (r.method === 'PUT') {
    const body = decodeBody(t, await readBody(r.req), r.contentType);
    return send(res, 200, updateObject(api, t, ns, name, body, undefined, ctx), warn(r), pretty);
  }
  if (r.method === 'PATCH') {
    const { code, obj } = patchObject(api, t, ns, name, await readBody(r.req), r.contentType, undefined, ctx, q.get('force') === 'true');
    if (code === 201 && grKey(t) === '/namespaces' && !ctx.dryRun) afterCreateNamespace(api, obj);
    return send(res, code, obj, warn(r), pretty);
  }
  if (r.method === 'DELETE') {
    const options = await deleteOptions(r);
    // (a body that is not an object makes this throw, a 500, as it always has)
    if (q.get('propagationPolicy')) (options as JsonObject).propagationPolicy = q.get('propagationPolicy');
    const { code, body } = deleteObject(api, t, ns, name, options, ctx);
    return send(res, code, body, {}, pretty);
  }
  throw methodNotAllowed();
}

/** .../status, namespaces/<name>/finalize, pods/<name>/log. */
async function subresource(api: ApiContext, r: ResourceRequest, name: string, sub: string): Promise<void> {
  const { t, ns, q, res, ctx, pretty } = r;
  if (sub === 'status' && t.status) {
    if (r.method === 'GET') {
      const obj = api.store.get(grKey(t), ns, name);
      if (!obj) throw notFound(gr(t), name);
      return sendObject(res, t, present(t, obj), r.accept, q, pretty);
    }
    if (r.method === 'PUT') {
      const body = decodeBody(t, await readBody(r.req), r.contentType);
      return send(res, 200, updateObject(api, t, ns, name, body, 'status', ctx), warn(r), pretty);
    }
    if (r.method === 'PATCH') {
      const { obj } = patchObject(api, t, ns, name, await readBody(r.req), r.contentType, 'status', ctx, false);
      return send(res, 200, obj, warn(r), pretty);
    }
    throw methodNotAllowed();
  }
  if (sub === 'finalize' && grKey(t) === '/namespaces') {
    if (r.method !== 'PUT') throw methodNotAllowed();
    const body = decodeBody(t, await readBody(r.req), r.contentType);
    const cur = api.store.get('/namespaces', undefined, name);
    if (!cur) throw notFound(gr(t), name);
    const next: StoredObject & { spec?: JsonObject } = structuredClone(cur);
    next.spec = { ...(next.spec ?? {}), finalizers: asObject(asObject(body).spec).finalizers ?? [] };
    return send(res, 200, commitUpdate(api, t, cur, next, ctx), {}, pretty);
  }
  if (sub === 'log' && t.log) {
    if (r.method !== 'GET') throw methodNotAllowed();
    return podLog(api, r.req, res, t, ns!, name, q);
  }
  throw pathNotFound();
}

function sendObject(res: ServerResponse, t: ResourceType, obj: StoredObject, accept: Accept, q: URLSearchParams, pretty: boolean): void {
  if (accept.table) {
    const table = toTable([obj], columnsFor(grKey(t), t.printerColumns), q.get('includeObject') ?? 'Metadata', { resourceVersion: obj.metadata.resourceVersion });
    table.apiVersion = `meta.k8s.io/${accept.tableVersion}`;
    return send(res, 200, table, {}, pretty);
  }
  if (accept.partialMeta) return send(res, 200, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata }, {}, pretty);
  send(res, 200, obj, {}, pretty);
}
