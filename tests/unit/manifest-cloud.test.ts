import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Capability, Target } from '../../helpers/config.ts';
import { decide, type CloudManifest, type Decision, type Manifest } from '../../helpers/manifest.ts';
import type { SinfoNode } from '../../helpers/slurm-parsers.ts';

/** A target with a cloud side (none when `cloud` is null). */
const cloudOnly = (capabilities: Capability[], cloud: Target['cloud'] | null = {}): Target => ({
  name: 'site',
  source: 's.env',
  capabilities,
  references: 'default',
  workers: 4,
  cloud: cloud ?? undefined,
});
const hpcOnly = (gpusPerNode: number, nodeCount: number, capabilities: Capability[]): Target => ({
  ...cloudOnly(capabilities, null),
  hpc: {
    ssh: { host: 'login', alias: 'login', port: 22, user: 'u', knownHostsPath: '/kh', hostKeyCheck: 'strict' },
    slurm: { partition: 'gpu' },
    sharedRoot: '/shared',
    datasetDir: '/shared/datasets/mnist',
    runtimePrefix: [],
    python: 'python3',
    gpusPerNode,
    gpuKind: 'nvidia',
    nodeCount,
    jobTimeScale: 1,
    sweepConcurrency: 16,
    poll: { minMs: 2000, maxMs: 30000 },
    oumi: { runner: ['oumi'] },
  },
});
const kube = (gpus: number[]): CloudManifest => ({
  apiServer: 'https://k',
  kubeVersion: 'v1.30',
  kserve: true,
  nodes: gpus.map((g, i) => ({ name: `n${i + 1}`, gpus: g, cpu: '8', memory: '32Gi' })),
  orphansRemoved: [],
});
const sinfo = (name: string, gpus: number): SinfoNode => ({ node: name, partition: 'gpu', state: 'idle', flags: '', cpus: 8, memoryMB: 1000, gres: gpus ? { gpu: gpus } : {} });
function slurm(nodes: SinfoNode[], over: Partial<Manifest> = {}): Manifest {
  return {
    runId: 'r',
    createdAt: 'now',
    target: {},
    slurmVersion: '23',
    partition: 'gpu',
    nodes,
    usableNodes: nodes.map((n) => n.node),
    gpusByNode: Object.fromEntries(nodes.map((n) => [n.node, n.gres.gpu ?? 0])),
    sharedFs: { root: '/shared', loginWritable: true, computeWritable: true, computeSeesLogin: true },
    compute: { cudaAvailable: true, cudaDeviceCount: 1 },
    tools: { apptainer: '/a', nvidiaSmi: '/n' },
    dataset: { dir: '/d', present: true, missing: [] },
    workloadsDir: '/w',
    runDir: '/r',
    problems: [],
    orphansRemoved: [],
    ...over,
  };
}
const skip = (reason: string): Decision => ({ run: false, outcome: 'skip', reason });
const fail = (reason: string): Decision => ({ run: false, outcome: 'fail', reason });

test('GPU nodes: count the Kubernetes nodes with a GPU against the need', () => {
  const t = cloudOnly(['kserve']);
  assert.deepEqual(decide({ gpuNodes: 1 }, t, { cloud: kube([0, 1]) }), { run: true });
  assert.deepEqual(decide({ gpuNodes: 2 }, t, { cloud: kube([2, 1, 0]) }), { run: true }, 'two nodes with GPUs, whatever their count');
  assert.deepEqual(
    decide({ gpuNodes: 2 }, t, { cloud: kube([8, 0, 0]) }),
    skip('no GPU nodes: no Kubernetes node of "site" has nvidia.com/gpu allocatable (nodes: n1, n2, n3)'),
    'one GPU node of the two needed',
  );
  assert.deepEqual(decide({ gpuNodes: 1 }, t, { cloud: kube([0, 0]) }), skip('no GPU nodes: no Kubernetes node of "site" has nvidia.com/gpu allocatable (nodes: n1, n2)'));
  assert.deepEqual(decide({ gpuNodes: 1 }, t, {}), skip('no GPU nodes: no Kubernetes node of "site" has nvidia.com/gpu allocatable (nodes: none seen)'), 'no cloud manifest: no nodes seen');
  assert.deepEqual(decide({ gpuNodes: 1 }, t, { cloud: kube([]) }), skip('no GPU nodes: no Kubernetes node of "site" has nvidia.com/gpu allocatable (nodes: none seen)'));
  assert.deepEqual(decide({ gpuNodes: 0 }, t, { cloud: kube([]) }), { run: true }, 'no GPU node needed');
  assert.deepEqual(decide({}, t, { cloud: kube([0]) }), { run: true });
});

