/**
 * One poller per connection: every job a worker waits on shares one squeue call per tick,
 * backing off from the min to the max poll interval while nothing changes. A job seen RUNNING
 * is then asked about only after RUNNING_FALLBACK_MS, then at doubling gaps up to
 * RUNNING_FALLBACK_MAX_MS (10, 30, 70, 130 s…): its end comes from the end marker its
 * script writes to its output file (sbatch.ts), read on the login node by a waiter that costs
 * the daemons nothing; the marker makes the next tick ask the scheduler for the final state.
 * squeue runs with --local (no federation lookup): one slurmctld RPC for one job. A failed call is
 * not swallowed: a streak of failures (FAILURE_LIMIT) is reported to every watcher as a
 * fault naming the daemon and SLURM's own message. After a failed squeue the next probe is
 * `scontrol ping`, which answers at once where squeue spends ~18 s retrying a dead controller.
 */
import { daemonOf, expandHostlist, parsePing, parseSacct, parseScontrolJobs, parseSqueue, SACCT_FIELDS, slurmMessage, SQUEUE_FORMAT, UNKNOWN_JOB, type SacctRow } from '../helpers/slurm-parsers.ts';
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
/** The longest gap between those questions: a job killed with its node is found within this of SLURM's verdict. */
export const RUNNING_FALLBACK_MAX_MS = 60_000;
export interface MarkerTiming {
  /** Seconds one round of the marker waiter lasts before it starts again with the jobs watched then. */
  roundS: number;
  /** How often a RUNNING job whose markers are read is still asked about: first after this, then at doubling gaps. */
  fallbackMs: number;
  /** The cap of those gaps; default RUNNING_FALLBACK_MAX_MS (never under fallbackMs). */
  fallbackMaxMs?: number;
  /** A new job is first asked about after this long: a job that starts at once says so by its start marker. */
  firstPollMs: number;
}
export const MARKER_TIMING: MarkerTiming = { roundS: 3, fallbackMs: RUNNING_FALLBACK_MS, firstPollMs: 2000 };
/**
 * The marker waiter, run on the login node. Arguments: the round's seconds, then `S:<file>` (wait
 * for the start: prints `S <file> <SLURM_JOB_NODELIST>`, and `E <file>` too if it has also ended)
 * or `E:<file>` (wait for the end: prints `E <file>`, or `? <file>` when the file is not there).
 * It returns once something was printed, or after the round.
 */
