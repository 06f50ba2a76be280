/**
 * The training jobs as typed JobSpecs: what runs, with which resources. Specs choose the
 * sizes (from the target's references); these functions only assemble the command lines.
 */
import { posix } from 'node:path';
import type { JobSpec } from './sbatch.ts';

export interface TrainingParams {
  /** Directory holding the uploaded `workloads/` tree on the shared filesystem. */
  workloadsDir: string;
  dataDir: string;
  outDir: string;
  python: string;
  epochs: number;
  trainSamples: number;
  testSamples: number;
  batchSize: number;
  cpusPerTask: number;
  mem: string;
  timeLimitSeconds: number;
  /** also write model.onnx beside model.pt (the e2e path serves it) */
  exportOnnx?: boolean;
  /** the workload's --seed (default 1): another seed trains another model (MLOPS-5.2's second version) */
  seed?: number;
}

function trainingArgs(p: TrainingParams): (string | number)[] {
  return [
    '--data-dir',
    p.dataDir,
    '--out-dir',
    p.outDir,
    '--epochs',
    p.epochs,
    '--batch-size',
    p.batchSize,
    '--train-samples',
    p.trainSamples,
    '--test-samples',
    p.testSamples,
    ...(p.exportOnnx ? ['--export-onnx'] : []),
    ...(p.seed !== undefined ? ['--seed', p.seed] : []),
  ];
}

/** MLOPS-1.1: one process, `gpus` GPUs through GRES. */
export function mnistTrainingJob(name: string, p: TrainingParams & { gpus: number }): JobSpec {
  return {
    name,
    nodes: 1,
    ntasks: 1,
    cpusPerTask: p.cpusPerTask,
    mem: p.mem,
    gpus: p.gpus,
    timeLimitSeconds: p.timeLimitSeconds,
    steps: [{ argv: ['mkdir', '-p', p.outDir], inRuntime: false }, { argv: [p.python, posix.join(p.workloadsDir, 'mnist/train.py'), ...trainingArgs(p)] }],
  };
}

/** Loads the saved model on a compute node and evaluates it (the "model loads" criterion). */
export function verifyModelJob(name: string, p: Pick<TrainingParams, 'workloadsDir' | 'dataDir' | 'python' | 'testSamples' | 'cpusPerTask'> & { modelPath: string }): JobSpec {
  return {
    name,
    nodes: 1,
    ntasks: 1,
    cpusPerTask: Math.min(2, p.cpusPerTask),
    mem: '2G',
    timeLimitSeconds: 300,
    steps: [
      {
        argv: [p.python, posix.join(p.workloadsDir, 'mnist/verify_model.py'), '--data-dir', p.dataDir, '--model', p.modelPath, '--test-samples', p.testSamples],
      },
    ],
  };
}

export type DdpLayout =
  /** One node, `procs` processes started by torchrun, `procs` GPUs through GRES. */
  | { kind: 'torchrun'; procs: number }
  /** `nodes` nodes, one rank per node started by srun, one GPU per node. */
  | { kind: 'srun'; nodes: number };

/** MLOPS-2.1: the same workload, data-parallel (or its 1-process baseline with procs=1). */
/** Deliberate failures of the DDP workload (`--control`), for the suite's control tests. */
export type DdpControl = 'no-sync' | 'silent-rank' | 'uneven-steps';

export function ddpTrainingJob(name: string, p: TrainingParams & { layout: DdpLayout; gpusPerRank: number; control?: DdpControl }): JobSpec {
  const script = posix.join(p.workloadsDir, 'ddp/train_ddp.py');
  const args = [...trainingArgs(p), ...(p.control ? ['--control', p.control] : [])];
  const base = { name, cpusPerTask: p.cpusPerTask, mem: p.mem, timeLimitSeconds: p.timeLimitSeconds };
  const mkdir = { argv: ['mkdir', '-p', p.outDir], inRuntime: false };
  if (p.layout.kind === 'torchrun') {
    const n = p.layout.procs;
    return {
      ...base,
      nodes: 1,
      ntasks: 1,
      cpusPerTask: p.cpusPerTask * n,
      gpus: p.gpusPerRank * n,
      env: { OMP_NUM_THREADS: p.cpusPerTask },
      steps: [
        mkdir,
        n === 1
          ? { argv: [p.python, script, ...args] }
          : // --redirects/--tee: Debian's torch 1.13 on Python 3.11 crashes torchrun without them.
            { argv: [p.python, '-m', 'torch.distributed.run', '--standalone', '--redirects', '1', '--tee', '1', `--nproc_per_node=${n}`, script, ...args] },
      ],
    };
  }
  const n = p.layout.nodes;
  return {
    ...base,
    nodes: n,
    ntasks: n,
    ntasksPerNode: 1,
    gpus: p.gpusPerRank,
    env: { OMP_NUM_THREADS: p.cpusPerTask },
    steps: [mkdir, { argv: [p.python, script, ...args], srun: { ntasks: n, ntasksPerNode: 1 } }],
  };
}

/**
 * Wrap a job's last step so that nvidia-smi samples GPU utilisation every 500 ms into
 * `samplesFile` while it runs. The sampler is a constant script; values arrive as arguments.
 */
export const GPU_SAMPLER_SCRIPT = `out=$1; shift
nvidia-smi --query-gpu=index,utilization.gpu --format=csv,noheader,nounits -lms 500 > "$out" 2>&1 &
sampler=$!
"$@"; rc=$?
kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
exit $rc`;

export function withGpuSampler(spec: JobSpec, samplesFile: string, runtimePrefix: string[]): JobSpec {
  const steps = [...spec.steps];
  const last = steps.pop()!;
  if (last.srun) throw new Error('withGpuSampler wraps a batch-shell step, not an srun step');
  const inner = [...(last.inRuntime === false ? [] : runtimePrefix), ...last.argv];
  steps.push({ argv: ['bash', '-c', GPU_SAMPLER_SCRIPT, 'mlv-gpu-sampler', samplesFile, ...inner], inRuntime: false });
  return { ...spec, steps };
}

/** Mean utilisation per GPU index from `index, util` CSV samples, ignoring the idle first/last 10%. */
export function gpuUtilisation(csv: string): Record<string, number> {
  const byGpu: Record<string, number[]> = {};
  for (const line of csv.split('\n')) {
    const m = /^\s*(\d+)\s*,\s*(\d+(?:\.\d+)?)\s*$/.exec(line);
    if (m) (byGpu[m[1]!] ??= []).push(Number(m[2]));
  }
  return Object.fromEntries(
    Object.entries(byGpu).map(([gpu, xs]) => {
      const cut = Math.floor(xs.length * 0.1);
      const mid = xs.length > 10 ? xs.slice(cut, xs.length - cut) : xs;
      return [gpu, mid.reduce((a, b) => a + b, 0) / mid.length];
    }),
  );
}
