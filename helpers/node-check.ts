/**
 * The node sweep's per-node check: one job pinned to each idle node of the partition, asking
 * for all its GPUs, that reports the GRES SLURM handed it, the runtime's Python and torch, a
 * short training step, and nvidia-smi where it exists. Pure: the JobSpec, and the verdict on
 * what the job printed.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { taggedJson } from './job-output.ts';
import type { JobSpec } from './sbatch.ts';
import type { NodeReason } from './slurm-parsers.ts';

export const NODE_CHECK_TAG = 'MLV_NODE_CHECK';
const SMI_TAG = 'MLV_NVIDIA_SMI';

export interface NodeCheckParams {
  workloadsDir: string;
  python: string;
  gpusPerNode: number;
  gpuKind: 'nvidia' | 'fake';
}

export function nodeCheckJob(node: string, p: NodeCheckParams): JobSpec {
  return {
    name: `node-check-${node}`,
    nodes: 1,
    ntasks: 1,
    cpusPerTask: 1,
    mem: '1G',
    gpus: p.gpusPerNode || undefined,
    timeLimitSeconds: 300,
    extraDirectives: [`--nodelist=${node}`],
    steps: [
      { argv: ['sh', '-c', `if command -v nvidia-smi >/dev/null; then echo "${SMI_TAG} $(nvidia-smi -L | grep -c '^GPU ')"; else echo "${SMI_TAG} none"; fi`], inRuntime: false },
      { argv: [p.python, posix.join(p.workloadsDir, 'node-check/node_check.py')] },
    ],
  };
}

const Report = z.object({
  host: z.string(),
  python: z.string(),
  cuda_visible_devices: z.string().nullable(),
  torch: z.string().optional(),
  cuda_available: z.boolean().optional(),
  cuda_device_count: z.number().optional(),
  train: z.object({ device: z.string(), first_loss: z.number(), last_loss: z.number(), seconds: z.number() }).optional(),
  error: z.string().optional(),
});

export type NodeOutcome = 'pass' | 'fail' | 'skip';

export interface NodeVerdict {
  node: string;
  outcome: NodeOutcome;
  /** One line: what passed, or each problem. */
  reason: string;
  jobId?: string;
}

const lastLines = (out: string, n = 3) =>
  out
    .split('\n')
    .filter((l) => l.trim() && !/^MLV_/.test(l))
    .slice(-n)
    .join(' | ')
    .slice(0, 300);

/** The verdict on one node's check job, from its final state and output. */
export function nodeVerdict(node: string, job: { id: string; state: string; output: string }, p: Pick<NodeCheckParams, 'gpusPerNode' | 'gpuKind'>): NodeVerdict {
  const problems: string[] = [];
  const raw = taggedJson(job.output, NODE_CHECK_TAG).at(-1);
  const parsed = Report.safeParse(raw);
  const r = parsed.success ? parsed.data : undefined;
  if (!r) problems.push(`the runtime's Python did not report (job ${job.state}): ${lastLines(job.output) || 'no output'}`);
  else {
    if (r.host !== node) problems.push(`ran on ${r.host}, not on ${node}`);
    const devices = (r.cuda_visible_devices ?? '').split(',').filter(Boolean);
    if (p.gpusPerNode && devices.length !== p.gpusPerNode) problems.push(`CUDA_VISIBLE_DEVICES=${r.cuda_visible_devices ?? 'unset'}: ${devices.length} GPU(s) where ${p.gpusPerNode} were allocated`);
    if (r.error) problems.push(`torch failed: ${r.error}`);
    if (p.gpuKind === 'nvidia' && r.torch && (!r.cuda_available || r.cuda_device_count !== p.gpusPerNode))
      problems.push(`torch sees ${r.cuda_device_count ?? 0} CUDA device(s) where ${p.gpusPerNode} were allocated`);
    if (r.train && !(r.train.last_loss < r.train.first_loss)) problems.push(`the training step did not learn: loss ${r.train.first_loss} → ${r.train.last_loss}`);
  }
  const smi = new RegExp(`^${SMI_TAG} (\\S+)`, 'm').exec(job.output)?.[1];
  if (p.gpuKind === 'nvidia' && smi !== undefined && smi !== 'none' && Number(smi) !== p.gpusPerNode) problems.push(`nvidia-smi lists ${smi} GPU(s) where ${p.gpusPerNode} were allocated`);
  if (problems.length === 0 && job.state !== 'COMPLETED') problems.push(`the job ended ${job.state}`);
  if (problems.length) return { node, outcome: 'fail', reason: problems.join('; '), jobId: job.id };
  const what = [
    `${r!.cuda_visible_devices ? `GPUs ${r!.cuda_visible_devices}` : 'no GPUs asked'}`,
    `Python ${r!.python}`,
    `torch ${r!.torch}`,
    `training step on ${r!.train!.device} (loss ${r!.train!.first_loss.toFixed(3)} → ${r!.train!.last_loss.toFixed(3)})`,
  ];
  if (smi && smi !== 'none') what.push(`nvidia-smi: ${smi} GPU(s)`);
  return { node, outcome: 'pass', reason: what.join(', '), jobId: job.id };
}

/** Nodes the sweep does not run on: not idle (allocated to others, drained, down), named with SLURM's reason. */
export function notIdle(nodes: readonly NodeReason[]): NodeVerdict[] {
  return nodes
    .filter((n) => n.state !== 'idle')
    .map((n) => ({
      node: n.node,
      // Busy with other jobs is no fault of the node; drained, down or invalid is.
      outcome: /drain|down|fail|inval|\*/i.test(n.state) ? 'fail' : 'skip',
      reason: `not idle: ${n.state}${n.reason && n.reason !== 'none' ? ` (reason: "${n.reason}")` : ''}`,
    }));
}
