/**
 * Renders a typed JobSpec into an sbatch script. Directive values are validated against
 * a strict character set (sbatch parses `#SBATCH` lines itself, not through a shell);
 * every command argument and environment value is shell-quoted.
 */
import { posix } from 'node:path';
import { MAX_GPUS_PER_NODE, SLURM_LIMITS } from './config-schema.ts';
import { MARKERS } from './job-output.ts';
import { quote } from './shell.ts';

/** A command argument: a literal (quoted) or a reference to a job environment variable. */
type Arg = string | number | { env: string };

interface Step {
  argv: Arg[];
  /** Launch through `srun` (one task per allocated task) instead of running once in the batch shell. */
  srun?: { ntasks?: number; ntasksPerNode?: number; gpusPerTask?: number; extra?: string[] };
  /** Prefix the command with the target's runtime prefix (apptainer exec ...). Default true. */
  inRuntime?: boolean;
}

export interface JobSpec {
  /** Short name; the rendered job name is `<runId>-<name>`. */
  name: string;
  nodes?: number;
  ntasks?: number;
  ntasksPerNode?: number;
  cpusPerTask?: number;
  /** Memory per node, e.g. "8G" or "2000M". */
  mem?: string;
  /** GPUs per node, requested through GRES (`--gres=gpu[:type]:N`). */
  gpus?: number;
  gpuType?: string;
  /** Wall time limit in seconds. */
  timeLimitSeconds: number;
  env?: Record<string, string | number>;
  steps: Step[];
  /** Extra `#SBATCH` flags, validated like every other directive. */
  extraDirectives?: string[];
}

export interface RenderContext {
  runId: string;
  partition: string;
  account?: string;
  /** Directory on the shared filesystem for the script and its output. */
  jobDir: string;
  /** Working directory of the job. */
  workDir: string;
  runtimePrefix: string[];
}

