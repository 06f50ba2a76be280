/**
 * The bench's arithmetic (scripts/bench.ts): SLURM's daemon statistics (`sdiag`,
 * `sacctmgr show stats`) read by message type and by user, the jobs' accounting turned into
 * overhead and queue wait, and the Markdown table. Pure: every input is text a command printed.
 */
import { median } from './calibrate.ts';

export interface RpcCounts {
  byType: Record<string, number>;
  byUser: Record<string, number>;
}

/** One "by message type" / "by user" section: `\tNAME   ( 1234) count:56 ...`. */
function section(text: string, title: RegExp): Record<string, number> {
  const out: Record<string, number> = {};
  const lines = text.split('\n');
  const start = lines.findIndex((l) => title.test(l));
  if (start < 0) return out;
  for (const line of lines.slice(start + 1)) {
    const m = /^\s+(\S+)\s+\(\s*\d+\)\s+count:(\d+)/.exec(line);
    if (!m) {
      if (line.trim()) break;
      continue;
    }
    out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  }
  return out;
}

/** The RPC counts of `sdiag` or `sacctmgr show stats` (both print the same two sections). */
export function parseRpcStats(text: string): RpcCounts {
  return { byType: section(text, /statistics by message type/i), byUser: section(text, /statistics by user/i) };
}

/** after − before, per key (a key missing before counts from 0; sdiag was reset, sacctmgr was not). */
export function rpcDelta(after: RpcCounts, before: RpcCounts = { byType: {}, byUser: {} }): RpcCounts {
  const diff = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(a)
        .map(([k, v]) => [k, v - (b[k] ?? 0)] as const)
        .filter(([, v]) => v > 0),
    );
  return { byType: diff(after.byType, before.byType), byUser: diff(after.byUser, before.byUser) };
}

export interface BenchJob {
  id: string;
  name: string;
  state: string;
  /** Epoch seconds. */
  submit: number;
  start: number;
  end: number;
  elapsed: number;
}

/** `sacct -X -n -P -o JobID,JobName,State,Submit,Start,End,ElapsedRaw` with SLURM_TIME_FORMAT=%s: the jobs whose name starts with `prefix`. */
export function parseBenchJobs(text: string, prefix: string): BenchJob[] {
  const epoch = (s: string) => (/^\d+$/.test(s) ? Number(s) : NaN);
  return text
    .split('\n')
    .map((l) => l.split('|'))
    .filter((f) => f.length >= 7 && f[1]!.startsWith(prefix))
    .map(([id, name, state, submit, start, end, elapsed]) => ({
      id: id!,
      name: name!,
      state: state!.split(' ')[0]!,
      submit: epoch(submit!),
      start: epoch(start!),
      end: epoch(end!),
      elapsed: Number(elapsed),
    }));
}

