/**
 * `npm run calibrate`: run the suite N times one after another (or read recorded results) and
 * propose the target's references from what the runs measured (helpers/calibrate.ts says how).
 *
 *   npm run calibrate -- --runs 10 --project hpc --project cloud [--grep X] [--k 4] [--floor 0.05]
 *   npm run calibrate -- --from a/results.json,b/results.json [--references lab] [--write]
 *   npm run calibrate -- --runs 10 --healthy      # the proof: N consecutive runs without a failure
 *
 * Each run has its own MLV_RUN_ID and results under reports/out/calibrate/<run id>/ (its
 * Playwright output in output.log there; --verbose shows it instead). It prints each run's
 * failed tests (a healthy target shows 0) and a table per threshold, writes the proposed
 * references (default reports/out/calibrate/references-proposed.yaml; --write also overwrites
 * the target's references file, keeping its comments) and exits 1 when a run had an infra
 * error (then --write writes nothing), 2 on a usage or references error. With --healthy it stops at
 * the first run with a failed test or an infra error, and exits 1 then: it shows that N runs in a row
 * of a healthy target pass under its references (it proposes and writes nothing).
 * The references are the target's (--references, else the runs' metadata, else MLV_REFERENCES
 * of the target); the plan's limits come from --plan (default: references/default.yaml).
 * With --from, --project and --grep filter the recorded tests (by project, by title).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { measurements, proposalTable, proposeAll, proposedYaml, rawReferences, runsText, summarizeRun, type CalibrationTest, type Measurement, type RunSummary } from '../helpers/calibrate.ts';
import { ConfigError } from '../helpers/errors.ts';
import { testOutcomes, type PwReport } from '../helpers/matrix.ts';
import { loadReferences, referencesPath } from '../helpers/references.ts';
import { newRunId } from '../helpers/run-state.ts';

const OUT_DIR = 'reports/out/calibrate';
const PLAYWRIGHT = 'node_modules/.bin/playwright';

interface Args {
  runs: number;
  projects: string[];
  grep?: string;
  k: number;
  floor: number;
  out: string;
  from: string[];
  references?: string;
  plan: string;
  write: boolean;
  verbose: boolean;
  healthy: boolean;
}

class UsageError extends Error {}

/** Ctrl-C reaches the suite (same process group) directly; here it only stops further runs. */
let interrupted = false;

function number(s: string, what: string, ok: (n: number) => boolean): number {
  const n = Number(s);
  if (!Number.isFinite(n) || !ok(n)) throw new UsageError(`--${what} ${s}: not a valid number here`);
  return n;
}

function args(argv: string[]): Args {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      project: { type: 'string', multiple: true, default: [] },
      grep: { type: 'string' },
      k: { type: 'string', default: '4' },
      floor: { type: 'string', default: '0.05' },
      out: { type: 'string', default: join(OUT_DIR, 'references-proposed.yaml') },
      from: { type: 'string', multiple: true, default: [] },
      references: { type: 'string' },
      plan: { type: 'string', default: 'default' },
      write: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      healthy: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const from = v.from.flatMap((f) => f.split(',')).filter(Boolean);
  if (!from.length && v.runs === undefined) throw new UsageError('give --runs N (run the suite N times) or --from results.json[,results.json...]');
  if (from.length && v.runs !== undefined) throw new UsageError('--runs and --from exclude each other');
  if (v.healthy && v.write) throw new UsageError('--healthy checks the references as they are: it writes nothing, so not with --write');
  return {
    runs: v.runs === undefined ? from.length : number(v.runs, 'runs', (n) => Number.isInteger(n) && n >= 1),
    projects: v.project,
    grep: v.grep,
    k: number(v.k, 'k', (n) => n > 0),
    floor: number(v.floor, 'floor', (n) => n >= 0),
    out: v.out,
    from,
    references: v.references,
    plan: v.plan,
    write: v.write,
    verbose: v.verbose,
    healthy: v.healthy,
  };
}

