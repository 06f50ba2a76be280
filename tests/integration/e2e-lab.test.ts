/**
 * The e2e project against the lab: MLOPS-5.1 passes, train on SLURM to serve on the cloud lab
 * through the lab's MLflow and object store, and leaves nothing behind (no job, namespace,
 * experiment, registered model or object of the run). Controls: MLflow down is an infra error
 * naming the URI before any job is submitted; a corrupted registered artifact stops the path at
 * the sync stage, before anything is deployed; a Prometheus that counts each request twice fails
 * the monitoring check. `mlv-pipeline run --release --keep` passes MLOPS-5.2 and keeps its
 * deployment through later preflights; its rollbacks, status and down drive that deployment, and
 * a rollback under the lab fault rollout-unsafe fails rollout_errors (the control of the rollout
 * checks 5.2 and the kept rollback share, criteria.rolledOut). The controls train briefly
 * (tests/recorded/references/e2e-quick.yaml): they check where the path stops and what it leaves.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'dotenv';
import { MlflowClient } from '../../clients/mlflow/client.ts';
import { ObjectStore } from '../../clients/object-store.ts';
import { LAB_TARGET_FILE, parseTarget } from '../../helpers/config.ts';
import { byTitle, jobsOfRun, runSuite } from './pw.ts';

const target = parseTarget(parse(readFileSync(LAB_TARGET_FILE, 'utf8')), LAB_TARGET_FILE);
const kubectl = (...args: string[]) => spawnSync('kubectl', ['--kubeconfig', '/var/lib/mlops-lab/cloud/kubeconfig', ...args], { encoding: 'utf8' });

/** A short training for the controls, which check where the path stops and what it leaves, not the model (the first test runs 5.1 under the lab's references). */
const QUICK = { MLV_REFERENCES: 'tests/recorded/references/e2e-quick.yaml' };
const fault = (name: string, state: 'on' | 'off') => assert.equal(spawnSync('bash', ['lab/lab.sh', 'fault', name, state]).status, 0, `fault ${name} ${state}`);

async function leftOf(runId: string): Promise<string[]> {
  const mlflow = new MlflowClient(target.mlflow!);
  const store = new ObjectStore(target.objectStore!);
  const experiments = (await mlflow.searchExperiments(`tags.\`mlv.run_id\` = '${runId}'`)).map((e) => `experiment ${e.name}`);
  const models = (await mlflow.searchRegisteredModels(`name LIKE 'mlv-${runId}%'`)).map((m) => `registered model ${m.name}`);
  const objects = (await store.list(`${target.objectStore!.prefix}/${runId}/`)).map((k) => `object ${k}`);
  const namespaces = kubectl('get', 'ns', '-l', `mlv.io/run=${runId}`, '-o', 'name').stdout.trim().split('\n').filter(Boolean);
  return [...experiments, ...models, ...objects, ...namespaces, ...jobsOfRun(runId).map((j) => `job ${j}`)];
}

test('the lab names an MLflow server and an object store', () => {
  assert.ok(target.mlflow && target.objectStore, `the lab's target file has no MLFLOW_TRACKING_URI or MLV_S3_BUCKET (lab up writes them)`);
});

test('MLOPS-5.1 passes on the lab: every stage within its limit, lineage, checksums, the served model is the registered one; nothing left', { timeout: 10 * 60_000 }, async () => {
  const run = await runSuite(['--project=e2e', '--grep', 'MLOPS-5\\.1']);
  const t = byTitle(run.tests(), /MLOPS-5\.1/)[0];
  const detail = `${t?.outcome} ${t?.reason}\n${t?.criteria.map((c) => `  ${c.status} ${c.name}: ${c.detail}`).join('\n')}\n${run.output.slice(-1500)}`;
  console.log(`e2e wall time ${run.seconds.toFixed(1)} s\n${detail}`);
  assert.equal(t?.outcome, 'pass', detail);
  for (const name of [
    'lineage tags on the MLflow run',
    'lineage tags on the model version',
    'register_seconds',
    'sync_seconds',
    'deploy_seconds',
    'train_to_ready_seconds',
    'prediction_accuracy',
    'served_max_abs_diff',
    'Prometheus scrapes the predictor pods',
    'monitored_requests_ratio',
    'monitored_p95_latency_ms',
  ])
    assert.equal(t.criteria.find((c) => c.name === name)?.status, 'pass', `${name}\n${detail}`);
  assert.deepEqual(await leftOf(run.runId), []);
});

