/**
 * Projects: `preflight` probes the target once and writes the capability manifest (its
 * teardown, `cleanup`, removes what the run created); `hpc`, `cloud` and `e2e` depend on it.
 * The target comes from .env (or MLV_ENV_FILE), else from the lab. A bad configuration stops
 * here with one message naming each bad field and its fix.
 */
import { rmSync } from 'node:fs';
import { defineConfig } from '@playwright/test';
import { ALLURE_CATEGORIES } from './helpers/allure-categories.ts';
import { loadTarget, describeTarget, type Target } from './helpers/config.ts';
import { ConfigError } from './helpers/errors.ts';
import { newRunId } from './helpers/run-state.ts';

// Set once in the runner; workers inherit it.
const runnerFirstLoad = !process.env.MLV_RUN_ID;
process.env.MLV_RUN_ID ??= newRunId();
const allureResults = process.env.MLV_ALLURE_RESULTS ?? 'reports/allure-results';
// Each run's Allure report shows that run only: clear the previous run's results once, in the runner.
if (runnerFirstLoad && !process.env.TEST_WORKER_INDEX) rmSync(allureResults, { recursive: true, force: true });
process.env.MLV_RUNNER_PID ??= String(process.pid);

let target: Target;
try {
  target = loadTarget();
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`\n${e.message}\n`);
    process.exit(2);
  }
  throw e;
}

const minutes = (n: number) => n * 60_000;
const metadata = { runId: process.env.MLV_RUN_ID, ...describeTarget(target) };

export default defineConfig({
  testDir: './specs',
  outputDir: './test-results',
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  // The lab's nodes share the machine's two cores: one test at a time keeps its timings honest.
  // A real cluster runs independent jobs concurrently.
  workers: Number(process.env.MLV_WORKERS ?? (target.isLab ? 1 : 4)),
  timeout: minutes(20),
  expect: { timeout: 10_000 },
  metadata,
  reporter: [
    ['list'],
    ['json', { outputFile: process.env.MLV_RESULTS_JSON ?? 'reports/out/results.json' }],
    ['junit', { outputFile: process.env.MLV_JUNIT_XML ?? 'reports/out/junit.xml' }],
    [
      'allure-playwright',
      {
        resultsDir: allureResults,
        detail: false,
        suiteTitle: false,
        environmentInfo: metadata,
        categories: ALLURE_CATEGORIES,
      },
    ],
  ],
  projects: [
    { name: 'preflight', testMatch: /preflight\/.*\.setup\.ts$/, teardown: 'cleanup', timeout: minutes(3) },
    { name: 'cleanup', testMatch: /preflight\/.*\.teardown\.ts$/, timeout: minutes(2) },
    { name: 'hpc', testMatch: /hpc\/.*\.spec\.ts$/, dependencies: ['preflight'] },
    { name: 'cloud', testMatch: /cloud\/.*\.spec\.ts$/, dependencies: ['preflight'] },
    { name: 'e2e', testMatch: /e2e\/.*\.spec\.ts$/, dependencies: ['preflight'] },
    // Self-test controls: deliberately broken inputs that must fail or skip. Only `npm test` enables them.
    ...(process.env.MLV_CONTROLS === '1' ? [{ name: 'controls', testMatch: /controls\/.*\.spec\.ts$/, dependencies: ['preflight'] }] : []),
  ],
});
