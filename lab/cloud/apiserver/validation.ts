// Object validation: names, labels, CRDs, custom resources against their structural schema,
// and "strict" field validation (unknown fields), as requested by kubectl's fieldValidation.
import type { StatusCause } from './errors.ts';
import { asObject, type Json, type JsonObject, type KubeObject } from './json.ts';
import type { ResourceType } from './registry.ts';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export type NameRule = 'subdomain' | 'label' | 'dns1035';

export function nameRuleFor(t: ResourceType): NameRule {
  if (!t.group && t.plural === 'namespaces') return 'label';
  if (!t.group && t.plural === 'services') return 'dns1035';
  return 'subdomain';
}

export function checkName(name: string, rule: NameRule, field = 'metadata.name'): StatusCause[] {
  const errs: StatusCause[] = [];
  const inv = (msg: string) => errs.push({ reason: 'FieldValueInvalid', field, message: `Invalid value: "${name}": ${msg}` });
  if (rule === 'label') {
    if (name.length > 63) inv('must be no more than 63 characters');
    if (!DNS1123_LABEL.test(name)) {
      inv(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      );
    }
  } else if (rule === 'dns1035') {
    if (name.length > 63) inv('must be no more than 63 characters');
    if (!DNS1035_LABEL.test(name)) {
      inv(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      );
    }
  } else {
    if (name.length > 253) inv('must be no more than 253 characters');
    if (!DNS1123_SUBDOMAIN.test(name)) {
      inv(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      );
    }
  }
  return errs;
}

function checkQualifiedName(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'a qualified name must consist of alphanumeric characters, "-", "_" or ".", with an optional DNS subdomain prefix and "/"';
  const name = parts[parts.length - 1]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (!prefix || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) return 'prefix part must be a lowercase RFC 1123 subdomain';
  }
  if (!name || name.length > 63 || !LABEL_NAME.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  }
  return undefined;
}

