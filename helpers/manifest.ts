/**
 * The capability manifest written by the preflight project, and the pure decision of
 * whether a test applies: skip (the target does not claim the capability), fail (it claims
 * it but the probe shows it broken), or run.
 */
import { SIDE_SETTINGS, type Capability, type Side, type Target } from './config.ts';
import type { SinfoNode } from './slurm-parsers.ts';
import { nodeWithReason } from './node-health.ts';

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
  /** Oumi, probed when MLV_OUMI is set: on a compute node (under the runtime prefix) and on the runner. */
  oumi?: OumiManifest;
  /** A dry run: written from the declared inventory, nothing was probed. */
  dryRun?: boolean;
}

/** A version where the probe ran it, else the error it met. */
export interface OumiProbe {
  version?: string;
  error?: string;
}

export interface OumiManifest {
  compute: OumiProbe;
  runner: OumiProbe;
  /** The base model (MLV_OUMI_MODEL) is on the shared filesystem or in the HF cache. */
  model: { present: boolean; detail: string };
}

export interface CloudManifest {
  apiServer: string;
  kubeVersion: string;
  kserve: boolean;
  nodes: { name: string; gpus: number; cpu: string; memory: string }[];
  orphansRemoved: string[];
  dryRun?: boolean;
}

export type ModelNeed = 'mnist' | 'llm';

/** What a test needs; declared once per test (`test.use({ requires })`) and read before any connection. */
export interface Requirement {
  /** The sides of the target the test drives (default: its project's). */
  sides?: Side[];
  /** GPUs on one node, through GRES. Also sizes the test's GRES requests. */
  gpusPerNode?: number;
  nodes?: number;
  claims?: Capability[];
  tools?: ('apptainer' | 'nvidia-smi')[];
  cuda?: boolean;
  /** Kubernetes nodes with nvidia.com/gpu allocatable. */
  gpuNodes?: number;
  /** Models the target must name on its storage. */
  models?: ModelNeed[];
  /** Services of the e2e side: an MLflow tracking server, an S3-compatible object store. */
  services?: ServiceNeed[];
  /** Oumi on the compute nodes (with its base model), and for its launcher on the machine running the suite. */
  oumi?: ('compute' | 'runner')[];
}

export type ServiceNeed = 'mlflow' | 'object-store';
const SERVICE_VARS: Record<ServiceNeed, { field: 'mlflow' | 'objectStore'; reason: string }> = {
  mlflow: { field: 'mlflow', reason: 'MLFLOW_TRACKING_URI is not set: no MLflow tracking server to register the model in' },
  'object-store': { field: 'objectStore', reason: 'MLV_S3_BUCKET is not set: no object store to sync the model to' },
};

export interface Manifests {
  hpc?: Manifest;
  cloud?: CloudManifest;
}

export type Decision = { run: true } | { run: false; outcome: 'skip' | 'fail'; reason: string };
const skip = (reason: string): Decision => ({ run: false, outcome: 'skip', reason });
const fail = (reason: string): Decision => ({ run: false, outcome: 'fail', reason });

const MODEL_VARS: Record<ModelNeed, { field: 'mnistModelUri' | 'llmModelUri'; reason: string }> = {
  mnist: { field: 'mnistModelUri', reason: 'MLV_MNIST_MODEL_URI is not set: no MNIST ONNX model on this target’s storage to serve' },
  llm: { field: 'llmModelUri', reason: 'MLV_LLM_MODEL_URI is not set: no text-generation model on this target’s storage to serve' },
};

function decideGpus(req: Requirement, target: Target, m: Manifest): Decision {
  const gpus = target.hpc?.gpusPerNode ?? 0;
  const want = req.gpusPerNode ?? 0;
  if (want && gpus < want) {
    return skip(
      gpus === 0
        ? `no GPU nodes: target "${target.name}" declares MLV_GPUS_PER_NODE=0; this test needs ${want} GPU(s) on one node`
        : `target "${target.name}" declares ${gpus} GPU(s) per node (MLV_GPUS_PER_NODE); this test needs ${want} on one node`,
    );
  }
  const best = Math.max(0, ...Object.values(m.gpusByNode));
  if (want && best < want)
    return fail(`target "${target.name}" declares ${gpus} GPU(s) per node, but GRES on usable nodes of partition ${m.partition} shows at most ${best} (${JSON.stringify(m.gpusByNode)})`);
  if (!req.nodes) return { run: true };
  const count = target.hpc?.nodeCount ?? 0;
  if (count < req.nodes) return skip(`target "${target.name}" declares ${count} node(s) (MLV_NODE_COUNT); this test needs ${req.nodes}`);
  const withGpus = want ? m.usableNodes.filter((n) => (m.gpusByNode[n] ?? 0) >= want) : m.usableNodes;
  if (withGpus.length < req.nodes) {
    return fail(
      `target "${target.name}" declares ${count} nodes, but only ${withGpus.length} usable node(s)${want ? ` with ${want}+ GPU(s)` : ''} in partition ${m.partition}: ${m.nodes.map(nodeWithReason).join(', ')}`,
    );
  }
  return { run: true };
}

