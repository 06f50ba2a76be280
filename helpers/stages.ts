/**
 * The stage engine of the train-to-serve path (MLOPS-5.1, 5.2 and the pipeline command): stages
 * run in their declared order, each timed and with its own log. A failed stage stops the run:
 * it is `failed` with its error, every later stage is `not run`, and the error names both.
 */
export type StageStatus = 'pending' | 'running' | 'passed' | 'failed' | 'not run';

export interface StageRecord {
  name: string;
  status: StageStatus;
  /** ms since the run started */
  startMs?: number;
  endMs?: number;
  error?: string;
  log: string[];
}

import { INFRA_MARKER, InfraError } from './errors.ts';

/** A stage that failed because the harness could not reach a system: reported as an infra error, not a failure. */
export class StageInfraError extends InfraError {
  constructor(
    readonly stage: string,
    message: string,
  ) {
    super(message);
  }
}

export class StageFailure extends Error {
  constructor(
    readonly stage: string,
    override readonly cause: unknown,
    notRun: string[],
    seconds: number,
  ) {
    super(`stage "${stage}" failed after ${seconds.toFixed(1)} s: ${cause instanceof Error ? cause.message : String(cause)}${notRun.length ? ` (not run: ${notRun.join(', ')})` : ''}`);
    this.name = 'StageFailure';
  }
}

export class Stages {
  readonly records: StageRecord[];
  private readonly t0: number;
  /** Called as each stage ends (the pipeline command's progress lines). */
  onEnd?: (r: StageRecord) => void;
  constructor(
    names: readonly string[],
    private readonly clock: () => number = Date.now,
  ) {
    if (new Set(names).size !== names.length) throw new Error(`stage names must be unique: ${names.join(', ')}`);
    this.records = names.map((name) => ({ name, status: 'pending', log: [] }));
    this.t0 = clock();
  }

  /** Run the next stage; `log` adds a line to its record. Out of order, or after a failure, is a programming error. */
  async run<T>(name: string, body: (log: (line: string) => void) => Promise<T>): Promise<T> {
    const rec = this.records.find((r) => r.name === name);
    if (!rec) throw new Error(`no stage "${name}" (stages: ${this.records.map((r) => r.name).join(', ')})`);
    const before = this.records.slice(0, this.records.indexOf(rec));
    const blocked = before.find((r) => r.status !== 'passed');
    if (blocked) throw new Error(`stage "${name}" cannot run: stage "${blocked.name}" is ${blocked.status}`);
    if (rec.status !== 'pending') throw new Error(`stage "${name}" already ran (${rec.status})`);
    rec.status = 'running';
    rec.startMs = this.clock() - this.t0;
    try {
      const out = await body((line) => rec.log.push(line));
      rec.status = 'passed';
      return out;
    } catch (e) {
      rec.status = 'failed';
      rec.error = e instanceof Error ? e.message : String(e);
      const later = this.records.slice(this.records.indexOf(rec) + 1);
      for (const r of later) r.status = 'not run';
      const seconds = (this.clock() - this.t0 - rec.startMs) / 1000;
      const failure = new StageFailure(
        name,
        e,
        later.map((r) => r.name),
        seconds,
      );
      if (e instanceof InfraError) throw new StageInfraError(name, failure.message.replace(`${INFRA_MARKER} `, ''));
      throw failure;
    } finally {
      rec.endMs = this.clock() - this.t0;
      this.onEnd?.(rec);
    }
  }

  /** Seconds a finished stage took. */
  seconds(name: string): number {
    const r = this.get(name);
    if (r.startMs === undefined || r.endMs === undefined) throw new Error(`stage "${name}" has not run`);
    return (r.endMs - r.startMs) / 1000;
  }

  /** Seconds from the end of stage `from` to the end of stage `to`. */
  between(from: string, to: string): number {
    const a = this.get(from).endMs;
    const b = this.get(to).endMs;
    if (a === undefined || b === undefined) throw new Error(`stages "${from}" and "${to}" must both have run`);
    return (b - a) / 1000;
  }

  /** The first stage that failed, if any. */
  failed(): StageRecord | undefined {
    return this.records.find((r) => r.status === 'failed');
  }

  /** A Markdown table: stage, status, start, duration, and the error where it failed. */
  table(): string {
    const s = (ms?: number) => (ms === undefined ? '' : (ms / 1000).toFixed(1));
    const rows = this.records.map(
      (r) =>
        `| ${r.name} | ${r.status.toUpperCase()} | ${s(r.startMs)} | ${r.startMs !== undefined && r.endMs !== undefined ? s(r.endMs - r.startMs) : ''} | ${(r.error ?? '').replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 300)} |`,
    );
    return ['| stage | status | start (s) | took (s) | error |', '|---|---|---|---|---|', ...rows].join('\n');
  }

  private get(name: string): StageRecord {
    const r = this.records.find((x) => x.name === name);
    if (!r) throw new Error(`no stage "${name}"`);
    return r;
  }
}
