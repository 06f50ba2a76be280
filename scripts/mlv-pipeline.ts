/**
 * `npx mlv-pipeline run|status`: the train-to-serve workflow as one command, on the stage engine of
 * MLOPS-5.1 (the e2e project's spec, against the configured target or the lab).
 *
 *   npx mlv-pipeline run              # train, track, register, sync, deploy, infer (MLOPS-5.1)
 *   npx mlv-pipeline run --release    # and a second version: broken step, rollout, rollback (MLOPS-5.2)
 *   npx mlv-pipeline status [run-id]  # the stage table of the last (or that) run
 *
 * It shows each stage as it ends, with its time, then a summary table and the run's log directory
 * (reports/out/pipeline/<run id>/: each stage's log, the stage tables, Playwright's results). It exits
 * 1 naming the failed stage, 3 on an infra error, 2 on a usage error.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testOutcomes, type PwReport } from '../helpers/matrix.ts';
import { newRunId } from '../helpers/run-state.ts';
import type { StageRecord } from '../helpers/stages.ts';

const OUT = 'reports/out/pipeline';
const STAGE_LINE = /^MLV_STAGE (\S+) (\S+) (passed|failed|not run) ([\d.]+)s(?: (.*))?$/;

function usage(msg?: string): never {
  if (msg) console.error(msg);
  console.error('usage: mlv-pipeline run [--release] | status [<run id>]');
  process.exit(2);
}

/** The stage tables of a run: one per path, from the stages*.json attachments of its results. */
function stageTables(dir: string): { label: string; records: StageRecord[] }[] {
  const report = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as PwReport;
  const out: { label: string; records: StageRecord[] }[] = [];
  const walk = (s: { specs?: { tests: { results: { attachments?: { name: string; path?: string; body?: string }[] }[] }[] }[]; suites?: unknown[] }) => {
    for (const sp of s.specs ?? [])
      for (const t of sp.tests)
        for (const r of t.results)
          for (const a of r.attachments ?? []) {
            const m = /^stages(?:-(.+))?\.json$/.exec(a.name);
            const body = a.body ? Buffer.from(a.body, 'base64').toString() : a.path && existsSync(a.path) ? readFileSync(a.path, 'utf8') : undefined;
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
  const read = (a: { body?: string; path?: string }) => (a.body ? Buffer.from(a.body, 'base64').toString() : a.path && existsSync(a.path) ? readFileSync(a.path, 'utf8') : undefined);
  const outcomes = testOutcomes(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as PwReport, read).filter((o) => o.project === 'e2e');
  console.log(`\nlogs: ${dir}`);
  const failed = tables.flatMap((t) => t.records.filter((r) => r.status === 'failed').map((r) => ({ ...r, label: t.label })));
  const expected = failed.filter((f) => f.label === 'broken-step');
  const real = failed.filter((f) => f.label !== 'broken-step');
  if (expected.length) console.log(`the deliberately broken step failed, as it must: ${expected[0]!.name}`);
  if (outcomes.some((o) => o.outcome === 'infra')) return (console.error(`infra error: ${outcomes.find((o) => o.outcome === 'infra')!.reason}`), 3);
  if (real.length) return (console.error(`failed stage: ${real[0]!.label} ${real[0]!.name}: ${real[0]!.error}`), 1);
  if (outcomes.some((o) => o.outcome === 'fail')) return (console.error(`failed: ${outcomes.find((o) => o.outcome === 'fail')!.reason}`), 1);
  if (!outcomes.some((o) => o.outcome === 'pass')) return (console.error(`nothing ran: ${outcomes.map((o) => `${o.outcome} ${o.reason}`).join('; ') || 'no e2e test'}`), 1);
  return 0;
}

function run(release: boolean): Promise<number> {
  const runId = newRunId();
  const dir = join(OUT, runId);
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, MLV_RUN_ID: runId, MLV_RESULTS_JSON: join(dir, 'results.json'), MLV_JUNIT_XML: join(dir, 'junit.xml') };
  const args = ['test', '--project=e2e', '--grep', release ? 'MLOPS-5\\.2' : 'MLOPS-5\\.1'];
  console.log(`run ${runId}: playwright ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn('node_modules/.bin/playwright', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
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

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'run') {
  const unknown = rest.filter((a) => a !== '--release');
  if (unknown.length) usage(`unknown option: ${unknown.join(' ')}`);
  process.exitCode = await run(rest.includes('--release'));
} else if (cmd === 'status') {
  const id = rest[0] ?? (existsSync(join(OUT, 'latest')) ? readFileSync(join(OUT, 'latest'), 'utf8').trim() : undefined);
  if (!id) usage(`no pipeline run yet (${OUT} is empty): run one with mlv-pipeline run`);
  if (!/^[A-Za-z0-9_.-]+$/.test(id) || !existsSync(join(OUT, id, 'results.json')))
    usage(
      `no pipeline run ${JSON.stringify(id)} in ${OUT} (runs: ${
        existsSync(OUT)
          ? readdirSync(OUT)
              .filter((f) => f !== 'latest')
              .join(', ')
          : 'none'
      })`,
    );
  process.exitCode = summary(join(OUT, id));
} else usage(cmd ? `unknown command: ${cmd}` : undefined);