export function checkMetadata(meta: unknown): StatusCause[] {
  const errs: StatusCause[] = [];
  const { labels, annotations: ann } = asObject(meta);
  if (labels !== undefined && labels !== null) {
    if (typeof labels !== 'object' || Array.isArray(labels)) errs.push({ reason: 'FieldValueInvalid', field: 'metadata.labels', message: 'Invalid value: must be a map of strings' });
    else
      for (const [k, v] of Object.entries(labels)) {
        const kerr = checkQualifiedName(k);
        if (kerr) errs.push({ reason: 'FieldValueInvalid', field: 'metadata.labels', message: `Invalid value: "${k}": ${kerr}` });
        if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
          errs.push({
            reason: 'FieldValueInvalid',
            field: 'metadata.labels',
            message: `Invalid value: "${String(v)}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
          });
        }
      }
  }
  if (ann !== undefined && ann !== null) {
    if (typeof ann !== 'object' || Array.isArray(ann)) errs.push({ reason: 'FieldValueInvalid', field: 'metadata.annotations', message: 'Invalid value: must be a map of strings' });
    else
      for (const [k, v] of Object.entries(ann)) {
        const kerr = checkQualifiedName(k);
        if (kerr) errs.push({ reason: 'FieldValueInvalid', field: 'metadata.annotations', message: `Invalid value: "${k}": ${kerr}` });
        if (typeof v !== 'string') errs.push({ reason: 'FieldValueInvalid', field: `metadata.annotations.${k}`, message: 'Invalid value: must be a string' });
      }
  }
  return errs;
}

// ---- strict (unknown field) checks ----

const META_FIELDS = new Set([
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
const COMMON = ['apiVersion', 'kind', 'metadata'];
const TOP_FIELDS: Record<string, string[]> = {
  Namespace: ['spec', 'status'],
  Node: ['spec', 'status'],
  Pod: ['spec', 'status'],
  Service: ['spec', 'status'],
  Endpoints: ['subsets'],
  Event: ['involvedObject', 'reason', 'message', 'source', 'firstTimestamp', 'lastTimestamp', 'count', 'type', 'eventTime', 'series', 'action', 'related', 'reportingComponent', 'reportingInstance'],
  Secret: ['data', 'stringData', 'type', 'immutable'],
  ServiceAccount: ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  ConfigMap: ['data', 'binaryData', 'immutable'],
  CustomResourceDefinition: ['spec', 'status'],
  Deployment: ['spec', 'status'],
  HorizontalPodAutoscaler: ['spec', 'status'],
  Lease: ['spec'],
};

/** Unknown fields of a built-in object (top level and metadata only). */
export function unknownBuiltinFields(t: ResourceType, obj: KubeObject): string[] {
  const unknown: string[] = [];
  const allowed = new Set([...COMMON, ...(TOP_FIELDS[t.kind] ?? ['spec', 'status'])]);
  for (const k of Object.keys(obj)) if (!allowed.has(k)) unknown.push(k);
  for (const k of Object.keys(obj.metadata ?? {})) if (!META_FIELDS.has(k)) unknown.push(`metadata.${k}`);
  return unknown;
}

// ---- structural schema validation for custom resources ----

/** A node of a CRD's openAPIV3Schema as validateSchema reads it (written by the CRD's author; only its presence is checked). */
export interface SchemaNode extends JsonObject {
  type?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  required?: string[];
  enum?: Json[];
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
}

export interface SchemaResult {
  errors: StatusCause[];
  unknown: string[];
}

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return true;
  }
}

const show = (v: unknown): string => (typeof v === 'string' ? `"${v}"` : JSON.stringify(v));

/**
 * Validate `value` (mutating it: unknown fields are pruned unless preserved) against a CRD
 * openAPIV3Schema node. `path` is the dotted field path used in error messages.
 */
export function validateSchema(value: Json | undefined, schema: SchemaNode | undefined, path: string, res: SchemaResult): Json | undefined {
  if (!schema || typeof schema !== 'object') return value;
  if (value === null) return schema.nullable ? null : undefined;
  if (schema['x-kubernetes-int-or-string']) {
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
      res.errors.push({ reason: 'FieldValueTypeInvalid', field: path, message: `Invalid value: ${show(value)}: ${path} in body must be of type int-or-string` });
    }
    return value;
  }
  if (schema.type && !typeOk(schema.type, value)) {
    const got = Array.isArray(value) ? 'array' : typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : typeof value;
    res.errors.push({ reason: 'FieldValueTypeInvalid', field: path, message: `Invalid value: "${got}": ${path} in body must be of type ${schema.type}: "${got}"` });
    return value;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(value))) {
    res.errors.push({ reason: 'FieldValueNotSupported', field: path, message: `Unsupported value: ${show(value)}: supported values: ${schema.enum.map(show).join(', ')}` });
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum)
      res.errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${value}: ${path} in body should be greater than or equal to ${schema.minimum}` });
    if (typeof schema.maximum === 'number' && value > schema.maximum)
      res.errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${value}: ${path} in body should be less than or equal to ${schema.maximum}` });
  }
  if (typeof value === 'string') {
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern).test(value))
      res.errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(value)}: ${path} in body should match '${schema.pattern}'` });
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength)
      res.errors.push({ reason: 'FieldValueTooLong', field: path, message: `Too long: may not be longer than ${schema.maxLength}` });
    if (typeof schema.minLength === 'number' && value.length < schema.minLength)
      res.errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(value)}: ${path} in body should be at least ${schema.minLength} chars long` });
  }
  if (Array.isArray(value)) {
    if (schema.items) {
      const out: Json[] = [];
      value.forEach((item, i) => {
        const v = validateSchema(item, schema.items, `${path}[${i}]`, res);
        if (v !== undefined) out.push(v);
      });
      return out;
    }
    return value;
  }
  if (typeof value === 'object') {
    const props: Record<string, SchemaNode> = schema.properties ?? {};
    const preserve = !!schema['x-kubernetes-preserve-unknown-fields'];
    const addl = schema.additionalProperties;
    for (const req of schema.required ?? []) {
      if (value[req] === undefined || value[req] === null) {
        res.errors.push({ reason: 'FieldValueRequired', field: path ? `${path}.${req}` : req, message: 'Required value' });
      }
    }
    for (const k of Object.keys(value)) {
      const childPath = path ? `${path}.${k}` : k;
      if (props[k]) {
        const v = validateSchema(value[k], props[k], childPath, res);
        if (v === undefined) delete value[k];
        else value[k] = v;
      } else if (addl && typeof addl === 'object') {
        const v = validateSchema(value[k], addl, childPath, res);
        if (v === undefined) delete value[k];
        else value[k] = v;
      } else if (!preserve && addl !== true) {
        res.unknown.push(childPath);
        delete value[k];
      }
    }
  }
  return value;
}

/** Validate a custom resource (everything but apiVersion/kind/metadata) against its schema. */
export function validateCustomResource(t: ResourceType, obj: KubeObject): SchemaResult {
  const res: SchemaResult = { errors: [], unknown: [] };
  const schema = t.schema;
  if (!schema) return res;
  const props: Record<string, SchemaNode> = schema.properties ?? {};
  const preserve = !!schema['x-kubernetes-preserve-unknown-fields'];
  for (const req of schema.required ?? []) {
    if (['apiVersion', 'kind', 'metadata'].includes(req)) continue;
    if (obj[req] === undefined || obj[req] === null) res.errors.push({ reason: 'FieldValueRequired', field: req, message: 'Required value' });
  }
  for (const k of Object.keys(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata') {
      for (const mk of Object.keys(obj.metadata ?? {})) if (!META_FIELDS.has(mk)) res.unknown.push(`metadata.${mk}`);
      continue;
    }
    if (props[k]) {
      const v = validateSchema(obj[k], props[k], k, res);
      if (v === undefined) delete obj[k];
      else obj[k] = v;
    } else if (!preserve) {
      res.unknown.push(k);
      delete obj[k];
    }
  }
  return res;
}

// ---- CRD validation ----

export function validateCrd(crd: KubeObject): StatusCause[] {
  const errs: StatusCause[] = [];
  const req = (field: string) => errs.push({ reason: 'FieldValueRequired', field, message: 'Required value' });
  if (!crd.spec || typeof crd.spec !== 'object') {
    req('spec');
    return errs;
  }
  const spec = asObject(crd.spec);
  if (!spec.group) req('spec.group');
  else if (!String(spec.group).includes('.') || !DNS1123_SUBDOMAIN.test(String(spec.group))) {
    errs.push({ reason: 'FieldValueInvalid', field: 'spec.group', message: `Invalid value: "${spec.group}": should be a domain with at least one dot` });
  }
  const names = asObject(spec.names);
  if (!names.plural) req('spec.names.plural');
  else if (!DNS1123_LABEL.test(String(names.plural)))
    errs.push({
      reason: 'FieldValueInvalid',
      field: 'spec.names.plural',
      message: `Invalid value: "${names.plural}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'`,
    });
  if (!names.kind) req('spec.names.kind');
  if (names.singular && !DNS1123_LABEL.test(String(names.singular)))
    errs.push({
      reason: 'FieldValueInvalid',
      field: 'spec.names.singular',
      message: `Invalid value: "${names.singular}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'`,
    });
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    errs.push({ reason: 'FieldValueNotSupported', field: 'spec.scope', message: `Unsupported value: "${spec.scope ?? ''}": supported values: "Cluster", "Namespaced"` });
  }
  const versions: Json[] = Array.isArray(spec.versions) ? spec.versions : [];
  if (!versions.length) req('spec.versions');
  const storage = versions.filter((v) => asObject(v).storage);
  if (versions.length && storage.length !== 1) {
    errs.push({
      reason: 'FieldValueInvalid',
      field: 'spec.versions',
      message: `Invalid value: ${JSON.stringify(versions.map((v) => asObject(v).name))}: must have exactly one version marked as storage version`,
    });
  }
  versions.forEach((v, i) => {
    const { name, schema } = asObject(v);
    if (!name) req(`spec.versions[${i}].name`);
    if (!asObject(schema).openAPIV3Schema) {
      errs.push({ reason: 'FieldValueRequired', field: `spec.versions[${i}].schema.openAPIV3Schema`, message: 'Required value: schemas are required' });
    }
  });
  if (spec.group && names.plural && crd.metadata?.name !== `${names.plural}.${spec.group}`) {
    errs.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${crd.metadata?.name}": must be spec.names.plural+"."+spec.group` });
  }
  return errs;
}