/** Directive values: no quotes, spaces or shell syntax, and no `%` (sbatch expands it in file names: %u, %x, %j). */
const SAFE_DIRECTIVE = /^[A-Za-z0-9_.:=,/+@-]+$/;
const SAFE_NAME = /^[A-Za-z0-9_.-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * Variables a job may set: the suite's own (MLV_*) and the tuning variables of the ML stack.
 * Never the shell's or the loader's own (PATH, IFS, BASH_ENV, LD_PRELOAD, PS4, ...), SLURM's
 * (SLURM_*), nor Python's code-loading ones (PYTHONPATH, PYTHONHOME, PYTHONSTARTUP).
 */
export const JOB_ENV_NAME =
  /^(?:(?:MLV|OMP|MKL|OPENBLAS|CUDA|NCCL|GLOO|UCX|HF|HUGGINGFACE|TRANSFORMERS|TOKENIZERS|TORCH|TORCHINDUCTOR|PYTORCH|OUMI|MLFLOW|WANDB)_[A-Z0-9_]+|PYTHONUNBUFFERED|PYTHONHASHSEED|PYTHONFAULTHANDLER|PYTHONWARNINGS|PYTHONDONTWRITEBYTECODE|MASTER_ADDR|MASTER_PORT|WORLD_SIZE)$/;

function directive(flag: string, value: string | number): string {
  const v = String(value);
  if (!SAFE_DIRECTIVE.test(v)) throw new Error(`sbatch ${flag}: value ${JSON.stringify(v)} has characters that are not allowed in a directive (letters, digits and . _ : = , / + @ - only; no %)`);
  return `#SBATCH ${flag}=${v}`;
}

/** The bounds of each count (see SLURM_LIMITS: parse_int refuses 0 for these and anything >= INT_MAX). */
const COUNT_LIMITS: Record<string, [number, number]> = {
  nodes: [1, SLURM_LIMITS.maxNodes],
  ntasks: [1, SLURM_LIMITS.maxCount],
  ntasksPerNode: [1, SLURM_LIMITS.maxTasksPerNode],
  cpusPerTask: [1, SLURM_LIMITS.maxCount],
  gpus: [0, MAX_GPUS_PER_NODE],
  'srun.ntasks': [1, SLURM_LIMITS.maxCount],
  'srun.ntasksPerNode': [1, SLURM_LIMITS.maxTasksPerNode],
  'srun.gpusPerTask': [1, MAX_GPUS_PER_NODE],
};

function positive(name: string, n: number | undefined): number | undefined {
  if (n === undefined) return undefined;
  const [min, max] = COUNT_LIMITS[name] ?? [0, SLURM_LIMITS.maxCount];
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new Error(`JobSpec.${name} must be a whole number from ${min} to ${max} (SLURM's limit), got ${String(n)}`);
  return n;
}

/** SLURM's time format: [D-]HH:MM:SS. At most SLURM_LIMITS.maxTimeSeconds (24855 days). */
export function slurmTime(seconds: number): string {
  if (typeof seconds !== 'number' || !(seconds > 0) || !Number.isFinite(seconds)) throw new Error(`time limit must be positive, got ${seconds}`);
  if (seconds > SLURM_LIMITS.maxTimeSeconds) throw new Error(`time limit must be at most ${SLURM_LIMITS.maxTimeSeconds} s (24855 days, SLURM's limit), got ${seconds}`);
  const s = Math.ceil(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const hms = [h, m, sec].map((x) => String(x).padStart(2, '0')).join(':');
  return d ? `${d}-${hms}` : hms;
}

export function jobName(runId: string, name: string): string {
  const full = `${runId}-${name}`;
  if (!SAFE_NAME.test(full)) throw new Error(`job name ${JSON.stringify(full)} may only hold letters, digits, . _ -`);
  return full;
}

function renderArg(a: Arg): string {
  if (typeof a === 'object') {
    if (!ENV_NAME.test(a.env)) throw new Error(`invalid environment variable reference ${JSON.stringify(a.env)}`);
    return `"\${${a.env}}"`;
  }
  return quote(a);
}

function renderStep(step: Step, ctx: RenderContext): string {
  const words: string[] = [];
  if (step.srun) {
    words.push('srun', '--kill-on-bad-exit=1');
    if (step.srun.ntasks !== undefined) words.push(`--ntasks=${positive('srun.ntasks', step.srun.ntasks)}`);
    if (step.srun.ntasksPerNode !== undefined) words.push(`--ntasks-per-node=${positive('srun.ntasksPerNode', step.srun.ntasksPerNode)}`);
    if (step.srun.gpusPerTask !== undefined) words.push(`--gpus-per-task=${positive('srun.gpusPerTask', step.srun.gpusPerTask)}`);
    for (const e of step.srun.extra ?? []) {
      if (!SAFE_DIRECTIVE.test(e)) throw new Error(`srun flag ${JSON.stringify(e)} has characters that are not allowed`);
      words.push(e);
    }
  }
  if (step.inRuntime !== false) words.push(...ctx.runtimePrefix.map(quote));
  words.push(...step.argv.map(renderArg));
  return words.join(' ');
}

/** Markers the job prints so the harness can measure its own overhead precisely (sacct has 1 s resolution). */

export function renderSbatch(spec: JobSpec, ctx: RenderContext): string {
  const name = jobName(ctx.runId, spec.name);
  if (!spec.steps.length) throw new Error('JobSpec.steps must not be empty');
  const lines = ['#!/bin/bash'];
  lines.push(directive('--job-name', name));
  lines.push(directive('--comment', `mlv-run=${ctx.runId}`));
  lines.push(directive('--partition', ctx.partition));
  if (ctx.account) lines.push(directive('--account', ctx.account));
  lines.push(`${directive('--output', ctx.jobDir)}/%x-%j.out`);
  lines.push(directive('--chdir', ctx.workDir));
  lines.push(directive('--time', slurmTime(spec.timeLimitSeconds)));
  if (spec.nodes !== undefined) lines.push(directive('--nodes', positive('nodes', spec.nodes)!));
  if (spec.ntasks !== undefined) lines.push(directive('--ntasks', positive('ntasks', spec.ntasks)!));
  if (spec.ntasksPerNode !== undefined) lines.push(directive('--ntasks-per-node', positive('ntasksPerNode', spec.ntasksPerNode)!));
  if (spec.cpusPerTask !== undefined) lines.push(directive('--cpus-per-task', positive('cpusPerTask', spec.cpusPerTask)!));
  if (spec.mem !== undefined) {
    if (typeof spec.mem !== 'string' || !/^\d{1,12}[KMGT]?$/.test(spec.mem)) throw new Error(`JobSpec.mem must look like 8G or 2000M (at most 12 digits), got ${JSON.stringify(spec.mem)}`);
    lines.push(directive('--mem', spec.mem));
  }
  if (spec.gpus !== undefined && positive('gpus', spec.gpus)) lines.push(directive('--gres', `gpu:${spec.gpuType ? `${spec.gpuType}:` : ''}${positive('gpus', spec.gpus)}`));
  for (const d of spec.extraDirectives ?? []) {
    const m = /^(--[a-z-]+)(?:=(.*))?$/.exec(d);
    if (!m) throw new Error(`extra directive ${JSON.stringify(d)} must look like --flag=value`);
    lines.push(m[2] === undefined ? `#SBATCH ${m[1]}` : directive(m[1]!, m[2]));
  }
  lines.push('set -euo pipefail');
  for (const [k, v] of Object.entries(spec.env ?? {})) {
    if (!ENV_NAME.test(k)) throw new Error(`environment variable name ${JSON.stringify(k)} is not valid`);
    if (!JOB_ENV_NAME.test(k))
      throw new Error(
        `environment variable name ${JSON.stringify(k)} is not allowed: a job sets only MLV_*, OMP_*, CUDA_*, NCCL_*, HF_*, TORCH_* and the other ML tuning variables, never the shell's own (PATH, IFS, BASH_ENV, LD_PRELOAD, ...)`,
      );
    lines.push(`export ${k}=${quote(v)}`);
  }
  // The end marker also on failure (set -e) and cancellation: the suite learns a job's end from it, not from polling.
  lines.push(`trap 'mlv_rc=$?; echo "${MARKERS.end} $(date +%s.%N) $mlv_rc"' EXIT`);
  lines.push(`echo "${MARKERS.start} $(date +%s.%N) $(hostname)"`);
  lines.push(
    `echo "${MARKERS.gpuEnv} CUDA_VISIBLE_DEVICES=\${CUDA_VISIBLE_DEVICES-unset} SLURM_JOB_GPUS=\${SLURM_JOB_GPUS-unset} GPU_DEVICE_ORDINAL=\${GPU_DEVICE_ORDINAL-unset} SLURM_JOB_NODELIST=\${SLURM_JOB_NODELIST-unset}"`,
  );
  for (const step of spec.steps) lines.push(renderStep(step, ctx));
  return lines.join('\n') + '\n';
}

/** Where a run's jobs live and how they are rendered: everything but the connection. */
export interface RunLayout {
  runId: string;
  partition: string;
  account?: string;
  runtimePrefix: string[];
  sharedRoot: string;
}

/** The run directory on the shared filesystem: `<shared>/jobs/<runId>`. */
export const runDirOf = (l: Pick<RunLayout, 'sharedRoot' | 'runId'>) => posix.join(l.sharedRoot, 'jobs', l.runId);

/** Render a job of the run, with its script and output in the run directory, which is also its working directory. */
export function renderJob(spec: JobSpec, l: RunLayout): string {
  const dir = runDirOf(l);
  return renderSbatch(spec, { runId: l.runId, partition: l.partition, account: l.account, runtimePrefix: l.runtimePrefix, jobDir: dir, workDir: dir });
}
