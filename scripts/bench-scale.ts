/**
 * The bench's scale section (issue 12, section 4, "Scale in simulation"): how parsing and one
 * poll tick grow with the number of jobs, on recorded-format output for 100, 250, 500, 1,000 and
 * 2,000 jobs on 100 nodes (tests/fixtures/scale/generate.ts, in memory). It needs no lab:
 *
 *   npm run bench -- --scale-only [--out reports/out]
 *
 * and `npm run bench` runs it after the lab phases. Per size: the median of REPS runs (after three
 * warm-up rounds; the sizes take turns in each round) of parseSqueue, parseSacct and parseScontrolJobs on the whole output,
 * and of one tick of the real JobPoller with every job watched against a shell that answers from
 * the recording (one squeue for all, one sacct for the purged ones). µs per job at each size
 * shows whether it stays linear. Written as the `scale` key of <out>/bench.json and a section of
 * <out>/bench.md. A figure, not an assertion (the correctness is tests/unit/slurm-scale.test.ts).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JobPoller } from '../clients/slurm-poller.ts';
import type { RemoteShell } from '../clients/ssh.ts';
import type { SshTarget } from '../helpers/config.ts';
import { median } from '../helpers/calibrate.ts';
import { parseSacct, parseScontrolJobs, parseSqueue } from '../helpers/slurm-parsers.ts';
import { recordedAnswers, scaleRecording, SCALE_NODES, type ScaleRecording } from '../tests/fixtures/scale/generate.ts';

export const SCALE_SIZES = [100, 250, 500, 1000, 2000];
const REPS = 21;

export interface ScaleFigure {
  /** Median of the runs, milliseconds. */
  ms: number;
  usPerJob: number;
  minMs: number;
  maxMs: number;
}
export interface ScaleRow {
  jobs: number;
  nodes: number;
  lines: { squeue: number; sacct: number; scontrol: number };
  parseSqueue: ScaleFigure;
  parseSacct: ScaleFigure;
  parseScontrol: ScaleFigure;
  pollTick: ScaleFigure;
}
export interface ScaleResult {
  when: string;
  node: string;
  reps: number;
  rows: ScaleRow[];
  /** µs per job at the largest size over µs per job at the smallest: about 1 when linear. */
  growth: Record<'parseSqueue' | 'parseSacct' | 'parseScontrol' | 'pollTick', number>;
}

const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d;
const lineCount = (s: string) => s.split('\n').filter(Boolean).length;

/** A login-node shell that answers squeue, sacct and scontrol from the recording; anything else is a bug. */
function recordedShell(rec: ScaleRecording): RemoteShell & { calls: number } {
  const answer = recordedAnswers(rec);
  const refuse = (): never => {
    throw new Error('bench-scale: only SLURM queries are recorded');
  };
  const shell = {
    target: { host: 'login01', alias: 'login01', port: 22, user: 'mlops', knownHostsPath: '/dev/null', hostKeyCheck: 'strict' } as SshTarget,
    calls: 0,
    exec: async (argv: ReadonlyArray<string | number>) => {
      shell.calls++;
      return answer(argv.map(String));
    },
    run: refuse,
    writeFile: refuse,
    readFile: refuse,
    exists: refuse,
    close: () => {},
  };
  return shell;
}

/**
 * One tick of the real poller with every job watched (no output files: every job is due). The
 * tick is private; it is called directly so that the timer's 1 ms floor is not counted. The
 * recorded shell answers without I/O, so the tick runs to its end before that timer fires.
 */
async function oneTick(rec: ScaleRecording): Promise<number> {
  const shell = recordedShell(rec);
  const poller = new JobPoller(shell, 0, 0);
  let got = 0;
  for (const j of rec.jobs) poller.watch(j.id, (e) => void (e.kind === 'state' && got++));
  const tick = (poller as unknown as { tick?: () => Promise<void> }).tick;
  if (typeof tick !== 'function') throw new Error('bench-scale: JobPoller has no tick() any more: update scripts/bench-scale.ts');
  const t0 = performance.now();
  await tick.call(poller);
  const ms = performance.now() - t0;
  poller.stop();
  if (got !== rec.jobs.length || shell.calls !== 2) throw new Error(`bench-scale: one tick gave ${got} of ${rec.jobs.length} states in ${shell.calls} calls (want 2: squeue, sacct)`);
  return ms;
}

function figure(samples: number[], jobs: number): ScaleFigure {
  const ms = median(samples);
  return { ms: round(ms), usPerJob: round((ms * 1000) / jobs), minMs: round(Math.min(...samples)), maxMs: round(Math.max(...samples)) };
}

