/**
 * PersistentVolumeClaims as a cluster resolves them, for pvc:// storage URIs.
 *
 * KServe mounts `pvc://<claim>/<path>` straight into the predictor pod: a volume
 * `kserve-pvc-source` with `persistentVolumeClaim.claimName: <claim>`, mounted at /mnt/models with
 * subPath <path> (pkg/webhook/admission/pod/storage_initializer_injector.go, pkg/utils/storage.go
 * ParsePvcURI). A pod's claim is looked up in the pod's namespace, the InferenceService's, and
 * nowhere else. Until the claim exists and is bound the scheduler cannot place the pod: it stays
 * Pending, PodScheduled=False reason Unschedulable, with the VolumeBinding plugin's PreFilter
 * message in a FailedScheduling event (kubernetes pkg/scheduler/framework/plugins/volumebinding/
 * volume_binding.go podHasPVCs and PreFilter, UnschedulableAndUnresolvable; schedule_one.go
 * FitError: "0/<n> nodes are available: <msg>. preemption: 0/<n> nodes are available: <n>
 * Preemption is not helpful for scheduling.").
 *
 * The lab's PV controller stand-in (VolumeBinder) binds what kube-controller-manager's would bind
 * without a provisioner: a claim whose spec.volumeName names an existing volume, or a volume whose
 * spec.claimRef names an existing claim (pre-bound either way); a bound volume whose claim is gone
 * becomes Released (reclaim policy Retain). A bound claim's volume must be a hostPath volume: its
 * spec.hostPath.path is the folder the model is read from, as a kubelet would mount it.
 */
import { PatchStrategy, setHeaderOptions, type CoreV1Api } from '@kubernetes/client-node';
import { describeError, httpCode } from './kube.ts';

export const PVC_VOLUME = 'kserve-pvc-source';

interface Claim {
  metadata: { name: string; namespace: string; uid?: string; resourceVersion?: string; deletionTimestamp?: unknown; annotations?: Record<string, string> };
  spec?: { volumeName?: string; accessModes?: string[] };
  status?: { phase?: string };
}
interface Volume {
  metadata: { name: string; deletionTimestamp?: unknown };
  spec?: {
    claimRef?: { namespace?: string; name?: string; uid?: string };
    accessModes?: string[];
    capacity?: Record<string, string>;
    hostPath?: { path?: string };
    persistentVolumeReclaimPolicy?: string;
  };
  status?: { phase?: string };
}

const json = <T>(v: unknown): T => JSON.parse(JSON.stringify(v)) as T;
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The claim name and sub-path of a pvc:// URI (KServe's ParsePvcURI), or undefined for another scheme. */
export function parsePvcUri(uri: string): { claim: string; path: string } | undefined {
  if (!uri.startsWith('pvc://')) return undefined;
  const [claim, ...rest] = uri.slice('pvc://'.length).split('/');
  return { claim: claim ?? '', path: rest.join('/') };
}

/** The scheduler's FitError text for a pod whose volumes fail VolumeBinding's PreFilter on every one of `nodes` nodes. */
export function volumeFitError(preFilterMessage: string, nodes: number): string {
  return `0/${nodes} nodes are available: ${preFilterMessage}. preemption: 0/${nodes} nodes are available: ${nodes} Preemption is not helpful for scheduling.`;
}

async function get<T>(f: () => Promise<unknown>): Promise<T | undefined> {
  try {
    return json<T>(await f());
  } catch (e) {
    if (httpCode(e) === 404) return undefined;
    throw e;
  }
}

/**
 * Where claim `claim` of namespace `namespace` lives on this host, or the scheduler's PreFilter
 * message for a pod that mounts it (the claim missing, being deleted, lost or not bound). Binds a
 * pre-bound pair first, as the PV controller would have by the time the scheduler looks.
 */
export async function resolveClaim(core: CoreV1Api, namespace: string, claim: string): Promise<{ hostPath: string; volume: string } | { unschedulable: string } | { error: string }> {
  let pvc = await get<Claim>(() => core.readNamespacedPersistentVolumeClaim({ namespace, name: claim }));
  if (!pvc) return { unschedulable: `persistentvolumeclaim "${claim}" not found` };
  if (pvc.metadata.deletionTimestamp) return { unschedulable: `persistentvolumeclaim "${claim}" is being deleted` };
  if (pvc.status?.phase !== 'Bound') {
    await bindPair(core, pvc).catch(() => {});
    pvc = (await get<Claim>(() => core.readNamespacedPersistentVolumeClaim({ namespace, name: claim }))) ?? pvc;
  }
  const volumeName = pvc.spec?.volumeName;
  const pv = volumeName ? await get<Volume>(() => core.readPersistentVolume({ name: volumeName })) : undefined;
  if (pvc.status?.phase === 'Lost' || (pvc.status?.phase === 'Bound' && !pv)) {
    return { unschedulable: `persistentvolumeclaim "${claim}" bound to non-existent persistentvolume "${volumeName}"` };
  }
  if (pvc.status?.phase !== 'Bound' || !pv) return { unschedulable: 'pod has unbound immediate PersistentVolumeClaims' };
  const path = pv.spec?.hostPath?.path;
  if (!path) return { error: `persistentvolume "${pv.metadata.name}" of claim ${namespace}/${claim} is not a hostPath volume; the lab mounts only hostPath volumes` };
  return { hostPath: path, volume: pv.metadata.name };
}

