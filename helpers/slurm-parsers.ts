/**
 * Parsers for SLURM command output. Each matches one exact output format that the
 * harness requests (see the FORMAT constants), and is tested on recorded real output.
 */

export const SQUEUE_FORMAT = '%i|%j|%T|%r|%N|%k';
export const SACCT_FIELDS = ['JobID', 'JobName', 'State', 'ExitCode', 'Elapsed', 'AllocTRES', 'NodeList', 'Comment'] as const;
export const SINFO_NODE_FORMAT = '%N|%P|%T|%c|%m|%G';

/** Job states in which a job can still change. */
export const ACTIVE_STATES = new Set([
  'PENDING',
  'CONFIGURING',
  'RUNNING',
  'COMPLETING',
  'SUSPENDED',
  'REQUEUED',
  'RESIZING',
  'SIGNALING',
  'STAGE_OUT',
  'STOPPED',
  'RESV_DEL_HOLD',
  'REQUEUE_FED',
  'REQUEUE_HOLD',
  'SPECIAL_EXIT',
]);

export interface SqueueRow {
  jobId: string;
  name: string;
  state: string;
  reason: string;
  nodes: string[];
  comment: string;
}

/**
 * `scontrol --local show job -o <id>`: one line of Key=Value pairs per job (one slurmctld RPC,
 * where squeue asks two for an active job). Only the fields the poller reads; a value never
 * holds a space in these fields.
 */
export function parseScontrolJobs(text: string): Pick<SqueueRow, 'jobId' | 'state' | 'reason' | 'nodes'>[] {
  const field = (line: string, key: string) => new RegExp(`(?:^|\\s)${key}=(\\S*)`).exec(line)?.[1];
  return lines(text).map((line) => {
    const jobId = field(line, 'JobId');
    const state = field(line, 'JobState');
    if (!jobId || !state) throw new Error(`unexpected scontrol show job line: ${line.slice(0, 200)}`);
    const reason = field(line, 'Reason') ?? '';
    const nodes = field(line, 'NodeList') ?? '';
    return { jobId, state, reason: reason === 'None' ? '' : reason, nodes: nodes === '(null)' ? [] : expandHostlist(nodes) };
  });
}

export function parseSqueue(text: string): SqueueRow[] {
  return lines(text).map((line) => {
    const f = line.split('|');
    if (f.length < 6) throw new Error(`unexpected squeue line (want ${SQUEUE_FORMAT}): ${line}`);
    const [jobId, name, state, reason, nodes, ...comment] = f;
    return { jobId: jobId!, name: name!, state: state!, reason: reason === 'None' ? '' : reason!, nodes: expandHostlist(nodes!), comment: comment.join('|') === '(null)' ? '' : comment.join('|') };
  });
}

interface Tres {
  cpu?: number;
  memMB?: number;
  nodes?: number;
  gpus?: number;
  raw: Record<string, string>;
}

/** Parses TRES strings such as `billing=2,cpu=2,gres/gpu=1,mem=1000M,node=1`. */
export function parseTres(s: string): Tres {
  const raw: Record<string, string> = {};
  for (const part of s.split(',').filter(Boolean)) {
    const i = part.indexOf('=');
    if (i > 0) raw[part.slice(0, i)] = part.slice(i + 1);
  }
  const gpuKey = Object.keys(raw).find((k) => k === 'gres/gpu');
  return {
    cpu: raw.cpu !== undefined ? Number(raw.cpu) : undefined,
    memMB: raw.mem !== undefined ? memToMB(raw.mem) : undefined,
    nodes: raw.node !== undefined ? Number(raw.node) : undefined,
    gpus: gpuKey ? Number(raw[gpuKey]) : undefined,
    raw,
  };
}

