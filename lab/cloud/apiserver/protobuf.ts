// Decoder for Kubernetes protobuf request bodies (Content-Type: application/vnd.kubernetes.protobuf).
// kubectl 1.32's typed clients (`kubectl create namespace|configmap|secret|serviceaccount|service|
// deployment`, `kubectl run`) send protobuf and do not fall back to JSON, so the lab server decodes
// the kinds those commands produce into their JSON form. Field numbers follow k8s.io/api
// generated.proto; fields not listed here are skipped. Responses are always JSON (kubectl accepts it).

import { isObject, type Json, type JsonObject } from './json.ts';

type Scalar = 'string' | 'bytes' | 'int' | 'bool' | 'time' | 'quantity' | 'intorstring';
interface Field {
  name: string;
  type: Scalar | Schema;
  repeated?: boolean;
  /** map<string, T>: encoded as repeated entries {1: key, 2: value} */
  map?: Scalar | Schema;
  /** embedded struct whose fields are inlined into the parent in JSON */
  inline?: boolean;
  /** Go pointer field: a zero value is meaningful and kept (other zero values are omitted, like omitempty) */
  ptr?: boolean;
}
type Schema = Record<number, Field>;

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  eof(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
      if (shift > 70n) throw new Error('varint too long');
    }
  }
  bytes(): Buffer {
    const len = Number(this.varint());
    if (this.pos + len > this.buf.length) throw new Error('truncated field');
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

const s = (name: string, extra: Partial<Field> = {}): Field => ({ name, type: 'string', ...extra });
const i = (name: string): Field => ({ name, type: 'int' });
const b = (name: string): Field => ({ name, type: 'bool' });
const m = (name: string, type: Schema, extra: Partial<Field> = {}): Field => ({ name, type, ...extra });
const strMap = (name: string): Field => ({ name, type: 'string', map: 'string' });
const ptr = (f: Field): Field => ({ ...f, ptr: true });

const Time: Schema = {}; // handled as scalar 'time'
void Time;

const OwnerReference: Schema = { 1: s('kind'), 3: s('name'), 4: s('uid'), 5: s('apiVersion'), 6: b('controller'), 7: b('blockOwnerDeletion') };
const ObjectMeta: Schema = {
  1: s('name'),
  2: s('generateName'),
  3: s('namespace'),
  5: s('uid'),
  6: s('resourceVersion'),
  7: i('generation'),
  8: { name: 'creationTimestamp', type: 'time' },
  9: { name: 'deletionTimestamp', type: 'time' },
  10: ptr(i('deletionGracePeriodSeconds')),
  11: strMap('labels'),
  12: strMap('annotations'),
  13: m('ownerReferences', OwnerReference, { repeated: true }),
  14: s('finalizers', { repeated: true }),
};
const LocalObjectReference: Schema = { 1: s('name') };
const ObjectReference: Schema = { 1: s('kind'), 2: s('namespace'), 3: s('name'), 4: s('uid'), 5: s('apiVersion'), 6: s('resourceVersion'), 7: s('fieldPath') };
const LabelSelectorRequirement: Schema = { 1: s('key'), 2: s('operator'), 3: s('values', { repeated: true }) };
const LabelSelector: Schema = { 1: strMap('matchLabels'), 2: m('matchExpressions', LabelSelectorRequirement, { repeated: true }) };

const ContainerPort: Schema = { 1: s('name'), 2: i('hostPort'), 3: i('containerPort'), 4: s('protocol'), 5: s('hostIP') };
const KeySelector: Schema = { 1: m('', LocalObjectReference, { inline: true }), 2: s('key'), 3: ptr(b('optional')) };
const ObjectFieldSelector: Schema = { 1: s('apiVersion'), 2: s('fieldPath') };
const EnvVarSource: Schema = { 1: m('fieldRef', ObjectFieldSelector), 3: m('configMapKeyRef', KeySelector), 4: m('secretKeyRef', KeySelector) };
const EnvVar: Schema = { 1: s('name'), 2: s('value'), 3: m('valueFrom', EnvVarSource) };
const EnvFromSource: Schema = {
  1: s('prefix'),
  2: m('configMapRef', { 1: m('', LocalObjectReference, { inline: true }), 2: ptr(b('optional')) }),
  3: m('secretRef', { 1: m('', LocalObjectReference, { inline: true }), 2: ptr(b('optional')) }),
};
const ResourceRequirements: Schema = {
  1: { name: 'limits', type: 'quantity', map: 'quantity' },
  2: { name: 'requests', type: 'quantity', map: 'quantity' },
};
const VolumeMount: Schema = { 1: s('name'), 2: b('readOnly'), 3: s('mountPath'), 4: s('subPath') };
const Container: Schema = {
  1: s('name'),
  2: s('image'),
  3: s('command', { repeated: true }),
  4: s('args', { repeated: true }),
  5: s('workingDir'),
  6: m('ports', ContainerPort, { repeated: true }),
  7: m('env', EnvVar, { repeated: true }),
  8: m('resources', ResourceRequirements),
  9: m('volumeMounts', VolumeMount, { repeated: true }),
  13: s('terminationMessagePath'),
  14: s('imagePullPolicy'),
  16: b('stdin'),
  17: b('stdinOnce'),
  18: b('tty'),
  19: m('envFrom', EnvFromSource, { repeated: true }),
  20: s('terminationMessagePolicy'),
  24: s('restartPolicy'),
};
const Toleration: Schema = { 1: s('key'), 2: s('operator'), 3: s('value'), 4: s('effect'), 5: ptr(i('tolerationSeconds')) };
const VolumeSource: Schema = {
  1: m('hostPath', { 1: s('path'), 2: s('type') }),
  2: m('emptyDir', { 1: s('medium'), 2: { name: 'sizeLimit', type: 'quantity' } }),
  6: m('secret', { 1: s('secretName'), 3: ptr(i('defaultMode')), 4: ptr(b('optional')) }),
  19: m('configMap', { 1: m('', LocalObjectReference, { inline: true }), 3: ptr(i('defaultMode')), 4: ptr(b('optional')) }),
};
const Volume: Schema = { 1: s('name'), 2: m('', VolumeSource, { inline: true }) };
const PodSpec: Schema = {
  1: m('volumes', Volume, { repeated: true }),
  2: m('containers', Container, { repeated: true }),
  3: s('restartPolicy'),
  4: ptr(i('terminationGracePeriodSeconds')),
  5: ptr(i('activeDeadlineSeconds')),
  6: s('dnsPolicy'),
  7: strMap('nodeSelector'),
  8: s('serviceAccountName'),
  10: s('nodeName'),
  11: b('hostNetwork'),
  15: m('imagePullSecrets', LocalObjectReference, { repeated: true }),
  16: s('hostname'),
  17: s('subdomain'),
  19: s('schedulerName'),
  20: m('initContainers', Container, { repeated: true }),
  21: ptr(b('automountServiceAccountToken')),
  22: m('tolerations', Toleration, { repeated: true }),
  24: s('priorityClassName'),
  30: ptr(b('enableServiceLinks')),
};
const PodTemplateSpec: Schema = { 1: m('metadata', ObjectMeta), 2: m('spec', PodSpec) };

const ServicePort: Schema = { 1: s('name'), 2: s('protocol'), 3: i('port'), 4: { name: 'targetPort', type: 'intorstring' }, 5: i('nodePort'), 6: s('appProtocol') };
const ServiceSpec: Schema = {
  1: m('ports', ServicePort, { repeated: true }),
  2: strMap('selector'),
  3: s('clusterIP'),
  4: s('type'),
  5: s('externalIPs', { repeated: true }),
  7: s('sessionAffinity'),
  8: s('loadBalancerIP'),
  10: s('externalName'),
  11: s('externalTrafficPolicy'),
  13: b('publishNotReadyAddresses'),
  17: ptr(s('ipFamilyPolicy')),
  18: s('clusterIPs', { repeated: true }),
  19: s('ipFamilies', { repeated: true }),
  20: ptr(b('allocateLoadBalancerNodePorts')),
  21: ptr(s('loadBalancerClass')),
  22: ptr(s('internalTrafficPolicy')),
};
const DeploymentSpec: Schema = {
  1: ptr(i('replicas')),
  2: m('selector', LabelSelector),
  3: m('template', PodTemplateSpec),
  4: m('strategy', { 1: s('type') }),
  5: i('minReadySeconds'),
  6: ptr(i('revisionHistoryLimit')),
  7: b('paused'),
  9: ptr(i('progressDeadlineSeconds')),
};

const KINDS: Record<string, Schema> = {
  Namespace: { 1: m('metadata', ObjectMeta), 2: m('spec', { 1: s('finalizers', { repeated: true }) }), 3: m('status', { 1: s('phase') }) },
  ConfigMap: { 1: m('metadata', ObjectMeta), 2: strMap('data'), 3: { name: 'binaryData', type: 'bytes', map: 'bytes' }, 4: ptr(b('immutable')) },
  Secret: { 1: m('metadata', ObjectMeta), 2: { name: 'data', type: 'bytes', map: 'bytes' }, 3: s('type'), 4: strMap('stringData'), 5: ptr(b('immutable')) },
  ServiceAccount: {
    1: m('metadata', ObjectMeta),
    2: m('secrets', ObjectReference, { repeated: true }),
    3: m('imagePullSecrets', LocalObjectReference, { repeated: true }),
    4: ptr(b('automountServiceAccountToken')),
  },
  Service: { 1: m('metadata', ObjectMeta), 2: m('spec', ServiceSpec) },
  Pod: { 1: m('metadata', ObjectMeta), 2: m('spec', PodSpec) },
  Deployment: { 1: m('metadata', ObjectMeta), 2: m('spec', DeploymentSpec) },
};

function scalar(r: Reader, wire: number, type: Scalar): Json | undefined {
  switch (type) {
    case 'string':
      return r.bytes().toString('utf8');
    case 'bytes':
      return r.bytes().toString('base64');
    case 'int':
      return Number(BigInt.asIntN(64, r.varint()));
    case 'bool':
      return r.varint() !== 0n;
    case 'time': {
      const t = decode(r.bytes(), { 1: ptr(i('seconds')), 2: i('nanos') });
      if (!t.seconds || t.seconds === -62135596800) return undefined;
      return new Date(Number(t.seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    case 'quantity':
      return String(decode(r.bytes(), { 1: s('string') }).string ?? '0');
    case 'intorstring': {
      const v = decode(r.bytes(), { 1: i('type'), 2: i('intVal'), 3: s('strVal') });
      return v.type === 1 ? String(v.strVal ?? '') : Number(v.intVal ?? 0);
    }
  }
  void wire;
}

function decode(buf: Buffer, schema: Schema): JsonObject {
  const r = new Reader(buf);
  const out: JsonObject = {};
  while (!r.eof()) {
    const tag = Number(r.varint());
    const num = tag >>> 3;
    const wire = tag & 7;
    const f = schema[num];
    if (!f) {
      r.skip(wire);
      continue;
    }
    if (f.map) {
      const entry = r.bytes();
      const valueType = f.map;
      const kv = decode(entry, {
        1: s('k'),
        2: typeof valueType === 'string' ? { name: 'v', type: valueType } : m('v', valueType),
      });
      const entries = (out[f.name] ??= {}) as JsonObject; // (only map entries go under this name)
      entries[String(kv.k ?? '')] = kv.v ?? (valueType === 'string' || valueType === 'bytes' || valueType === 'quantity' ? '' : {});
      continue;
    }
    let value: Json | undefined;
    if (typeof f.type === 'string') value = scalar(r, wire, f.type);
    else value = decode(r.bytes(), f.type);
    if (value === undefined) continue;
    if (!f.ptr && !f.repeated && (value === '' || value === 0 || value === false)) continue;
    if (f.inline && value && typeof value === 'object') Object.assign(out, value);
    else if (f.repeated) ((out[f.name] ??= []) as Json[]).push(value);
    else out[f.name] = value;
  }
  return out;
}

export function isProtobufContentType(ct: string): boolean {
  return ct.split(';')[0]!.trim() === 'application/vnd.kubernetes.protobuf';
}

/** Decode a `k8s\0`-prefixed runtime.Unknown envelope into a JSON object, or throw. */
export function decodeK8sProtobuf(buf: Buffer): JsonObject {
  if (buf.length < 4 || !buf.subarray(0, 4).equals(MAGIC)) throw new Error('missing k8s protobuf magic prefix');
  const env = decode(buf.subarray(4), {
    1: m('typeMeta', { 1: s('apiVersion'), 2: s('kind') }),
    2: { name: 'raw', type: 'bytes' },
    3: s('contentEncoding'),
    4: s('contentType'),
  });
  const typeMeta = isObject(env.typeMeta) ? env.typeMeta : undefined;
  const kind = String(typeMeta?.kind ?? '');
  const schema = KINDS[kind];
  if (!schema) throw new Error(`protobuf decoding of kind "${kind}" is not supported by the lab API server; send JSON`);
  const obj = decode(Buffer.from(String(env.raw ?? ''), 'base64'), schema);
  return { apiVersion: typeMeta?.apiVersion, kind, ...obj };
}
