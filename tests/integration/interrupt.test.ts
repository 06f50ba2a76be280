/**
 * Nothing leaks: Ctrl-C while a job runs leaves no job of the run in the queue; after a
 * hard kill (no teardown possible), the next run's preflight finds and removes the orphans.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Manifest } from '../../helpers/manifest.ts';
import { manifestPath } from '../../helpers/run-state.ts';
import { jobsOfRun, runSuite } from './pw.ts';

async function until(cond: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function interruptWhenRunning(runId: string, signal: NodeJS.Signals) {
  return (pid: number) => {
    void until(() => jobsOfRun(runId, 'mlops-1.1-mnist').length > 0, 120_000, 'the training job of the run').then(
      () => setTimeout(() => process.kill(-pid, signal), 1500),
      () => process.kill(-pid, 'SIGKILL'),
    );
  };
}

test('Ctrl-C while a job runs: the suite cancels it before it exits', { timeout: 5 * 60_000 }, async () => {
  const runId = `mlv-ctrlc-${Date.now().toString(36)}`;
  const run = await runSuite(['--project=hpc', '--grep', 'MLOPS-1.1'], { MLV_RUN_ID: runId }, 4 * 60_000, interruptWhenRunning(runId, 'SIGINT'));
  assert.notEqual(run.code, 0, 'an interrupted run must not report success');
  await until(() => jobsOfRun(runId).length === 0, 15_000, 'the queue to drop the run’s jobs');
});

test('after a hard kill, the next preflight removes the orphaned jobs', { timeout: 5 * 60_000 }, async () => {
  const runId = `mlv-kill9-${Date.now().toString(36)}`;
  await runSuite(['--project=hpc', '--grep', 'MLOPS-1.1'], { MLV_RUN_ID: runId }, 4 * 60_000, interruptWhenRunning(runId, 'SIGKILL'));
  const next = await runSuite(['--project=preflight-hpc'], {}, 2 * 60_000);
  assert.equal(next.code, 0, next.output);
  await until(() => jobsOfRun(runId).length === 0, 15_000, 'the orphaned jobs to be cancelled');
  const m = JSON.parse(readFileSync(manifestPath(next.runId), 'utf8')) as Manifest;
  console.log(`orphans removed by the next preflight: ${m.orphansRemoved.join(', ')}`);
  assert.ok(
    m.orphansRemoved.some((o) => o.includes(`(run ${runId})`)),
    `preflight did not report the orphans of ${runId}: ${m.orphansRemoved.join(', ')}`,
  );
});
