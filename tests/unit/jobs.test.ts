import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ddpTrainingJob, GPU_SAMPLER_SCRIPT, gpuUtilisation, mnistTrainingJob, verifyModelJob, withGpuSampler, type TrainingParams } from '../../helpers/jobs.ts';
import { PROBE_SCRIPT, parseProbe } from '../../helpers/probe.ts';
import { gpuEnv, MARKERS } from '../../helpers/job-output.ts';
import { renderSbatch, type JobSpec, type RenderContext } from '../../helpers/sbatch.ts';
import { TASKS, taskFromFile } from '../../helpers/tasks.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlv-jobs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const P: TrainingParams = {
  workloadsDir: '/shared/mlv/workloads',
  dataDir: '/shared/datasets/mnist',
  outDir: '/shared/mlv/runs/r1/out',
  python: 'python3',
  epochs: 2,
  trainSamples: 0,
  testSamples: 1000,
  batchSize: 128,
  cpusPerTask: 2,
  mem: '4G',
  timeLimitSeconds: 600,
};
const TRAIN_ARGS = ['--data-dir', P.dataDir, '--out-dir', P.outDir, '--epochs', 2, '--batch-size', 128, '--train-samples', 0, '--test-samples', 1000];

const ctx: RenderContext = { runId: 'mlv-1', partition: 'lab', jobDir: '/shared/mlv/runs/r1/jobs', workDir: '/shared/mlv/runs/r1', runtimePrefix: ['apptainer', 'exec', '--nv', '/c/pytorch.sif'] };
const directives = (s: JobSpec) =>
  renderSbatch(s, ctx)
    .split('\n')
    .filter((l) => l.startsWith('#SBATCH'));

function bash(args: string[], env: Record<string, string> = {}, cwd = dir) {
  return spawnSync('bash', ['--norc', '--noprofile', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8', ...env },
    timeout: 10_000,
  });
}

/** A directory holding executable stubs, put first on PATH. */
function stubs(name: string, files: Record<string, string>): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  for (const [f, body] of Object.entries(files)) {
    writeFileSync(join(d, f), `#!/bin/bash\n${body}\n`);
    chmodSync(join(d, f), 0o755);
  }
  return d;
}

test('mnistTrainingJob: one node, one task, N GRES GPUs, mkdir outside the runtime then train inside it', () => {
  const s = mnistTrainingJob('mlops-1.1-train', { ...P, gpus: 1 });
  assert.deepEqual(
    { name: s.name, nodes: s.nodes, ntasks: s.ntasks, cpus: s.cpusPerTask, mem: s.mem, gpus: s.gpus, time: s.timeLimitSeconds },
    { name: 'mlops-1.1-train', nodes: 1, ntasks: 1, cpus: 2, mem: '4G', gpus: 1, time: 600 },
  );
  assert.deepEqual(s.steps, [{ argv: ['mkdir', '-p', P.outDir], inRuntime: false }, { argv: ['python3', '/shared/mlv/workloads/mnist/train.py', ...TRAIN_ARGS] }]);
  const script = renderSbatch(s, ctx);
  assert.ok(script.includes('#SBATCH --gres=gpu:1\n'));
  assert.ok(script.includes('\nmkdir -p /shared/mlv/runs/r1/out\n'));
  assert.ok(script.includes('\napptainer exec --nv /c/pytorch.sif python3 /shared/mlv/workloads/mnist/train.py --data-dir'));
  assert.ok(!renderSbatch(mnistTrainingJob('cpu', { ...P, gpus: 0 }), ctx).includes('--gres'));
});

test('verifyModelJob: small resources', () => {
  const s = verifyModelJob('verify', { ...P, modelPath: '/o/model.pt', cpusPerTask: 8 });
  assert.equal(s.cpusPerTask, 2);
  assert.equal(s.gpus, undefined);
  assert.deepEqual(s.steps[0]!.argv, ['python3', '/shared/mlv/workloads/mnist/verify_model.py', '--data-dir', P.dataDir, '--model', '/o/model.pt', '--test-samples', 1000]);
  assert.equal(verifyModelJob('v', { ...P, modelPath: '/o/m.pt', cpusPerTask: 1 }).cpusPerTask, 1);
});

