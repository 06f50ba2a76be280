/**
 * MLOPS-3.1: the Oumi launcher job (workloads/oumi/job.yaml, Oumi's JobConfig) rendered from typed
 * inputs, and the `oumi launch` command lines. Oumi's SLURM cloud hoists the `#SBATCH` lines of setup
 * and run to the top of its script, writes envs as unquoted `export K=V` (so each value here is one
 * shell word), and submits with --job-name=<name> --nodes=<num_nodes> --output=$HOME/oumi_slurm_logs/%j.out.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { OUMI_WORKLOADS, type RenderedOumiConfig } from './oumi-config.ts';
import { OUMI_NAME } from './oumi-schema.ts';
import { assertOumiConfig } from './oumi-validate.ts';
import { slurmTime } from './sbatch.ts';
import { command, quote } from './shell.ts';

export interface OumiJobInput {
  /** SLURM job name (Oumi's --job-name): how squeue/sacct find the job. */
  name: string;
  /** The remote user; Oumi wants it equal to the user of --cluster user@host. */
  user: string;
  /** The local folder Oumi copies to ~/oumi_launcher/<time>/ and runs the job in (a trailing slash is added). */
  workingDir: string;
  partition: string;
  account?: string;
  nodes?: number;
  cpusPerTask: number;
  /** Memory per node, e.g. 8G. */
  mem: string;
  timeLimitSeconds: number;
  /** GPUs per node through GRES: `#SBATCH --gres=gpu[:type]:N` (0: none). */
  gpus: number;
  gpuType?: string;
  envs?: Record<string, string>;
  /** The job's commands, each an argv; the target's runtime prefix goes before each. */
  commands: ReadonlyArray<ReadonlyArray<string | number>>;
  runtimePrefix?: string[];
}

/** Every Oumi job: no telemetry, nothing downloaded. */
export const OUMI_JOB_ENVS = { DO_NOT_TRACK: '1', HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', HF_DATASETS_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' };

const SAFE_DIRECTIVE = /^[A-Za-z0-9_.:=,/+@-]+$/;
function sbatch(flag: string, value: string | number): string {
  const v = String(value);
  if (!SAFE_DIRECTIVE.test(v)) throw new Error(`#SBATCH ${flag}: ${JSON.stringify(v)} has characters a directive may not hold (letters, digits and . _ : = , / + @ - only)`);
  return `#SBATCH ${flag}=${v}`;
}

function count(name: string, n: number, min: number): number {
  if (!Number.isInteger(n) || n < min) throw new Error(`OumiJobInput.${name} must be a whole number >= ${min}, got ${n}`);
  return n;
}

export function renderJobConfig(j: OumiJobInput): RenderedOumiConfig {
  if (!/^\d{1,12}[KMGT]?$/.test(j.mem)) throw new Error(`OumiJobInput.mem must look like 8G or 2000M, got ${JSON.stringify(j.mem)}`);
  if (!j.commands.length) throw new Error('OumiJobInput.commands must not be empty');
  const setup = [
    sbatch('--partition', j.partition),
    ...(j.account ? [sbatch('--account', j.account)] : []),
    sbatch('--ntasks-per-node', 1),
    sbatch('--cpus-per-task', count('cpusPerTask', j.cpusPerTask, 1)),
    sbatch('--mem', j.mem),
    sbatch('--time', slurmTime(j.timeLimitSeconds)),
    'set -e',
  ];
  const gres = count('gpus', j.gpus, 0) ? [sbatch('--gres', `gpu:${j.gpuType ? `${j.gpuType}:` : ''}${j.gpus}`)] : [];
  const run = [...gres, ...j.commands.map((argv) => [...(j.runtimePrefix ?? []).map(quote), command(argv)].join(' '))];
  const envs = Object.fromEntries(Object.entries({ ...OUMI_JOB_ENVS, ...j.envs }).map(([k, v]) => [k, quote(v)]));
  const doc = parseDocument(readFileSync(OUMI_WORKLOADS + 'job.yaml', 'utf8'));
  doc.set('name', j.name);
  doc.set('user', j.user);
  doc.set('num_nodes', count('nodes', j.nodes ?? 1, 1));
  doc.set('working_dir', j.workingDir.endsWith('/') ? j.workingDir : `${j.workingDir}/`);
  doc.set('envs', doc.createNode(envs));
  doc.set('setup', setup.join('\n') + '\n');
  doc.set('run', run.join('\n') + '\n');
  doc.commentBefore = ` Rendered by helpers/oumi-job.ts from workloads/oumi/job.yaml.\n${doc.commentBefore ?? ''}`;
  const config = doc.toJS() as Record<string, unknown>;
  assertOumiConfig('job', config, 'workloads/oumi/job.yaml as rendered');
  return { kind: 'job', template: 'job.yaml', config, yaml: doc.toString({ lineWidth: 0 }) };
}

/** Oumi's name of a SLURM cluster: `user@host` (OUMI_SLURM_CONNECTIONS, --cluster). */
export function oumiCluster(user: string, host: string): string {
  if (!OUMI_NAME.test(user) || !OUMI_NAME.test(host)) throw new Error(`Oumi's SLURM cluster name is user@host of letters, digits, ".", "_" and "-" only, got ${JSON.stringify(`${user}@${host}`)}`);
  return `${user}@${host}`;
}

/** The `oumi launch` command lines of MLOPS-3.1, `oumi` being how Oumi runs on the runner. */
export const oumiLaunch = {
  /** Submit and, unless detached, follow the log until the job ends (writing it to `logFile`). */
  up: (oumi: string[], jobYaml: string, cluster: string, o: { detach?: boolean; logFile?: string } = {}) => [
    ...oumi,
    'launch',
    'up',
    '-c',
    jobYaml,
    '--cluster',
    cluster,
    ...(o.detach ? ['--detach'] : []),
    ...(o.logFile ? ['--output-filepath', o.logFile] : []),
  ],
  /** Without skypilot installed, status needs --cloud slurm. */
  status: (oumi: string[], cluster: string, jobId?: string) => [...oumi, 'launch', 'status', '--cloud', 'slurm', '--cluster', cluster, ...(jobId ? ['--id', jobId] : [])],
  cancel: (oumi: string[], cluster: string, jobId: string) => [...oumi, 'launch', 'cancel', '--cloud', 'slurm', '--cluster', cluster, '--id', jobId],
  logs: (oumi: string[], cluster: string, jobId: string, logFile?: string) => [
    ...oumi,
    'launch',
    'logs',
    '--cloud',
    'slurm',
    '--cluster',
    cluster,
    '--job-id',
    jobId,
    ...(logFile ? ['--output-filepath', logFile] : []),
  ],
};