test('GPU nodes: claiming gpu-inference turns the missing GPU node into a FAIL', () => {
  const t = cloudOnly(['kserve', 'gpu-inference']);
  assert.deepEqual(decide({ gpuNodes: 1 }, t, { cloud: kube([0]) }), fail('target claims "gpu-inference" but no GPU nodes: no Kubernetes node of "site" has nvidia.com/gpu allocatable (nodes: n1)'));
  assert.deepEqual(decide({ gpuNodes: 1 }, t, { cloud: kube([1]) }), { run: true });
});

test('models: each needed model must be named on the target', () => {
  const m = { cloud: kube([1]) };
  assert.deepEqual(
    decide({ models: ['llm'] }, cloudOnly(['kserve'], { mnistModelUri: 's3://m' }), m),
    skip('MLV_LLM_MODEL_URI is not set: no text-generation model on this target’s storage to serve'),
  );
  assert.deepEqual(
    decide({ models: ['mnist', 'llm'] }, cloudOnly(['kserve'], { llmModelUri: 's3://l' }), m),
    skip('MLV_MNIST_MODEL_URI is not set: no MNIST ONNX model on this target’s storage to serve'),
  );
  assert.deepEqual(decide({ models: ['mnist', 'llm'] }, cloudOnly(['kserve'], { mnistModelUri: 's3://m', llmModelUri: 's3://l' }), m), { run: true });
  assert.deepEqual(
    decide({ models: ['llm'] }, cloudOnly(['kserve'], null), m),
    skip('MLV_LLM_MODEL_URI is not set: no text-generation model on this target’s storage to serve'),
    'no cloud side at all',
  );
});

test('sides: each missing side is named, HPC or cloud', () => {
  assert.match((decide({ sides: ['hpc'] }, cloudOnly([]), {}) as { reason: string }).reason, /^target "site" has no HPC side: this test needs MLV_SSH_HOST/);
  assert.match((decide({ sides: ['hpc', 'cloud'] }, hpcOnly(1, 1, []), {}) as { reason: string }).reason, /^target "site" has no cloud side: this test needs MLV_KUBECONFIG/);
  assert.deepEqual(decide({ sides: ['cloud'] }, cloudOnly([]), {}), { run: true });
  assert.deepEqual(decide({ claims: ['kserve'] }, cloudOnly([]), {}), skip('target "site" does not claim capability "kserve" (MLV_CAPABILITIES=empty)'));
  assert.deepEqual(decide({ claims: ['cuda'] }, cloudOnly(['kserve', 'mlflow']), {}), skip('target "site" does not claim capability "cuda" (MLV_CAPABILITIES=kserve,mlflow)'));
});

test('HPC checks: only when the test needs HPC resources and a manifest exists', () => {
  const broken = slurm([sinfo('g1', 0)], { tools: {}, compute: { cudaAvailable: false, cudaDeviceCount: 0 } });
  const t = hpcOnly(4, 2, []);
  assert.deepEqual(decide({ sides: ['hpc'] }, t, { hpc: broken }), { run: true }, 'nothing HPC-specific needed: the broken probe does not matter');
  assert.deepEqual(decide({ gpusPerNode: 1 }, t, {}), { run: true }, 'no manifest (dry run): nothing to check against');
  assert.equal(decide({ cuda: true }, t, { hpc: broken }).run, false);
  assert.equal(decide({ tools: ['apptainer'] }, t, { hpc: broken }).run, false);
  assert.equal(decide({ nodes: 1 }, hpcOnly(4, 0, []), { hpc: broken }).run, false);
  assert.deepEqual(decide({ tools: [] }, t, { hpc: broken }), { run: true });
  assert.deepEqual(decide({ tools: ['nvidia-smi'] }, t, { hpc: broken }), skip('nvidia-smi is not available on the compute nodes of "site" (no NVIDIA driver: GPU utilisation cannot be measured)'));
  assert.deepEqual(decide({ tools: ['apptainer'] }, t, { hpc: broken }), skip('apptainer is not available on the compute nodes of "site"'));
});

test('HPC GPUs and nodes: a cloud-only target has none; no node requirement needs no node', () => {
  assert.deepEqual(decide({ gpusPerNode: 1 }, cloudOnly([]), { hpc: slurm([sinfo('g1', 4)]) }), skip('no GPU nodes: target "site" declares MLV_GPUS_PER_NODE=0; this test needs 1 GPU(s) on one node'));
  assert.deepEqual(decide({ nodes: 1 }, cloudOnly([]), { hpc: slurm([sinfo('g1', 4)]) }), skip('target "site" declares 0 node(s) (MLV_NODE_COUNT); this test needs 1'));
  assert.deepEqual(decide({ gpusPerNode: 4 }, hpcOnly(4, 1, []), { hpc: slurm([], { usableNodes: ['ghost'], gpusByNode: { g1: 4 } }) }), { run: true }, 'without a node count no usable-node check');
});
