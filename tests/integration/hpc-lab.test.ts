/**
 * The hpc project against the real lab: MLOPS-1.1 and 2.1 pass, the matrix says so, tags
 * select exactly the critical tests, and no job of the run is left in the queue.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildMatrix } from '../../helpers/matrix.ts';
import { byTitle, jobsOfRun, runSuite } from './pw.ts';

test('the hpc project passes MLOPS-1.1 and 2.1 on the lab and leaves no job behind', { timeout: 20 * 60_000 }, async () => {
  const run = await runSuite(['--project=hpc']);
  const tests = run.tests();
  const summary = tests.map((t) => `${t.outcome.padEnd(7)} ${t.title} ${t.reason}`).join('\n');
  console.log(`hpc wall time ${run.seconds.toFixed(1)} s\n${summary}`);
  assert.equal(byTitle(tests, /MLOPS-1\.1/)[0]?.outcome, 'pass', summary);
  for (const t of byTitle(tests, /2 ranks/)) assert.equal(t.outcome, 'pass', `${t.title}: ${t.reason}`);
  assert.equal(byTitle(tests, /2 ranks/).length, 2);
  const util = byTitle(tests, /GPU utilisation/)[0];
  assert.equal(util?.outcome, 'skip');
  assert.match(util!.reason, /nvidia-smi/);
  assert.ok(
    tests.every((t) => t.outcome !== 'fail' && t.outcome !== 'infra'),
    summary,
  );

  const rows = buildMatrix(tests);
  assert.equal(rows.find((r) => r.task === 'MLOPS-1.1')?.outcome, 'pass');
  assert.equal(rows.find((r) => r.task === 'MLOPS-2.1')?.outcome, 'pass');
  // The report builder writes the same verdicts to the Markdown matrix.
  const rep = spawnSync('node', ['--import', 'tsx', 'reports/build-report.ts', '--no-allure'], {
    env: { ...process.env, MLV_RESULTS_JSON: run.resultsFile, MLV_REPORT_OUT: run.outDir },
    encoding: 'utf8',
  });
  assert.equal(rep.status, 0, rep.stderr);
  const md = readFileSync(join(run.outDir, 'validation-matrix.md'), 'utf8');
  assert.match(md, /\| MLOPS-1\.1 Single-GPU MNIST training \| CRITICAL \| PASS \|/);
  assert.match(md, /\| MLOPS-2\.1 Multi-GPU data-parallel training \| HIGH \| PASS \|/);
  assert.deepEqual(jobsOfRun(run.runId), [], 'jobs of the run still in squeue');
});

test('--grep @critical selects exactly the critical HPC tests, and --list shows tags', { timeout: 60_000 }, async () => {
  const run = await runSuite(['--project=hpc', '--grep', '@critical', '--list']);
  assert.equal(run.code, 0, run.output);
  const listed = run.output.split('\n').filter((l) => l.includes('[hpc]'));
  // the task list's CRITICAL tasks on the HPC side: 1.1 and 3.1 (5.1 is the e2e project's)
  assert.equal(listed.length, 2, run.output);
  assert.match(listed[0]!, /MLOPS-1\.1 .*@critical/);
  assert.match(listed[1]!, /MLOPS-3\.1 .*@critical/);
});

test('controls: 9 GPUs on a 4-GPU target skips with the reason; forcing it fails with the scheduler reason; declaring 8 fails the preflight', { timeout: 5 * 60_000 }, async () => {
  const run = await runSuite(['--project=controls', '--grep', '9 GPUs'], { MLV_CONTROLS: '1' });
  const tests = run.tests();
  const skip = byTitle(tests, /needing 9 GPUs/)[0];
  assert.equal(skip?.outcome, 'skip');
  assert.match(skip!.reason, /declares 4 GPU\(s\) per node.*needs 9/);
  const forced = byTitle(tests, /asking SLURM for 9 GPUs/)[0];
  assert.equal(forced?.outcome, 'fail');
  assert.match(forced!.reason, /sbatch rejected .*Requested node configuration is not available/);

  // A target that declares more GPUs per node than GRES holds fails at the preflight, naming each node.
  const claimed = await runSuite(['--project=preflight-hpc'], { MLV_GPUS_PER_NODE: '8' });
  assert.equal(byTitle(claimed.tests(), /probe the HPC target/)[0]?.outcome, 'fail', claimed.output);
  assert.match(
    claimed.output,
    /capability broken: the declared GPUs are not there:\s+- node node1 has 4 GPU\(s\) where the target declares 8 per node \(MLV_GPUS_PER_NODE=8\)\. Fix: .*\s+- node node2 has 4 GPU\(s\)/,
  );
  assert.deepEqual(jobsOfRun(run.runId), []);
});
