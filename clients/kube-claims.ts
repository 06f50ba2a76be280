/**
 * Model claims in the run's namespace. KServe mounts `pvc://<claim>/<path>` from the claim of that
 * name in the InferenceService's own namespace (storage_initializer_injector.go, pkg/utils/storage.go
 * ParsePvcURI), so a claim in another namespace is not found: the predictor pod stays Pending
 * (`persistentvolumeclaim "<claim>" not found`). A per-run namespace therefore needs its own claim.
 *
 * A volume binds to exactly one claim, so the run's claim cannot bind to the site's volume. It binds
 * to a copy: a PersistentVolume with the same source (the same NFS export, hostPath, CSI volume
 * handle), reclaim policy Retain (deleting the copy never deletes data), pre-bound to the run's claim
 * and owned by the run's Namespace, so it goes when the namespace goes (also a crashed run's, when
 * the next preflight removes its namespace). Two claims mounting the same storage is only sound for
 * ReadOnlyMany or ReadWriteMany volumes; a ReadWriteOnce one is refused with the other way: run in
 * the claim's namespace (MLV_KUBE_NAMESPACE). Creating PersistentVolumes needs cluster-scoped rights,
 * and a CSI volume's copy shares its volume handle, which the driver must accept (NFS, CephFS static).
 */
import type * as K8s from '@kubernetes/client-node';
import { InfraError } from '../helpers/errors.ts';

const SHARED_MODES = ['ReadOnlyMany', 'ReadWriteMany'];

/** The claim names of the pvc:// URIs among `uris`, each once. */
export function pvcClaims(uris: (string | undefined)[]): string[] {
  const out = new Set<string>();
  for (const u of uris) if (u?.startsWith('pvc://')) out.add(u.slice('pvc://'.length).split('/')[0]!);
  return [...out].filter(Boolean);
}

function errorOf(e: unknown): { code?: number; message: string } {
  const err = e as { code?: number; body?: unknown; message?: string };
  let body: { message?: string } | undefined;
  try {
    body = typeof err.body === 'string' ? JSON.parse(err.body) : (err.body as typeof body);
  } catch {
    body = undefined;
  }
  return { code: err.code, message: body?.message ?? err.message ?? String(e) };
}

const json = <T>(v: unknown): T => JSON.parse(JSON.stringify(v)) as T;

