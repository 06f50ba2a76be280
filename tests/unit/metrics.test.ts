import { test } from 'node:test';
import assert from 'node:assert/strict';
import { taggedJson } from '../../helpers/job-output.ts';
import { DdpMetricsSchema, ERROR_PATTERNS, findErrorLines, RankReportSchema, TrainingMetricsSchema } from '../../helpers/metrics.ts';

/** A metrics.json as workloads/mnist/train.py writes it (json.dump, sort_keys). */
const METRICS = {
  accuracy: [0.9312, 0.9768],
  batch_size: 128,
  cuda_available: false,
  cuda_device_count: 0,
  cuda_visible_devices: '0',
  data_dir: '/shared/mlv/datasets/mnist',
  data_load_seconds: 0.41,
  device: 'cpu',
  dropout: 0.25,
  epoch_seconds: [31.2, 30.8],
  epochs: [1, 2],
  eval_seconds: 1.9,
  finished_at: 1764365291.52,
  hostname: 'node1',
  loss: [0.2231, 0.0789],
  lr: 0.001,
  model: 'SimpleCNN',
  model_path: '/shared/mlv/runs/r1/mlops-1.1/model.pt',
  optimizer: 'Adam',
  parameters: 421642,
  python_version: '3.11.2',
  samples_per_second: 1935.4,
  seed: 1234,
  slurm_cpus_per_task: '2',
  slurm_job_id: '21',
  slurm_job_nodelist: 'node1',
  started_at: 1764365226.9,
  task: 'MLOPS-1.1',
  test_accuracy: 0.9811,
  test_loss: 0.0598,
  test_samples: 10000,
  threads: 2,
  torch_version: '1.13.0',
  total_seconds: 64.62,
  train_samples: 60000,
  training_time_seconds: 62.0,
};

const parse = (m: unknown) => TrainingMetricsSchema.safeParse(m);
const without = (k: keyof typeof METRICS) => Object.fromEntries(Object.entries(METRICS).filter(([key]) => key !== k));

test('TrainingMetricsSchema accepts a realistic metrics.json (round-tripped through JSON) and keeps extra fields', () => {
  const r = parse(JSON.parse(JSON.stringify(METRICS, null, 2)));
  assert.ok(r.success, JSON.stringify(r.error?.issues));
  assert.equal(r.data.test_accuracy, 0.9811);
  assert.equal((r.data as Record<string, unknown>).task, 'MLOPS-1.1', 'passthrough keeps unknown fields');
  assert.ok(parse({ ...METRICS, device: 'cuda:0', cuda_visible_devices: null }).success);
  assert.ok(parse({ ...METRICS, device: 'cuda' }).success);
  assert.ok(parse({ ...METRICS, test_accuracy: 0 }).success);
  assert.ok(parse({ ...METRICS, test_accuracy: 1 }).success);
});

test('TrainingMetricsSchema rejects missing fields', () => {
  for (const k of ['epochs', 'loss', 'accuracy', 'test_accuracy', 'training_time_seconds', 'device', 'cuda_visible_devices'] as const) {
    const r = parse(without(k));
    assert.equal(r.success, false, `accepted without ${k}`);
    assert.ok(
      r.error!.issues.some((i) => i.path[0] === k),
      `the issue names ${k}: ${JSON.stringify(r.error!.issues)}`,
    );
  }
  assert.equal(parse({}).success, false);
  assert.equal(parse(null).success, false);
  assert.equal(parse([]).success, false);
});

test('TrainingMetricsSchema rejects accuracies outside [0, 1] and bad numbers', () => {
  const bad: Record<string, unknown>[] = [
    { test_accuracy: 1.01 },
    { test_accuracy: 98.1 },
    { test_accuracy: -0.1 },
    { test_accuracy: '0.98' },
    { accuracy: [0.93, 97.68] },
    { accuracy: [0.93, -0.01] },
    { loss: [0.2, -0.1] },
    { training_time_seconds: 0 },
    { training_time_seconds: -5 },
    { epochs: [], loss: [], accuracy: [] },
    { epochs: [0, 1] },
    { epochs: [1, 1.5] },
  ];
  for (const b of bad) assert.equal(parse({ ...METRICS, ...b }).success, false, JSON.stringify(b));
});