test(
  'control: a Prometheus that scrapes each pod twice (lab fault prometheus-double-scrape) fails monitored_requests_ratio of MLOPS-5.1, and nothing else; nothing left',
  { timeout: 5 * 60_000 },
  async () => {
    fault('prometheus-double-scrape', 'on');
    let run;
    try {
      run = await runSuite(['--project=e2e', '--grep', 'MLOPS-5\\.1'], QUICK);
    } finally {
      fault('prometheus-double-scrape', 'off');
    }
    const t = byTitle(run.tests(), /MLOPS-5\.1/)[0];
    const failed = t?.criteria.filter((c) => c.status === 'fail') ?? [];
    console.log(`double scrape: ${t?.outcome}; ${failed.map((c) => `${c.name}: ${c.detail}`).join(' | ')}`);
    assert.equal(t?.outcome, 'fail', `${t?.outcome} ${t?.reason}`);
    assert.deepEqual(
      failed.map((c) => c.name),
      ['monitored_requests_ratio'],
    );
    assert.match(failed[0]!.detail, /monitored_requests_ratio = 2, .*series by scrape job: kubernetes-pods 1, podmonitor-duplicate 1/);
    assert.deepEqual(await leftOf(run.runId), []);
  },
);

test('control: MLflow down is an infra error naming the URI within 15 s, before any job is submitted', { timeout: 5 * 60_000 }, async () => {
  const run = await runSuite(['--project=e2e', '--grep', 'MLOPS-5\\.1'], { MLFLOW_TRACKING_URI: 'http://127.0.0.1:9' });
  const t = byTitle(run.tests(), /MLOPS-5\.1/)[0];
  assert.equal(t?.outcome, 'infra', `${t?.outcome} ${t?.reason}`);
  assert.match(t.reason, /stage "train" failed after \d\.\d s: MLflow at http:\/\/127\.0\.0\.1:9 could not be reached .*\(not run: track, register, sync, deploy, infer\)/);
  assert.ok(!t.criteria.some((c) => c.name === 'job completed'), 'no training job ran');
  assert.ok(t.durationMs < 15_000, `${t.durationMs} ms`);
  assert.deepEqual(await leftOf(run.runId), []);
});

/** The record of the deployment `mlv-pipeline run --keep` keeps. */
const KEPT = 'reports/out/pipeline/deployment.json';

/** `npx mlv-pipeline <args>`, as a user runs it (with `env` added): its exit code, its output, and the run it made. */
function pipelineCommandWith(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync('npx', ['--no-install', 'mlv-pipeline', ...args], { encoding: 'utf8', timeout: 10 * 60_000, env: { ...process.env, ...env } });
  const runId = readFileSync('reports/out/pipeline/latest', 'utf8').trim();
  return { code: r.status, output: `${r.stdout}${r.stderr}`, runId };
}
const pipelineCommand = (...args: string[]) => pipelineCommandWith({}, ...args);

