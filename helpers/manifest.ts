/**
 * The capability manifest written by the preflight project, and the pure decision of
 * whether a test applies: skip (the target does not claim the capability), fail (it claims
 * it but the probe shows it broken), or run.
 */
import type { Capability, Target } from './config.ts';
import type { SinfoNode } from './slurm-parsers.ts';

export interface Manifest {
  runId: string;
  createdAt: string;
  target: Record<string, string>;
  slurmVersion: string;
  partition: string;
  nodes: SinfoNode[];
  /** Nodes of the partition that can take work now (idle/mixed/allocated, not drained/down). */
  usableNodes: string[];
  /** GRES GPUs per usable node. */
  gpusByNode: Record<string, number>;
  sharedFs: { root: string; loginWritable: boolean; computeWritable: boolean; computeSeesLogin: boolean; computeNode?: string };
  compute: { python?: string; torch?: string; cudaAvailable: boolean; cudaDeviceCount: number; cudaVisibleDevices?: string };
  tools: { apptainer?: string; nvidiaSmi?: string };
  dataset: { dir: string; present: boolean; missing: string[] };
  workloadsDir: string;
  runDir: string;
  /** Claimed capabilities the probe found broken, one sentence each. */
  problems: string[];
  orphansRemoved: string[];
  /** Written by the cloud probe when the target claims kserve. */
  cloud?: CloudManifest;
}

export interface CloudManifest {
  apiServer: string;
  kubeVersion: string;
  kserve: boolean;
  nodes: { name: string; gpus: number; cpu: string; memory: string }[];
  orphansRemoved: string[];
}

export interface Requirement {
  /** GPUs on one node, through GRES. */
  gpusPerNode?: number;
  nodes?: number;
  claims?: Capability[];
  tools?: ('apptainer' | 'nvidia-smi')[];
  cuda?: boolean;
  /** Kubernetes nodes with nvidia.com/gpu allocatable. */
  gpuNodes?: number;
}

export type Decision = { run: true } | { run: false; outcome: 'skip' | 'fail'; reason: string };

export function decide(req: Requirement, target: Target, m: Manifest): Decision {
  const claims = target.inventory.capabilities;
  const claimed = (c: Capability) => claims.includes(c);
  for (const c of req.claims ?? []) {
    if (!claimed(c)) return { run: false, outcome: 'skip', reason: `target "${target.name}" does not claim capability "${c}" (MLV_CAPABILITIES=${claims.join(',') || 'empty'})` };
  }
  if (req.gpusPerNode) {
    if (target.inventory.gpusPerNode < req.gpusPerNode) {
      return {
        run: false,
        outcome: 'skip',
        reason: target.inventory.gpusPerNode === 0 ? `no GPU nodes: target "${target.name}" declares MLV_GPUS_PER_NODE=0; this test needs ${req.gpusPerNode} GPU(s) on one node` : `target "${target.name}" declares ${target.inventory.gpusPerNode} GPU(s) per node (MLV_GPUS_PER_NODE); this test needs ${req.gpusPerNode} on one node`,
      };
    }
    const best = Math.max(0, ...Object.values(m.gpusByNode));
    if (best < req.gpusPerNode) {
      return { run: false, outcome: 'fail', reason: `target "${target.name}" declares ${target.inventory.gpusPerNode} GPU(s) per node, but GRES on usable nodes of partition ${m.partition} shows at most ${best} (${JSON.stringify(m.gpusByNode)})` };
    }
  }
  if (req.nodes) {
    if (target.inventory.nodeCount < req.nodes) return { run: false, outcome: 'skip', reason: `target "${target.name}" declares ${target.inventory.nodeCount} node(s) (MLV_NODE_COUNT); this test needs ${req.nodes}` };
    const withGpus = req.gpusPerNode ? m.usableNodes.filter((n) => (m.gpusByNode[n] ?? 0) >= req.gpusPerNode!) : m.usableNodes;
    if (withGpus.length < req.nodes) {
      return { run: false, outcome: 'fail', reason: `target "${target.name}" declares ${target.inventory.nodeCount} nodes, but only ${withGpus.length} usable node(s)${req.gpusPerNode ? ` with ${req.gpusPerNode}+ GPU(s)` : ''} in partition ${m.partition}: ${m.nodes.map((n) => `${n.node}=${n.state}${n.flags}`).join(', ')}` };
    }
  }
  for (const tool of req.tools ?? []) {
    const found = tool === 'apptainer' ? m.tools.apptainer : m.tools.nvidiaSmi;
    if (!found) {
      const claim: Capability | undefined = tool === 'apptainer' ? 'apptainer' : 'cuda';
      if (claim && claimed(claim)) return { run: false, outcome: 'fail', reason: `target claims "${claim}" but ${tool} is not on the compute nodes' PATH` };
      return { run: false, outcome: 'skip', reason: `${tool} is not available on the compute nodes of "${target.name}"${tool === 'nvidia-smi' ? ' (no NVIDIA driver: GPU utilisation cannot be measured)' : ''}` };
    }
  }
  if (req.cuda && !m.compute.cudaAvailable) {
    return claimed('cuda')
      ? { run: false, outcome: 'fail', reason: `target claims "cuda" but torch on a compute node reports torch.cuda.is_available() = False` }
      : { run: false, outcome: 'skip', reason: `no CUDA devices: torch on the compute nodes reports no CUDA (target does not claim "cuda")` };
  }
  if (req.gpuNodes) {
    const withGpu = (m.cloud?.nodes ?? []).filter((n) => n.gpus > 0);
    if (withGpu.length < req.gpuNodes) {
      const what = `no GPU nodes: no Kubernetes node of "${target.name}" has nvidia.com/gpu allocatable (nodes: ${(m.cloud?.nodes ?? []).map((n) => n.name).join(', ') || 'none seen'})`;
      return claimed('gpu-inference') ? { run: false, outcome: 'fail', reason: `target claims "gpu-inference" but ${what}` } : { run: false, outcome: 'skip', reason: what };
    }
  }
  return { run: true };
}
