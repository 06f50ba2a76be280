// PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and an approximation of
// Kubernetes strategic merge patch (list merging by well-known merge keys plus the `$patch`,
// `$retainKeys`, `$setElementOrder/...` and `$deleteFromPrimitiveList/...` directives).
import { ApiError } from './errors.ts';
import { isObject as isObj, type Json, type JsonObject } from './json.ts';

type Value = Json | undefined;

function patchFailed(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

export function mergePatch(target: Value, patch: Value): Value {
  if (!isObj(patch)) return structuredClone(patch);
  const out: JsonObject = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// Merge keys of the core API's list fields whose patch strategy is "merge".
const MERGE_KEYS: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  volumes: ['name'],
  env: ['name'],
  imagePullSecrets: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  ports: ['containerPort', 'port'],
  conditions: ['type'],
  hostAliases: ['ip'],
  ownerReferences: ['uid'],
  secrets: ['name'],
  resourceClaims: ['name'],
  topologySpreadConstraints: ['topologyKey'],
};
const PRIMITIVE_MERGE_LISTS = new Set(['finalizers']);

function mergeKeyFor(field: string, items: Json[]): string | undefined {
  const keys = MERGE_KEYS[field];
  if (!keys) return undefined;
  for (const k of keys) {
    if (items.every((it) => isObj(it) && (k in it || it.$patch !== undefined))) return k;
  }
  return undefined;
}

function smpList(field: string, target: Value, patch: Json[]): Json[] {
  const orig: Json[] = Array.isArray(target) ? target : [];
  if (PRIMITIVE_MERGE_LISTS.has(field) && patch.every((p) => !isObj(p))) {
    const out = [...orig];
    for (const p of patch) if (!out.includes(p)) out.push(p);
    return out;
  }
  const key = mergeKeyFor(field, patch);
  if (!key || !orig.every(isObj)) return patch.filter((p) => !(isObj(p) && p.$patch)).map((p) => stripDirectives(p));
  if (patch.some((p) => isObj(p) && p.$patch === 'replace')) {
    return patch.filter((p) => !(isObj(p) && p.$patch === 'replace')).map((p) => stripDirectives(p));
  }
  const out = orig.map((o) => structuredClone(o));
  // mergeKeyFor found the key: every item of the patch is an object
  for (const p of patch as JsonObject[]) {
    const idx = out.findIndex((o) => o[key] === p[key]);
    if (p.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    // the merge of an object that is not a $patch: delete is an object
    if (idx >= 0) out[idx] = strategicMergePatch(out[idx], p) as JsonObject;
    else out.push(stripDirectives(p));
  }
  return out;
}

function stripDirectives(v: JsonObject): JsonObject;
function stripDirectives(v: Json): Json;
function stripDirectives(v: Value): Value;
function stripDirectives(v: Value): Value {
  if (Array.isArray(v)) return v.map((x) => stripDirectives(x));
  if (!isObj(v)) return v;
  const out: JsonObject = {};
  for (const [k, val] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    out[k] = stripDirectives(val);
  }
  return out;
}

export function strategicMergePatch(target: Value, patch: Value): Value {
  if (!isObj(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') return stripDirectives(patch);
  if (patch.$patch === 'delete') return undefined;
  const out: JsonObject = isObj(target) ? { ...target } : {};
  let retainKeys: string[] | undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch') continue;
    if (k === '$retainKeys') {
      if (Array.isArray(v)) retainKeys = v.map(String);
      continue;
    }
    if (k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) out[field] = cur.filter((x) => !v.includes(x));
      continue;
    }
    if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = smpList(k, out[k], v);
    else if (isObj(v)) {
      const merged = strategicMergePatch(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else out[k] = v;
  }
  if (retainKeys) for (const k of Object.keys(out)) if (!retainKeys.includes(k) && !(k in patch)) delete out[k];
  return out;
}

// ---- RFC 6902 ----

function parsePointer(ptr: string): string[] {
  if (ptr === '') return [];
  if (!ptr.startsWith('/')) throw patchFailed(`invalid JSON pointer "${ptr}"`);
  return ptr
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getAt(doc: Value, path: string[]): Value {
  let cur = doc;
  for (const p of path) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isObj(cur)) cur = cur[p];
    else return undefined;
  }
  return cur;
}

function parentOf(doc: Value, path: string[], op: string): { parent: Json[] | JsonObject; key: string } {
  if (path.length === 0) throw patchFailed(`${op} operation on the document root is not supported`);
  const parent = getAt(doc, path.slice(0, -1));
  if (parent === undefined || parent === null || typeof parent !== 'object') {
    throw patchFailed(`${op} operation does not apply: doc is missing path: "/${path.join('/')}"`);
  }
  return { parent, key: path[path.length - 1]! };
}

function arrayIndex(arr: Value[], key: string, allowEnd: boolean, op: string): number {
  if (key === '-' && allowEnd) return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(key)) throw patchFailed(`${op} operation: invalid array index "${key}"`);
  const i = Number(key);
  if (i > arr.length || (!allowEnd && i === arr.length)) throw patchFailed(`${op} operation: array index ${i} out of bounds`);
  return i;
}

function addAt(doc: Value, path: string[], value: Value, op: string): Value {
  if (path.length === 0) return value;
  const { parent, key } = parentOf(doc, path, op);
  if (Array.isArray(parent)) (parent as Value[]).splice(arrayIndex(parent, key, true, op), 0, value);
  else parent[key] = value;
  return doc;
}

function removeAt(doc: Value, path: string[], op: string): Value {
  const { parent, key } = parentOf(doc, path, op);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, key, false, op);
    return parent.splice(i, 1)[0];
  }
  if (!(key in parent)) throw patchFailed(`${op} operation does not apply: doc is missing path: "/${path.join('/')}"`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

export function sortKeys<T>(v: T): T;
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObj(v)) return v;
  const out: JsonObject = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]);
  return out;
}

