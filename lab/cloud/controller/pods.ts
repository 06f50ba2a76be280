/**
 * The Pod objects that mirror predictor replicas: the Pod the controller
 * creates for a replica, the Pod status from the replica's process state,
 * and the coalescing writer that keeps that status current in the API.
 *
 * Shaped like a KServe predictor pod in Knative mode: app containers
 * kserve-container and queue-proxy, init container storage-initializer
 * (pkg/constants StorageInitializerContainerName, InferenceServiceContainerName),
 * each with its own log (lab.mlv.io/log-path.<container>), so a log read
 * without a container name gets kube-apiserver's 400. The storage-initializer's
 * log is the revision's staging log (./storage.ts); queue-proxy's is a line
 * saying the lab's ingress router stands in for it.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { COMPONENT, isvcOwnerReference, describeError, httpCode, type Kube } from './kube.ts';
import { REPO_ROOT, runtimeArgs, runtimeCommand, type Replica, type ReplicaStatus, type Termination } from './replica.ts';
import { storageLogFile } from './storage.ts';
import { IMAGE, LOG_PATH_ANNOTATION, NODE_NAME, ts, type IsvcState, type Revision } from './types.ts';

export const STORAGE_INITIALIZER = 'storage-initializer';
export const QUEUE_PROXY = 'queue-proxy';
export const STORAGE_IMAGE = 'lab.mlv.io/storage-initializer:local';
export const QUEUE_IMAGE = 'lab.mlv.io/queue-proxy:local';

/** The labels KServe and Knative put on a predictor pod of revision `rev`. */
export function podLabels(st: IsvcState, rev: Revision): Record<string, string> {
  return {
    'serving.kserve.io/inferenceservice': st.name,
    component: 'predictor',
    app: rev.name,
    'serving.knative.dev/service': `${st.name}-predictor`,
    'serving.knative.dev/configuration': `${st.name}-predictor`,
    'serving.knative.dev/revision': rev.name,
    'serving.knative.dev/configurationGeneration': String(rev.generation),
  };
}

/** The labels of a pod a replica backs: KServe's and Knative's, and this controller's managed-by. */
export const replicaPodLabels = (st: IsvcState, rev: Revision): Record<string, string> => ({ ...podLabels(st, rev), 'app.kubernetes.io/managed-by': COMPONENT });

/** The log files of a replica's pod, by container. */
export function podLogFiles(r: Replica): Record<string, string> {
  return {
    [STORAGE_INITIALIZER]: storageLogFile(r.spec.modelDir),
    'kserve-container': r.spec.logPath,
    [QUEUE_PROXY]: r.spec.logPath.replace(/\.log$/, '') + `.${QUEUE_PROXY}.log`,
  };
}

