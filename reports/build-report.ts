/**
 * Builds the reports from the last run: the validation matrix (Markdown, HTML, JSON) from
 * Playwright's JSON results, then the Allure HTML report (Allure 3, no Java).
 * Usage: npm run report [-- --no-allure]. MLV_RESULTS_JSON, MLV_REPORT_OUT, MLV_ALLURE_RESULTS,
 * MLV_ALLURE_REPORT and MLV_ALLURE_HISTORY (a history file kept between runs) move its inputs and outputs (the integration tests use their own folders).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ALLURE_CATEGORIES } from '../helpers/allure-categories.ts';
import { flakyResult } from '../helpers/allure-flaky.ts';
import type { Manifest } from '../helpers/manifest.ts';
import type { Component } from '../helpers/tasks.ts';
import { hostKeyWarnings } from '../helpers/known-hosts.ts';
import { redactRecord } from '../helpers/redact.ts';
import { buildMatrix, matrixHtml, matrixMarkdown, nodeRows, testOutcomes, type PwReport } from '../helpers/matrix.ts';

const OUT = resolve(process.env.MLV_REPORT_OUT ?? 'reports/out');
const results = resolve(process.env.MLV_RESULTS_JSON ?? resolve(OUT, 'results.json'));
if (!existsSync(results)) {
  console.error(`No results at ${results}. Run the suite first (npx playwright test ...).`);
  process.exit(2);
}
const report = JSON.parse(readFileSync(results, 'utf8')) as PwReport & { config?: { metadata?: Record<string, unknown> }; stats?: { startTime?: string; duration?: number } };
const tests = testOutcomes(report, (a) => (a.body ? Buffer.from(a.body, 'base64').toString('utf8') : a.path && existsSync(a.path) ? readFileSync(a.path, 'utf8') : undefined));
const md = report.config?.metadata ?? {};
// Components a passing task did not really exercise on this target, from the run's manifest.
const notExercised: Partial<Record<Component, string>> = {};
const manifestFile = resolve('reports/.state', `manifest-${String(md.runId)}.json`);
const versions: Record<string, string> = {};
if (existsSync(manifestFile)) {
  const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
  versions.slurm = m.slurmVersion;
  versions['python / torch on compute nodes'] = `${m.compute.python ?? '?'} / ${m.compute.torch ?? 'not importable'}`;
  if (!/apptainer|singularity/.test(m.target.runtimePrefix ?? '')) notExercised.Apptainer = `not exercised: no Apptainer runtime prefix (MLV_RUNTIME_PREFIX=${m.target.runtimePrefix})`;
  if (m.target.gpuKind === 'fake') notExercised['GPU passthrough'] = 'not exercised: stand-in GPUs (MLV_GPU_KIND=fake), training runs on the CPU; the CUDA checks are N/A';
  else if (!m.compute.cudaAvailable) notExercised['GPU passthrough'] = 'not exercised: torch on the compute nodes sees no CUDA device';
}
// MLOPS-5.1/5.2 name Monitoring, but no spec queries Prometheus for the served model's traffic yet
notExercised.Monitoring = "not exercised: no check queries Prometheus for the served model's request rate and latency yet";
const rows = buildMatrix(tests, notExercised);
const hostKeys = hostKeyWarnings(md.hostKeyCheck as string | undefined, md.runId as string | undefined);
const meta: Record<string, string> = redactRecord({
  ...(hostKeys.length && { 'host keys': hostKeys.join(' ') }),
  ...Object.fromEntries(Object.entries(notExercised).map(([c, why]) => [`${c}`, why!])),
  run: String(md.runId ?? '?'),
  target: String(md.target ?? '?'),
  ssh: String(md.ssh ?? '?'),
  inventory: String(md.inventory ?? '?'),
  references: String(md.references ?? '?'),
  ...versions,
  started: String(report.stats?.startTime ?? '?'),
  'wall time': report.stats?.duration !== undefined ? `${(report.stats.duration / 1000).toFixed(1)} s` : '?',
});
mkdirSync(OUT, { recursive: true });
writeFileSync(resolve(OUT, 'validation-matrix.md'), matrixMarkdown(rows, meta, nodeRows(tests)));
writeFileSync(resolve(OUT, 'validation-matrix.html'), matrixHtml(rows, meta, nodeRows(tests)));
writeFileSync(resolve(OUT, 'validation-matrix.json'), JSON.stringify({ meta, rows }, null, 2));
const counts = tests.reduce<Record<string, number>>((acc, t) => ((acc[t.outcome] = (acc[t.outcome] ?? 0) + 1), acc), {});
console.log(`validation matrix: ${rows.map((r) => `${r.task}=${r.outcome}`).join(' ')}`);
console.log(
  `tests: ${Object.entries(counts)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ')}`,
);
console.log(`written: ${resolve(OUT, 'validation-matrix.md')} and .html`);

if (!process.argv.includes('--no-allure')) {
  const allureResults = resolve(process.env.MLV_ALLURE_RESULTS ?? 'reports/allure-results');
  const allureReport = resolve(process.env.MLV_ALLURE_REPORT ?? 'reports/allure-report');
  if (!existsSync(allureResults)) {
    console.error(`no Allure results to render (${allureResults} is missing)`);
    process.exit(1);
  }
  for (const f of readdirSync(allureResults).filter((n) => n.endsWith('-result.json'))) {
    const marked = flakyResult(JSON.parse(readFileSync(resolve(allureResults, f), 'utf8')));
    if (marked) writeFileSync(resolve(allureResults, f), JSON.stringify(marked));
  }
  // A fresh output folder: Allure 3 writes into a plugin subfolder when the folder is not empty.
  rmSync(allureReport, { recursive: true, force: true });
  // The tree: category (epic) > MLOPS task (feature) > its tests, each test once. The story is the
  // test's own title, so it adds no level; components are `component` labels (fixtures/task-labels.ts).
  const config = resolve(OUT, 'allurerc.json');
  // MLV_ALLURE_HISTORY: a history file kept between runs (a CI cache), so the report shows trends and flaky/new-failure marks
  const history = process.env.MLV_ALLURE_HISTORY ? { historyPath: resolve(process.env.MLV_ALLURE_HISTORY) } : {};
  writeFileSync(
    config,
    JSON.stringify({ name: `mlops-validation ${meta.target}`, categories: ALLURE_CATEGORIES, ...history, plugins: { awesome: { options: { groupBy: ['epic', 'feature'] } } } }, null, 2),
  );
  const r = spawnSync('npx', ['--no-install', 'allure', 'generate', allureResults, '--config', config, '--output', allureReport], {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    console.error(`allure generate failed:\n${r.stderr || r.stdout}`);
    process.exit(1);
  }
  writeFileSync(resolve(allureReport, 'validation-matrix.html'), matrixHtml(rows, meta, nodeRows(tests)));
  console.log(`Allure report: ${resolve(allureReport, 'index.html')} (open it, or: npx allure open ${allureReport})`);
}
