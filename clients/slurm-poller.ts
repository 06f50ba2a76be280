/**
 * One poller per connection: every job a worker waits on shares one squeue call per tick,
 * backing off from the min to the max poll interval while nothing changes. A failed call is
 * not swallowed: a streak of failures (FAILURE_LIMIT) is reported to every watcher as a
 * fault naming the daemon and SLURM's own message. After a failed squeue the next probe is
 * `scontrol ping`, which answers at once where squeue spends ~18 s retrying a dead controller.
 */
import { daemonOf, parsePing, parseSacct, parseSqueue, SACCT_FIELDS, slurmMessage, SQUEUE_FORMAT, UNKNOWN_JOB, type SacctRow } from '../helpers/slurm-parsers.ts';
import { ConnectionLostError } from '../helpers/errors.ts';
import type { RemoteShell } from './ssh.ts';

export interface JobState {
  state: string;
  reason: string;
  nodes: string[];
  /** When this state was first seen. */
  at: number;
}

/** One failed call to a SLURM daemon. */
export interface CallFailure {
  daemon: 'slurmctld' | 'slurmdbd';
  command: string;
  message: string;
  at: number;
}

export interface PollFault {
  daemon: CallFailure['daemon'];
  /** e.g. "3 calls failed over 19 s (squeue: …; scontrol ping: …)". */
  summary: string;
}

export type PollEvent = { kind: 'state'; state: JobState } | { kind: 'fault'; fault: PollFault } | { kind: 'lost'; error: ConnectionLostError };

export interface FailureLimit {
  calls: number;
  spanMs: number;
}
/** A fault after this many consecutive failed calls, the first at least `spanMs` ago. */
export const FAILURE_LIMIT: FailureLimit = { calls: 3, spanMs: 10_000 };
/** Each poll call gets this long: a hung controller is a failed call, not a stuck wait. */
export const CALL_TIMEOUT_MS = 20_000;

class CallError extends Error {
  constructor(readonly failure: CallFailure) {
    super(`${failure.command}: ${failure.message}`);
  }
}

/** Run a SLURM client command; a non-zero exit (other than `ok`) or no answer is a CallError. */
export async function slurmCall(conn: RemoteShell, argv: string[], ok: (stderr: string) => boolean = () => false, timeoutMs = CALL_TIMEOUT_MS): Promise<string> {
  const command = argv[0]!;
  const fail = (message: string) => new CallError({ daemon: daemonOf(command), command: argv.slice(0, command === 'scontrol' ? 2 : 1).join(' '), message, at: Date.now() });
  let r;
  try {
    r = await conn.exec(argv, { timeoutMs });
  } catch (e) {
    if (e instanceof ConnectionLostError) throw e; // not the daemon's fault
    throw fail(/timed out/.test((e as Error).message) ? `no answer within ${timeoutMs / 1000} s` : (e as Error).message.replace(/^INFRA: /, ''));
  }
  if (r.code !== 0 && !ok(r.stderr)) throw fail(slurmMessage(r.stderr, r.stdout));
  return r.stdout;
}

export const failureOf = (e: unknown): CallFailure | undefined => (e instanceof CallError ? e.failure : undefined);

export async function sacct(conn: RemoteShell, ids: string[]): Promise<SacctRow[]> {
  return parseSacct(await slurmCall(conn, ['sacct', '-j', ids.join(','), '--parsable2', '--noheader', '-o', SACCT_FIELDS.join(',')]));
}

interface Watched {
  last?: JobState;
  /** When a successful poll last listed the job. */
  seenAt?: number;
  listeners: Set<(e: PollEvent) => void>;
}

export class JobPoller {
  private watched = new Map<string, Watched>();
  private timer?: NodeJS.Timeout;
  private interval: number;
  private failures: CallFailure[] = [];
  private streakStart = 0;

  constructor(
    private readonly conn: RemoteShell,
    private readonly minIntervalMs: number,
    private readonly maxIntervalMs: number,
    readonly limit: FailureLimit = FAILURE_LIMIT,
  ) {
    this.interval = minIntervalMs;
  }