test('control: a corrupted registered artifact (one flipped byte) stops mlv-pipeline run at sync: exit 1 naming the stage, nothing deployed, nothing left', { timeout: 5 * 60_000 }, async () => {
  fault('mlflow-artifact-corrupted', 'on');
  let run;
  try {
    run = pipelineCommandWith(QUICK, 'run');
  } finally {
    fault('mlflow-artifact-corrupted', 'off');
  }
  assert.equal(run.code, 1, run.output);
  assert.match(run.output, /failed stage: path sync: the registered artifact .*model\.onnx has sha256 [0-9a-f]{64}, not the trained model's [0-9a-f]{64}/);
  assert.match(run.output, / deploy +NOT RUN/);
  assert.match(run.output, /logs: reports\/out\/pipeline\/mlv-/);
  assert.deepEqual(await leftOf(run.runId), []);
});

test(
  'mlv-pipeline run --release --keep passes MLOPS-5.2 and keeps the service; rollback under rollout-unsafe fails rollout_errors, rollback to 1 passes, status shows it; down leaves nothing',
  { timeout: 12 * 60_000 },
  async () => {
    try {
      const t0 = Date.now();
      const run = pipelineCommand('run', '--release', '--keep');
      console.log(run.output.slice(-2500));
      assert.equal(run.code, 0, run.output);
      for (const line of [
        /path +deploy +PASSED/,
        /v2 +sync +PASSED/,
        /broken-step promote +FAILED .*did not take/,
        /broken-step\n +promote +FAILED[^\n]*\n +verify +NOT RUN/,
        /v2 +verify +PASSED/,
        /rollback promote +PASSED/,
        /rollback verify +PASSED/,
        /the deliberately broken step failed, as it must: promote/,
        /kept deployment mnist-release@mlv-\S+ \(MLOPS-5\.2, .*\n +version 1 +s3:\/\/.*\n +version 2 +s3:\/\/.*\n +serving: version 1, Ready.*alias mlv-serving → 1\n +served: 1 → 2 → 1; mlv-pipeline rollback goes to version 2/,
      ])
        assert.match(run.output, line);
      const t1 = Date.now();
      const missing = pipelineCommand('rollback', '--to', '7');
      assert.equal(missing.code, 2, missing.output);
      assert.match(missing.output, /^--to 7: deployment mnist-release@\S+ has no version 7 \(versions: 1, 2\)\. Fix: --to one of them$/m);
      fault('rollout-unsafe', 'on');
      let unsafe;
      try {
        unsafe = pipelineCommand('rollback');
      } finally {
        fault('rollout-unsafe', 'off');
      }
      assert.equal(unsafe.code, 1, unsafe.output);
      assert.match(unsafe.output, /rollback of deployment mnist-release@\S+: version 1 → 2\n/);
      assert.match(unsafe.output, /failed: .*rollout_errors = [1-9]\d*, want <= 0/);
      assert.match(unsafe.output, /serving: version 2, Ready/, 'the rollout took, with failed requests: the record says so');
      const back = pipelineCommand('rollback');
      assert.equal(back.code, 0, back.output);
      assert.match(back.output, /version 2 → 1\n[^]*rollback promote +PASSED[^]*rollback verify +PASSED/);
      const status = pipelineCommand('status');
      assert.equal(status.code, 0, status.output);
      assert.match(status.output, /rollback\n +promote +PASSED[^]*serving: version 1, Ready.*alias mlv-serving → 1\n +served: 1 → 2 → 1 → 2 → 1;/);
      const t2 = Date.now();
      const down = pipelineCommand('down');
      assert.equal(down.code, 0, down.output);
      assert.match(down.output, /removed +k8s-namespace [^]*removed +s3-prefix [^]*deployment mnist-release@\S+ removed: nothing left/);
      assert.deepEqual(await leftOf(run.runId), []);
      const none = pipelineCommand('rollback');
      assert.equal(none.code, 2, none.output);
      assert.match(none.output, /^nothing kept to roll back\. Fix: keep a deployment with two versions first, mlv-pipeline run --release --keep$/m);
      console.log(`kept run ${((t1 - t0) / 1000).toFixed(1)} s; 2 rollbacks + status ${((t2 - t1) / 1000).toFixed(1)} s; down ${((Date.now() - t2) / 1000).toFixed(1)} s`);
    } finally {
      if (existsSync(KEPT)) pipelineCommand('down'); // nothing left, also when a check above failed
    }
  },
);

test('a run killed (kill -9) after the sync leaves its experiment, model, objects and namespace; the next preflight removes them', { timeout: 5 * 60_000 }, async () => {
  const runId = `mlv-kill9e-${Date.now().toString(36)}`;
  const store = new ObjectStore(target.objectStore!);
  const synced = async () => (await store.list(`${target.objectStore!.prefix}/${runId}/`)).length >= 2;
  await runSuite(['--project=e2e', '--grep', 'MLOPS-5\\.1'], { MLV_RUN_ID: runId, ...QUICK }, 4 * 60_000, (pid) => {
    const poll = async (): Promise<void> => {
      if (await synced().catch(() => false)) {
        process.kill(-pid, 'SIGKILL');
        return;
      }
      setTimeout(() => void poll(), 200);
    };
    void poll();
  });
  const left = await leftOf(runId);
  for (const kind of ['experiment', 'registered model', 'object', 'namespace'])
    assert.ok(
      left.some((l) => l.startsWith(kind)),
      `the killed run should have left a ${kind}: ${left.join(', ')}`,
    );
  const next = await runSuite(['--project=preflight-cloud']);
  assert.equal(next.code, 0, next.output.slice(-2000));
  assert.deepEqual(await leftOf(runId), []);
});