/** The length of the union of the jobs' [start, end] intervals: what no harness can remove. */
export function criticalPath(jobs: readonly BenchJob[]): number {
  const spans = jobs.map((j) => [j.start, j.end] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur: [number, number] | undefined;
  for (const [s, e] of spans) {
    if (cur && s <= cur[1]) cur[1] = Math.max(cur[1], e);
    else {
      if (cur) total += cur[1] - cur[0];
      cur = [s, e];
    }
  }
  return cur ? total + cur[1] - cur[0] : 0;
}

export interface PhaseResult {
  way: 'suite' | 'baseline';
  wallSeconds: number;
  jobs: BenchJob[];
  ctld: RpcCounts;
  dbd: RpcCounts;
  sshConnections: number;
  /** Playwright workers (0 for the baseline): each may hold one SSH connection. */
  workers: number;
  /** The user the jobs ran as: the RPCs counted are this user's. */
  user: string;
}

export interface PhaseSummary {
  way: PhaseResult['way'];
  jobs: number;
  wallSeconds: number;
  sumElapsed: number;
  criticalPath: number;
  /** (wall − Σ Elapsed) / jobs: the measure. */
  overheadPerJob: number;
  /** wall − critical path. */
  overhead: number;
  queueWaitMax: number;
  ctldPerJob: number;
  dbdPerJob: number;
  sshConnections: number;
  workers: number;
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

export function summarise(p: PhaseResult): PhaseSummary {
  const n = Math.max(1, p.jobs.length);
  const sumElapsed = p.jobs.reduce((s, j) => s + j.elapsed, 0);
  const path = criticalPath(p.jobs);
  return {
    way: p.way,
    jobs: p.jobs.length,
    wallSeconds: round(p.wallSeconds),
    sumElapsed,
    criticalPath: path,
    overheadPerJob: round((p.wallSeconds - sumElapsed) / n),
    overhead: round(p.wallSeconds - path),
    queueWaitMax: Math.max(0, ...p.jobs.map((j) => j.start - j.submit)),
    ctldPerJob: round((p.ctld.byUser[p.user] ?? 0) / n, 1),
    dbdPerJob: round((p.dbd.byUser[p.user] ?? 0) / n, 1),
    sshConnections: p.sshConnections,
    workers: p.workers,
  };
}

/** The targets of the performance issue, checked against one suite summary. */
export function targetChecks(s: PhaseSummary): { measure: string; target: string; value: string; met: boolean }[] {
  return [
    { measure: 'overhead per job (wall − Σ Elapsed)', target: '≤ 0.7 s', value: `${s.overheadPerJob} s`, met: s.overheadPerJob <= 0.7 },
    { measure: 'slurmctld RPCs per job', target: '≤ 4', value: String(s.ctldPerJob), met: s.ctldPerJob <= 4 },
    { measure: 'slurmctld + slurmdbd RPCs per job', target: '≤ 12', value: String(round(s.ctldPerJob + s.dbdPerJob, 1)), met: s.ctldPerJob + s.dbdPerJob <= 12 },
    { measure: 'SSH connections per Playwright worker', target: '1', value: `${s.sshConnections} for ${s.workers} worker(s)`, met: s.sshConnections <= s.workers },
  ];
}

/** The Markdown table: one column per way, medians over the runs, then the targets. */
export function benchTable(runs: { suite: PhaseSummary; baseline?: PhaseSummary }[]): string {
  const rows: [string, (s: PhaseSummary) => number][] = [
    ['jobs', (s) => s.jobs],
    ['wall (s)', (s) => s.wallSeconds],
    ['Σ sacct Elapsed (s)', (s) => s.sumElapsed],
    ['critical path (s)', (s) => s.criticalPath],
    ['overhead per job = (wall − Σ Elapsed) / jobs (s)', (s) => s.overheadPerJob],
    ['overhead = wall − critical path (s)', (s) => s.overhead],
    ['longest queue wait, Start − Submit (s)', (s) => s.queueWaitMax],
    ['slurmctld RPCs per job (job user, sdiag)', (s) => s.ctldPerJob],
    ['slurmdbd RPCs per job (job user, sacctmgr show stats)', (s) => s.dbdPerJob],
    ['SSH connections opened', (s) => s.sshConnections],
    ['Playwright workers', (s) => s.workers],
  ];
  const base = runs.flatMap((r) => (r.baseline ? [r.baseline] : []));
  const head = `| measure (median of ${runs.length} run${runs.length > 1 ? 's' : ''}) | suite | naive sbatch --wait |\n|---|---|---|`;
  const body = rows.map(([label, f]) => `| ${label} | ${round(median(runs.map((r) => f(r.suite))))} | ${base.length ? round(median(base.map(f))) : '–'} |`);
  const med: PhaseSummary = { ...runs[0]!.suite };
  for (const k of ['overheadPerJob', 'ctldPerJob', 'dbdPerJob', 'sshConnections', 'workers'] as const) med[k] = round(median(runs.map((r) => r.suite[k])));
  const targets = targetChecks(med).map((t) => `| ${t.measure} | ${t.target} | ${t.value} | ${t.met ? 'met' : 'missed'} |`);
  return [head, ...body, '', '| target (suite, median) | target | measured | |', '|---|---|---|---|', ...targets].join('\n');
}