test('ddpTrainingJob torchrun procs=1: the baseline runs the script directly with gpusPerRank GPUs', () => {
  const s = ddpTrainingJob('ddp-1', { ...P, layout: { kind: 'torchrun', procs: 1 }, gpusPerRank: 1 });
  assert.equal(s.nodes, 1);
  assert.equal(s.ntasks, 1);
  assert.equal(s.gpus, 1);
  assert.equal(s.cpusPerTask, 2);
  assert.deepEqual(s.env, { OMP_NUM_THREADS: 2 });
  assert.deepEqual(s.steps[1], { argv: ['python3', '/shared/mlv/workloads/ddp/train_ddp.py', ...TRAIN_ARGS] });
  assert.ok(!s.steps[1]!.argv.includes('torch.distributed.run'));
});

test('ddpTrainingJob torchrun procs=2: GRES = gpusPerRank x procs, cpus scaled, --redirects 1 --tee 1', () => {
  const s = ddpTrainingJob('ddp-2', { ...P, layout: { kind: 'torchrun', procs: 2 }, gpusPerRank: 1 });
  assert.equal(s.gpus, 2);
  assert.equal(s.cpusPerTask, 4);
  assert.equal(s.ntasks, 1);
  assert.deepEqual(s.env, { OMP_NUM_THREADS: 2 }, 'threads per rank stay at cpusPerTask');
  const argv = s.steps[1]!.argv;
  assert.deepEqual(argv.slice(0, 9), ['python3', '-m', 'torch.distributed.run', '--standalone', '--redirects', '1', '--tee', '1', '--nproc_per_node=2']);
  assert.deepEqual(argv.slice(9), ['/shared/mlv/workloads/ddp/train_ddp.py', ...TRAIN_ARGS]);
  assert.equal(s.steps[1]!.srun, undefined);
  assert.equal(ddpTrainingJob('d', { ...P, layout: { kind: 'torchrun', procs: 4 }, gpusPerRank: 2 }).gpus, 8);
  assert.equal(ddpTrainingJob('d', { ...P, layout: { kind: 'torchrun', procs: 4 }, gpusPerRank: 2 }).cpusPerTask, 8);
  const d = directives(s);
  assert.ok(d.includes('#SBATCH --gres=gpu:2'));
  assert.ok(d.includes('#SBATCH --cpus-per-task=4'));
  assert.ok(d.includes('#SBATCH --nodes=1'));
  assert.ok(renderSbatch(s, ctx).includes('\nexport OMP_NUM_THREADS=2\n'));
});