/** One run of the suite, in its own process group; resolves with its results file. */
function runOnce(a: Args, i: number): Promise<{ id: string; file: string; code: number | null }> {
  const id = newRunId();
  const dir = join(OUT_DIR, id);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'results.json');
  const pwArgs = ['test', ...a.projects.map((p) => `--project=${p}`), ...(a.grep ? ['--grep', a.grep] : [])];
  const log = a.verbose ? undefined : openSync(join(dir, 'output.log'), 'w');
  console.log(`run ${i}/${a.runs} ${id}: ${PLAYWRIGHT} ${pwArgs.join(' ')}${log === undefined ? '' : ` (output in ${join(dir, 'output.log')})`}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MLV_RUN_ID: id,
    MLV_RESULTS_JSON: file,
    MLV_JUNIT_XML: join(dir, 'junit.xml'),
    MLV_REPORT_OUT: dir,
    MLV_ALLURE_RESULTS: join(dir, 'allure-results'),
  };
  delete env.MLV_CONTROLS;
  return new Promise((done) => {
    const child = spawn(PLAYWRIGHT, pwArgs, { env, stdio: log === undefined ? 'inherit' : ['ignore', log, log] });
    const stop = () => (interrupted = true);
    process.on('SIGINT', stop);
    child.on('close', (code) => {
      process.off('SIGINT', stop);
      if (log !== undefined) closeSync(log);
      done({ id, file, code });
    });
  });
}

interface RunData {
  summary: RunSummary;
  tests: CalibrationTest[];
  references?: string;
}

const readAttachment = (a: { body?: string; path?: string }) => (a.body ? Buffer.from(a.body, 'base64').toString() : a.path && existsSync(a.path) ? readFileSync(a.path, 'utf8') : undefined);

/** A results file's tests (filtered as asked), its counts and the references it ran with. */
function readRun(a: Args, run: number, file: string, code?: number | null): RunData {
  let report: PwReport & { config?: { metadata?: Record<string, unknown> }; errors?: { message?: string }[] };
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const why = `no readable results in ${file}: ${(e as Error).message}${code !== undefined ? ` (playwright exit ${code}; its output: ${join(dirname(file), 'output.log')})` : ''}`;
    return { summary: summarizeRun([], run, '?', file, why), tests: [] };
  }
  const grep = a.from.length && a.grep ? new RegExp(a.grep) : undefined;
  const tests = testOutcomes(report, readAttachment).filter((t) => (!a.from.length || !a.projects.length || a.projects.includes(t.project)) && (!grep || grep.test(t.title)));
  const meta = report.config?.metadata ?? {};
  const globalErrors = (report.errors ?? []).map((e) => e.message?.split('\n')[0] ?? '').filter(Boolean);
  const error = globalErrors.length ? `errors outside the tests: ${globalErrors.join(' | ')}` : code !== undefined && code !== 0 && code !== 1 ? `playwright exit ${code}` : undefined;
  const id = typeof meta.runId === 'string' ? meta.runId : '?';
  return { summary: summarizeRun(tests, run, id, file, error), tests, references: typeof meta.references === 'string' ? meta.references : undefined };
}

function machine(): string {
  const uname = spawnSync('uname', ['-sr'], { encoding: 'utf8' }).stdout?.trim() || 'uname unavailable';
  return `${uname}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`;
}

/** The target's references: --references, else those the runs ran with, else the target's MLV_REFERENCES. */
async function referencesName(a: Args, runs: RunData[]): Promise<string> {
  if (a.references) return a.references;
  const named = runs.map((r) => r.references).find(Boolean);
  if (named) return named;
  const { loadTarget } = await import('../helpers/config.ts');
  return loadTarget().references;
}

function notes(a: Args, runs: RunData[]): string {
  const how = `scripts/calibrate.ts, k = ${a.k}, spread = max(1.4826 x MAD, ${Number((a.floor * 100).toPrecision(4))}% of the median)`;
  const what = a.from.length
    ? `from recorded results (${a.from.join(', ')})`
    : `${a.runs} run(s) one after another${a.projects.length ? `, ${a.projects.map((p) => `--project=${p}`).join(' ')}` : ''}${a.grep ? ` --grep ${a.grep}` : ''}`;
  const each = runs.map((r) => `${r.summary.id}: ${r.summary.passed} passed, ${r.summary.failed.length} failed, ${r.summary.infra.length} infra`).join('; ');
  return `${how}; ${what}; ${each}`;
}

/** The --healthy verdict over recorded or fresh runs: every run without a failed or infra test. */
function healthyVerdict(runs: RunData[], started: number): number {
  const bad = runs.filter((r) => r.summary.failed.length || r.summary.infra.length);
  const min = ((Date.now() - started) / 60_000).toFixed(1);
  const counts = runs.map((r) => r.summary.passed).join(', ');
  if (bad.length) {
    console.error(`--healthy: ${bad.length} of ${runs.length} run(s) had failures (runs ${bad.map((r) => r.summary.run).join(', ')})`);
    return 1;
  }
  console.log(`--healthy: ${runs.length} consecutive run(s), 0 failed and 0 infra tests (passed per run: ${counts}), ${min} min`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const a = args(argv);
  const started = Date.now();
  const runs: RunData[] = [];
  if (a.from.length) a.from.forEach((f, i) => runs.push(readRun(a, i + 1, f)));
  else {
    for (let i = 1; i <= a.runs; i++) {
      const r = await runOnce(a, i);
      const data = readRun(a, i, r.file, r.code);
      console.log(runsText([data.summary]));
      runs.push(data);
      if (interrupted) {
        console.error(`interrupted after run ${i} of ${a.runs}: nothing proposed`);
        return 130;
      }
      if (a.healthy && (data.summary.failed.length || data.summary.infra.length)) {
        console.error(`--healthy: run ${i} of ${a.runs} had ${data.summary.failed.length} failed and ${data.summary.infra.length} infra test(s), after ${i - 1} healthy run(s)`);
        return 1;
      }
    }
  }
  if (a.healthy) return healthyVerdict(runs, started);
  const refsName = await referencesName(a, runs);
  loadReferences(refsName); // a ConfigError names what is wrong with the file
  const refsFile = referencesPath(refsName);
  const text = readFileSync(refsFile, 'utf8');
  const current = rawReferences(text);
  const plan = rawReferences(readFileSync(referencesPath(a.plan), 'utf8'));
  loadReferences(a.plan);
  const keysOf = (task: string) => Object.keys(current.tasks[task]?.thresholds ?? {});
  const ms: Measurement[] = runs.flatMap((r) => measurements(r.tests, r.summary.run, keysOf));
  const proposals = proposeAll(current, plan, ms, { k: a.k, floor: a.floor, target: current.target });
  console.log(`\n== runs (${runs.length})\n${runsText(runs.map((r) => r.summary))}`);
  console.log(`\n== thresholds of ${refsFile} (plan: ${referencesPath(a.plan)}), band median ± ${a.k} x spread\n${proposalTable(proposals)}`);
  const yaml = proposedYaml(text, proposals, {
    date: new Date().toISOString().slice(0, 10),
    runs: runs.length,
    machine: a.from.length ? `${machine()} (the machine that read the recorded results)` : machine(),
    notes: notes(a, runs),
  });
  const out = resolve(a.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, yaml);
  loadReferences(out);
  console.log(`\nproposed references: ${out}`);
  const infra = runs.filter((r) => r.summary.infra.length).map((r) => r.summary.run);
  if (infra.length) {
    console.error(`infra errors in run(s) ${infra.join(', ')}: fix the target and calibrate again${a.write ? `; ${refsFile} left as it was` : ''}`);
    return 1;
  }
  if (a.write) {
    writeFileSync(refsFile, yaml);
    console.log(`written: ${refsFile}`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError || e instanceof ConfigError || (e instanceof Error && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  },
);