/** Bind `pvc` to its volume when the two name each other or one names the other and the other is free. */
async function bindPair(core: CoreV1Api, pvc: Claim): Promise<boolean> {
  const ns = pvc.metadata.namespace;
  let pv: Volume | undefined;
  if (pvc.spec?.volumeName) pv = await get<Volume>(() => core.readPersistentVolume({ name: pvc.spec!.volumeName! }));
  else {
    const all = json<{ items: Volume[] }>(await core.listPersistentVolume()).items;
    pv = all.find((v) => v.spec?.claimRef?.namespace === ns && v.spec.claimRef.name === pvc.metadata.name && (!v.spec.claimRef.uid || v.spec.claimRef.uid === pvc.metadata.uid));
  }
  if (!pv || pv.metadata.deletionTimestamp) return false;
  const ref = pv.spec?.claimRef;
  if (ref?.name && (ref.namespace !== ns || ref.name !== pvc.metadata.name || (ref.uid && ref.uid !== pvc.metadata.uid))) return false; // bound to another claim
  const claimRef = { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: ns, name: pvc.metadata.name, uid: pvc.metadata.uid, resourceVersion: pvc.metadata.resourceVersion };
  await core.patchPersistentVolume({ name: pv.metadata.name, body: { spec: { claimRef } } }, MERGE);
  await core.patchPersistentVolumeStatus({ name: pv.metadata.name, body: { status: { phase: 'Bound' } } }, MERGE);
  if (!pvc.spec?.volumeName) await core.patchNamespacedPersistentVolumeClaim({ namespace: ns, name: pvc.metadata.name, body: { spec: { volumeName: pv.metadata.name } } }, MERGE);
  await core.patchNamespacedPersistentVolumeClaim({ namespace: ns, name: pvc.metadata.name, body: { metadata: { annotations: { 'pv.kubernetes.io/bind-completed': 'yes' } } } }, MERGE);
  await core.patchNamespacedPersistentVolumeClaimStatus(
    { namespace: ns, name: pvc.metadata.name, body: { status: { phase: 'Bound', accessModes: pv.spec?.accessModes ?? [], capacity: pv.spec?.capacity ?? {} } } },
    MERGE,
  );
  return true;
}

/** The PV controller stand-in: binds pre-bound pairs and releases volumes whose claim is gone, every `everyMs`. */
export class VolumeBinder {
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly core: CoreV1Api,
    private readonly log: (line: string) => void,
  ) {}

  start(everyMs = 2000): void {
    this.timer = setInterval(() => void this.sync(), everyMs);
    this.timer.unref();
    void this.sync();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async sync(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const claims = json<{ items: Claim[] }>(await this.core.listPersistentVolumeClaimForAllNamespaces()).items;
      for (const pvc of claims) {
        if (pvc.status?.phase === 'Bound' || pvc.metadata.deletionTimestamp) continue;
        if (await bindPair(this.core, pvc)) this.log(`bound persistentvolumeclaim ${pvc.metadata.namespace}/${pvc.metadata.name}`);
      }
      const uids = new Set(claims.map((c) => c.metadata.uid));
      const volumes = json<{ items: Volume[] }>(await this.core.listPersistentVolume()).items;
      for (const pv of volumes) {
        const ref = pv.spec?.claimRef;
        if (pv.status?.phase === 'Pending') {
          await this.core.patchPersistentVolumeStatus({ name: pv.metadata.name, body: { status: { phase: 'Available' } } }, MERGE);
          continue;
        }
        if (pv.status?.phase !== 'Bound' || !ref?.uid || uids.has(ref.uid)) continue;
        // the claim went: Retain keeps the data and the claimRef, the volume is Released (not bound again without an admin)
        await this.core.patchPersistentVolumeStatus({ name: pv.metadata.name, body: { status: { phase: 'Released' } } }, MERGE);
        this.log(`persistentvolume ${pv.metadata.name} released (claim ${ref.namespace}/${ref.name} deleted)`);
      }
    } catch (e) {
      this.log(`volume binder: ${describeError(e)}`);
    } finally {
      this.running = false;
    }
  }
}

/**
 * A hostPath PersistentVolume and a claim in `namespace` pre-bound to it (spec.volumeName), as an
 * admin provisions a static volume: what lab/cloud/up.sh applies for the lab's models, and what the
 * tests create. The volume is named `<namespace>-<claim>`, reclaim policy Retain (the data stays).
 */
export function hostPathClaim(namespace: string, claim: string, path: string, accessModes = ['ReadOnlyMany'], size = '1Gi'): { pv: Record<string, unknown>; pvc: Record<string, unknown> } {
  const volume = `${namespace}-${claim}`;
  const pv = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: volume },
    spec: { capacity: { storage: size }, accessModes, persistentVolumeReclaimPolicy: 'Retain', storageClassName: '', hostPath: { path, type: 'Directory' }, claimRef: { namespace, name: claim } },
  };
  const pvc = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: claim, namespace },
    spec: { accessModes, resources: { requests: { storage: size } }, storageClassName: '', volumeName: volume },
  };
  return { pv, pvc };
}

/** Create hostPathClaim's volume and claim (each kept when it already exists). */
export async function createHostPathClaim(core: CoreV1Api, namespace: string, claim: string, path: string, accessModes?: string[]): Promise<void> {
  const { pv, pvc } = hostPathClaim(namespace, claim, path, accessModes);
  const exists = (e: unknown) => {
    if (httpCode(e) !== 409) throw e;
  };
  await core.createPersistentVolume({ body: pv as never }).catch(exists);
  await core.createNamespacedPersistentVolumeClaim({ namespace, body: pvc as never }).catch(exists);
}
