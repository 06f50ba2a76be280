// OpenAPI documents, just enough for kubectl:
// - /openapi/v3 (+ one document per group/version): every PATCH/PUT/POST operation declares the
//   `fieldValidation` query parameter, so kubectl 1.27+ (validate=strict, the default) delegates
//   validation to this server (server-side field validation) instead of validating client-side.
//   Custom resources carry their CRD schema in components.schemas (kubectl explain works for them).
// - /openapi/v2: a minimal valid document (protobuf or JSON); it defines no types, so any
//   client-side v2 validation or strategic-merge lookup falls back to kubectl's built-in types.
import { createHash } from 'node:crypto';
import type { JsonObject } from './json.ts';
import type { Registry, ResourceType } from './registry.ts';

type Param = ReturnType<typeof param>;
/** One /openapi/v3/<group-version> document. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonObject> };
}

const K8S_VERSION = 'v1.32.0';

const param = (name: string, description: string) => ({
  name,
  in: 'query',
  description,
  schema: { type: 'string', uniqueItems: true },
});
const WRITE_PARAMS = [
  param('dryRun', 'When present, indicates that modifications should not be persisted.'),
  param('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  param('fieldValidation', 'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.'),
];
const READ_PARAMS = [param('pretty', "If 'true', then the output is pretty printed.")];
const LIST_PARAMS = [
  param('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
  param('fieldSelector', 'A selector to restrict the list of returned objects by their fields.'),
  param('resourceVersion', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
  param('watch', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.'),
  param('allowWatchBookmarks', 'allowWatchBookmarks requests watch events with type "BOOKMARK".'),
  param('timeoutSeconds', 'Timeout for the list/watch call.'),
  param('limit', 'limit is a maximum number of responses to return for a list call.'),
  param('continue', 'The continue option should be set when retrieving more results from the server.'),
];

export function schemaName(t: { group: string; version: string; kind: string }): string {
  if (!t.group) return `io.k8s.api.core.v1.${t.kind}`;
  const rev = t.group.split('.').reverse().join('.');
  return `${rev}.${t.version}.${t.kind}`;
}

function ok(ref: string) {
  return { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: ref } } } } };
}

function gvDocument(types: ResourceType[], group: string, version: string): OpenApiDocument {
  const base = group ? `/apis/${group}/${version}` : '/api/v1';
  const paths: OpenApiDocument['paths'] = {};
  const schemas: OpenApiDocument['components']['schemas'] = {};
  for (const t of types) {
    const gvk = { group, version, kind: t.kind };
    const ref = `#/components/schemas/${schemaName(t)}`;
    const op = (action: string, params: Param[], extra: Record<string, unknown> = {}) => ({
      description: `${action} ${t.kind}`,
      operationId: `${action}${t.kind}`,
      parameters: params,
      responses: ok(ref),
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
      ...extra,
    });
    const coll = t.namespaced ? `${base}/namespaces/{namespace}/${t.plural}` : `${base}/${t.plural}`;
    paths[coll] = {
      get: op('list', LIST_PARAMS),
      post: op('post', WRITE_PARAMS),
      delete: op('deletecollection', LIST_PARAMS),
    };
    paths[`${coll}/{name}`] = {
      get: op('get', READ_PARAMS),
      put: op('put', WRITE_PARAMS),
      patch: op('patch', [...WRITE_PARAMS, param('force', 'Force is going to "force" Apply requests.')]),
      delete: op('delete', []),
    };
    if (t.status) {
      paths[`${coll}/{name}/status`] = {
        get: op('get', READ_PARAMS),
        put: op('put', WRITE_PARAMS),
        patch: op('patch', WRITE_PARAMS),
      };
    }
    const gvkExt = [{ group, version, kind: t.kind }];
    if (t.schema) {
      const s = structuredClone(t.schema);
      s.properties = { ...(s.properties ?? {}) };
      s.properties.apiVersion ??= { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' };
      s.properties.kind ??= { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' };
      s.properties.metadata = { type: 'object', description: "Standard object's metadata." };
      s['x-kubernetes-group-version-kind'] = gvkExt;
      schemas[schemaName(t)] = s;
    } else {
      schemas[schemaName(t)] = {
        type: 'object',
        description: `${t.kind} (served by the mlv-lab API server; schema not published).`,
        properties: {
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          metadata: { type: 'object' },
        },
        'x-kubernetes-group-version-kind': gvkExt,
      };
    }
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: K8S_VERSION },
    paths,
    components: { schemas },
  };
}

function docKey(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** All per-group-version documents, keyed by their path under /openapi/v3/. */
export function openapiV3Documents(reg: Registry): Map<string, OpenApiDocument> {
  const byGv = new Map<string, { group: string; version: string; types: ResourceType[] }>();
  for (const t of reg.all()) {
    const k = docKey(t.group, t.version);
    const e = byGv.get(k) ?? { group: t.group, version: t.version, types: [] };
    e.types.push(t);
    byGv.set(k, e);
  }
  const docs = new Map<string, OpenApiDocument>();
  for (const [k, e] of byGv) docs.set(k, gvDocument(e.types, e.group, e.version));
  return docs;
}

export function openapiV3Root(docs: Map<string, OpenApiDocument>): { paths: Record<string, { serverRelativeURL: string }> } {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [k, doc] of docs) {
    const hash = createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 128).toUpperCase();
    paths[k] = { serverRelativeURL: `/openapi/v3/${k}?hash=${hash}` };
  }
  return { paths };
}

export const OPENAPI_V2_JSON = {
  swagger: '2.0',
  info: { title: 'Kubernetes', version: K8S_VERSION },
  paths: {},
  definitions: {},
};

/** gnostic openapi_v2.Document protobuf: field 1 (swagger) = "2.0"; everything else empty. */
export const OPENAPI_V2_PROTO = Buffer.from([0x0a, 0x03, 0x32, 0x2e, 0x30]);
export const OPENAPI_V2_PROTO_TYPE = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
