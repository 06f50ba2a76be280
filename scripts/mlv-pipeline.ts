/**
 * `npx mlv-pipeline run|rollback|status|down`: the train-to-serve workflow as one command, on the
 * stage engine of MLOPS-5.1 (the e2e project's spec, against the configured target or the lab).
 *
 *   npx mlv-pipeline run              # train, track, register, sync, deploy, infer (MLOPS-5.1)
 *   npx mlv-pipeline run --release    # and a second version: broken step, rollout, rollback (MLOPS-5.2)
 *   npx mlv-pipeline run --keep       # keep the run's deployment (service, model versions, objects)
 *   npx mlv-pipeline rollback [--to N] # the kept service back to version N (default: the one before)
 *   npx mlv-pipeline status [run-id]  # the stage table of the last (or that) run, and the kept deployment
 *   npx mlv-pipeline down             # remove the kept deployment, all of it
 *
 * It shows each stage as it ends, with its time, then a summary table and the run's log directory
 * (reports/out/pipeline/<run id>/: each stage's log, the stage tables, Playwright's results). It exits
 * 1 naming the failed stage, 3 on an infra error, 2 on a usage error (one message naming the flag and
 * the fix). Without --keep a run removes everything it made, as every test does.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommand, rollbackTarget, serving, USAGE } from '../helpers/pipeline-cli.ts';
import { testOutcomes, type PwReport } from '../helpers/matrix.ts';
import { newRunId } from '../helpers/run-state.ts';
import type { StageRecord } from '../helpers/stages.ts';
import { deploymentStatus, down, keptRecord, OUT, RECORD } from './mlv-pipeline-deployment.ts';

const STAGE_LINE = /^MLV_STAGE (\S+) (\S+) (passed|failed|not run) ([\d.]+)s(?: (.*))?$/;
/** The projects whose test is the pipeline run (the preflights it depends on are not). */
const PIPELINE_PROJECTS = ['e2e', 'pipeline'];

function usage(msg?: string): never {
  if (msg) console.error(msg);
  console.error(USAGE);
  process.exit(2);
}

type Attachment = { name: string; path?: string; body?: string };
const read = (a: Pick<Attachment, 'body' | 'path'>) => (a.body ? Buffer.from(a.body, 'base64').toString() : a.path && existsSync(a.path) ? readFileSync(a.path, 'utf8') : undefined);

/** The stage tables of a run: one per path, from the stages*.json attachments of its results. */
function stageTables(dir: string): { label: string; records: StageRecord[] }[] {
  const report = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as PwReport;
  const out: { label: string; records: StageRecord[] }[] = [];
  const walk = (s: { specs?: { tests: { results: { attachments?: Attachment[] }[] }[] }[]; suites?: unknown[] }) => {
    for (const sp of s.specs ?? [])
      for (const t of sp.tests)
        for (const r of t.results)
          for (const a of r.attachments ?? []) {
            const m = /^stages(?:-(.+))?\.json$/.exec(a.name);
            const body = read(a);
            if (m && body) out.push({ label: m[1] ?? 'path', records: JSON.parse(body) as StageRecord[] });
          }
    for (const c of (s.suites ?? []) as (typeof s)[]) walk(c);
  };
  for (const s of (report as unknown as { suites: Parameters<typeof walk>[0][] }).suites) walk(s);
  return out;
}

const secs = (r: StageRecord) => (r.startMs !== undefined && r.endMs !== undefined ? `${((r.endMs - r.startMs) / 1000).toFixed(1)} s` : '');

function summary(dir: string): number {
  const tables = stageTables(dir);
  for (const t of tables) {
    console.log(`\n${t.label}`);
    for (const r of t.records) console.log(`  ${r.name.padEnd(9)} ${r.status.toUpperCase().padEnd(8)} ${secs(r).padStart(8)}${r.error ? `  ${r.error.slice(0, 200)}` : ''}`);
    for (const r of t.records) if (r.log.length) writeFileSync(join(dir, `${t.label}-${r.name}.log`), r.log.join('\n') + '\n');
  }
  const outcomes = testOutcomes(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as PwReport, read).filter((o) => PIPELINE_PROJECTS.includes(o.project));
  console.log(`\nlogs: ${dir}`);
  const failed = tables.flatMap((t) => t.records.filter((r) => r.status === 'failed').map((r) => ({ ...r, label: t.label })));
  const expected = failed.filter((f) => f.label === 'broken-step');
  const real = failed.filter((f) => f.label !== 'broken-step');
  if (expected.length) console.log(`the deliberately broken step failed, as it must: ${expected[0]!.name}`);
  if (outcomes.some((o) => o.outcome === 'infra')) return (console.error(`infra error: ${outcomes.find((o) => o.outcome === 'infra')!.reason}`), 3);
  if (real.length) return (console.error(`failed stage: ${real[0]!.label} ${real[0]!.name}: ${real[0]!.error}`), 1);
  if (outcomes.some((o) => o.outcome === 'fail')) return (console.error(`failed: ${outcomes.find((o) => o.outcome === 'fail')!.reason}`), 1);
  if (!outcomes.some((o) => o.outcome === 'pass')) return (console.error(`nothing ran: ${outcomes.map((o) => `${o.outcome} ${o.reason}`).join('; ') || 'no pipeline test'}`), 1);
  return 0;
}

