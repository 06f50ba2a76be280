/**
 * One poller per connection: every job a worker waits on shares one squeue call per tick,
 * backing off from the min to the max poll interval while nothing changes. A job seen RUNNING
 * is then asked about only every RUNNING_FALLBACK_MS: its end comes from the end marker its
 * script writes to its output file (sbatch.ts), read on the login node by a waiter that costs
 * the daemons nothing; the marker makes the next tick ask the scheduler for the final state.
 * squeue runs with --local (no federation lookup): one slurmctld RPC for one job. A failed call is
 * not swallowed: a streak of failures (FAILURE_LIMIT) is reported to every watcher as a
 * fault naming the daemon and SLURM's own message. After a failed squeue the next probe is
 * `scontrol ping`, which answers at once where squeue spends ~18 s retrying a dead controller.
 */
import { daemonOf, parsePing, parseSacct, parseSqueue, SACCT_FIELDS, slurmMessage, SQUEUE_FORMAT, UNKNOWN_JOB, type SacctRow } from '../helpers/slurm-parsers.ts';
import { ConnectionLostError } from '../helpers/errors.ts';
import { MARKERS } from '../helpers/job-output.ts';
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
/** How often a RUNNING job with an output file is still asked about: for a job that dies without writing its end marker. */
export const RUNNING_FALLBACK_MS = 10_000;
export interface MarkerTiming {
  /** Seconds one round of the end-marker waiter lasts before it starts again with the jobs running then. */
  roundS: number;
  /** How often a RUNNING job whose markers are read is still asked about. */
  fallbackMs: number;
}
export const MARKER_TIMING: MarkerTiming = { roundS: 3, fallbackMs: RUNNING_FALLBACK_MS };
/** Prints each file whose tail holds the end marker ("?file" for one that is not there), once one does, or nothing after $1 seconds. */
const MARKER_WAITER = `n=$1; shift; i=0
while [ "$i" -lt $((n * 5)) ]; do
  hit=0
  for f in "$@"; do
    if [ ! -e "$f" ]; then [ "$i" = 5 ] && { echo "?$f"; hit=1; }
    elif tail -c 1024 "$f" | grep -q '^${MARKERS.end} '; then echo "$f"; hit=1; fi
  done
  [ "$hit" = 1 ] && exit 0
  sleep 0.2; i=$((i + 1))
done`;

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
  /** Where the job's script writes its markers; without it the job is polled at every tick. */
  outputPath?: string;
  /** The end marker is there: the next tick asks the scheduler. */
  ended?: boolean;
  /** Its output file is not visible from the login node (1 s after RUNNING): polled at every tick. */
  unseen?: boolean;
  listeners: Set<(e: PollEvent) => void>;
}

export class JobPoller {
  private watched = new Map<string, Watched>();
  private timer?: NodeJS.Timeout;
  private interval: number;
  private failures: CallFailure[] = [];
  private streakStart = 0;
  private markerRound?: Promise<void>;
  /** A waiter round failed on this connection (no sh, a timeout): RUNNING jobs are polled at every tick. */
  private markersBroken = false;
  private markerTimer?: NodeJS.Timeout;
  private stopped = false;
  /** Waiter rounds run and end markers seen (the bench reads them). */
  readonly markerStats = { rounds: 0, ends: 0 };

  constructor(
    private readonly conn: RemoteShell,
    private readonly minIntervalMs: number,
    private readonly maxIntervalMs: number,
    readonly limit: FailureLimit = FAILURE_LIMIT,
    private readonly markers: MarkerTiming = MARKER_TIMING,
  ) {
    this.interval = minIntervalMs;
  }

  watch(jobId: string, listener: (e: PollEvent) => void, outputPath?: string): () => void {
    let w = this.watched.get(jobId);
    if (!w) this.watched.set(jobId, (w = { listeners: new Set(), outputPath }));
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

  /** A RUNNING job that writes markers is asked about only at the fallback interval, or once its end marker is there. */
  private due(w: Watched, now: number): boolean {
    if (this.markersBroken || !w.outputPath || w.ended || w.unseen || w.last?.state !== 'RUNNING') return true;
    return now - (w.seenAt ?? 0) >= Math.max(this.maxIntervalMs, this.markers.fallbackMs);
  }

  private async tick() {
    this.timer = undefined;
    if (!this.watched.size) return;
    const started = Date.now();
    const ids = [...this.watched].filter(([, w]) => this.due(w, started)).map(([id]) => id);
    let changed = false;
    try {
      // While the controller fails, ask it the cheap question first: squeue would spend ~18 s retrying.
      if (this.failures.at(-1)?.daemon === 'slurmctld') await this.ping();
      if (ids.length) changed = await this.poll(ids);
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
    this.watchMarkers();
  }

  /** One waiter round at a time over the output files of the RUNNING jobs; a round that fails leaves the fallback polls. */
  private watchMarkers() {
    if (this.markerRound || this.stopped) return;
    const running = [...this.watched.values()].filter((w) => w.outputPath && !w.ended && !w.unseen && w.last?.state === 'RUNNING');
    if (!running.length) return;
    const files = [...new Set(running.map((w) => w.outputPath!))];
    this.markerStats.rounds++;
    const began = Date.now();
    let hit = false;
    this.markerRound = this.conn
      .exec(['sh', '-c', MARKER_WAITER, 'mlv-marker-waiter', this.markers.roundS, ...files], { timeoutMs: (this.markers.roundS + 20) * 1000 })
      .then((r) => {
        if (r.code !== 0) {
          this.markersBroken = true;
          return;
        }
        const lines = new Set(r.stdout.split('\n').filter(Boolean));
        for (const w of this.watched.values()) {
          if (!w.outputPath || w.ended) continue;
          if (lines.has(`?${w.outputPath}`)) w.unseen = true;
          else if (lines.has(w.outputPath)) {
            w.ended = true;
            this.markerStats.ends++;
          } else continue;
          hit = true;
        }
        if (hit) this.pollSoon();
      })
      .catch(() => {
        this.markersBroken = true;
      })
      .finally(() => {
        // A round that failed or returned at once (no sh, no shared file) waits before the next one.
        const again = hit || Date.now() - began >= this.markers.roundS * 500 ? 0 : this.markers.roundS * 1000;
        this.markerTimer = setTimeout(() => {
          this.markerRound = undefined;
          this.watchMarkers();
        }, again);
        this.markerTimer.unref?.();
      });
  }

  /** The end marker is written just before the script exits: ask a moment later, when SLURM has seen it end. */
  private pollSoon() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.interval = Math.min(this.minIntervalMs, 500);
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
    // --local: no federation lookup (one RPC fewer); --me with several ids: only this user's jobs come back, not the whole queue.
    const out = await slurmCall(this.conn, ['squeue', '--local', '-h', '--states=all', ...(ids.length > 1 ? ['--me'] : []), '-j', ids.join(','), '-o', SQUEUE_FORMAT], (err) => UNKNOWN_JOB.test(err));
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
    this.stopped = true;
    clearTimeout(this.markerTimer);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }
}