test('TrainingMetricsSchema rejects mismatched list lengths', () => {
  for (const b of [{ loss: [0.2] }, { accuracy: [0.9, 0.95, 0.97] }, { epochs: [1, 2, 3] }, { loss: [] }]) {
    const r = parse({ ...METRICS, ...b });
    assert.equal(r.success, false, JSON.stringify(b));
  }
  assert.match(JSON.stringify(parse({ ...METRICS, loss: [0.2] }).error!.issues), /one entry per epoch/);
});

test('TrainingMetricsSchema rejects a bad device', () => {
  for (const device of ['gpu', 'cuda:', 'cuda:x', 'CUDA:0', 'mps', 'cpu ', ' cpu', 'cuda:0,1', '']) {
    assert.equal(parse({ ...METRICS, device }).success, false, JSON.stringify(device));
  }
});

test('DdpMetricsSchema and RankReportSchema', () => {
  const ddp = { ...METRICS, task: 'MLOPS-2.1', world_size: 2, backend: 'gloo', samples_per_second: 3500.2 };
  assert.ok(DdpMetricsSchema.safeParse(ddp).success);
  assert.equal(DdpMetricsSchema.safeParse({ ...ddp, backend: 'mpi' }).success, false);
  assert.equal(DdpMetricsSchema.safeParse({ ...ddp, world_size: 0 }).success, false);
  assert.equal(DdpMetricsSchema.safeParse({ ...ddp, samples_per_second: 0 }).success, false);
  assert.equal(DdpMetricsSchema.safeParse({ ...ddp, test_accuracy: 2 }).success, false, 'the training part is checked too');
  const rank = { rank: 1, world_size: 2, local_rank: 1, device: 'cpu', hostname: 'node1', cuda_visible_devices: '1', samples_per_second: 1700.5, backend: 'gloo', steps: 235 };
  assert.ok(RankReportSchema.safeParse(rank).success);
  assert.equal(RankReportSchema.safeParse({ ...rank, rank: -1 }).success, false);
  assert.equal(RankReportSchema.safeParse({ ...rank, backend: 'NCCL' }).success, false);
});

test('taggedJson: plain, torchrun [default0]: and srun "0: " prefixed lines', () => {
  const log = [
    'MLV_JOB_START 1764365226.123 node1',
    'MLV_RANK {"rank":0,"world_size":2}',
    '[default1]:MLV_RANK {"rank":1,"world_size":2}',
    '[default0]:  MLV_EPOCH {"epoch":1}',
    '1: MLV_RANK {"rank":3,"world_size":4}',
    '12: MLV_RANK {"rank":12}',
    'MLV_RANK {"rank":5}   ',
    'MLV_RANK {"rank":6}\r',
  ].join('\n');
  assert.deepEqual(taggedJson(log, 'MLV_RANK'), [{ rank: 0, world_size: 2 }, { rank: 1, world_size: 2 }, { rank: 3, world_size: 4 }, { rank: 12 }, { rank: 5 }, { rank: 6 }]);
  assert.deepEqual(taggedJson(log, 'MLV_EPOCH'), [{ epoch: 1 }]);
  assert.deepEqual(taggedJson(log, 'MLV_RESULT'), []);
  assert.deepEqual(taggedJson('', 'MLV_RANK'), []);
});

