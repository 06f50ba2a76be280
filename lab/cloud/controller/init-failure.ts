/**
 * The Pod of a revision whose model could not be staged. On a real cluster the predictor pod
 * exists and its storage-initializer init container fails (Init:Error, then Init:CrashLoopBackOff),
 * its termination message the log tail (terminationMessagePolicy FallbackToLogsOnError), and
 * KServe reports ModelLoadFailed from that container (inference_service_status.go
 * PropagateModelStatus). The lab stages once per revision, before any replica: when that fails,
 * this Pod stands for the revision's pods, with the staging log as the storage-initializer's.
 * It carries no managed-by label (no replica backs it, the stale-pod sweep leaves it) and goes
 * with its revision (deleteFailedStoragePod from teardownRevision).
 */
import { readFileSync } from 'node:fs';
import { isvcOwnerReference, describeError, httpCode } from './kube.ts';
import { NODE_NAME, LOG_PATH_ANNOTATION, IMAGE, ts, type ControllerHost, type IsvcState, type Revision } from './types.ts';
import { QUEUE_IMAGE, QUEUE_PROXY, STORAGE_IMAGE, STORAGE_INITIALIZER, podLabels } from './pods.ts';
import { storageLogFile } from './storage.ts';

/** The failed pod's name (one per revision). */
export const failedStoragePodName = (rev: Revision): string => `${rev.name}-deployment-storage`;

/** What kubelet keeps as the termination message with FallbackToLogsOnError: the log's last 80 lines, at most 2048 bytes. */
function terminationMessage(log: string): string {
  const tail = log.split('\n').slice(-81).join('\n');
  return Buffer.byteLength(tail) <= 2048 ? tail : Buffer.from(tail).subarray(-2048).toString('utf8');
}

/** Pod object and status of revision `rev`, whose staging into `dest` failed. */
export function failedStoragePod(st: IsvcState, rev: Revision, dest: string): { pod: Record<string, unknown>; status: Record<string, unknown> } {
  const name = failedStoragePodName(rev);
  const log = storageLogFile(dest);
  let message = '';
  try {
    message = terminationMessage(readFileSync(log, 'utf8'));
  } catch {
    /* no log written */
  }
  const now = ts();
  const waiting = (c: string, image: string) => ({ name: c, image, imageID: '', ready: false, started: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } }, lastState: {} });
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: st.namespace,
      labels: podLabels(st, rev),
      annotations: { [`${LOG_PATH_ANNOTATION}.${STORAGE_INITIALIZER}`]: log, 'internal.serving.kserve.io/storage-initializer-sourceuri': rev.storageUri },
      ownerReferences: [isvcOwnerReference(st)],
    },
    spec: {
      nodeName: NODE_NAME,
      serviceAccountName: rev.serviceAccountName ?? 'default',
      restartPolicy: 'Always',
      initContainers: [{ name: STORAGE_INITIALIZER, image: STORAGE_IMAGE, args: [rev.storageUri, '/mnt/models'], terminationMessagePolicy: 'FallbackToLogsOnError' }],
      containers: [
        { name: 'kserve-container', image: IMAGE },
        { name: QUEUE_PROXY, image: QUEUE_IMAGE },
      ],
    },
  };
  const status = {
    phase: 'Pending',
    conditions: [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
      { type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: `containers with incomplete status: [${STORAGE_INITIALIZER}]`, lastTransitionTime: now },
      { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [kserve-container ${QUEUE_PROXY}]`, lastTransitionTime: now },
      { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [kserve-container ${QUEUE_PROXY}]`, lastTransitionTime: now },
    ],
    hostIP: '127.0.0.1',
    startTime: now,
    initContainerStatuses: [
      {
        name: STORAGE_INITIALIZER,
        image: STORAGE_IMAGE,
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { terminated: { exitCode: 1, reason: 'Error', ...(message ? { message } : {}), startedAt: now, finishedAt: now } },
        lastState: {},
      },
    ],
    containerStatuses: [waiting('kserve-container', IMAGE), waiting(QUEUE_PROXY, QUEUE_IMAGE)],
  };
  return { pod, status };
}

/** Create the failed pod of `rev` and write its status. */
export async function createFailedStoragePod(c: ControllerHost, st: IsvcState, rev: Revision, dest: string): Promise<void> {
  const { pod, status } = failedStoragePod(st, rev, dest);
  try {
    await c.kube.createPod(st.namespace, pod);
  } catch (e) {
    if (httpCode(e) !== 409) return c.log(`create pod ${st.namespace}/${failedStoragePodName(rev)}: ${describeError(e)}`);
  }
  await c.kube.patchPodStatus(st.namespace, failedStoragePodName(rev), status).catch((e) => c.log(`pod status ${failedStoragePodName(rev)}: ${describeError(e)}`));
  void c.podEvent(st, failedStoragePodName(rev), 'Warning', 'BackOff', `Back-off restarting failed container ${STORAGE_INITIALIZER} in pod ${failedStoragePodName(rev)}_${st.namespace}`);
}

/** Delete the failed pod of `rev`, if any. */
export async function deleteFailedStoragePod(c: ControllerHost, st: IsvcState, rev: Revision): Promise<void> {
  await c.kube.deletePod(st.namespace, failedStoragePodName(rev)).catch((e) => {
    if (httpCode(e) !== 404) c.log(`delete pod ${failedStoragePodName(rev)}: ${describeError(e)}`);
  });
}
