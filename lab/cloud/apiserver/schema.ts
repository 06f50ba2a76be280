// Structural schema handling of custom resources, as kube-apiserver does it for a CRD
// (k8s.io/apiextensions-apiserver: pkg/apiserver/schema/pruning/algorithm.go,
// schema/defaulting/{algorithm,prunenulls}.go, pkg/apiserver/validation/validation.go; error texts from
// k8s.io/kube-openapi pkg/validation/errors/schema.go): unknown fields are pruned unless
// x-kubernetes-preserve-unknown-fields, non-nullable nulls are dropped (or defaulted), defaults are
// applied, then the value is validated (type, int-or-string, anyOf, enum, pattern, format date-time,
// lengths, bounds, items counts, required, x-kubernetes-list-type set/map uniqueness). One pass does all three.
import type { StatusCause } from './errors.ts';
import type { Json, JsonObject, KubeObject } from './json.ts';
import type { ResourceType } from './registry.ts';

/** A node of a CRD's openAPIV3Schema as validateSchema reads it (written by the CRD's author; only its presence is checked). */
export interface SchemaNode extends JsonObject {
  type?: string;
  format?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  required?: string[];
  enum?: Json[];
  default?: Json;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  anyOf?: SchemaNode[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
}

export interface SchemaResult {
  errors: StatusCause[];
  unknown: string[];
}

/** ObjectMeta's fields: the only ones kept under a custom resource's metadata. */
export const META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

/** The JSON type name kube-openapi reports for a value. */
function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeOk(type: string, v: unknown): boolean {
  const got = typeName(v);
  return type === got || (type === 'number' && got === 'integer');
}

// RFC 3339 date-time, as strfmt's date-time accepts it (fractional seconds optional, Z or an offset).
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** A schema's pattern as a JS RegExp; a pattern JS cannot compile checks nothing (RE2 and JS differ at the edges). */
function safeRegExp(pattern: string): { test: (s: string) => boolean } {
  try {
    return new RegExp(pattern);
  } catch {
    return { test: () => true };
  }
}

const show = (v: unknown): string => (typeof v === 'string' ? `"${v}"` : JSON.stringify(v));

/** Scalar checks of one value (no recursion): type, enum, bounds, string rules. False when the type is wrong. */
function checkScalar(value: Json, schema: SchemaNode, path: string, res: SchemaResult): boolean {
  const err = (reason: string, message: string) => res.errors.push({ reason, field: path, message });
  if (schema['x-kubernetes-int-or-string']) {
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
      err('FieldValueTypeInvalid', `Invalid value: "${typeName(value)}": ${path} in body must be of type integer,string: "${typeName(value)}"`);
      return false;
    }
  } else if (schema.type && !typeOk(schema.type, value)) {
    const got = typeName(value);
    err('FieldValueTypeInvalid', `Invalid value: "${got}": ${path} in body must be of type ${schema.type}: "${got}"`);
    return false;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(value))) {
    err('FieldValueNotSupported', `Unsupported value: ${show(value)}: supported values: ${schema.enum.map(show).join(', ')}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) err('FieldValueInvalid', `Invalid value: ${value}: ${path} in body should be greater than or equal to ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) err('FieldValueInvalid', `Invalid value: ${value}: ${path} in body should be less than or equal to ${schema.maximum}`);
  }
  if (typeof value === 'string') {
    if (typeof schema.maxLength === 'number' && [...value].length > schema.maxLength) err('FieldValueTooLong', `Too long: may not be more than ${schema.maxLength} bytes`);
    if (typeof schema.minLength === 'number' && [...value].length < schema.minLength)
      err('FieldValueInvalid', `Invalid value: ${show(value)}: ${path} in body should be at least ${schema.minLength} chars long`);
    if (typeof schema.pattern === 'string' && !safeRegExp(schema.pattern).test(value)) err('FieldValueInvalid', `Invalid value: ${show(value)}: ${path} in body should match '${schema.pattern}'`);
    if (schema.format === 'date-time' && !DATE_TIME.test(value)) err('FieldValueTypeInvalid', `Invalid value: ${show(value)}: ${path} in body must be of type date-time: ${show(value)}`);
  }
  return true;
}

