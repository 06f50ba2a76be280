/**
 * Controls and post-mortem: impossible accuracy references make MLOPS-1.1 fail on its accuracy
 * criterion; a missing storageUri fails naming KServe's reason. With MLV_KEEP_ON_FAILURE, a failed test's run directory (HPC) and its
 * InferenceService with its namespace (cloud) stay, labelled with their expiry; the jobs are
 * gone; a preflight before the expiry leaves them and says so, the first one after removes them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ledger } from '../../fixtures/ledger.ts';
import { LEDGER_DIR } from '../../helpers/run-state.ts';
import { byTitle, jobsOfRun, runSuite } from './pw.ts';

const KUBECONFIG = '/var/lib/mlops-lab/cloud/kubeconfig';
// Long enough for the run's own cleanup and one preflight to finish before the expiry.
const KEEP_SECONDS = 25;
const kubectl = (...args: string[]) => spawnSync('kubectl', ['--kubeconfig', KUBECONFIG, ...args], { encoding: 'utf8' });
const kept = (runId: string) => new Ledger(runId, 0, LEDGER_DIR).keptEntries();
const oneLine = (s: string) => s.replace(/\n\s*/g, ' ');
const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

test('control: impossible accuracy fails MLOPS-1.1 on accuracy; MLV_KEEP_ON_FAILURE keeps its run directory until the first preflight after the expiry', { timeout: 8 * 60_000 }, async () => {
  const run = await runSuite(['--project=hpc', '--grep', 'MLOPS-1.1'], { MLV_REFERENCES: 'tests/recorded/references/impossible-accuracy.yaml', MLV_KEEP_ON_FAILURE: `${KEEP_SECONDS}s` });
  const t = byTitle(run.tests(), /MLOPS-1\.1/)[0];
  assert.equal(t?.outcome, 'fail', run.output.slice(-3000));
  assert.deepEqual(
    t!.criteria.filter((c) => c.status === 'fail').map((c) => c.name),
    ['test_accuracy'],
    JSON.stringify(t!.criteria, null, 1),
  );
  assert.notEqual(run.code, 0);
  assert.deepEqual(jobsOfRun(run.runId), [], 'jobs are cancelled whatever is kept');

  const [dir] = kept(run.runId);
  assert.equal(dir?.kind, 'remote-dir', JSON.stringify(kept(run.runId)));
  assert.ok(existsSync(dir.id), `${dir.id} was removed`);
  assert.match(readFileSync(`${dir.id}/KEPT-UNTIL`, 'utf8'), new RegExp(`^${dir.keptUntil}\\nKept for post-mortem until ${dir.keptUntil} \\(MLV_KEEP_ON_FAILURE\\) after "MLOPS-1\\.1 `));
  assert.ok(existsSync(`${dir.id}/mlops-1.1-mnist/metrics.json`), 'the failed training run’s metrics are there to read');

  const early = await runSuite(['--project=preflight-hpc']);
  assert.equal(early.code, 0, early.output.slice(-2000));
  assert.match(oneLine(early.output), new RegExp(`kept for post-mortem until ${dir.keptUntil} \\(MLV_KEEP_ON_FAILURE\\): remote-dir ${dir.id} \\(run ${run.runId}\\)`));
  assert.ok(existsSync(dir.id), 'removed before its expiry');

  await sleepUntil(Date.parse(dir.keptUntil!) + 1000);
  const late = await runSuite(['--project=preflight-hpc']);
  assert.equal(late.code, 0, late.output.slice(-2000));
  assert.ok(!existsSync(dir.id), `${dir.id} is still there after its expiry`);
  assert.ok(existsSync(`${LEDGER_DIR}/${run.runId}.done`), 'the ledger is archived once nothing is kept');
});

test(
  'control: a missing storageUri fails naming the reason; MLV_KEEP_ON_FAILURE keeps the failed InferenceService and its namespace, labelled with their expiry, until the first preflight after it',
  { timeout: 5 * 60_000 },
  async () => {
    const run = await runSuite(['--project=controls', '--grep', 'missing storageUri'], { MLV_CONTROLS: '1', MLV_KEEP_ON_FAILURE: `${KEEP_SECONDS}s` });
    const b = byTitle(run.tests(), /missing storageUri/)[0];
    assert.equal(b?.outcome, 'fail', run.output.slice(-3000));
    // The control itself: KServe's BlockedByFailedLoad ends the wait long before the 90 s timeout, with the storage-initializer's own line.
    const after = /bad-storage .*lastFailureInfo ModelLoadFailed: .*does-not-exist does not exist.* \(after (\d+) s\)/.exec(b!.reason);
    assert.ok(after && Number(after[1]) < 45, b!.reason);
    assert.match(run.output, /init storage-initializer: terminated \(Error, exit code 1/);
    assert.match(run.output, /kserve\.storage ERROR Storage initialization failed/);
    const entries = kept(run.runId);
    assert.deepEqual(entries.map((e) => e.kind).sort(), ['k8s-namespace', 'k8s-object'], JSON.stringify(entries));
    const ns = entries.find((e) => e.kind === 'k8s-namespace')!;
    const label = (...what: string[]) => kubectl('get', ...what, '-o', 'jsonpath={.metadata.labels.mlv\\.io/keep-until}').stdout;
    const until = ns.keptUntil!.replace(/[-:]|\.\d+/g, '');
    assert.equal(label('ns', ns.id), until);
    assert.equal(label('isvc', 'bad-storage', '-n', ns.id), until);

    const early = await runSuite(['--project=preflight-cloud']);
    assert.equal(early.code, 0, early.output.slice(-2000));
    assert.match(oneLine(early.output), new RegExp(`kept for post-mortem until ${ns.keptUntil} \\(MLV_KEEP_ON_FAILURE\\): k8s-namespace ${ns.id} \\(run ${run.runId}\\)`));
    assert.equal(kubectl('get', 'ns', ns.id).status, 0, 'removed before its expiry');

    await sleepUntil(Date.parse(ns.keptUntil!) + 1000);
    const late = await runSuite(['--project=preflight-cloud']);
    assert.equal(late.code, 0, late.output.slice(-2000));
    assert.notEqual(kubectl('get', 'ns', ns.id).status, 0, `namespace ${ns.id} is still there after its expiry`);
    assert.ok(existsSync(`${LEDGER_DIR}/${run.runId}.done`));
  },
);
