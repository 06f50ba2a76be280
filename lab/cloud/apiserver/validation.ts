// Object validation: names, labels, CRDs, custom resources against their structural schema,
// and "strict" field validation (unknown fields), as requested by kubectl's fieldValidation.
import type { StatusCause } from './errors.ts';
import { asObject, type Json, type JsonObject, type KubeObject } from './json.ts';
import type { ResourceType } from './registry.ts';
import { META_FIELDS } from './schema.ts';

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

// ---- structural schema validation for custom resources: ./schema.ts ----

export { ratchet, validateCustomResource, validateSchema, type SchemaNode, type SchemaResult } from './schema.ts';

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
    const openAPI = asObject(schema).openAPIV3Schema;
    if (!openAPI) {
      errs.push({ reason: 'FieldValueRequired', field: `spec.versions[${i}].schema.openAPIV3Schema`, message: 'Required value: schemas are required' });
    } else errs.push(...structuralErrors(asObject(openAPI), 'root', `spec.versions[${i}].schema.openAPIV3Schema`));
  });
  if (spec.group && names.plural && crd.metadata?.name !== `${names.plural}.${spec.group}`) {
    errs.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${crd.metadata?.name}": must be spec.names.plural+"."+spec.group` });
  }
  return errs;
}

/**
 * The structural-schema rules a v1 CRD's schema must keep (apiextensions-apiserver
 * pkg/apiserver/schema/validation.go validateStructuralInvariants), the ones this lab's CRDs meet:
 * a type on every node unless it is int-or-string or preserves unknown fields, items for arrays,
 * an object at the root with no additionalProperties there, not both properties and additionalProperties.
 */
function structuralErrors(s: JsonObject, level: 'root' | 'item' | 'field', path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const { type, items, properties, additionalProperties: addl } = s;
  if (type === 'array' && items === undefined) errs.push({ reason: 'FieldValueRequired', field: `${path}.items`, message: 'Required value: must be specified' });
  if (items && typeof items === 'object' && !Array.isArray(items)) errs.push(...structuralErrors(items, 'item', `${path}.items`));
  if (properties && typeof properties === 'object' && !Array.isArray(properties)) {
    for (const [k, v] of Object.entries(properties)) errs.push(...structuralErrors(asObject(v), 'field', `${path}.properties[${k}]`));
  }
  if (addl !== undefined && addl !== null) {
    if (level === 'root') errs.push({ reason: 'FieldValueForbidden', field: `${path}.additionalProperties`, message: 'Forbidden: must not be used at the root' });
    if (properties !== undefined) errs.push({ reason: 'FieldValueForbidden', field: `${path}.additionalProperties`, message: 'Forbidden: additionalProperties and properties are mutual exclusive' });
    if (typeof addl === 'object') errs.push(...structuralErrors(asObject(addl), 'field', `${path}.additionalProperties`));
  }
  if (!type && !s['x-kubernetes-int-or-string'] && !s['x-kubernetes-preserve-unknown-fields']) {
    const where = { root: 'at the root', item: 'for specified array items', field: 'for specified object fields' }[level];
    errs.push({ reason: 'FieldValueRequired', field: `${path}.type`, message: `Required value: must not be empty ${where}` });
  }
  if (level === 'root' && type && type !== 'object') errs.push({ reason: 'FieldValueInvalid', field: `${path}.type`, message: `Invalid value: "${type}": must be object at the root` });
  return errs;
}