export function jsonPatch(target: Value, ops: unknown): Value {
  if (!Array.isArray(ops)) throw new ApiError(400, 'BadRequest', 'json patch must be a JSON array of operations');
  let doc = structuredClone(target);
  for (const o of ops as unknown[]) {
    if (!isObj(o) || typeof o.op !== 'string' || typeof o.path !== 'string') {
      throw new ApiError(400, 'BadRequest', `invalid json patch operation: ${JSON.stringify(o)}`);
    }
    const path = parsePointer(o.path);
    switch (o.op) {
      case 'add':
        doc = addAt(doc, path, structuredClone(o.value), 'add');
        break;
      case 'remove':
        removeAt(doc, path, 'remove');
        break;
      case 'replace':
        if (path.length === 0) doc = structuredClone(o.value);
        else {
          if (getAt(doc, path) === undefined) throw patchFailed(`replace operation does not apply: doc is missing key: ${o.path}`);
          removeAt(doc, path, 'replace');
          doc = addAt(doc, path, structuredClone(o.value), 'replace');
        }
        break;
      case 'move': {
        const from = parsePointer(String(o.from ?? ''));
        const v = removeAt(doc, from, 'move');
        doc = addAt(doc, path, v, 'move');
        break;
      }
      case 'copy': {
        const v = getAt(doc, parsePointer(String(o.from ?? '')));
        if (v === undefined) throw patchFailed(`copy operation does not apply: doc is missing from path: ${o.from}`);
        doc = addAt(doc, path, structuredClone(v), 'copy');
        break;
      }
      case 'test':
        if (!deepEqual(getAt(doc, path), o.value)) throw patchFailed(`testing value ${o.path} failed: test failed`);
        break;
      default:
        throw new ApiError(400, 'BadRequest', `unexpected json patch operation "${o.op}"`);
    }
  }
  return doc;
}
