/**
 * No check passes vacuously: DDP runs broken on purpose fail exactly the criterion aimed at
 * them and the rendered matrix shows the FAIL; a target that declares real GPUs fails 1.1
 * when training ran on the CPU, and its preflight names the missing CUDA.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { byTitle, jobsOfRun, runSuite, type PwRun } from './pw.ts';

const failedOf = (run: PwRun, re: RegExp) => {
  const t = byTitle(run.tests(), re)[0];
  assert.ok(t, `no test matching ${re} in:\n${run.output.slice(-2000)}`);
  return { outcome: t.outcome, failed: t.criteria.filter((c) => c.status === 'fail').map((c) => c.name), t };
};

test('DDP controls fail exactly the criterion aimed at them, and the matrix shows MLOPS-2.1 as FAIL', { timeout: 8 * 60_000 }, async () => {
  const run = await runSuite(['--project=controls', '--grep', 'DDP control'], { MLV_CONTROLS: '1', MLV_REFERENCES: 'tests/recorded/references/ddp-controls-quick.yaml' });
  const want: Record<string, string[]> = {
    'no-sync': ['ranks in sync: identical parameters on every rank'],
    'silent-rank': ['every rank initialised and reported'],
    'uneven-steps': ['even shards: every rank took the same number of steps'],
  };
  for (const [control, failed] of Object.entries(want)) {
    const r = failedOf(run, new RegExp(`DDP control ${control}:`));
    assert.equal(r.outcome, 'fail', `${control}: ${r.t.reason}`);
    assert.deepEqual(r.failed, failed, `${control}: ${JSON.stringify(r.t.criteria, null, 1)}`);
  }
  const rep = spawnSync('node', ['--import', 'tsx', 'reports/build-report.ts', '--no-allure'], {
    env: { ...process.env, MLV_RESULTS_JSON: run.resultsFile, MLV_REPORT_OUT: run.outDir },
    encoding: 'utf8',
  });
  assert.equal(rep.status, 0, rep.stderr);
  assert.match(readFileSync(join(run.outDir, 'validation-matrix.md'), 'utf8'), /\| MLOPS-2\.1 Multi-GPU data-parallel training \| HIGH \| FAIL \|/);
  assert.deepEqual(jobsOfRun(run.runId), []);
});

test('MLV_GPU_KIND=nvidia on the lab: 1.1 fails with "training ran on CPU"; the preflight names the missing CUDA', { timeout: 6 * 60_000 }, async () => {
  const runId = `mlv-gpukind-${Date.now().toString(36)}`;
  // A manifest from the lab's own (stand-in GPU) preflight, kept for a second run of 1.1 alone.
  const pre = await runSuite(['--project=preflight-hpc'], { MLV_RUN_ID: runId, MLV_KEEP_RUN_DIR: '1' });
  assert.equal(pre.code, 0, pre.output.slice(-2000));
  // A short training (hpc-quick): the check is where training ran, not how well.
  const run = await runSuite(['--project=hpc', '--no-deps', '--grep', 'MLOPS-1.1'], { MLV_RUN_ID: runId, MLV_GPU_KIND: 'nvidia', MLV_REFERENCES: 'tests/recorded/references/hpc-quick.yaml' });
  const r = failedOf(run, /MLOPS-1\.1/);
  assert.equal(r.outcome, 'fail');
  assert.deepEqual(r.failed, ['training ran on the allocated GPU (CUDA)', 'the workload opened an allocated device']);
  assert.match(r.t.criteria.find((c) => c.name.startsWith('training ran'))?.detail ?? '', /^GPU allocated, but training ran on CPU: torch reported device=cpu/);
  const clean = await runSuite(['--project=cleanup-hpc'], { MLV_RUN_ID: runId });
  assert.equal(clean.code, 0, clean.output.slice(-2000));

  const broken = await runSuite(['--project=preflight-hpc'], { MLV_GPU_KIND: 'nvidia' });
  assert.notEqual(broken.code, 0);
  assert.match(broken.output.replace(/\n\s*/g, ' '), /declares 4 NVIDIA GPU\(s\) per node \(MLV_GPU_KIND=nvidia\) but torch on compute node \S+ sees no CUDA/);
  for (const id of [runId, broken.runId]) assert.deepEqual(jobsOfRun(id), []);
});