/** The run namespace's claim `claim` bound to a copy of the volume of `from`/`claim`; returns the copy's name. */
export async function copyModelClaim(
  core: K8s.CoreV1Api,
  o: { claim: string; from: string; to: string; namespaceUid: string; labels: Record<string, string>; bindTimeoutMs?: number },
): Promise<string> {
  const { claim, from, to } = o;
  const fixNs = `Fix: set MLV_KUBE_NAMESPACE=${from} to run in the claim's namespace`;
  let src: K8s.V1PersistentVolumeClaim;
  try {
    src = json(await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace: from }));
  } catch (e) {
    const a = errorOf(e);
    if (a.code === 404)
      throw new InfraError(`persistentvolumeclaim "${claim}" not found in namespace ${from} (MLV_KUBE_MODEL_NAMESPACE). Fix: point MLV_KUBE_MODEL_NAMESPACE at the namespace that holds it.`);
    throw new InfraError(`cannot read persistentvolumeclaim ${from}/${claim}: ${a.message}. ${fixNs}.`);
  }
  const volumeName = src.spec?.volumeName;
  if (src.status?.phase !== 'Bound' || !volumeName)
    throw new InfraError(`persistentvolumeclaim ${from}/${claim} is ${src.status?.phase ?? 'not bound'}, not Bound: there is no volume to share. Fix: bind it first.`);
  let pv: K8s.V1PersistentVolume;
  try {
    pv = json(await core.readPersistentVolume({ name: volumeName }));
  } catch (e) {
    throw new InfraError(`cannot read persistentvolume ${volumeName} of claim ${from}/${claim}: ${errorOf(e).message}. ${fixNs}.`);
  }
  const modes = pv.spec?.accessModes ?? [];
  const shared = modes.filter((m) => SHARED_MODES.includes(m));
  if (!shared.length) {
    throw new InfraError(
      `persistentvolumeclaim ${from}/${claim} is on volume ${volumeName} with access modes ${modes.join(', ') || '(none)'}: a claim in the run's namespace ${to} would mount the same storage a second time, which only ReadOnlyMany or ReadWriteMany volumes allow. ${fixNs}.`,
    );
  }
  const copy = `mlv-${to}-${claim}`.slice(0, 253).replace(/[-.]+$/, '');
  const accessModes = shared.includes('ReadOnlyMany') ? ['ReadOnlyMany'] : shared;
  const spec: K8s.V1PersistentVolumeSpec = {
    ...pv.spec,
    accessModes,
    persistentVolumeReclaimPolicy: 'Retain',
    claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: to, name: claim },
  };
  const body: K8s.V1PersistentVolume = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name: copy,
      labels: o.labels,
      annotations: { 'mlv.io/copy-of': volumeName },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: to, uid: o.namespaceUid }],
    },
    spec,
  };
  try {
    await core.createPersistentVolume({ body });
  } catch (e) {
    const a = errorOf(e);
    if (a.code !== 409) throw new InfraError(`cannot create persistentvolume ${copy} (a copy of ${volumeName} for claim ${to}/${claim}): ${a.message}. ${fixNs}.`);
  }
  const pvc: K8s.V1PersistentVolumeClaim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: claim, namespace: to, labels: o.labels },
    spec: {
      accessModes,
      resources: { requests: { storage: pv.spec?.capacity?.storage ?? '1Gi' } },
      storageClassName: pv.spec?.storageClassName ?? '',
      volumeMode: pv.spec?.volumeMode,
      volumeName: copy,
    },
  };
  try {
    await core.createNamespacedPersistentVolumeClaim({ namespace: to, body: pvc });
  } catch (e) {
    const a = errorOf(e);
    if (a.code !== 409) throw new InfraError(`cannot create persistentvolumeclaim ${to}/${claim}: ${a.message}. ${fixNs}.`);
  }
  return waitBound(core, to, claim, o.bindTimeoutMs ?? 30_000, `bound to ${copy}, a copy of ${volumeName}`, fixNs).then(() => copy);
}

async function waitBound(core: K8s.CoreV1Api, namespace: string, claim: string, timeoutMs: number, what: string, fix: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  let phase: string | undefined;
  while (Date.now() < end) {
    phase = (await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace }).catch(() => undefined))?.status?.phase;
    if (phase === 'Bound') return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new InfraError(`persistentvolumeclaim ${namespace}/${claim} (${what}) is still ${phase ?? 'not found'} after ${timeoutMs / 1000} s. ${fix}.`);
}

/**
 * The claim a pvc:// URI names must exist in `namespace`, where KServe looks for it; else an
 * InfraError naming it, the namespace and the fix (the pod would stay Pending until the Ready timeout).
 */
export async function requireClaim(core: K8s.CoreV1Api, uri: string, namespace: string, perRun: boolean): Promise<void> {
  const [claim] = pvcClaims([uri]);
  if (!claim) return;
  try {
    await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace });
  } catch (e) {
    const a = errorOf(e);
    if (a.code !== 404) return; // no read access: let the deployment tell
    const fix = perRun
      ? `KServe looks the claim up in the InferenceService's namespace, and ${namespace} is this run's new namespace. Fix: set MLV_KUBE_NAMESPACE to the namespace that holds claim "${claim}", or MLV_KUBE_MODEL_NAMESPACE to it to have each run's namespace get a claim bound to a copy of its volume (ReadOnlyMany or ReadWriteMany volumes).`
      : `KServe looks the claim up in the InferenceService's namespace (MLV_KUBE_NAMESPACE). Fix: create claim "${claim}" in ${namespace}, or set MLV_KUBE_NAMESPACE to the namespace that holds it.`;
    throw new InfraError(`storageUri ${uri}: persistentvolumeclaim "${claim}" not found in namespace ${namespace}. ${fix}`);
  }
}
