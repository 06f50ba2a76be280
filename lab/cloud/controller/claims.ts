/**
 * A revision whose model is a pvc:// claim waits for the claim, as its pods would on a cluster:
 * the claim is looked up in the InferenceService's namespace (./volumes.ts resolveClaim); while it
 * is missing or unbound, one Pending pod stands for the revision's pods (PodScheduled=False,
 * Unschedulable, the scheduler's message, a FailedScheduling event), and the lookup is retried as
 * the scheduler retries an unschedulable pod. Once bound, the model is read from the claim's volume.
 */
import { describeError } from './kube.ts';
import { unschedulablePod } from './nodes.ts';
import { podLabels } from './pods.ts';
import { PVC_VOLUME, parsePvcUri, resolveClaim, volumeFitError } from './volumes.ts';
import { randomBytes } from 'node:crypto';
import type { ControllerHost, IsvcState, Revision } from './types.ts';

/** How often a revision waiting for its claim looks again (the scheduler's unschedulable-pod back-off is 5 s at most at first). */
export const CLAIM_RETRY_MS = 2000;

export type ClaimLookup = { claimPath?: string } | { pending: string } | { error: string };

/** The claim's host folder for staging (nothing to look up for another scheme), or why the revision must wait, or fail. */
export async function claimFor(c: ControllerHost, st: IsvcState, rev: Revision): Promise<ClaimLookup> {
  const pvc = parsePvcUri(rev.storageUri);
  if (!pvc) return {};
  let found;
  try {
    found = await resolveClaim(c.kube.core, st.namespace, pvc.claim);
  } catch (e) {
    return { pending: `persistentvolumeclaim "${pvc.claim}": ${describeError(e)}` };
  }
  if ('error' in found) return found;
  if ('unschedulable' in found) {
    const message = volumeFitError(found.unschedulable, c.scheduler.nodeCount);
    await pendingPod(c, st, rev, pvc, message);
    return { pending: message };
  }
  await clearPendingPod(c, st, rev);
  return { claimPath: found.hostPath };
}

/** The Pending pod of a revision whose claim cannot be used yet: created once, its status and event renewed when the message changes. */
async function pendingPod(c: ControllerHost, st: IsvcState, rev: Revision, pvc: { claim: string; path: string }, message: string): Promise<void> {
  if (rev.unschedulable?.message === message) return;
  const name = rev.unschedulable?.pod ?? `${st.name}-predictor-${randomBytes(4).toString('hex').slice(0, 5)}`;
  const existed = !!rev.unschedulable;
  rev.unschedulable = { pod: name, message };
  const { pod, status } = unschedulablePod(st, rev, name, podLabels(st, rev), message);
  // KServe's webhook: the claim mounted at /mnt/models with the URI's path as subPath, no storage-initializer
  const spec = pod.spec as { containers: Record<string, unknown>[]; volumes?: unknown[] };
  spec.volumes = [{ name: PVC_VOLUME, persistentVolumeClaim: { claimName: pvc.claim } }];
  spec.containers[0]!.volumeMounts = [{ name: PVC_VOLUME, mountPath: '/mnt/models', subPath: pvc.path, readOnly: true }];
  try {
    if (!existed) await c.kube.createPod(st.namespace, pod);
    await c.kube.patchPodStatus(st.namespace, name, status);
  } catch (e) {
    c.log(`pending pod ${st.namespace}/${name}: ${describeError(e)}`);
  }
  void c.podEvent(st, name, 'Warning', 'FailedScheduling', message);
  c.enqueue(st.key);
}

async function clearPendingPod(c: ControllerHost, st: IsvcState, rev: Revision): Promise<void> {
  if (!rev.unschedulable) return;
  const { pod } = rev.unschedulable;
  rev.unschedulable = undefined;
  await c.kube.deletePod(st.namespace, pod).catch((e) => c.log(`delete pod ${pod}: ${describeError(e)}`));
}