test('taggedJson: torn and interleaved JSON is ignored, and other tags or mid-line tags do not count', () => {
  const log = [
    'MLV_RANK {"rank":0,"world_',
    'size":2}',
    'MLV_RANK {"rank":1}MLV_RANK {"rank":2}',
    '[default0]:MLV_RANK {"rank":0,"world_size":2}[default1]:MLV_RANK {"rank":1',
    'MLV_RANK not json',
    'MLV_RANK {}',
    'MLV_RANKS {"rank":9}',
    'XMLV_RANK {"rank":9}',
    'echo MLV_RANK {"rank":9}',
    'MLV_RANK{"rank":9}',
    'MLV_RANK {"rank":7,"nested":{"a":[1,2]}}',
  ].join('\n');
  assert.deepEqual(taggedJson(log, 'MLV_RANK'), [{}, { rank: 7, nested: { a: [1, 2] } }]);
});

test('taggedJson: output as the Python workloads print it (json.dumps with separators, sort_keys)', () => {
  const metrics = JSON.stringify(METRICS);
  const log = `some noise\n[default0]:MLV_RESULT ${metrics}\nmore noise\n`;
  const [m] = taggedJson(log, 'MLV_RESULT');
  assert.ok(TrainingMetricsSchema.safeParse(m).success);
});

const NORMAL_LOG = `MLV_JOB_START 1764365226.123 node1
MLV_GPU_ENV CUDA_VISIBLE_DEVICES=0,1 SLURM_JOB_GPUS=0,1 GPU_DEVICE_ORDINAL=0,1 SLURM_JOB_NODELIST=node1
MLV_START {"cuda_available":false,"device":"cpu","epochs":2}
Using backend gloo
using device cpu; CUDA available: False
epoch 1 loss 0.3 accuracy 0.9
epoch 2 loss 0.08 accuracy 0.97
MLV_EPOCH {"accuracy":0.9768,"epoch":2,"loss":0.0789}
[default0]:MLV_RANK {"backend":"gloo","cuda_visible_devices":"0","rank":0}
[Gloo] Rank 0 is connected to 1 peer ranks. Expected number of connected peer ranks is : 1
NCCL INFO Bootstrap : Using eth0:10.0.0.1<0>
NCCL INFO NET/Socket : Using [0]eth0:10.0.0.1<0>
NCCL INFO comm 0x55d5 rank 0 nranks 2 cudaDev 0 busId 1000 - Init COMPLETE
WARNING:torch.distributed.run:Setting OMP_NUM_THREADS environment variable for each process to be 1 in default
Test accuracy: 0.9811 (errors: 189 of 10000)
saved model to /shared/mlv/runs/r1/model.pt
MLV_RESULT {"onnx_error":null,"test_accuracy":0.9811}
MLV_JOB_END 1764365291.601`;

test('findErrorLines: a normal training log has no error lines', () => {
  assert.deepEqual(findErrorLines(NORMAL_LOG, ['cuda', 'nccl', 'gloo', 'oom', 'traceback']), []);
  assert.deepEqual(findErrorLines('', ['cuda', 'nccl', 'gloo', 'oom', 'traceback']), []);
});

