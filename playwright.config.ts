/**
 * Projects: one preflight per configured side (`preflight-hpc`, `preflight-cloud`) probes the
 * target once and writes its capability manifest; each has a cleanup teardown that removes
 * what the run created. `hpc` depends on the HPC preflight, `cloud` on the cloud preflight,
 * `e2e` on both. A project whose side the target does not configure is left out, and asking
 * for it stops the run with the settings it needs. The target comes from .env (or
 * MLV_ENV_FILE), else from the lab; a bad configuration stops here with one message naming
 * each bad field and its fix.
 */
import { rmSync } from 'node:fs';
import { defineConfig, type Project } from '@playwright/test';
import { ALLURE_CATEGORIES } from './helpers/allure-categories.ts';
import { loadTarget, describeTarget, type Target } from './helpers/config.ts';
import { ConfigError } from './helpers/errors.ts';
import { configured, requestedProjects, unconfiguredProjects } from './helpers/projects.ts';
import { newRunId } from './helpers/run-state.ts';

// Set once in the runner; workers inherit it.
const inRunner = !process.env.MLV_RUN_ID && !process.env.TEST_WORKER_INDEX;
process.env.MLV_RUN_ID ??= newRunId();
const allureResults = process.env.MLV_ALLURE_RESULTS ?? 'reports/allure-results';
// Each run's Allure report shows that run only: clear the previous run's results once, in the runner.
if (inRunner) rmSync(allureResults, { recursive: true, force: true });
process.env.MLV_RUNNER_PID ??= String(process.pid);

function stop(message: string): never {
  console.error(`\n${message}\n`);
  process.exit(2);
}

let target: Target;
try {
  target = loadTarget();
} catch (e) {
  if (e instanceof ConfigError) stop(e.message);
  throw e;
}
const refused = unconfiguredProjects(target, requestedProjects(process.argv));
if (refused.length) stop(refused.join('\n'));

const minutes = (n: number) => n * 60_000;
const metadata = { runId: process.env.MLV_RUN_ID, dryRun: process.env.MLV_DRY_RUN === '1' ? 'yes: nothing submitted' : 'no', ...describeTarget(target) };
const preflights = ['hpc', 'cloud'].filter((s) => configured(target, `preflight-${s}`)).map((s) => `preflight-${s}`);

const projects: Project[] = [
  { name: 'preflight-hpc', testMatch: /preflight\/hpc\.setup\.ts$/, teardown: 'cleanup-hpc', timeout: minutes(3) },
  { name: 'cleanup-hpc', testMatch: /preflight\/hpc\.teardown\.ts$/, timeout: minutes(2) },
  { name: 'preflight-cloud', testMatch: /preflight\/cloud\.setup\.ts$/, teardown: 'cleanup-cloud', timeout: minutes(3) },
  { name: 'cleanup-cloud', testMatch: /preflight\/cloud\.teardown\.ts$/, timeout: minutes(2) },
  { name: 'hpc', testMatch: /hpc\/.*\.spec\.ts$/, dependencies: ['preflight-hpc'] },
  // Which node is bad: a short check on every idle node of the partition (not part of `hpc`).
  { name: 'hpc-sweep', testMatch: /sweep\/.*\.spec\.ts$/, dependencies: ['preflight-hpc'] },
  { name: 'cloud', testMatch: /cloud\/.*\.spec\.ts$/, dependencies: ['preflight-cloud'] },
  { name: 'e2e', testMatch: /e2e\/.*\.spec\.ts$/, dependencies: ['preflight-hpc', 'preflight-cloud'] },
  // The rollback of a kept deployment: only `mlv-pipeline rollback` runs it, naming the deployment's record.
  ...(process.env.MLV_PIPELINE_DEPLOYMENT ? [{ name: 'pipeline', testMatch: /pipeline\/.*\.spec\.ts$/, dependencies: ['preflight-cloud'] }] : []),
];
// Self-test controls: deliberately broken inputs that must fail or skip. Only `npm test` enables them.
const controls: Project[] = process.env.MLV_CONTROLS === '1' ? [{ name: 'controls', testMatch: /controls\/.*\.spec\.ts$/, dependencies: preflights }] : [];

export default defineConfig({
  testDir: './specs',
  outputDir: './test-results',
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  // MLV_WORKERS: the lab's target file sets 1 (its nodes share the machine's cores); a real cluster runs tests concurrently.
  workers: target.workers,
  timeout: minutes(20),
  expect: { timeout: 10_000 },
  metadata,
  reporter: [
    ['list'],
    ['json', { outputFile: process.env.MLV_RESULTS_JSON ?? 'reports/out/results.json' }],
    ['junit', { outputFile: process.env.MLV_JUNIT_XML ?? 'reports/out/junit.xml' }],
    ['allure-playwright', { resultsDir: allureResults, detail: false, suiteTitle: false, environmentInfo: metadata, categories: ALLURE_CATEGORIES }],
  ],
  projects: [...projects.filter((p) => configured(target, p.name ?? '')), ...controls],
});
