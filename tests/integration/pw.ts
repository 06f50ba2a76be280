/** Running the suite itself from the integration tests, and reading its results. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testOutcomes, type PwReport, type TestOutcome } from '../../helpers/matrix.ts';
import { newRunId } from '../../helpers/run-state.ts';

export interface PwRun {
  code: number | null;
  output: string;
  seconds: number;
  runId: string;
  resultsFile: string;
  outDir: string;
  tests: () => TestOutcome[];
}

export const PLAYWRIGHT = 'node_modules/.bin/playwright';

/**
 * Run the suite in its own process group (as a terminal would), so `onStart` can deliver a
 * Ctrl-C to the whole group with process.kill(-pid, 'SIGINT').
 */
export function runSuite(args: string[], env: Record<string, string> = {}, timeoutMs = 15 * 60_000, onStart?: (pid: number) => void): Promise<PwRun> {
  const outDir = mkdtempSync(join(tmpdir(), 'mlv-it-'));
  const runId = env.MLV_RUN_ID ?? newRunId();
  const resultsFile = join(outDir, 'results.json');
  const start = Date.now();
  return new Promise((resolve) => {
    const child = spawn(PLAYWRIGHT, ['test', ...args], {
      detached: true,
      env: {
        ...process.env,
        MLV_RUN_ID: runId,
        MLV_RESULTS_JSON: resultsFile,
        MLV_JUNIT_XML: join(outDir, 'junit.xml'),
        MLV_REPORT_OUT: outDir,
        MLV_ALLURE_RESULTS: join(outDir, 'allure-results'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
    onStart?.(child.pid!);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        output,
        seconds: (Date.now() - start) / 1000,
        runId,
        resultsFile,
        outDir,
        tests: () =>
          testOutcomes(JSON.parse(readFileSync(resultsFile, 'utf8')) as PwReport, (a) => (a.body ? Buffer.from(a.body, 'base64').toString() : a.path ? readFileSync(a.path, 'utf8') : undefined)),
      });
    });
  });
}

/** Jobs in the lab's queue whose comment carries a run id (squeue's default states, or `states`, e.g. RUNNING). */
export function jobsOfRun(runId: string, nameContains = '', states?: string): string[] {
  const r = spawnSync('squeue', ['-h', ...(states ? ['-t', states] : []), '-o', '%i|%j|%k'], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter((l) => l.endsWith(`mlv-run=${runId}`) && l.split('|')[1]!.includes(nameContains))
    .map((l) => l.split('|')[0]!);
}

export const byTitle = (tests: TestOutcome[], re: RegExp) => tests.filter((t) => re.test(t.title));
