/**
 * Scheduler faults seen during a wait, as verdicts: a requeue or a NODE_FAIL/BOOT_FAIL names
 * the failed node(s) and SLURM's reason for them; a PENDING reason that cannot clear by
 * itself is reported as soon as it is clear; a dead daemon is INFRA naming it. No message
 * reports a state that was not observed: each carries the last state seen and when.
 */
import { utcClock as clock } from '../helpers/duration.ts';
import { InfraError, SchedulerFaultError } from '../helpers/errors.ts';
import { ACTIVE_STATES, parseSacctRuns, parseSinfoReasons, pendingKind, SACCT_RUN_FIELDS, SINFO_REASON_FORMAT, UNAVAILABLE_NODE, type NodeReason } from '../helpers/slurm-parsers.ts';
import { failureOf, slurmCall, type JobState, type PollFault } from './slurm-poller.ts';
import type { RemoteShell } from './ssh.ts';

const STARTED = new Set(['RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED', 'STOPPED', 'SIGNALING', 'STAGE_OUT']);
const NODE_FAILURES = new Set(['NODE_FAIL', 'BOOT_FAIL']);

export interface WaitedJob {
  id: string;
  name: string;
  history: readonly JobState[];
}

/** "RUNNING on node2", "PENDING (Resources)". */
export const describeState = (s: JobState) => `${s.state}${s.reason ? ` (${s.reason})` : ''}${s.nodes.length ? ` on ${s.nodes.join(',')}` : ''}`;

/** "last seen RUNNING on node2 at 01:52:10 UTC, 35 s ago", or that nothing was ever seen. */
export function lastSeen(s: JobState | undefined, seenAt: number | undefined, now = Date.now()): string {
  if (!s) return 'never seen in squeue or sacct';
  const t = seenAt ?? s.at;
  return `last seen ${describeState(s)} at ${clock(t)}, ${Math.round((now - t) / 1000)} s ago`;
}

const where = (job: WaitedJob) => `job ${job.id} (${job.name})`;

/** The INFRA error of a poll fault: the daemon, SLURM's messages, the last state seen. */
export function daemonFault(job: WaitedJob, f: PollFault, seen: string): InfraError {
  const fix = f.daemon === 'slurmctld' ? 'check the SLURM controller (systemctl status slurmctld; scontrol ping)' : 'check SLURM accounting (systemctl status slurmdbd; sacctmgr show cluster)';
  return new InfraError(
    `${f.daemon} (${f.daemon === 'slurmctld' ? 'the SLURM controller' : 'SLURM accounting'}) does not answer: ${f.summary}. Job ${job.id} (${job.name}) was ${seen}. Fix: ${fix}; the job stays in the ledger until it is confirmed gone.`,
  );
}

async function nodeReasons(conn: RemoteShell, nodes: string[]): Promise<NodeReason[]> {
  if (!nodes.length) return [];
  try {
    return parseSinfoReasons(await slurmCall(conn, ['sinfo', '-h', '-N', '-n', nodes.join(','), '-o', SINFO_REASON_FORMAT]));
  } catch {
    return [];
  }
}

const showNode = (n: NodeReason) => `${n.node} is ${n.state}${n.reason && n.reason !== 'none' ? ` (reason: "${n.reason}"${n.since && n.since !== 'Unknown' ? ` since ${n.since}` : ''})` : ''}`;

async function cancelled(conn: RemoteShell, id: string): Promise<string> {
  try {
    await slurmCall(conn, ['scancel', id]);
    return `Job ${id} was cancelled`;
  } catch (e) {
    return `cancelling it failed (${failureOf(e)?.message ?? (e as Error).message}); it stays in the ledger`;
  }
}

/** A requeue (started, then PENDING again), a REQUEUE* state, or NODE_FAIL/BOOT_FAIL. */
export function isNodeFailure(prev: JobState | undefined, s: JobState, history: readonly JobState[]): boolean {
  if (NODE_FAILURES.has(s.state) || s.state.startsWith('REQUEUE') || /requeue/i.test(s.reason)) return true;
  return s.state === 'PENDING' && (history.some((h) => STARTED.has(h.state)) || (prev !== undefined && STARTED.has(prev.state)));
}

