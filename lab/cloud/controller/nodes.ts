/**
 * The lab's nodes as the scheduler sees them, and a GPU stand-in.
 *
 * - lab-cloud-node (seeded by the API server): this host, no GPUs.
 * - lab-cloud-gpu-node (registered here at controller start, as a kubelet with the NVIDIA device
 *   plugin would): advertises `nvidia.com/gpu` allocatable, like the SLURM lab's fake GRES GPUs.
 *   There is no GPU, driver or DCGM behind it: it carries the label lab.mlv.io/fake-gpu=true so
 *   the suite (and anyone reading `kubectl get nodes --show-labels`) can tell.
 *
 * Scheduling, the part of kube-scheduler's NodeResourcesFit that matters here: a pod asking for
 * no GPU goes to lab-cloud-node; one asking for nvidia.com/gpu goes to a node with that many
 * still free (allocatable minus what placed pods hold); none fits = the pod stays Pending with
 * PodScheduled=False/Unschedulable and the scheduler's message (pkg/scheduler/framework/plugins/
 * noderesources/fit.go "Insufficient <resource>", schedule_one.go FitError).
 */
import { parseQuantity } from '../../../helpers/quantity.ts';
import { isvcOwnerReference, describeError, httpCode, type Kube } from './kube.ts';
import { IMAGE, NODE_NAME, ts, type IsvcState, type Revision } from './types.ts';
import { VolumeBinder } from './volumes.ts';

export const GPU = 'nvidia.com/gpu';
export const GPU_NODE_NAME = 'lab-cloud-gpu-node';
export const FAKE_GPU_LABEL = 'lab.mlv.io/fake-gpu';
/** GPUs the stand-in advertises: room for the lab's 4.2 replicas (maxReplicas 3) plus one */
export const FAKE_GPUS = 4;

interface NodeCapacity {
  name: string;
  gpus: number;
}

/** The stand-in GPU node: Ready, the host's CPU and memory, FAKE_GPUS nvidia.com/gpu. */
export function gpuNodeObject(now = ts()): Record<string, unknown> {
  const resources = { cpu: '2', memory: '24Gi', pods: '110', 'ephemeral-storage': '20Gi', [GPU]: String(FAKE_GPUS) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: GPU_NODE_NAME,
      labels: { 'kubernetes.io/hostname': GPU_NODE_NAME, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', [FAKE_GPU_LABEL]: 'true' },
      annotations: { 'lab.mlv.io/note': `lab stand-in: ${FAKE_GPUS} nvidia.com/gpu advertised like the SLURM lab's fake GRES GPUs; no GPU, no driver, no DCGM behind them` },
    },
    spec: {},
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now }],
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: GPU_NODE_NAME },
      ],
    },
  };
}

/** The GPUs a predictor's resources ask for: requests, else limits (an extended resource's request defaults to its limit). */
export function gpuRequest(resources: Record<string, unknown>): number {
  const r = resources as { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  const q = r.requests?.[GPU] ?? r.limits?.[GPU];
  if (q === undefined || q === null) return 0;
  const n = parseQuantity(String(q));
  return n === null || n < 0 ? 0 : Math.ceil(n);
}

export class Scheduler {
  private nodes: NodeCapacity[] = [{ name: NODE_NAME, gpus: 0 }];
  private readonly held = new Map<string, { node: string; gpus: number }>();
  private binder?: VolumeBinder;

  /** How many nodes the scheduler considers (the n of its "0/n nodes are available"). */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** Register the GPU stand-in (kept if it exists), read every node's allocatable GPUs, start the PV binder (./volumes.ts). */
  async start(kube: Kube, log: (l: string) => void): Promise<void> {
    this.binder = new VolumeBinder(kube.core, log);
    this.binder.start();
    try {
      await kube.core.createNode({ body: gpuNodeObject() as never });
      log(`registered node ${GPU_NODE_NAME} (${FAKE_GPUS} stand-in nvidia.com/gpu, label ${FAKE_GPU_LABEL}=true)`);
    } catch (e) {
      if (httpCode(e) !== 409) log(`register node ${GPU_NODE_NAME}: ${describeError(e)}`);
    }
    try {
      const list = (await kube.core.listNode()).items;
      this.nodes = list.map((n) => ({ name: n.metadata?.name ?? '?', gpus: Number(n.status?.allocatable?.[GPU] ?? 0) }));
    } catch (e) {
      log(`list nodes: ${describeError(e)}; scheduling on ${NODE_NAME} only`);
    }
  }

  /** Set by stop(): nothing is scheduled any more (a revision waiting for its claim stops looking). */
  stopped = false;

  stop(): void {
    this.stopped = true;
    this.binder?.stop();
  }

  setNodes(nodes: NodeCapacity[]): void {
    this.nodes = nodes;
  }

  /** Place pod `key` asking for `gpus`: the node's name, or the scheduler's FitError message. */
  place(key: string, gpus: number): { node: string } | { message: string } {
    const prior = this.held.get(key);
    if (prior) return { node: prior.node };
    if (gpus <= 0) return { node: this.nodes.find((n) => n.name === NODE_NAME)?.name ?? this.nodes[0]?.name ?? NODE_NAME };
    const free = (n: NodeCapacity) => n.gpus - [...this.held.values()].filter((h) => h.node === n.name).reduce((a, h) => a + h.gpus, 0);
    const fit = this.nodes.find((n) => free(n) >= gpus);
    if (!fit) {
      const n = this.nodes.length;
      return { message: `0/${n} nodes are available: ${n} Insufficient ${GPU}. preemption: 0/${n} nodes are available: ${n} No preemption victims found for incoming pod.` };
    }
    this.held.set(key, { node: fit.name, gpus });
    return { node: fit.name };
  }

  release(key: string): void {
    this.held.delete(key);
  }
}

/** A predictor pod no node can take: Pending, PodScheduled=False Unschedulable with the scheduler's message. */
export function unschedulablePod(st: IsvcState, rev: Revision, name: string, labels: Record<string, string>, message: string): { pod: Record<string, unknown>; status: Record<string, unknown> } {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: st.namespace,
      labels,
      ownerReferences: [isvcOwnerReference(st)],
    },
    spec: { serviceAccountName: rev.serviceAccountName ?? 'default', restartPolicy: 'Always', containers: [{ name: 'kserve-container', image: IMAGE, resources: rev.resources }] },
  };
  const status = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: ts() }] };
  return { pod, status };
}
