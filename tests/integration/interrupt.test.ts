/**
 * Nothing leaks: Ctrl-C while a job runs leaves no job of the run in the queue; after a
 * hard kill (no teardown possible), the next run's preflight finds and removes the orphans, and so
 * does `npm run cleanup`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

test('Ctrl-C while a job runs: the suite cancels it and removes the run’s directory before it exits', { timeout: 5 * 60_000 }, async () => {
  const runId = `mlv-ctrlc-${Date.now().toString(36)}`;
  const run = await runSuite(['--project=hpc', '--grep', 'MLOPS-1.1'], { MLV_RUN_ID: runId }, 4 * 60_000, interruptWhenRunning(runId, 'SIGINT'));
  assert.notEqual(run.code, 0, 'an interrupted run must not report success');
  // The cleanup project does not run after Ctrl-C; the interrupted worker removes the directory.
  assert.ok(!existsSync(`/srv/mlops-lab/shared/jobs/${runId}`), 'the run directory is left after Ctrl-C');
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

test('npm run cleanup removes what a killed run left (its job and directory), and --older-than keeps what is younger', { timeout: 5 * 60_000 }, async () => {
  const runId = `mlv-cleanup-${Date.now().toString(36)}`;
  await runSuite(['--project=hpc', '--grep', 'MLOPS-1.1'], { MLV_RUN_ID: runId }, 4 * 60_000, interruptWhenRunning(runId, 'SIGKILL'));
  const [job] = jobsOfRun(runId);
  assert.ok(job, 'the killed run left no job: nothing to clean');
  const cleanup = (...args: string[]) => spawnSync('node', ['--import', 'tsx', 'scripts/cleanup.ts', ...args], { encoding: 'utf8' });
  const young = cleanup('--older-than', '1d');
  assert.equal(young.status, 0, young.stderr);
  assert.doesNotMatch(young.stdout, new RegExp(runId), 'a fresh leftover is kept by --older-than 1d');
  assert.deepEqual(jobsOfRun(runId), [job]);
  const r = cleanup();
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`removed slurm job ${job} \\(mlv-run=${runId}\\)`));
  assert.match(r.stdout, new RegExp(`removed directory \\S+/jobs/${runId}\\n`));
  await until(() => jobsOfRun(runId).length === 0, 15_000, 'the job to be cancelled');
  assert.ok(!existsSync(`/srv/mlops-lab/shared/jobs/${runId}`), 'the run directory is still there');
});
