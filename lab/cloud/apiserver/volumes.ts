// PersistentVolumeClaims (core/v1, namespaced) and PersistentVolumes (core/v1, cluster-scoped):
// the validation, defaulting and printer columns of the real API server for the fields the lab
// reads (kubernetes pkg/apis/core/validation ValidatePersistentVolumeClaimSpec /
// ValidatePersistentVolumeSpec, pkg/registry/core/persistentvolume{,claim}/strategy.go
// PrepareForCreate: status.phase Pending, pkg/apis/core/v1/defaults.go, pkg/printers/internalversion).
// Binding a claim to its volume is the PV controller's work: lab/cloud/controller/volumes.ts.
import { asObject, type Json, type JsonObject, type KubeObject } from './json.ts';
import type { StatusCause } from './errors.ts';

export const PVC_KEY = '/persistentvolumeclaims';
export const PV_KEY = '/persistentvolumes';

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
/** The volume sources the lab knows by name; the real API server knows more, each a field of spec. */
const PV_SOURCES = ['hostPath', 'nfs', 'csi', 'local', 'iscsi', 'fc', 'cephfs', 'rbd', 'glusterfs', 'awsElasticBlockStore', 'gcePersistentDisk', 'azureDisk', 'azureFile'];

function accessModeErrors(modes: Json | undefined, field: string, required: string): StatusCause[] {
  if (!Array.isArray(modes) || modes.length === 0) return [{ reason: 'FieldValueRequired', field, message: `Required value: ${required}` }];
  const supported = ACCESS_MODES.map((m) => `"${m}"`).join(', ');
  return modes
    .filter((m) => typeof m !== 'string' || !ACCESS_MODES.includes(m))
    .map((m) => ({ reason: 'FieldValueNotSupported', field, message: `Unsupported value: "${String(m)}": supported values: ${supported}` }));
}

/** spec of a claim: at least one access mode and a storage request. */
export function validatePvc(obj: KubeObject): StatusCause[] {
  const spec = asObject(obj.spec);
  const errs = accessModeErrors(spec.accessModes, 'spec.accessModes', 'at least 1 access mode is required');
  if (asObject(asObject(spec.resources).requests).storage === undefined) errs.push({ reason: 'FieldValueRequired', field: 'spec.resources[storage]', message: 'Required value' });
  return errs;
}

/** spec of a volume: capacity, at least one access mode, exactly one volume source (hostPath with a path). */
export function validatePv(obj: KubeObject): StatusCause[] {
  const spec = asObject(obj.spec);
  const errs: StatusCause[] = [];
  if (Object.keys(asObject(spec.capacity)).length === 0) errs.push({ reason: 'FieldValueRequired', field: 'spec.capacity', message: 'Required value' });
  errs.push(...accessModeErrors(spec.accessModes, 'spec.accessModes', 'must specify at least 1 access mode'));
  const sources = PV_SOURCES.filter((s) => spec[s] !== undefined && spec[s] !== null);
  if (sources.length === 0) errs.push({ reason: 'FieldValueRequired', field: 'spec', message: 'Required value: must specify a volume type' });
  else if (sources.length > 1) errs.push({ reason: 'FieldValueForbidden', field: `spec.${sources[1]}`, message: 'Forbidden: may not specify more than 1 volume type' });
  if (spec.hostPath !== undefined && !asObject(spec.hostPath).path) errs.push({ reason: 'FieldValueRequired', field: 'spec.hostPath.path', message: 'Required value' });
  return errs;
}

/** Defaults and the status of a new claim or volume (phase Pending until the PV controller binds it). */
export function prepareVolumeForCreate(key: string, obj: KubeObject): void {
  const spec = (obj.spec = asObject(obj.spec));
  spec.volumeMode ??= 'Filesystem';
  if (key === PV_KEY) spec.persistentVolumeReclaimPolicy ??= 'Retain';
  obj.status = { phase: 'Pending' };
}

const SHORT_MODE: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };
const modes = (m: Json | undefined) => (Array.isArray(m) ? m.map((x) => SHORT_MODE[String(x)] ?? String(x)).join(',') : '');
const str = (v: Json | undefined, none = '') => (v === undefined || v === null || v === '' ? none : String(v));

/** kubectl get pvc / pv columns (between NAME and AGE): name, cell, priority. */
type Column = [name: string, cell: (o: KubeObject) => string, priority?: number];

export const PVC_COLUMNS: Column[] = [
  ['Status', (o) => (o.metadata?.deletionTimestamp ? 'Terminating' : str(asObject(o.status).phase))],
  ['Volume', (o) => str(asObject(o.spec).volumeName)],
  ['Capacity', (o) => str(asObject(asObject(o.status).capacity).storage)],
  ['Access Modes', (o) => modes(asObject(o.status).accessModes)],
  ['StorageClass', (o) => str(asObject(o.spec).storageClassName)],
  ['VolumeAttributesClass', (o) => str(asObject(o.spec).volumeAttributesClassName, '<unset>')],
  ['VolumeMode', (o) => str(asObject(o.spec).volumeMode), 1],
];

export const PV_COLUMNS: Column[] = [
  ['Capacity', (o) => str(asObject(asObject(o.spec).capacity).storage)],
  ['Access Modes', (o) => modes(asObject(o.spec).accessModes)],
  ['Reclaim Policy', (o) => str(asObject(o.spec).persistentVolumeReclaimPolicy)],
  ['Status', (o) => (o.metadata?.deletionTimestamp ? 'Terminating' : str(asObject(o.status).phase))],
  ['Claim', (o) => claimOf(asObject(asObject(o.spec).claimRef))],
  ['StorageClass', (o) => str(asObject(o.spec).storageClassName)],
  ['VolumeAttributesClass', (o) => str(asObject(o.spec).volumeAttributesClassName, '<unset>')],
  ['Reason', (o) => str(asObject(o.status).reason)],
  ['VolumeMode', (o) => str(asObject(o.spec).volumeMode), 1],
];

function claimOf(ref: JsonObject): string {
  return ref.name ? `${ref.namespace}/${ref.name}` : '';
}