/** queue-proxy's log: the lab has no such process, its ingress router proxies for the pod. */
function writeQueueProxyLog(file: string): void {
  if (existsSync(file)) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify({ severity: 'INFO', timestamp: ts(), message: 'lab stand-in: the lab ingress router (lab/cloud/controller/router.ts) proxies for this pod; no queue-proxy process runs' })}\n`,
  );
}

/** The Pod object of replica `r` of revision `rev`. */
export function podObject(st: IsvcState, rev: Revision, r: Replica): Record<string, unknown> {
  const s = r.spec;
  const logs = podLogFiles(r);
  writeQueueProxyLog(logs[QUEUE_PROXY]!);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: s.podName,
      namespace: st.namespace,
      labels: replicaPodLabels(st, rev),
      annotations: {
        [LOG_PATH_ANNOTATION]: s.logPath,
        ...Object.fromEntries(Object.entries(logs).map(([c, f]) => [`${LOG_PATH_ANNOTATION}.${c}`, f])),
        'lab.mlv.io/pid-file': r.files.pid,
        'lab.mlv.io/model-dir': s.modelDir,
        'internal.serving.kserve.io/storage-initializer-sourceuri': rev.storageUri,
        'lab.mlv.io/note': `lab stand-in: this pod is a local ${s.runtime === 'huggingface' ? 'transformers (lab/cloud/runtime-hf)' : 'onnxruntime-node'} process managed by lab/cloud/controller; the image is not pulled`,
      },
      ownerReferences: [isvcOwnerReference(st)],
    },
    spec: {
      nodeName: s.nodeName ?? NODE_NAME,
      serviceAccountName: rev.serviceAccountName ?? 'default',
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 5,
      initContainers: [
        {
          name: STORAGE_INITIALIZER,
          image: STORAGE_IMAGE,
          args: [rev.storageUri, '/mnt/models'],
          terminationMessagePolicy: 'FallbackToLogsOnError',
          volumeMounts: [{ name: 'kserve-provision-location', mountPath: '/mnt/models' }],
        },
      ],
      containers: [
        {
          name: 'kserve-container',
          image: IMAGE,
          command: runtimeCommand(s.runtime),
          args: runtimeArgs(s, r.files.port),
          workingDir: REPO_ROOT,
          env: [
            { name: 'STORAGE_URI', value: rev.storageUri },
            { name: 'K_REVISION', value: rev.name },
          ],
          resources: rev.resources,
          readinessProbe: { httpGet: { path: '/v2/health/ready', port: 0 }, periodSeconds: 1, failureThreshold: 3 },
          volumeMounts: [{ name: 'kserve-provision-location', mountPath: '/mnt/models', readOnly: true }],
        },
        {
          name: QUEUE_PROXY,
          image: QUEUE_IMAGE,
          ports: [{ name: 'http1', containerPort: 8012, protocol: 'TCP' }],
          readinessProbe: { httpGet: { path: '/', port: 8012 }, periodSeconds: 1 },
        },
      ],
      volumes: [{ name: 'kserve-provision-location', emptyDir: {} }],
    },
  };
}

/** A pod condition of `podName`; gives the condition's lastTransitionTime. */
type PodConditionFn = (podName: string, type: string, status: boolean) => Record<string, string>;

/** The Pod status of replica `r`: phase, conditions, the kserve-container's state. */
function podStatus(r: Replica, podCondition: PodConditionFn): Record<string, unknown> {
  const s: ReplicaStatus = r.status;
  const name = r.spec.podName;
  const started = s.started || s.restartCount > 0;
  return {
    phase: s.state === 'terminated' ? (s.lastTermination?.exitCode === 0 ? 'Succeeded' : 'Failed') : started ? 'Running' : 'Pending',
    conditions: [podCondition(name, 'PodScheduled', true), podCondition(name, 'Initialized', true), podCondition(name, 'ContainersReady', s.ready), podCondition(name, 'Ready', s.ready)],
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    podIP: '127.0.0.1',
    podIPs: [{ ip: '127.0.0.1' }],
    startTime: s.startedAt ?? ts(),
    // the model was staged before the replica was made: the storage-initializer has completed
    initContainerStatuses: [initStatus(s)],
    containerStatuses: [containerStatus(s, name), queueProxyStatus(s)],
  };
}

function initStatus(s: ReplicaStatus): Record<string, unknown> {
  const at = s.startedAt ?? ts();
  return {
    name: STORAGE_INITIALIZER,
    image: STORAGE_IMAGE,
    imageID: '',
    ready: true,
    started: false,
    restartCount: 0,
    state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: at, finishedAt: at } },
    lastState: {},
  };
}

/** queue-proxy runs while the pod runs, ready with the model server (its readiness probes the user container). */
function queueProxyStatus(s: ReplicaStatus): Record<string, unknown> {
  const running = s.state === 'running';
  const state = running
    ? { running: { startedAt: s.startedAt } }
    : s.state === 'terminated'
      ? { terminated: { exitCode: 0, reason: 'Completed', startedAt: s.startedAt ?? ts(), finishedAt: ts() } }
      : { waiting: { reason: 'PodInitializing' } };
  return { name: QUEUE_PROXY, image: QUEUE_IMAGE, imageID: '', ready: s.ready, started: running, restartCount: 0, state, lastState: {} };
}

function containerStatus(s: ReplicaStatus, name: string): Record<string, unknown> {
  const termToK8s = (t: Termination) => {
    const o: Record<string, unknown> = { exitCode: t.exitCode, reason: t.reason, startedAt: t.startedAt, finishedAt: t.finishedAt, containerID: `lab://${name}` };
    if (t.message) o.message = t.message;
    if (t.signal) o.signal = { SIGTERM: 15, SIGKILL: 9, SIGINT: 2 }[t.signal] ?? 0;
    return o;
  };
  let state: Record<string, unknown>;
  if (s.state === 'running') state = { running: { startedAt: s.startedAt } };
  else if (s.state === 'terminated' && s.lastTermination) state = { terminated: termToK8s(s.lastTermination) };
  else state = { waiting: { reason: s.waitingReason ?? 'ContainerCreating', ...(s.waitingMessage ? { message: s.waitingMessage } : {}) } };
  const cs: Record<string, unknown> = {
    name: 'kserve-container',
    image: IMAGE,
    imageID: '',
    containerID: s.pid ? `lab://${s.pid}` : undefined,
    ready: s.ready,
    started: s.state === 'running',
    restartCount: s.restartCount,
    state,
    lastState: s.lastTermination && s.state !== 'terminated' ? { terminated: termToK8s(s.lastTermination) } : {},
  };
  if (!cs.containerID) delete cs.containerID;
  return cs;
}

/** Writes replicas' Pod status to the API, one patch in flight per pod, only the latest state queued. */
export class PodStatusWriter {
  private readonly slots = new Map<string, { busy: boolean; next?: () => Promise<void> }>();
  private readonly times = new Map<string, Map<string, { status: string; time: string }>>();

  constructor(
    private readonly kube: Kube,
    private readonly log: (line: string) => void,
  ) {}

  readonly condition: PodConditionFn = (podName, type, status) => {
    let m = this.times.get(podName);
    if (!m) this.times.set(podName, (m = new Map()));
    const s = status ? 'True' : 'False';
    const prev = m.get(type);
    if (!prev || prev.status !== s) m.set(type, { status: s, time: ts() });
    return { type, status: s, lastTransitionTime: m.get(type)!.time };
  };

  status(r: Replica): Record<string, unknown> {
    return podStatus(r, this.condition);
  }

  sync(st: IsvcState, r: Replica): void {
    const key = `${st.namespace}/${r.spec.podName}`;
    const run = async () => {
      const status = this.status(r);
      try {
        await this.kube.patchPodStatus(st.namespace, r.spec.podName, status);
      } catch (e) {
        if (httpCode(e) !== 404) this.log(`pod status ${key}: ${describeError(e)}`);
      }
    };
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { busy: false };
      this.slots.set(key, slot);
    }
    if (slot.busy) {
      slot.next = run; // coalesce: only the latest state matters
      return;
    }
    slot.busy = true;
    void this.drain(slot, run);
  }

  private async drain(slot: { busy: boolean; next?: () => Promise<void> }, first: () => Promise<void>): Promise<void> {
    let job: (() => Promise<void>) | undefined = first;
    while (job) {
      await job();
      job = slot.next;
      slot.next = undefined;
    }
    slot.busy = false;
  }

  /** Drop the coalescing slot of <namespace>/<pod> (its pod is gone). */
  forget(key: string): void {
    this.slots.delete(key);
  }
}