type Samples = Record<'parseSqueue' | 'parseSacct' | 'parseScontrol' | 'pollTick', number[]>;

async function sampleOnce(rec: ScaleRecording, s: Samples) {
  const timed = (f: () => unknown) => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  };
  s.parseSqueue.push(timed(() => parseSqueue(rec.squeue)));
  s.parseSacct.push(timed(() => parseSacct(rec.sacct)));
  s.parseScontrol.push(timed(() => parseScontrolJobs(rec.scontrol)));
  s.pollTick.push(await oneTick(rec));
}

export async function scaleBench(sizes = SCALE_SIZES, reps = REPS): Promise<ScaleResult> {
  const recs = sizes.map((n) => scaleRecording(n, SCALE_NODES));
  const samples: Samples[] = recs.map(() => ({ parseSqueue: [], parseSacct: [], parseScontrol: [], pollTick: [] }));
  // Three warm-up rounds (the JIT, the recorded shell's answers), then the sizes in turn in each round: a busy moment of the machine falls on all of them.
  for (let i = -3; i < reps; i++) for (const [k, rec] of recs.entries()) await sampleOnce(rec, i < 0 ? { parseSqueue: [], parseSacct: [], parseScontrol: [], pollTick: [] } : samples[k]!);
  const rows: ScaleRow[] = recs.map((rec, k) => {
    const s = samples[k]!;
    const n = rec.jobs.length;
    return {
      jobs: n,
      nodes: SCALE_NODES,
      lines: { squeue: lineCount(rec.squeue), sacct: lineCount(rec.sacct), scontrol: lineCount(rec.scontrol) },
      parseSqueue: figure(s.parseSqueue, n),
      parseSacct: figure(s.parseSacct, n),
      parseScontrol: figure(s.parseScontrol, n),
      pollTick: figure(s.pollTick, n),
    };
  });
  const [first, last] = [rows[0]!, rows.at(-1)!];
  const growth = Object.fromEntries((['parseSqueue', 'parseSacct', 'parseScontrol', 'pollTick'] as const).map((k) => [k, round(last[k].usPerJob / first[k].usPerJob, 2)])) as ScaleResult['growth'];
  return { when: new Date().toISOString(), node: process.version, reps, rows, growth };
}

export function scaleTable(r: ScaleResult): string {
  const us = (f: ScaleFigure) => f.usPerJob.toFixed(2);
  const head = [
    `## Scale in simulation (${r.node}, median of ${r.reps})`,
    '',
    'Recorded-format squeue/sacct/scontrol output on 100 nodes (tests/fixtures/scale); µs per job, and the whole poll tick in ms.',
    '',
    '| jobs | squeue / sacct / scontrol lines | parseSqueue µs/job | parseSacct µs/job | parseScontrolJobs µs/job | poll tick µs/job | poll tick ms |',
    '|---|---|---|---|---|---|---|',
  ];
  const body = r.rows.map(
    (x) =>
      `| ${x.jobs} | ${x.lines.squeue} / ${x.lines.sacct} / ${x.lines.scontrol} | ${us(x.parseSqueue)} | ${us(x.parseSacct)} | ${us(x.parseScontrol)} | ${us(x.pollTick)} | ${x.pollTick.ms.toFixed(2)} |`,
  );
  const g = r.growth;
  const growth = `µs/job at ${r.rows.at(-1)!.jobs} over µs/job at ${r.rows[0]!.jobs} (1 = linear): parseSqueue ${g.parseSqueue}, parseSacct ${g.parseSacct}, parseScontrolJobs ${g.parseScontrol}, poll tick ${g.pollTick}.`;
  return [...head, ...body, '', growth].join('\n');
}

/** Adds the section to <out>/bench.json (`scale`) and <out>/bench.md, keeping a lab run's figures there. */
export function writeScale(outDir: string, r: ScaleResult): string {
  const jsonPath = join(outDir, 'bench.json');
  const mdPath = join(outDir, 'bench.md');
  const json = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as Record<string, unknown>) : { when: r.when };
  writeFileSync(jsonPath, JSON.stringify({ ...json, scale: r }, null, 2));
  const md = existsSync(mdPath) ? readFileSync(mdPath, 'utf8').split('\n## Scale in simulation')[0]!.trimEnd() : `# Bench (${r.when}, scale only)`;
  const table = scaleTable(r);
  writeFileSync(mdPath, `${md}\n\n${table}\n`);
  return table;
}