  watch(jobId: string, listener: (e: PollEvent) => void): () => void {
    let w = this.watched.get(jobId);
    if (!w) this.watched.set(jobId, (w = { listeners: new Set() }));
    w.listeners.add(listener);
    if (w.last) listener({ kind: 'state', state: w.last });
    this.interval = this.minIntervalMs;
    this.schedule();
    return () => {
      w!.listeners.delete(listener);
      if (!w!.listeners.size) this.watched.delete(jobId);
    };
  }

  /** The job's last observed state and when a poll last confirmed it. */
  sighting(jobId: string): { state: JobState; seenAt: number } | undefined {
    const w = this.watched.get(jobId);
    return w?.last && w.seenAt ? { state: w.last, seenAt: w.seenAt } : undefined;
  }

  /** The current streak of failed calls (empty after a successful poll). */
  get failing(): readonly CallFailure[] {
    return this.failures;
  }

  private schedule() {
    if (this.timer || !this.watched.size) return;
    this.timer = setTimeout(() => void this.tick(), this.interval);
  }

  private async tick() {
    this.timer = undefined;
    const ids = [...this.watched.keys()];
    if (!ids.length) return;
    const started = Date.now();
    let changed = false;
    try {
      // While the controller fails, ask it the cheap question first: squeue would spend ~18 s retrying.
      if (this.failures.at(-1)?.daemon === 'slurmctld') await this.ping();
      changed = await this.poll(ids);
      this.failures = [];
    } catch (e) {
      if (e instanceof ConnectionLostError) {
        for (const w of this.watched.values()) for (const l of w.listeners) l({ kind: 'lost', error: e });
        return; // no further polls: the connection will not come back
      }
      const f = failureOf(e) ?? { daemon: 'slurmctld', command: 'squeue', message: (e as Error).message, at: Date.now() };
      if (!this.failures.length) this.streakStart = started;
      this.failures.push(f);
      this.reportIfLimit();
    }
    const failing = this.failures.length > 0;
    this.interval = failing || changed ? this.minIntervalMs : Math.min(this.maxIntervalMs, Math.round(this.interval * 1.5));
    this.schedule();
  }

  /** Throws a CallError unless every controller answers `scontrol ping` with UP. */
  async ping() {
    const out = await slurmCall(this.conn, ['scontrol', 'ping']);
    const pings = parsePing(out);
    if (!pings.some((p) => p.up)) throw new CallError({ daemon: 'slurmctld', command: 'scontrol ping', message: out.trim() || 'no answer', at: Date.now() });
  }

  private reportIfLimit() {
    const span = Date.now() - this.streakStart;
    if (this.failures.length < this.limit.calls || span < this.limit.spanMs) return;
    const last = this.failures.at(-1)!;
    const shown = [...new Map(this.failures.map((f) => [`${f.command}: ${f.message}`, f])).keys()].slice(-3);
    const fault: PollFault = { daemon: last.daemon, summary: `${this.failures.length} calls failed over ${Math.round(span / 1000)} s (${shown.join('; ')})` };
    for (const w of this.watched.values()) for (const l of w.listeners) l({ kind: 'fault', fault });
  }

  private async poll(ids: string[]): Promise<boolean> {
    // One job id the controller has purged makes squeue exit 1 "Invalid job id specified": not a failure.
    const out = await slurmCall(this.conn, ['squeue', '-h', '--states=all', '-j', ids.join(','), '-o', SQUEUE_FORMAT], (err) => UNKNOWN_JOB.test(err));
    const rows = new Map(parseSqueue(out).map((row) => [row.jobId, { state: row.state, reason: row.reason, nodes: row.nodes }]));
    // Jobs gone from squeue (purged after MinJobAge) are finished: ask sacct once.
    const missing = ids.filter((id) => !rows.has(id));
    if (missing.length) for (const a of (await sacct(this.conn, missing)).filter((x) => !x.step)) rows.set(a.jobId, { state: a.state, reason: '', nodes: a.nodes });
    const now = Date.now();
    let changed = false;
    for (const id of ids) {
      const row = rows.get(id);
      const w = this.watched.get(id);
      if (!row || !w) continue;
      w.seenAt = now;
      if (w.last && w.last.state === row.state && w.last.reason === row.reason) continue;
      changed = true;
      w.last = { ...row, at: now };
      for (const l of w.listeners) l({ kind: 'state', state: w.last });
    }
    return changed;
  }

  stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }
}