/** minItems/maxItems and the uniqueness x-kubernetes-list-type set/map asks for. */
function checkList(value: Json[], schema: SchemaNode, path: string, res: SchemaResult): void {
  if (typeof schema.minItems === 'number' && value.length < schema.minItems)
    res.errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${value.length}: ${path} in body should have at least ${schema.minItems} items` });
  if (typeof schema.maxItems === 'number' && value.length > schema.maxItems)
    res.errors.push({ reason: 'FieldValueTooMany', field: path, message: `Too many: ${value.length}: must have at most ${schema.maxItems} items` });
  const listType = schema['x-kubernetes-list-type'];
  if (listType !== 'set' && listType !== 'map') return;
  const keys = schema['x-kubernetes-list-map-keys'] ?? [];
  const seen = new Set<string>();
  value.forEach((item, i) => {
    let id: Json = item;
    if (listType === 'map') {
      const o = item && typeof item === 'object' && !Array.isArray(item) ? item : {};
      id = Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]!]));
    }
    const key = JSON.stringify(id);
    if (seen.has(key)) res.errors.push({ reason: 'FieldValueDuplicate', field: `${path}[${i}]`, message: `Duplicate value: ${show(id)}` });
    seen.add(key);
  });
}

/** The schema of a child of an object: a listed property, else additionalProperties when it is a schema. */
function childSchema(schema: SchemaNode, k: string): SchemaNode | undefined {
  const prop = schema.properties?.[k];
  if (prop) return prop;
  const addl = schema.additionalProperties;
  return addl && typeof addl === 'object' ? addl : undefined;
}

function validateObjectNode(value: JsonObject, schema: SchemaNode, path: string, res: SchemaResult): void {
  const join = (k: string) => (path ? `${path}.${k}` : k);
  for (const [k, prop] of Object.entries(schema.properties ?? {})) {
    const absentOrNull = value[k] === undefined || (value[k] === null && !prop.nullable);
    if (prop.default !== undefined && absentOrNull) value[k] = structuredClone(prop.default);
  }
  const preserve = !!schema['x-kubernetes-preserve-unknown-fields'] || schema.additionalProperties === true;
  for (const k of Object.keys(value)) {
    const child = childSchema(schema, k);
    if (!child) {
      if (!preserve) {
        res.unknown.push(join(k));
        delete value[k];
      }
      continue;
    }
    if (value[k] === null && !child.nullable) {
      delete value[k];
      continue;
    }
    const v = validateSchema(value[k], child, join(k), res);
    if (v === undefined) delete value[k];
    else value[k] = v;
  }
  for (const req of schema.required ?? []) {
    if (value[req] === undefined) res.errors.push({ reason: 'FieldValueRequired', field: join(req), message: 'Required value' });
  }
}

/** Whether `value` passes an anyOf branch (checked on a copy: a branch neither prunes nor defaults). */
function branchAccepts(value: Json, branch: SchemaNode): boolean {
  const res: SchemaResult = { errors: [], unknown: [] };
  validateSchema(structuredClone(value), branch, '', res);
  return res.errors.length === 0;
}

/**
 * Prune, default and validate `value` (mutating it) against a CRD openAPIV3Schema node.
 * `path` is the dotted field path used in error messages.
 */
export function validateSchema(value: Json | undefined, schema: SchemaNode | undefined, path: string, res: SchemaResult): Json | undefined {
  if (!schema || typeof schema !== 'object' || value === undefined) return value;
  if (value === null && schema.nullable) return null;
  const typed = checkScalar(value, schema, path, res);
  // anyOf: kube-openapi keeps none of the branches' own errors, only this one
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((b) => branchAccepts(value, b))) {
    res.errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: "": "${path}" must validate at least one schema (anyOf)` });
  }
  if (!typed) return value;
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => (value[i] = validateSchema(item, schema.items, `${path}[${i}]`, res) ?? null));
    checkList(value, schema, path, res); // after the items' defaults, as list-map keys may be defaulted
    return value;
  }
  if (value !== null && typeof value === 'object') validateObjectNode(value, schema, path, res);
  return value;
}

/** Validate a custom resource (everything but apiVersion/kind/metadata) against its schema. */
export function validateCustomResource(t: ResourceType, obj: KubeObject): SchemaResult {
  const res: SchemaResult = { errors: [], unknown: [] };
  const schema = t.schema;
  if (!schema) return res;
  for (const mk of Object.keys(obj.metadata ?? {})) if (!META_FIELDS.has(mk)) res.unknown.push(`metadata.${mk}`);
  // type meta and ObjectMeta are checked when the body is decoded, not by the schema
  const props = { ...(schema.properties ?? {}), apiVersion: {}, kind: {}, metadata: { 'x-kubernetes-preserve-unknown-fields': true } };
  const required = (schema.required ?? []).filter((r) => !['apiVersion', 'kind', 'metadata'].includes(r));
  validateObjectNode(obj as JsonObject, { ...schema, properties: props, required }, '', res);
  return res;
}

/**
 * CRD validation ratcheting (KEP-4008, on by default since Kubernetes 1.30): an update is not refused
 * for what the stored object already had wrong. An error the stored object gives too, for the same
 * field with the same message (so the same value), is dropped. `t` is the schema the errors came from.
 */
export function ratchet(errors: StatusCause[], t: ResourceType, stored: KubeObject): StatusCause[] {
  if (!errors.length) return errors;
  const key = (c: StatusCause) => `${c.reason}\u0000${c.field}\u0000${c.message}`;
  const before = new Set(validateCustomResource(t, structuredClone(stored)).errors.map(key));
  return errors.filter((e) => !before.has(key(e)));
}