/** Playwright with `args`, each stage shown as it ends; the summary's exit code. */
function playwright(args: string[], env: Record<string, string> = {}): Promise<number> {
  const runId = newRunId();
  const dir = join(OUT, runId);
  mkdirSync(dir, { recursive: true });
  const all = { ...process.env, MLV_RUN_ID: runId, MLV_RESULTS_JSON: join(dir, 'results.json'), MLV_JUNIT_XML: join(dir, 'junit.xml'), ...env };
  console.log(`run ${runId}: playwright ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn('node_modules/.bin/playwright', args, { env: all, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const onData = (d: Buffer) => {
      log += d;
      for (const line of d.toString().split('\n')) {
        const m = STAGE_LINE.exec(line.trim());
        if (m) console.log(`  ${m[1]} ${m[2]!.padEnd(9)} ${m[3]!.toUpperCase().padEnd(8)} ${m[4]!.padStart(6)} s${m[5] ? `  ${m[5]}` : ''}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => {
      writeFileSync(join(dir, 'output.log'), log);
      writeFileSync(join(OUT, 'latest'), runId + '\n');
      if (!existsSync(join(dir, 'results.json'))) return resolve((console.error(`no results (playwright exited ${code}); its output: ${join(dir, 'output.log')}`), 3));
      resolve(summary(dir));
    });
  });
}

async function run(release: boolean, keep: boolean): Promise<number> {
  const kept = keptRecord();
  if (keep && kept && !('error' in kept))
    usage(`--keep: deployment ${kept.name} is kept already (version ${serving(kept)} serves). Fix: mlv-pipeline down removes it, then keep another; or run without --keep`);
  const code = await playwright(['test', '--project=e2e', '--grep', release ? 'MLOPS-5\\.2' : 'MLOPS-5\\.1'], keep ? { MLV_PIPELINE_KEEP: RECORD } : {});
  if (!keep) return code;
  const now = keptRecord();
  if (!now || 'error' in now) return (console.error('nothing kept: the run did not pass, and removed everything it made'), code || 1);
  console.log('');
  return Math.max(code, await deploymentStatus(now));
}

async function rollback(to?: string): Promise<number> {
  const d = keptRecord();
  if (!d) usage('nothing kept to roll back. Fix: keep a deployment with two versions first, mlv-pipeline run --release --keep');
  if ('error' in d) usage(d.error);
  const t = rollbackTarget(d, to);
  if ('error' in t) usage(t.error);
  console.log(`rollback of deployment ${d.name}: version ${t.from} → ${t.to}`);
  // the service's own namespace, used as a site's namespace is: nothing is created in it, nothing deleted
  const code = await playwright(['test', '--project=pipeline'], { MLV_PIPELINE_DEPLOYMENT: RECORD, MLV_PIPELINE_TO: t.to, MLV_KUBE_NAMESPACE: d.namespace });
  console.log('');
  const after = keptRecord();
  return Math.max(code, after && !('error' in after) ? await deploymentStatus(after) : 1);
}

async function status(id?: string): Promise<number> {
  const last = existsSync(join(OUT, 'latest')) ? readFileSync(join(OUT, 'latest'), 'utf8').trim() : undefined;
  const kept = keptRecord();
  if (!id && !last && !kept) usage(`no pipeline run yet (${OUT} is empty): run one with mlv-pipeline run`);
  const runId = id ?? last;
  let code = 0;
  if (runId) {
    if (!/^[A-Za-z0-9_.-]+$/.test(runId) || !existsSync(join(OUT, runId, 'results.json'))) {
      const runs = existsSync(OUT) ? readdirSync(OUT).filter((f) => /^mlv-/.test(f)) : [];
      usage(`no pipeline run ${JSON.stringify(runId)} in ${OUT} (runs: ${runs.join(', ') || 'none'})`);
    }
    code = summary(join(OUT, runId));
  }
  console.log('');
  if (!kept) return (console.log('kept deployment: none (mlv-pipeline run --keep keeps one)'), code);
  if ('error' in kept) return (console.error(kept.error), Math.max(code, 2));
  return Math.max(code, await deploymentStatus(kept));
}

const c = parseCommand(process.argv.slice(2));
if ('error' in c) usage(c.error);
process.exitCode = c.cmd === 'run' ? await run(c.release, c.keep) : c.cmd === 'rollback' ? await rollback(c.to) : c.cmd === 'status' ? await status(c.runId) : await down(keptRecord(), usage);
