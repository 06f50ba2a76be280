/**
 * The SLURM jobs of MLOPS-1.2, 2.2 and 3.2 (pure): each writes its rendered Oumi config (and inputs)
 * into its folder on the shared filesystem, then runs Oumi through workloads/oumi/oumi.sh under the
 * target's runtime prefix. The files travel inside the job script, so a dry run shows all of it.
 */
import { posix } from 'node:path';
import type { OumiCommand } from './oumi-config.ts';
import type { JobSpec } from './sbatch.ts';

/** The task list's three prompts (MLOPS-3.2), also the inference check's. */
export const TASK_PROMPTS = ['Write a short story about', 'Explain quantum computing in simple terms', 'Create a haiku about nature'];

export interface OumiJobPlan {
  name: string;
  /** The job's folder: configs, inputs and outputs. */
  dir: string;
  files: { name: string; content: string }[];
  command: OumiCommand;
  gpus: number;
  cpusPerTask: number;
  mem: string;
  timeLimitSeconds: number;
  /** HF_HOME of the job (MLV_HF_HOME). */
  hfHome?: string;
}

const WRITE = 'printf "%s" "$1" > "$2"';

export function oumiJobSpec(p: OumiJobPlan): JobSpec {
  return {
    name: p.name,
    nodes: 1,
    ntasks: 1,
    cpusPerTask: p.cpusPerTask,
    mem: p.mem,
    gpus: p.gpus,
    timeLimitSeconds: p.timeLimitSeconds,
    env: { ...p.command.env, ...(p.hfHome ? { HF_HOME: p.hfHome } : {}) },
    steps: [
      { argv: ['mkdir', '-p', p.dir], inRuntime: false },
      ...p.files.map((f) => ({ argv: ['sh', '-c', WRITE, 'mlv-write', f.content, posix.join(p.dir, f.name)], inRuntime: false })),
      { argv: p.command.argv },
    ],
  };
}