test('ddpTrainingJob srun: n nodes, one task per node, gpusPerRank per node, an srun step', () => {
  const s = ddpTrainingJob('ddp-nodes', { ...P, layout: { kind: 'srun', nodes: 2 }, gpusPerRank: 1 });
  assert.deepEqual({ nodes: s.nodes, ntasks: s.ntasks, perNode: s.ntasksPerNode, gpus: s.gpus, cpus: s.cpusPerTask }, { nodes: 2, ntasks: 2, perNode: 1, gpus: 1, cpus: 2 });
  assert.deepEqual(s.steps[0], { argv: ['mkdir', '-p', P.outDir], inRuntime: false });
  assert.deepEqual(s.steps[1], { argv: ['python3', '/shared/mlv/workloads/ddp/train_ddp.py', ...TRAIN_ARGS], srun: { ntasks: 2, ntasksPerNode: 1 } });
  const script = renderSbatch(s, ctx);
  assert.ok(script.includes('\nsrun --kill-on-bad-exit=1 --ntasks=2 --ntasks-per-node=1 apptainer exec --nv /c/pytorch.sif python3 /shared/mlv/workloads/ddp/train_ddp.py '), script);
  assert.deepEqual(
    directives(s).filter((l) => /^#SBATCH --(nodes|ntasks|ntasks-per-node|gres)=/.test(l)),
    ['#SBATCH --nodes=2', '#SBATCH --ntasks=2', '#SBATCH --ntasks-per-node=1', '#SBATCH --gres=gpu:1'],
  );
});

test('withGpuSampler wraps the last step (with the runtime prefix) and leaves the rest alone', () => {
  const base = ddpTrainingJob('ddp-2', { ...P, layout: { kind: 'torchrun', procs: 2 }, gpusPerRank: 1 });
  const copy = structuredClone(base);
  const s = withGpuSampler(base, '/o/gpu.csv', ctx.runtimePrefix);
  assert.deepEqual(base, copy, 'the input spec is not modified');
  assert.equal(s.steps.length, 2);
  assert.deepEqual(s.steps[0], base.steps[0]);
  assert.deepEqual(s.steps[1], { argv: ['bash', '-c', GPU_SAMPLER_SCRIPT, 'mlv-gpu-sampler', '/o/gpu.csv', ...ctx.runtimePrefix, ...base.steps[1]!.argv], inRuntime: false });
  assert.deepEqual({ ...s, steps: [] }, { ...base, steps: [] });
  // inRuntime:false on the wrapped step: no prefix.
  const plain = withGpuSampler({ name: 'x', timeLimitSeconds: 60, steps: [{ argv: ['sleep', 1], inRuntime: false }] }, '/o/g.csv', ['apptainer', 'exec']);
  assert.deepEqual(plain.steps[0]!.argv.slice(4), ['/o/g.csv', 'sleep', 1]);
});

test('withGpuSampler rejects srun steps', () => {
  const s = ddpTrainingJob('ddp-nodes', { ...P, layout: { kind: 'srun', nodes: 2 }, gpusPerRank: 1 });
  assert.throws(() => withGpuSampler(s, '/o/gpu.csv', []), /not an srun step/);
});

test('the GPU sampler script (bash, stub nvidia-smi): samples land in the file, the command sees hostile args intact, its exit code is kept', () => {
  const bin = stubs('sampler-bin', { 'nvidia-smi': 'while :; do echo "0, 87"; echo "1, 91"; sleep 0.02; done' });
  const samples = join(dir, 'samples.csv');
  const hostile = "a'b $(touch pwned) `x` ; | \n end";
  const spec = withGpuSampler({ name: 'x', timeLimitSeconds: 60, steps: [{ argv: ['bash', '--norc', '-c', 'sleep 0.2; printf "[%s]" "$1"; exit 7', '_', hostile] }] }, samples, []);
  const script = renderSbatch(spec, { ...ctx, runtimePrefix: [] });
  writeFileSync(join(dir, 'sampler.sbatch'), script);
  const r = bash([join(dir, 'sampler.sbatch')], { PATH: `${bin}:${process.env.PATH}` });
  assert.equal(r.status, 7, r.stderr);
  assert.ok(r.stdout.includes(`[${hostile}]`), r.stdout);
  const csv = readFileSync(samples, 'utf8');
  assert.match(csv, /^0, 87\n1, 91\n/);
  assert.deepEqual(gpuUtilisation(csv), { '0': 87, '1': 91 });
});

test('the GPU sampler script without nvidia-smi: the command still runs and its exit code is kept', () => {
  const samples = join(dir, 'samples-none.csv');
  const r = bash(['-c', GPU_SAMPLER_SCRIPT, 'mlv-gpu-sampler', samples, 'bash', '--norc', '-c', 'echo ran; exit 0'], { PATH: '/usr/bin:/bin' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ran\n');
  assert.deepEqual(gpuUtilisation(readFileSync(samples, 'utf8')), {});
});

test('gpuUtilisation: mean per GPU, idle first/last 10% dropped beyond 10 samples, junk ignored', () => {
  const lines: string[] = [];
  for (let i = 0; i < 20; i++) {
    const edge = i < 2 || i >= 18;
    lines.push(`0, ${edge ? 0 : 90}`, `1, ${edge ? 5 : 70}`);
  }
  assert.deepEqual(gpuUtilisation(lines.join('\n') + '\n'), { '0': 90, '1': 70 });
  assert.deepEqual(gpuUtilisation('0, 10\n0, 20\n0, 30\n'), { '0': 20 }, 'few samples: plain mean');
  assert.deepEqual(gpuUtilisation(''), {});
  assert.deepEqual(gpuUtilisation('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.\n'), {});
  assert.deepEqual(gpuUtilisation('0, [N/A]\n0, 50\n 1 , 40.5 \r\nindex, utilization.gpu\n2, 100\n'), { '0': 50, '1': 40.5, '2': 100 });
});

test('gpuEnv: the MLV_GPU_ENV line from a rendered script run with bash', () => {
  const script = renderSbatch({ name: 'env', timeLimitSeconds: 60, steps: [{ argv: ['true'] }] }, { ...ctx, runtimePrefix: [] });
  writeFileSync(join(dir, 'env.sbatch'), script);
  const set = bash([join(dir, 'env.sbatch')], { CUDA_VISIBLE_DEVICES: '0,1', SLURM_JOB_GPUS: '2,3', SLURM_JOB_NODELIST: 'node1' });
  assert.equal(set.status, 0, set.stderr);
  assert.deepEqual(gpuEnv(set.stdout), { cudaVisibleDevices: '0,1', slurmJobGpus: '2,3', devices: ['0', '1'] });
  const unset = bash([join(dir, 'env.sbatch')]);
  assert.deepEqual(gpuEnv(unset.stdout), { cudaVisibleDevices: undefined, slurmJobGpus: undefined, devices: [] });
  const empty = bash([join(dir, 'env.sbatch')], { CUDA_VISIBLE_DEVICES: '' });
  assert.deepEqual(gpuEnv(empty.stdout).devices, [], 'set but empty: no devices');
});

test('gpuEnv: synthetic lines, GPU UUIDs, no line at all', () => {
  const out = `${MARKERS.start} 1.0 node1\n${MARKERS.gpuEnv} CUDA_VISIBLE_DEVICES=GPU-1a2b,GPU-3c4d SLURM_JOB_GPUS=0,1 GPU_DEVICE_ORDINAL=0,1 SLURM_JOB_NODELIST=node[1-2]\n`;
  assert.deepEqual(gpuEnv(out), { cudaVisibleDevices: 'GPU-1a2b,GPU-3c4d', slurmJobGpus: '0,1', devices: ['GPU-1a2b', 'GPU-3c4d'] });
  assert.deepEqual(gpuEnv('nothing here\n'), { cudaVisibleDevices: undefined, slurmJobGpus: undefined, devices: [] });
  assert.deepEqual(gpuEnv(''), { cudaVisibleDevices: undefined, slurmJobGpus: undefined, devices: [] });
  // A later echo of the marker does not override the first line.
  assert.equal(gpuEnv(`${out}${MARKERS.gpuEnv} CUDA_VISIBLE_DEVICES=7\n`).cudaVisibleDevices, 'GPU-1a2b,GPU-3c4d');
});

test('parseProbe: the probe script run with bash and a stub python (torch with CUDA)', () => {
  const bin = stubs('probe-cuda', {
    python3: 'echo "python=3.11.2"; echo "torch=2.3.0+cu121"; echo "cuda=1"; echo "cuda_count=2"',
  });
  const login = join(dir, 'login-file');
  writeFileSync(login, 'mlv-probe\n');
  const out = join(dir, 'probe-out');
  const r = bash(['-c', PROBE_SCRIPT, 'mlv-probe', login, out, 'python3'], { PATH: `${bin}:/usr/bin:/bin`, CUDA_VISIBLE_DEVICES: '0,1' });
  assert.equal(r.status, 0, r.stderr);
  const p = parseProbe(r.stdout);
  assert.equal(p.host, spawnSync('hostname', { encoding: 'utf8' }).stdout.trim());
  assert.deepEqual(
    { ...p, host: undefined },
    {
      host: undefined,
      seesLogin: true,
      writable: true,
      apptainer: undefined,
      nvidiaSmi: undefined,
      cudaVisibleDevices: '0,1',
      python: '3.11.2',
      torch: '2.3.0+cu121',
      torchError: undefined,
      pythonError: undefined,
      cuda: true,
      cudaCount: 2,
    },
  );
  assert.equal(readFileSync(out, 'utf8'), 'mlv-probe\n');
});

test('parseProbe: the probe script with a runtime prefix, torch missing, unwritable output, unseen login file', () => {
  const bin = stubs('probe-nocuda', {
    // The "runtime" (like apptainer exec IMAGE) runs the rest of its arguments.
    fakeruntime: 'shift; exec "$@"',
    python3: `echo "python=3.11.2"; echo "torch_error=No module named 'torch'"`,
    apptainer: 'exit 0',
    'nvidia-smi': 'exit 0',
  });
  const r = bash(['-c', PROBE_SCRIPT, 'mlv-probe', join(dir, 'no-login-file'), join(dir, 'no-such-dir', 'out'), 'fakeruntime', 'image.sif', 'python3'], { PATH: `${bin}:/usr/bin:/bin` });
  assert.equal(r.status, 0, r.stderr);
  const p = parseProbe(r.stdout);
  assert.equal(p.seesLogin, false);
  assert.equal(p.writable, false);
  assert.equal(p.apptainer, join(bin, 'apptainer'));
  assert.equal(p.nvidiaSmi, join(bin, 'nvidia-smi'));
  assert.equal(p.cudaVisibleDevices, undefined);
  assert.equal(p.python, '3.11.2');
  assert.equal(p.torch, undefined);
  assert.equal(p.torchError, "No module named 'torch'");
  assert.equal(p.cuda, false);
  assert.equal(p.cudaCount, 0);
});

test('parseProbe: a python that does not exist gives python_error', () => {
  const r = bash(['-c', PROBE_SCRIPT, 'mlv-probe', join(dir, 'x'), join(dir, 'probe-out-2'), join(dir, 'no-such-python')]);
  const p = parseProbe(r.stdout);
  assert.equal(p.pythonError, 'exit 127');
  assert.equal(p.python, undefined);
  assert.equal(p.torch, undefined);
});

test('parseProbe: surrounding job output and odd lines are ignored', () => {
  const out = [
    `${MARKERS.start} 1764365226.1 node1`,
    `${MARKERS.gpuEnv} CUDA_VISIBLE_DEVICES=0 SLURM_JOB_GPUS=0 GPU_DEVICE_ORDINAL=0 SLURM_JOB_NODELIST=node1`,
    'host=node1',
    'sees_login=1',
    'writable=0',
    'apptainer=',
    'nvidia_smi=/usr/bin/nvidia-smi',
    'cvd=unset',
    '/usr/lib/python3/dist-packages/torch/cuda/__init__.py:88: UserWarning: CUDA initialization: Found no NVIDIA driver',
    'python=3.11.2',
    'torch=1.13.0',
    'cuda=0',
    'cuda_count=0',
    `${MARKERS.end} 1764365228.3`,
  ].join('\n');
  assert.deepEqual(parseProbe(out), {
    host: 'node1',
    seesLogin: true,
    writable: false,
    apptainer: undefined,
    nvidiaSmi: '/usr/bin/nvidia-smi',
    cudaVisibleDevices: undefined,
    python: '3.11.2',
    torch: '1.13.0',
    torchError: undefined,
    pythonError: undefined,
    cuda: false,
    cudaCount: 0,
  });
  assert.deepEqual(parseProbe(''), {
    host: undefined,
    seesLogin: false,
    writable: false,
    apptainer: undefined,
    nvidiaSmi: undefined,
    cudaVisibleDevices: undefined,
    python: undefined,
    torch: undefined,
    torchError: undefined,
    pythonError: undefined,
    cuda: false,
    cudaCount: 0,
  });
});

test('taskFromFile: spec file names map to their task', () => {
  assert.equal(taskFromFile('specs/hpc/mlops-1.1-mnist-single-gpu.spec.ts')?.id, 'MLOPS-1.1');
  assert.equal(taskFromFile('/work/main/specs/hpc/mlops-2.1-ddp-multi-gpu.spec.ts')?.id, 'MLOPS-2.1');
  assert.equal(taskFromFile('specs/cloud/MLOPS-4.1-kserve.spec.ts')?.id, 'MLOPS-4.1');
  assert.equal(taskFromFile('specs/e2e/mlops-5.2-automation.spec.ts')?.title, 'Pipeline automation');
  assert.equal(taskFromFile('specs/preflight/preflight.setup.ts'), undefined);
  assert.equal(taskFromFile('specs/hpc/mlops-9.9-future.spec.ts'), undefined);
  assert.equal(taskFromFile('specs/hpc/mlops-1-x.spec.ts'), undefined);
  assert.equal(taskFromFile(''), undefined);
});

test('taskFromFile: a task-like parent directory does not decide the task', () => {
  assert.equal(taskFromFile('/home/ci/mlops-5.1-checkout/specs/hpc/mlops-1.1-mnist-single-gpu.spec.ts')?.id, 'MLOPS-1.1');
});

test('task ids are unique', () => {
  assert.equal(new Set(TASKS.map((t) => t.id)).size, TASKS.length);
});

test('verifyModelJob: 2 GB of memory, five minutes; srun DDP ranks get OMP_NUM_THREADS too', () => {
  const v = verifyModelJob('verify', { ...P, modelPath: '/o/model.pt' });
  assert.deepEqual([v.mem, v.timeLimitSeconds, v.nodes, v.ntasks], ['2G', 300, 1, 1]);
  const s = ddpTrainingJob('ddp-nodes', { ...P, cpusPerTask: 3, layout: { kind: 'srun', nodes: 2 }, gpusPerRank: 1 });
  assert.deepEqual(s.env, { OMP_NUM_THREADS: 3 });
});

test('gpuUtilisation: whole lines of "index, percent" only; GPUs past 9; the trim starts above 10 samples', () => {
  assert.deepEqual(gpuUtilisation('10, 50\n11,60\n12 ,70.25\n'), { '10': 50, '11': 60, '12': 70.25 });
  assert.deepEqual(gpuUtilisation('0, 40.55\n0, 40.45\n'), { '0': 40.5 });
  assert.deepEqual(gpuUtilisation('GPU 0, 50\n0, 50 %\n0, 50, 3\n0: 50\n, 50\n0, \n'), {}, 'no partial matches');
  assert.deepEqual(gpuUtilisation('\t0 ,\t30 \n'), { '0': 30 });
  // Exactly 10 samples: a plain mean (no trim); 11: the first and last are dropped.
  const ten = [0, 100, 100, 100, 100, 100, 100, 100, 100, 100].map((u) => `0, ${u}`).join('\n');
  assert.deepEqual(gpuUtilisation(ten), { '0': 90 });
  const eleven = [0, 100, 100, 100, 100, 100, 100, 100, 100, 100, 0].map((u) => `0, ${u}`).join('\n');
  assert.deepEqual(gpuUtilisation(eleven), { '0': 100 });
  // 30 samples: 3 dropped at each end.
  const thirty = Array.from({ length: 30 }, (_, i) => `1, ${i < 3 || i >= 27 ? 0 : 60}`).join('\n');
  assert.deepEqual(gpuUtilisation(thirty), { '1': 60 });
});