function decideTools(req: Requirement, target: Target, m: Manifest): Decision {
  const claimed = (c: Capability) => target.capabilities.includes(c);
  for (const tool of req.tools ?? []) {
    if (tool === 'apptainer' ? m.tools.apptainer : m.tools.nvidiaSmi) continue;
    const claim: Capability = tool === 'apptainer' ? 'apptainer' : 'cuda';
    if (claimed(claim)) return fail(`target claims "${claim}" but ${tool} is not on the compute nodes' PATH`);
    return skip(`${tool} is not available on the compute nodes of "${target.name}"${tool === 'nvidia-smi' ? ' (no NVIDIA driver: GPU utilisation cannot be measured)' : ''}`);
  }
  if (req.cuda && !m.compute.cudaAvailable) {
    return claimed('cuda')
      ? fail(`target claims "cuda" but torch on a compute node reports torch.cuda.is_available() = False`)
      : skip(`no CUDA devices: torch on the compute nodes reports no CUDA (target does not claim "cuda")`);
  }
  return { run: true };
}

function decideCloud(req: Requirement, target: Target, m: CloudManifest | undefined): Decision {
  const nodes = m?.nodes ?? [];
  if (req.gpuNodes && nodes.filter((n) => n.gpus > 0).length < req.gpuNodes) {
    const what = `no GPU nodes: no Kubernetes node of "${target.name}" has nvidia.com/gpu allocatable (nodes: ${nodes.map((n) => n.name).join(', ') || 'none seen'})`;
    return target.capabilities.includes('gpu-inference') ? fail(`target claims "gpu-inference" but ${what}`) : skip(what);
  }
  for (const need of req.models ?? []) if (!target.cloud?.[MODEL_VARS[need].field]) return skip(MODEL_VARS[need].reason);
  return { run: true };
}

const OUMI_INSTALL = 'install Oumi (pip install oumi==0.8 into a venv on the shared filesystem, or an Apptainer image with it)';

function decideOumi(req: Requirement, target: Target, m: Manifest): Decision {
  const o = target.hpc?.oumi;
  const verdict = (what: string) => (target.capabilities.includes('oumi') ? fail(`target claims "oumi" but ${what}`) : skip(what));
  if (!o?.compute)
    return verdict(
      `Oumi is not available on "${target.name}": MLV_OUMI is not set (how Oumi runs on the compute nodes). Fix: ${OUMI_INSTALL} and set MLV_OUMI, e.g. MLV_OUMI=/shared/venvs/oumi/bin/oumi`,
    );
  if (!o.model)
    return verdict(
      `MLV_OUMI_MODEL is not set: no pre-staged base model for Oumi to fine-tune (nothing is downloaded at run time). Fix: stage one on the shared filesystem (e.g. SmolLM-135M) and set MLV_OUMI_MODEL`,
    );
  const p = m.oumi;
  if (!p?.compute.version) return verdict(`Oumi does not run on the compute nodes of "${target.name}" (MLV_OUMI=${o.compute.join(' ')}): ${p?.compute.error ?? 'not probed'}. Fix: ${OUMI_INSTALL}`);
  if (!p.model.present) return verdict(`the base model MLV_OUMI_MODEL=${o.model} is not there: ${p.model.detail}`);
  if (req.oumi?.includes('runner') && !p.runner.version)
    return verdict(
      `Oumi's launcher does not run on this machine (MLV_OUMI_RUNNER=${o.runner.join(' ')}): ${p.runner.error ?? 'not probed'}. Fix: ${OUMI_INSTALL.replace('on the shared filesystem', 'here')} and set MLV_OUMI_RUNNER`,
    );
  return { run: true };
}

/** Whether a test runs, is skipped (the target does not claim what it needs) or fails (a claim is broken). */
export function decide(req: Requirement, target: Target, m: Manifests): Decision {
  for (const side of req.sides ?? []) if (!target[side]) return skip(`target "${target.name}" has no ${side === 'hpc' ? 'HPC' : 'cloud'} side: this test needs ${SIDE_SETTINGS[side]}`);
  for (const c of req.claims ?? []) {
    if (!target.capabilities.includes(c)) return skip(`target "${target.name}" does not claim capability "${c}" (MLV_CAPABILITIES=${target.capabilities.join(',') || 'empty'})`);
  }
  for (const need of req.services ?? []) {
    if (target[SERVICE_VARS[need].field]) continue;
    if (need === 'mlflow' && target.capabilities.includes('mlflow')) return fail(`target claims "mlflow" but ${SERVICE_VARS[need].reason}`);
    return skip(SERVICE_VARS[need].reason);
  }
  const hpcNeeded = req.gpusPerNode || req.nodes || req.tools?.length || req.cuda;
  if (hpcNeeded && m.hpc) {
    for (const d of [decideGpus(req, target, m.hpc), decideTools(req, target, m.hpc)]) if (!d.run) return d;
  }
  if (req.oumi?.length && m.hpc) {
    const d = decideOumi(req, target, m.hpc);
    if (!d.run) return d;
  }
  return decideCloud(req, target, m.cloud);
}