export const MARKER_WAITER = `n=$1; shift; i=0
while [ "$i" -lt $((n * 5)) ]; do
  hit=0
  for a in "$@"; do
    f=\${a#?:}
    case $a in
      S:*) [ -e "$f" ] && l=$(head -c 4096 "$f" | grep -m1 '^${MARKERS.gpuEnv} ') || continue
        echo "S $f \${l##*SLURM_JOB_NODELIST=}"; hit=1 ;;
      *) if [ ! -e "$f" ]; then [ "$i" = 4 ] && { echo "? $f"; hit=1; }; continue; fi ;;
    esac
    if tail -c 1024 "$f" | grep -q '^${MARKERS.end} '; then echo "E $f"; hit=1; fi
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
  /** Polls that found it RUNNING: each doubles the fallback gap. */
  runningPolls: number;
  /** Where the job's script writes its markers; without it the job is polled at every tick. */
  outputPath?: string;
  /** The end marker is there: the next tick asks the scheduler. */
  ended?: boolean;
  /** Its output file is not visible from the login node (1 s after RUNNING): polled at every tick. */
  unseen?: boolean;
  watchedAt: number;
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
  readonly markerStats = { rounds: 0, starts: 0, ends: 0 };

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
    if (!w) this.watched.set(jobId, (w = { listeners: new Set(), outputPath, watchedAt: Date.now(), runningPolls: 0 }));
    w.listeners.add(listener);
    if (w.last) listener({ kind: 'state', state: w.last });
    this.interval = this.minIntervalMs;
    this.schedule();
    this.watchMarkers();
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

  /**
   * With markers: a new job is asked about once firstPollMs has passed without its start marker,
   * a RUNNING one at the fallback interval or once its end marker is there; a PENDING one (the
   * scheduler's reasons) at every tick.
   */
  private due(w: Watched, now: number): boolean {
    if (this.markersBroken || !w.outputPath || w.ended || w.unseen) return true;
    if (!w.last) return now - w.watchedAt >= Math.max(this.minIntervalMs, this.markers.firstPollMs);
    if (w.last.state !== 'RUNNING') return true;
    const { fallbackMs, fallbackMaxMs = RUNNING_FALLBACK_MAX_MS } = this.markers;
    const gap = Math.min(Math.max(fallbackMs, fallbackMaxMs), fallbackMs * 2 ** w.runningPolls);
    return now - (w.seenAt ?? 0) >= Math.max(this.maxIntervalMs, gap);
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

  /** One waiter round at a time over the output files of the jobs not yet started (S) and RUNNING (E); a round that fails leaves the polls. */
  private watchMarkers() {
    if (this.markerRound || this.stopped || this.markersBroken) return;
    const args = new Map<string, string>();
    for (const w of this.watched.values()) {
      if (!w.outputPath || w.ended || w.unseen) continue;
      if (!w.last || w.last.state === 'PENDING') args.set(w.outputPath, `S:${w.outputPath}`);
      else if (w.last.state === 'RUNNING') args.set(w.outputPath, `E:${w.outputPath}`);
    }
    if (!args.size) return;
    this.markerStats.rounds++;
    const began = Date.now();
    let hit = false;
    this.markerRound = this.conn
      .exec(['sh', '-c', MARKER_WAITER, 'mlv-marker-waiter', this.markers.roundS, ...args.values()], { timeoutMs: (this.markers.roundS + 20) * 1000 })
      .then((r) => {
        if (r.code !== 0) {
          this.markersBroken = true;
          return;
        }
        hit = this.applyMarkers(r.stdout);
      })
      .catch(() => {
        this.markersBroken = true;
      })
      .finally(() => {
        // A round that returned at once without news (no shared file yet) waits before the next one.
        const again = hit || Date.now() - began >= this.markers.roundS * 500 ? 0 : this.markers.roundS * 1000;
        this.markerTimer = setTimeout(() => {
          this.markerRound = undefined;
          this.watchMarkers();
        }, again);
        this.markerTimer.unref?.();
      });
  }

  /** The waiter's lines: a start is a RUNNING sighting, an end makes the next tick ask the scheduler. */
  private applyMarkers(stdout: string): boolean {
    const byPath = new Map([...this.watched].filter(([, w]) => w.outputPath).map(([id, w]) => [w.outputPath!, { id, w }]));
    let ended = false;
    let any = false;
    const now = Date.now();
    for (const line of stdout.split('\n')) {
      const kind = line[0];
      const rest = line.slice(2);
      const path = kind === 'S' ? rest.slice(0, rest.lastIndexOf(' ')) : rest;
      const hitOf = byPath.get(path);
      if (!hitOf) continue;
      const { w } = hitOf;
      any = true;
      if (kind === '?') w.unseen = true;
      else if (kind === 'E' && !w.ended) {
        w.ended = ended = true;
        this.markerStats.ends++;
      } else if (kind === 'S' && (!w.last || w.last.state === 'PENDING')) {
        w.seenAt = now;
        w.last = { state: 'RUNNING', reason: '', nodes: expandHostlist(rest.slice(rest.lastIndexOf(' ') + 1)), at: now };
        this.markerStats.starts++;
        for (const l of w.listeners) l({ kind: 'state', state: w.last });
      }
    }
    if (ended) this.pollSoon();
    return any;
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
    const rows = new Map((await this.query(ids)).map((row) => [row.jobId, { state: row.state, reason: row.reason, nodes: row.nodes }]));
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
      if (row.state === 'RUNNING' && w.last?.state === 'RUNNING') w.runningPolls++;
      if (w.last && w.last.state === row.state && w.last.reason === row.reason) continue;
      changed = true;
      w.last = { ...row, at: now };
      for (const l of w.listeners) l({ kind: 'state', state: w.last });
    }
    return changed;
  }

  /**
   * One job whose end marker is there: its final state from `scontrol --local show job` (one
   * RPC). Otherwise squeue, whose reasons the fault checks read: --local (no federation lookup),
   * and --me with several ids (only this user's jobs come back, not the whole queue).
   */
  private async query(ids: string[]) {
    const unknown = (err: string) => UNKNOWN_JOB.test(err);
    if (ids.length === 1 && this.watched.get(ids[0]!)?.ended) return parseScontrolJobs(await slurmCall(this.conn, ['scontrol', '--local', 'show', 'job', '-o', ids[0]!], unknown));
    return parseSqueue(await slurmCall(this.conn, ['squeue', '--local', '-h', '--states=all', ...(ids.length > 1 ? ['--me'] : []), '-j', ids.join(','), '-o', SQUEUE_FORMAT], unknown));
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.markerTimer);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }
}
