import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Capability, Target } from '../../helpers/config.ts';
import { decide as decideAll, type CloudManifest, type Decision, type Manifest, type Requirement } from '../../helpers/manifest.ts';

type WithCloud = Manifest & { cloud?: CloudManifest };
/** The HPC manifest, and the cloud one beside it when a case sets it. */
const decide = (req: Requirement, t: Target, m: WithCloud): Decision => decideAll(req, t, { hpc: m, cloud: m.cloud });
import type { SinfoNode } from '../../helpers/slurm-parsers.ts';

function target(gpusPerNode: number, nodeCount: number, capabilities: Capability[], name = 'site'): Target {
  return {
    name,
    source: '/tmp/site.env',
    capabilities,
    references: 'default',
    workers: 4,
    hpc: {
      ssh: { host: 'login', alias: 'login', port: 22, user: 'u', knownHostsPath: '/tmp/kh', hostKeyCheck: 'strict' },
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
    cloud: {},
  };
}

const node = (name: string, gpus: number, state = 'idle', flags = ''): SinfoNode => ({ node: name, partition: 'gpu', state, flags, cpus: 64, memoryMB: 512000, gres: gpus ? { gpu: gpus } : {} });

function manifest(nodes: SinfoNode[], over: Partial<WithCloud> = {}): WithCloud {
  const usable = nodes.filter((n) => ['idle', 'mixed', 'allocated'].includes(n.state) && !n.flags.includes('*'));
  return {
    runId: 'mlv-1',
    createdAt: '2026-11-28T21:27:19Z',
    target: {},
    slurmVersion: '22.05.8',
    partition: 'gpu',
    nodes,
    usableNodes: usable.map((n) => n.node),
    gpusByNode: Object.fromEntries(usable.map((n) => [n.node, n.gres.gpu ?? 0])),
    sharedFs: { root: '/shared', loginWritable: true, computeWritable: true, computeSeesLogin: true },
    compute: { python: '3.11.2', torch: '2.3.0', cudaAvailable: true, cudaDeviceCount: 4, cudaVisibleDevices: '0' },
    tools: { apptainer: '/usr/bin/apptainer', nvidiaSmi: '/usr/bin/nvidia-smi' },
    dataset: { dir: '/shared/datasets/mnist', present: true, missing: [] },
    workloadsDir: '/shared/mlv/workloads',
    runDir: '/shared/mlv/runs/mlv-1',
    problems: [],
    orphansRemoved: [],
    ...over,
  };
}

const ALL: Capability[] = ['gres-gpu', 'cuda', 'multi-gpu', 'multi-node', 'apptainer'];
const FOUR_GPU_NODES = manifest([node('gpu01', 4), node('gpu02', 4)]);

function notRun(d: Decision): { outcome: 'skip' | 'fail'; reason: string } {
  assert.equal(d.run, false, 'expected the test not to run');
  if (d.run) throw new Error('unreachable');
  return { outcome: d.outcome, reason: d.reason };
}

test('everything satisfied: run', () => {
  const req: Requirement = { gpusPerNode: 4, nodes: 2, claims: ['gres-gpu', 'multi-gpu', 'multi-node', 'cuda'], tools: ['nvidia-smi', 'apptainer'], cuda: true };
  assert.deepEqual(decide(req, target(4, 2, ALL), FOUR_GPU_NODES), { run: true });
  assert.deepEqual(decide({}, target(0, 1, []), manifest([])), { run: true }, 'no requirement: always runs');
});

test('capability not claimed: skip, naming the capability and the claims', () => {
  const d = notRun(decide({ claims: ['gres-gpu', 'multi-gpu'] }, target(4, 2, ['gres-gpu']), FOUR_GPU_NODES));
  assert.equal(d.outcome, 'skip');
  assert.ok(d.reason.includes('"multi-gpu"'), d.reason);
  assert.ok(d.reason.includes('MLV_CAPABILITIES=gres-gpu'), d.reason);
  const e = notRun(decide({ claims: ['apptainer'] }, target(4, 2, []), FOUR_GPU_NODES));
  assert.equal(e.outcome, 'skip');
  assert.ok(e.reason.includes('"apptainer"') && e.reason.includes('MLV_CAPABILITIES=empty'), e.reason);
});

test('an unclaimed capability skips even when GRES is broken (claims are checked first)', () => {
  const d = notRun(decide({ claims: ['multi-gpu'], gpusPerNode: 2 }, target(4, 1, ['gres-gpu']), manifest([node('gpu01', 0)])));
  assert.equal(d.outcome, 'skip');
  assert.ok(d.reason.includes('multi-gpu'));
});

test('declared GPUs per node fewer than needed: skip, mentioning both numbers', () => {
  const d = notRun(decide({ gpusPerNode: 9 }, target(4, 2, ALL), FOUR_GPU_NODES));
  assert.equal(d.outcome, 'skip');
  assert.match(d.reason, /declares 4 GPU\(s\) per node/);
  assert.match(d.reason, /needs 9/);
  assert.ok(d.reason.includes('MLV_GPUS_PER_NODE'));
});

test('no GPU nodes declared: skip "no GPU nodes"', () => {
  const d = notRun(decide({ gpusPerNode: 1 }, target(0, 2, []), manifest([node('cpu01', 0), node('cpu02', 0)])));
  assert.equal(d.outcome, 'skip');
  assert.match(d.reason, /^no GPU nodes: /);
  assert.ok(d.reason.includes('MLV_GPUS_PER_NODE=0'));
  assert.ok(d.reason.includes('needs 1 GPU(s)'));
});

test('GPUs declared but GRES shows fewer: FAIL, with the GRES counts', () => {
  const d = notRun(decide({ gpusPerNode: 4 }, target(4, 2, ALL), manifest([node('gpu01', 2), node('gpu02', 1)])));
  assert.equal(d.outcome, 'fail');
  assert.match(d.reason, /declares 4 GPU\(s\) per node, but GRES .* shows at most 2/);
  assert.ok(d.reason.includes('"gpu01":2') && d.reason.includes('"gpu02":1'), d.reason);
  assert.ok(d.reason.includes('partition gpu'));
});

test('GPUs declared but no GRES at all (or no usable nodes): FAIL at 0', () => {
  const none = notRun(decide({ gpusPerNode: 1 }, target(4, 1, ALL), manifest([node('gpu01', 0)])));
  assert.equal(none.outcome, 'fail');
  assert.match(none.reason, /shows at most 0/);
  const drained = notRun(decide({ gpusPerNode: 1 }, target(4, 1, ALL), manifest([node('gpu01', 4, 'drained')])));
  assert.equal(drained.outcome, 'fail');
  assert.match(drained.reason, /shows at most 0 \(\{\}\)/);
});

test('one node with enough GPUs is enough for a one-node test', () => {
  assert.deepEqual(decide({ gpusPerNode: 4 }, target(4, 2, ALL), manifest([node('gpu01', 4), node('gpu02', 1)])), { run: true });
});

test('nodes: declared fewer than needed is a skip', () => {
  const d = notRun(decide({ nodes: 2 }, target(4, 1, ['gres-gpu']), FOUR_GPU_NODES));
  assert.equal(d.outcome, 'skip');
  assert.match(d.reason, /declares 1 node\(s\) \(MLV_NODE_COUNT\); this test needs 2/);
});

test('nodes: declared but fewer usable is a FAIL listing node states', () => {
  const m = manifest([node('gpu01', 4), node('gpu02', 4, 'drained'), node('gpu03', 4, 'idle', '*')]);
  const d = notRun(decide({ nodes: 2 }, target(4, 3, ALL), m));
  assert.equal(d.outcome, 'fail');
  assert.match(d.reason, /declares 3 nodes, but only 1 usable node\(s\) in partition gpu/);
  assert.ok(d.reason.includes('gpu01=idle, gpu02=drained, gpu03=idle*'), d.reason);
});

test('nodes with GPUs: only nodes with enough GPUs count', () => {
  const m = manifest([node('gpu01', 4), node('gpu02', 1)]);
  const d = notRun(decide({ nodes: 2, gpusPerNode: 2 }, target(4, 2, ALL), m));
  assert.equal(d.outcome, 'fail');
  assert.match(d.reason, /only 1 usable node\(s\) with 2\+ GPU\(s\)/);
  assert.deepEqual(decide({ nodes: 2, gpusPerNode: 1 }, target(4, 2, ALL), m), { run: true });
  assert.deepEqual(decide({ nodes: 2 }, target(4, 2, ALL), m), { run: true });
});

test('cuda: no CUDA is a FAIL when "cuda" is claimed, a skip otherwise', () => {
  const noCuda = manifest([node('gpu01', 4)], { compute: { cudaAvailable: false, cudaDeviceCount: 0 } });
  const f = notRun(decide({ cuda: true }, target(4, 1, ['gres-gpu', 'cuda']), noCuda));
  assert.equal(f.outcome, 'fail');
  assert.match(f.reason, /claims "cuda".*is_available\(\) = False/);
  const s = notRun(decide({ cuda: true }, target(4, 1, ['gres-gpu']), noCuda));
  assert.equal(s.outcome, 'skip');
  assert.match(s.reason, /^no CUDA devices/);
  assert.deepEqual(decide({ cuda: true }, target(4, 1, ['gres-gpu']), manifest([node('gpu01', 4)])), { run: true });
  assert.deepEqual(decide({ cuda: false }, target(4, 1, ['cuda']), noCuda), { run: true });
});

test('nvidia-smi missing: FAIL when "cuda" is claimed, skip (no NVIDIA driver) otherwise', () => {
  const noSmi = manifest([node('gpu01', 4)], { tools: { apptainer: '/usr/bin/apptainer' } });
  const f = notRun(decide({ tools: ['nvidia-smi'] }, target(4, 1, ['cuda']), noSmi));
  assert.equal(f.outcome, 'fail');
  assert.ok(f.reason.includes('claims "cuda"') && f.reason.includes('nvidia-smi'), f.reason);
  const s = notRun(decide({ tools: ['nvidia-smi'] }, target(4, 1, ['gres-gpu']), noSmi));
  assert.equal(s.outcome, 'skip');
  assert.ok(s.reason.includes('nvidia-smi is not available') && s.reason.includes('no NVIDIA driver'), s.reason);
  assert.ok(s.reason.includes('"site"'));
});

test('apptainer missing: FAIL when "apptainer" is claimed, skip otherwise', () => {
  const noApptainer = manifest([node('gpu01', 4)], { tools: { nvidiaSmi: '/usr/bin/nvidia-smi' } });
  const f = notRun(decide({ tools: ['apptainer'] }, target(4, 1, ['apptainer']), noApptainer));
  assert.equal(f.outcome, 'fail');
  assert.ok(f.reason.includes('claims "apptainer"'), f.reason);
  const s = notRun(decide({ tools: ['apptainer'] }, target(4, 1, ['cuda']), noApptainer));
  assert.equal(s.outcome, 'skip');
  assert.ok(s.reason.includes('apptainer is not available') && !s.reason.includes('NVIDIA'), s.reason);
  assert.deepEqual(decide({ tools: ['nvidia-smi'] }, target(4, 1, ['cuda']), noApptainer), { run: true }, 'only the required tools matter');
});

test('the first unmet requirement decides (GPU check before tools before CUDA)', () => {
  const broken = manifest([node('gpu01', 1)], { compute: { cudaAvailable: false, cudaDeviceCount: 0 }, tools: {} });
  const d = notRun(decide({ gpusPerNode: 2, cuda: true, tools: ['nvidia-smi'] }, target(4, 1, ['cuda']), broken));
  assert.equal(d.outcome, 'fail');
  assert.match(d.reason, /GRES/);
  const c = notRun(decide({ cuda: true, tools: ['nvidia-smi'] }, target(4, 1, []), broken));
  assert.match(c.reason, /^nvidia-smi is not available/);
  const onlyCuda = notRun(decide({ cuda: true }, target(4, 1, []), broken));
  assert.match(onlyCuda.reason, /^no CUDA devices/);
});

test('cloud: no GPU node decides before a missing model; a missing model skips naming its variable', () => {
  const cloudTarget = { ...target(0, 1, ['kserve']), cloud: {} };
  const m = manifest([], { cloud: { apiServer: 'x', kubeVersion: 'v1', kserve: true, nodes: [{ name: 'n1', gpus: 0, cpu: '2', memory: '8Gi' }], orphansRemoved: [] } });
  assert.match(notRun(decide({ gpuNodes: 1, models: ['llm'] }, cloudTarget, m)).reason, /^no GPU nodes/);
  assert.match(notRun(decide({ models: ['mnist'] }, cloudTarget, m)).reason, /^MLV_MNIST_MODEL_URI is not set/);
  assert.deepEqual(decide({ models: ['mnist'] }, { ...cloudTarget, cloud: { mnistModelUri: 's3://m/1' } }, m), { run: true });
});

test('a side the target does not configure: skip naming the settings it needs', () => {
  const hpcOnly = { ...target(4, 2, ['gres-gpu']), cloud: undefined };
  const s = notRun(decide({ sides: ['cloud'] }, hpcOnly, FOUR_GPU_NODES));
  assert.equal(s.outcome, 'skip');
  assert.match(s.reason, /has no cloud side: this test needs MLV_KUBECONFIG/);
});