function memToMB(v: string): number {
  const m = /^([\d.]+)([KMGT]?)$/.exec(v);
  if (!m) return NaN;
  const n = Number(m[1]);
  return { '': 1, K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[m[2] as '' | 'K' | 'M' | 'G' | 'T'] * n;
}

/** `[D-]HH:MM:SS`, `MM:SS` or `MM:SS.mmm` to seconds. */
export function parseElapsed(s: string): number {
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$/.exec(s.trim());
  if (!m) throw new Error(`unexpected elapsed time: ${s}`);
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}

export interface SacctRow {
  jobId: string;
  /** The step part of the id (`batch`, `extern`, `0`), or undefined for the allocation itself. */
  step?: string;
  name: string;
  /** The state word (e.g. CANCELLED from "CANCELLED by 1000"). */
  state: string;
  stateDetail: string;
  exitCode: number;
  signal: number;
  elapsedSeconds: number;
  tres: Tres;
  nodes: string[];
  comment: string;
}

export function parseSacct(text: string): SacctRow[] {
  return lines(text).map((line) => {
    const f = line.split('|');
    if (f.length < SACCT_FIELDS.length) throw new Error(`unexpected sacct line (want ${SACCT_FIELDS.join('|')}): ${line}`);
    const [id, name, state, exit, elapsed, tres, nodes, ...comment] = f;
    const [jobId, step] = id!.split('.', 2) as [string, string | undefined];
    const [code, signal] = exit!.split(':').map(Number);
    return {
      jobId,
      step,
      name: name!,
      state: state!.split(' ')[0]!.replace(/\+$/, ''),
      stateDetail: state!,
      exitCode: code ?? NaN,
      signal: signal ?? 0,
      elapsedSeconds: parseElapsed(elapsed!),
      tres: parseTres(tres!),
      nodes: expandHostlist(nodes!),
      comment: comment.join('|'),
    };
  });
}

export interface SinfoNode {
  node: string;
  partition: string;
  /** e.g. idle, mixed, allocated, drained; a trailing `*` (not responding) is kept in `flags`. */
  state: string;
  flags: string;
  cpus: number;
  memoryMB: number;
  gres: Record<string, number>;
  /** SLURM's reason for a drained, down or invalid node (from a second sinfo; see node-health.ts). */
  reason?: string;
}

/** Parses `sinfo -N -h -o '%N|%P|%T|%c|%m|%G'`. */
export function parseSinfoNodes(text: string): SinfoNode[] {
  return lines(text).map((line) => {
    const f = line.split('|');
    if (f.length < 6) throw new Error(`unexpected sinfo line (want ${SINFO_NODE_FORMAT}): ${line}`);
    const [node, partition, state, cpus, mem, gres] = f as [string, string, string, string, string, string];
    const m = /^([a-z_]+)([*~#!%$@^-]*)$/i.exec(state);
    return {
      node,
      partition: partition.replace(/\*$/, ''),
      state: m ? m[1]!.toLowerCase() : state.toLowerCase(),
      flags: m ? m[2]! : '',
      cpus: Number(cpus),
      memoryMB: Number(mem),
      gres: parseGres(gres),
    };
  });
}

/** `gpu:4`, `gpu:a100:4(S:0-1)`, `gpu:2,shard:8` → { gpu: 4, shard: 8 }. `(null)` → {}. */
export function parseGres(s: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (!s || s === '(null)') return out;
  for (const part of s.split(/,(?![^()]*\))/)) {
    const clean = part.replace(/\(.*\)$/, '');
    const fields = clean.split(':');
    const name = fields[0]!;
    const count = Number(fields[fields.length - 1]);
    out[name] = (out[name] ?? 0) + (Number.isFinite(count) && fields.length > 1 ? count : 1);
  }
  return out;
}

/** Expands SLURM hostlists: `node[1-3,5],login1` → [node1, node2, node3, node5, login1]. */
export function expandHostlist(s: string): string[] {
  if (!s || s === 'None assigned' || s === '(null)') return [];
  const out: string[] = [];
  // Split on commas outside brackets, then expand bracket groups left to right.
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    if (c === '[') depth++;
    if (c === ']') depth--;
    cur += c;
  }
  parts.push(cur);
  const expand = (name: string): string[] => {
    const m = /^([^[]*)\[([^\]]+)\](.*)$/.exec(name);
    if (!m) return [name];
    const heads: string[] = [];
    for (const range of m[2]!.split(',')) {
      const [a, b] = range.split('-');
      if (b === undefined) heads.push(`${m[1]}${a}`);
      else for (let i = Number(a); i <= Number(b); i++) heads.push(`${m[1]}${String(i).padStart(a!.length, '0')}`);
    }
    return heads.flatMap((h) => expand(m[3]!).map((tail) => h + tail));
  };
  for (const p of parts.filter(Boolean)) out.push(...expand(p));
  return out;
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
}

/** `sinfo -h -N -o` format of node states and their reasons: name, long state, reason, reason time. */
export const SINFO_REASON_FORMAT = '%N|%T|%E|%H';

export interface NodeReason {
  node: string;
  /** e.g. `down*`, `drained`, `idle`. */
  state: string;
  /** The administrator's or slurmctld's reason (`none` when there is none). */
  reason: string;
  since: string;
}

export function parseSinfoReasons(text: string): NodeReason[] {
  return lines(text).map((line) => {
    const [node, state, reason, since] = line.split('|');
    if (since === undefined) throw new Error(`unexpected sinfo line (want ${SINFO_REASON_FORMAT}): ${line}`);
    return { node: node!, state: state!, reason: reason!, since: since! };
  });
}

/** The preflight's one `sinfo -N -h -o`: the node fields, then the reason's time and the reason (last: it is free text). */
export const SINFO_PROBE_FORMAT = `${SINFO_NODE_FORMAT}|%H|%E`;

/** Nodes and SLURM's reasons from one `sinfo -N -h -o SINFO_PROBE_FORMAT`: one node-info and one partition-info RPC, not two of each. */
export function parseSinfoProbe(text: string): { nodes: SinfoNode[]; reasons: NodeReason[] } {
  const rows = lines(text).map((line) => {
    const f = line.split('|');
    if (f.length < 8) throw new Error(`unexpected sinfo line (want ${SINFO_PROBE_FORMAT}): ${line}`);
    return f;
  });
  return {
    nodes: parseSinfoNodes(rows.map((f) => f.slice(0, 6).join('|')).join('\n')),
    reasons: rows.map((f) => ({ node: f[0]!, state: f[2]!, reason: f.slice(7).join('|'), since: f[6]! })),
  };
}

/** A node state in which nothing starts until an administrator or the node itself acts. */
export const UNAVAILABLE_NODE = /^(down|drain|drained|draining|fail|failing|maint|inval|future|unknown|power_down|powered_down|powering_down|reboot_issued|reboot_requested)/i;

/** `sacct --duplicates -X` fields: every run of a job, the requeued ones too. */
export const SACCT_RUN_FIELDS = ['JobID', 'State', 'NodeList', 'Start', 'End'] as const;

export interface JobRun {
  jobId: string;
  state: string;
  nodes: string[];
  start: string;
  end: string;
}

export function parseSacctRuns(text: string): JobRun[] {
  return lines(text).map((line) => {
    const [jobId, state, nodes, start, end] = line.split('|');
    if (end === undefined) throw new Error(`unexpected sacct line (want ${SACCT_RUN_FIELDS.join('|')}): ${line}`);
    return { jobId: jobId!, state: state!.split(' ')[0]!.replace(/\+$/, ''), nodes: expandHostlist(nodes!), start: start!, end: end! };
  });
}

/** The daemon a SLURM client command talks to. */
export function daemonOf(command: string): 'slurmctld' | 'slurmdbd' {
  return command === 'sacct' || command === 'sacctmgr' ? 'slurmdbd' : 'slurmctld';
}

/** SLURM's own message from a failed client call, on one line (`sacct: error: ` prefixes kept once). */
export function slurmMessage(stderr: string, stdout = ''): string {
  const text = (stderr.trim() || stdout.trim() || 'no output').split('\n').map((l) => l.trim());
  return text.filter(Boolean).join('; ').slice(0, 400);
}

/** squeue's answer for a job id the controller no longer (or never) knew: not a failure. */
export const UNKNOWN_JOB = /Invalid job id specified/;

/** `scontrol ping`: `Slurmctld(primary) at vm is UP`, one line per controller. */
export function parsePing(text: string): { role: string; host: string; up: boolean }[] {
  return lines(text).flatMap((l) => {
    const m = /^Slurmctld\((\w+)\) at (\S+) is (UP|DOWN)/.exec(l.trim());
    return m ? [{ role: m[1]!, host: m[2]!, up: m[3] === 'UP' }] : [];
  });
}

/**
 * What a PENDING reason means for a wait: `queue` the cluster is busy (wait on), `stuck` it
 * cannot clear by itself (cancel and report), `nodes` stuck if the named nodes are really
 * down or drained (ask sinfo), `other` anything else (reported at the deadline).
 * Reason names: src/common/slurm_protocol_defs.c job_state_reason_string(); the
 * `ReqNodeNotAvail, …` texts: src/slurmctld/node_scheduler.c.
 */
export function pendingKind(reason: string): { kind: 'queue' | 'stuck' | 'other' } | { kind: 'nodes'; nodes: string[] } {
  const unavailable = /^ReqNodeNotAvail, UnavailableNodes:(\S+)$/.exec(reason);
  if (unavailable) return { kind: 'nodes', nodes: expandHostlist(unavailable[1]!) };
  if (/^(PartitionDown|PartitionInactive|BadConstraints|NodeDown|DependencyNeverSatisfied|InvalidAccount|InvalidQOS)$/.test(reason)) return { kind: 'stuck' };
  if (QUEUE_WAIT_REASONS.test(reason)) return { kind: 'queue' };
  return { kind: 'other' };
}

/** Pending reasons that mean "the cluster is busy", not "the request is broken". */
const QUEUE_WAIT_REASONS =
  /^(Priority|Resources|QOS\w*Limit|AssocGrp\w*|AssocMax\w*|BeginTime|Dependency|JobHeldUser|ReqNodeNotAvail, Reserved for maintenance|ReqNodeNotAvail, May be reserved for other job|Reservation|Prolog|Licenses|None|)$/;