test('findErrorLines: real-looking CUDA, NCCL, gloo, OOM and Traceback lines are caught', () => {
  const cases: [keyof typeof ERROR_PATTERNS, string][] = [
    ['cuda', 'RuntimeError: CUDA error: device-side assert triggered'],
    ['cuda', 'RuntimeError: CUDA error: no kernel image is available for execution on the device'],
    ['cuda', 'RuntimeError: Found no NVIDIA driver on your system. (cudaErrorNoDevice)'],
    ['cuda', 'RuntimeError: CUDA error: CUBLAS_STATUS_EXECUTION_FAILED when calling `cublasSgemm( handle, opa, opb, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc)`'],
    ['cuda', 'RuntimeError: cuDNN error: CUDNN_STATUS_INTERNAL_ERROR'],
    ['cuda', '/pytorch/aten/src/ATen/native/cuda/Loss.cu:242: nll_loss_forward_reduce_cuda_kernel_2d: block: [0,0,0], thread: [5,0,0] Assertion `t >= 0 && t < n_classes` failed. device-side assert'],
    ['cuda', 'RuntimeError: No CUDA GPUs are available; no CUDA-capable device is detected'],
    ['cuda', 'The NVIDIA driver on your system is too old. CUDA driver version is insufficient for CUDA runtime version'],
    ['nccl', 'node1:1234:1250 [0] NCCL WARN Call to connect returned Connection refused, retrying'],
    [
      'nccl',
      'torch.distributed.DistBackendError: NCCL error in: ../torch/csrc/distributed/c10d/ProcessGroupNCCL.cpp:1275, unhandled system error (run with NCCL_DEBUG=INFO for details), NCCL version 2.14.3',
    ],
    ['nccl', 'ncclInternalError: Internal check failed.'],
    ['nccl', 'ncclSystemError: System call (e.g. socket, malloc) or external library call failed or device error.'],
    ['nccl', 'ncclUnhandledCudaError: Call to CUDA function failed.'],
    ['nccl', '[Rank 1] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=1, OpType=ALLREDUCE) ran for 1800000 milliseconds before timing out. NCCL timeout'],
    ['gloo', 'RuntimeError: Gloo connectFullMesh failed with [../third_party/gloo/gloo/transport/tcp/pair.cc:144] no error'],
    ['gloo', 'RuntimeError: [../third_party/gloo/gloo/transport/tcp/pair.cc:598] Connection closed by peer [10.0.0.2]:48231'],
    ['gloo', '[gloo/transport/tcp/pair.cc:211] read error: Connection reset by peer'],
    ['gloo', 'RuntimeError: ProcessGroupGloo::allreduce failed: timed out'],
    ['gloo', 'RuntimeError: [/opt/gloo/transport/tcp/unbound_buffer.cc:81] Timed out waiting 1800000ms for recv operation to complete; gloo Connection refused'],
    ['oom', 'torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.78 GiB total capacity)'],
    ['oom', 'RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB'],
    ['oom', 'slurmstepd: error: Detected 1 oom_kill event in StepId=21.batch. Some of the step tasks have been OOM Killed.'],
    ['oom', 'slurmstepd: error: Detected 1 oom-kill event(s) in step 21.0 cgroup.'],
    ['oom', '[12345.678] Out of memory: Killed process 4242 (python3) total-vm:8123456kB'],
    ['traceback', 'Traceback (most recent call last):'],
  ];
  for (const [kind, line] of cases) {
    const log = `${NORMAL_LOG.split('\n').slice(0, 5).join('\n')}\n${line}\nepoch 2 loss 0.08 accuracy 0.97`;
    assert.deepEqual(findErrorLines(log, [kind]), [line], `${kind}: ${line}`);
  }
});

test('findErrorLines: only the requested kinds are reported, each line once', () => {
  const log = ['Traceback (most recent call last):', '  File "train.py", line 3, in <module>', 'torch.cuda.OutOfMemoryError: CUDA out of memory.', 'NCCL WARN x'].join('\n');
  assert.deepEqual(findErrorLines(log, ['traceback']), ['Traceback (most recent call last):']);
  assert.deepEqual(findErrorLines(log, ['nccl']), ['NCCL WARN x']);
  assert.deepEqual(findErrorLines(log, ['oom', 'cuda']), ['torch.cuda.OutOfMemoryError: CUDA out of memory.']);
  assert.deepEqual(findErrorLines(log, []), []);
  assert.equal(findErrorLines(log, ['cuda', 'nccl', 'gloo', 'oom', 'traceback']).length, 3);
});

test('findErrorLines: a Traceback mentioned mid-line is not a traceback', () => {
  assert.deepEqual(findErrorLines('print("Traceback (most recent call last):")', ['traceback']), []);
  assert.deepEqual(findErrorLines('  Traceback (most recent call last):', ['traceback']), []);
});
