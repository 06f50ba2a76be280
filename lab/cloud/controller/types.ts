/**
 * The InferenceService controller's state types and what its parts (status,
 * pods, revisions, adoption) need from the controller. Bottom of the
 * controller's import graph: this file imports only types from its siblings.
 */
import type { ScalerConfig } from './autoscaler.ts';
import type { KObject } from './informer.ts';
import type { Kube } from './kube.ts';
import type { Replica, ReplicaMeta } from './replica.ts';
import type { Scheduler } from './nodes.ts';
import type { IngressRouter } from './router.ts';

export const NODE_NAME = 'lab-cloud-node';
export const LOG_PATH_ANNOTATION = 'lab.mlv.io/log-path';
export const IMAGE = 'lab.mlv.io/onnxruntime-node-server:local';

export interface ControllerOptions {
  kubeconfig: string;
  stateDir: string;
  /** pid files; default <dirname(stateDir)>/run */
  runDir?: string;
  ingressHost?: string;
  /** default 8443; 0 = ephemeral */
  ingressPort?: number;
  scaleDownDelayMs?: number;
  stableWindowMs?: number;
  replicaCap?: number;
  tickMs?: number;
  resyncMs?: number;
  activatorTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface Failure {
  /** the lab's reason (events use it); status.ts maps it to KServe's FailureReason */
  reason: string;
  message: string;
  location?: string;
  /** a container's exit code; a revision failure without one is a model that could not be staged (storage-initializer) */
  exitCode?: number;
  time: string;
}

export interface Revision {
  name: string;
  generation: number;
  storageUri: string;
  modelDir?: string;
  staging: boolean;
  replicas: Map<string, Replica>;
  desired: number;
  initialScale: number;
  failure?: Failure;
  resources: Record<string, unknown>;
  threads: number;
  memoryLimitBytes?: number;
  /** lab fault knob: the runtimes' --slowdown, from the annotation lab.mlv.io/slowdown; absent = 1 (none) */
  slowdown?: number;
  /** the lab runtime process (runtime/main.ts --runtime, or runtime-hf/main.py); absent = python */
  runtimeFlavor?: RuntimeFlavor;
  /** the serving runtime KServe selected for this generation (status.clusterServingRuntimeName or servingRuntimeName) */
  runtime?: { name: string; cluster: boolean };
  /** the Pending pod standing for replicas the scheduler could not place (./nodes.ts), with its message */
  unschedulable?: { pod: string; message: string };
  /** spec.predictor.serviceAccountName (the pods' service account; absent = default) */
  serviceAccountName?: string;
  /** the pods' annotations: the InferenceService's, then its predictor's */
  podAnnotations?: Record<string, string>;
  /** why no pod of the revision can be created (the admission error the ReplicaSet reports; ./pod-admission.ts) */
  podForbidden?: string;
}

/** The lab process standing in for a ServingRuntime: Triton-like, KServe Python server-like (both runtime/main.ts), Hugging Face-like (runtime-hf/main.py). */
export type RuntimeFlavor = 'triton' | 'python' | 'huggingface';

export interface PredictorSpec {
  storageUri: string;
  format: string;
  resources: Record<string, unknown>;
  /** lab fault knob (lab.mlv.io/slowdown), already validated; default 1 */
  slowdown?: number;
  /** the selected ServingRuntime (a ClusterServingRuntime when `cluster`), the lab process that stands in for it, and the protocol the model gets */
  runtime?: { name: string; cluster: boolean; flavor: RuntimeFlavor; protocolVersion: string };
  /** spec.predictor.serviceAccountName */
  serviceAccountName?: string;
  /** the InferenceService's annotations, then its predictor's (KServe puts both on the pod) */
  podAnnotations?: Record<string, string>;
}

export interface IsvcState {
  key: string;
  namespace: string;
  name: string;
  uid: string;
  obj: KObject;
  revisions: Map<number, Revision>;
  active?: number;
  /** the rollout-unsafe fault moved traffic to a revision with no ready replica yet (controller.ts) */
  unsafeSwitch?: boolean;
  latest?: number;
  /** spec/storage problem of the current generation (no revision made) */
  specFailure?: Failure & { generation: number };
  lastFailure?: Failure;
  scaler: ScalerConfig;
  warnedGeneration?: number;
  nextOrdinal: number;
  lastStatusJson?: string;
  conditionTimes: Map<string, { status: string; reason?: string; message?: string; time: string }>;
  readyAnnounced: boolean;
  lastScale?: string;
  adopted: boolean;
}

export type EventKind = 'Normal' | 'Warning';

/** What the revision, pod and adoption code needs from the controller. */
export interface ControllerHost {
  readonly opts: ControllerOptions;
  readonly runDir: string;
  readonly kube: Kube;
  readonly router: IngressRouter;
  readonly log: (line: string) => void;
  /** runtime processes found at start, by InferenceService key, not yet adopted or killed */
  readonly pendingAdoption: Map<string, ReplicaMeta[]>;
  enqueue(key: string): void;
  updateRoute(st: IsvcState): void;
  event(st: IsvcState, type: EventKind, reason: string, message: string): Promise<void>;
  podEvent(st: IsvcState, podName: string, type: EventKind, reason: string, message: string): Promise<void>;
  /** is the Pod <namespace>/<name> in the pod informer's cache */
  hasPod(key: string): boolean;
  /** write the replica's state to its Pod's status (coalesced) */
  syncPod(st: IsvcState, r: Replica): void;
  /** drop the pod status bookkeeping of <namespace>/<pod> */
  forgetPod(key: string): void;
  /** places predictor pods on the lab's nodes by their nvidia.com/gpu requests (./nodes.ts) */
  readonly scheduler: Scheduler;
}

export const ts = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The revision receiving traffic. */
export const activeRevision = (st: IsvcState): Revision | undefined => (st.active !== undefined ? st.revisions.get(st.active) : undefined);

/** The revision of the newest generation. */
export const latestRevision = (st: IsvcState): Revision | undefined => (st.latest !== undefined ? st.revisions.get(st.latest) : undefined);