async function nodeFailure(conn: RemoteShell, job: WaitedJob, s: JobState): Promise<SchedulerFaultError> {
  let runs: ReturnType<typeof parseSacctRuns> = [];
  try {
    runs = parseSacctRuns(await slurmCall(conn, ['sacct', '-j', job.id, '--duplicates', '-X', '--parsable2', '--noheader', '-o', SACCT_RUN_FIELDS.join(',')]));
  } catch {
    /* accounting down: fall back to what squeue showed */
  }
  const failedRun = runs.filter((r) => NODE_FAILURES.has(r.state) || r.state === 'REQUEUED' || r.state === 'PREEMPTED').at(-1);
  const ran = [...job.history].reverse().find((h) => h.state === 'RUNNING') ?? [...job.history].reverse().find((h) => STARTED.has(h.state));
  const nodes = failedRun?.nodes.length ? failedRun.nodes : s.nodes.length ? s.nodes : (ran?.nodes ?? []);
  const reasons = await nodeReasons(conn, nodes);
  const bad = reasons.filter((n) => UNAVAILABLE_NODE.test(n.state));
  const what = failedRun
    ? `sacct records ${failedRun.state} on ${failedRun.nodes.join(',') || '?'}${failedRun.end && failedRun.end !== 'Unknown' ? ` at ${failedRun.end}` : ''}`
    : `squeue shows ${describeState(s)}`;
  const story = ran && s.state === 'PENDING' ? `was requeued by SLURM (${describeState(ran)} at ${clock(ran.at)}, then ${describeState(s)} at ${clock(s.at)})` : `ended ${describeState(s)}`;
  const nodeText = bad.length ? bad.map(showNode).join('; ') : reasons.length ? reasons.map(showNode).join('; ') : `node(s) ${nodes.join(',') || '?'}`;
  const cancel = ACTIVE_STATES.has(s.state) ? ` ${await cancelled(conn, job.id)}.` : '';
  const nodeList = nodes.join(',') || '<node>';
  const [cause, fix] =
    failedRun?.state === 'PREEMPTED'
      ? ['The job was preempted', 'run it where it cannot be preempted (partition or QOS), or retry']
      : (failedRun && NODE_FAILURES.has(failedRun.state)) || NODE_FAILURES.has(s.state) || bad.length
        ? ['A node failed under the job: not a fault of the workload', `check the node (scontrol show node ${nodeList}) and resume it once healthy`]
        : ['SLURM requeued the job (scontrol requeue, or a failed prolog/launch)', `look for job ${job.id} in slurmctld's log and check scontrol show node ${nodeList}`];
  return new SchedulerFaultError('node-failure', job.id, nodes, `${where(job)} ${story}: ${what}; ${nodeText}.${cancel} ${cause}. Fix: ${fix}.`);
}

/** A PENDING job that cannot start until someone acts: cancelled, with the reason and node states. */
async function unrunnable(conn: RemoteShell, job: WaitedJob, s: JobState): Promise<SchedulerFaultError | undefined> {
  const k = pendingKind(s.reason);
  if (k.kind === 'queue' || k.kind === 'other') return undefined;
  let detail = '';
  let nodes: string[] = [];
  if (k.kind === 'nodes') {
    const bad = (await nodeReasons(conn, k.nodes)).filter((n) => UNAVAILABLE_NODE.test(n.state));
    // sinfo no longer shows them down or drained: the reason may clear; keep waiting.
    if (!bad.length) return undefined;
    nodes = bad.map((n) => n.node);
    detail = `: ${bad.map(showNode).join('; ')}`;
  }
  const cancel = await cancelled(conn, job.id);
  return new SchedulerFaultError(
    'unrunnable',
    job.id,
    nodes,
    `${where(job)} cannot start: PENDING (${s.reason})${detail}. This reason does not clear by itself. ${cancel}. Fix: an administrator resumes the node(s) or partition (scontrol update), or the request changes.`,
  );
}

/** The fault a new state reveals, if any (the job is cancelled first where it is still queued). */
export async function schedulerFault(conn: RemoteShell, job: WaitedJob, prev: JobState | undefined, s: JobState): Promise<SchedulerFaultError | undefined> {
  if (isNodeFailure(prev, s, job.history.slice(0, -1))) return nodeFailure(conn, job, s);
  if (s.state === 'PENDING') return unrunnable(conn, job, s);
  return undefined;
}

/** The error of a wait that reached its deadline, from what was really observed. */
export function deadlineError(job: WaitedJob, timeoutMs: number, last: JobState | undefined, seenAt: number | undefined, failing: string | undefined): Error {
  const after = `after ${Math.round(timeoutMs / 1000)} s`;
  const seen = lastSeen(last, seenAt);
  if (!last) {
    return new InfraError(
      `${where(job)}: no state observed ${after}: ${seen}${failing ? `; the last calls failed: ${failing}` : ''}. Fix: check that squeue and sacct on the login node list the job.`,
    );
  }
  if (last.state === 'PENDING') {
    const msg = `${where(job)} not started ${after} (${seen})`;
    return pendingKind(last.reason).kind === 'queue' ? new InfraError(`${msg}: the cluster is busy; not a product failure`) : new Error(`${msg}. The scheduler cannot place this request as asked.`);
  }
  return new Error(`${where(job)} not finished ${after} (${seen})`);
}
