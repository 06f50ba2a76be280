/**
 * The cloud project against the cloud lab: 4.1 passes, 4.2 passes on the stand-in GPU node, each
 * cloud check is shown to fail when its condition is broken, and nothing leaks, also after a
 * run killed mid-test.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'dotenv';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { LAB_TARGET_FILE } from '../../helpers/config.ts';
import { loadReferences, taskReferences, threshold } from '../../helpers/references.ts';
import { SLOWDOWN_ANNOTATION } from '../../lab/cloud/runtime/slowdown.ts';
import { byTitle, runSuite, type PwRun } from './pw.ts';

const KUBECONFIG = '/var/lib/mlops-lab/cloud/kubeconfig';
const RUN_DIR = '/var/lib/mlops-lab/run';
const kubectl = (...args: string[]) => spawnSync('kubectl', ['--kubeconfig', KUBECONFIG, ...args], { encoding: 'utf8' });
const namespacesOf = (runId: string) => kubectl('get', 'ns', '-l', `mlv.io/run=${runId}`, '-o', 'name').stdout.trim().split('\n').filter(Boolean);
const runtimesOf = (runId: string) => (existsSync(RUN_DIR) ? readdirSync(RUN_DIR).filter((f) => f.startsWith(`runtime-${runId}`)) : []);

async function until(cond: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function failedCriteria(run: Awaited<ReturnType<typeof runSuite>>, re: RegExp) {
  const t = byTitle(run.tests(), re)[0];
  assert.ok(t, run.output.slice(-2000));
  return { outcome: t.outcome, failed: t.criteria.filter((c) => c.status === 'fail').map((c) => c.name), t };
}

test('kubectl sees the lab InferenceService API', () => {
  const r = kubectl('get', 'inferenceservices', '-A');
  assert.equal(r.status, 0, r.stderr);
});

/** The healthy cloud run of the first test: the slowdown control's baseline (one 4.1 run fewer). */
let healthy: PwRun | undefined;

test('the cloud project passes MLOPS-4.1 and 4.2 (on the stand-in GPU node; GPU utilisation skipped with its reason); nothing is left behind', { timeout: 10 * 60_000 }, async () => {
  const run = await runSuite(['--project=cloud']);
  healthy = run;
  const tests = run.tests();
  const summary = tests.map((t) => `${t.outcome.padEnd(7)} ${t.title} ${t.reason}`).join('\n');
  const t41 = byTitle(tests, /MLOPS-4\.1/)[0];
  console.log(`cloud wall time ${run.seconds.toFixed(1)} s\n${summary}\n${t41?.criteria.map((c) => `  ${c.status} ${c.name}: ${c.detail}`).join('\n')}`);
  assert.equal(t41?.outcome, 'pass', summary);
  for (const name of [
    'InferenceService Ready',
    'prediction_accuracy (V1)',
    'prediction_accuracy (V2)',
    'V1 and V2 agree on every sample',
    'p95_latency_ms',
    'scaled up to at least 2 replicas under load',
    'scaled back down after the load',
  ]) {
    assert.equal(t41!.criteria.find((c) => c.name === name)?.status, 'pass', name);
  }
  const t42 = byTitle(tests, /MLOPS-4\.2/)[0];
  console.log(t42?.criteria.map((c) => `  ${c.status} ${c.name}: ${c.detail}`).join('\n'));
  assert.equal(t42?.outcome, 'pass', summary);
  const c42 = (re: RegExp) => t42!.criteria.filter((c) => re.test(c.name));
  for (const re of [
    /^pod .* has a GPU in its limits, on a GPU node$/,
    /^completion for ".*" is non-empty and not degenerate$/,
    /^p95_latency_ms$/,
    /^throughput_rps/,
    /^autoscaling triggered under load$/,
  ])
    assert.ok(c42(re).length > 0 && c42(re).every((c) => c.status === 'pass'), `${re}: ${JSON.stringify(c42(re))}`);
  assert.equal(c42(/^completion for/).length, 3);
  assert.match(c42(/^pod /)[0]!.detail, /lab-cloud-gpu-node .*a GPU stand-in, label lab\.mlv\.io\/fake-gpu=true: no real GPU/);
  const util = c42(/^gpu_utilization_percent$/);
  assert.deepEqual(
    util.map((c) => c.status),
    ['skip'],
  );
  assert.match(util[0]!.detail, /is a GPU stand-in \(label lab\.mlv\.io\/fake-gpu=true\): no GPU and no DCGM/);
  assert.deepEqual(namespacesOf(run.runId), []);
  assert.equal(kubectl('get', 'isvc', '-A', '-l', `mlv.io/run=${run.runId}`, '-o', 'name').stdout.trim(), '');
  assert.deepEqual(runtimesOf(run.runId), []);
});

test(
  'controls: wrong labels fail validity; impossible P95 and maxReplicas 1 fail exactly those checks (the bad storageUri control is in keep-on-failure.test.ts)',
  { timeout: 10 * 60_000 },
  async () => {
    const lab = parse(readFileSync(LAB_TARGET_FILE));
    const wrong = await runSuite(['--project=cloud', '--grep', 'MLOPS-4.1'], { MLV_MNIST_MODEL_URI: lab.MLV_CONTROL_WRONG_MODEL_URI!, MLV_REFERENCES: 'tests/recorded/references/cloud-quick.yaml' });
    const w = failedCriteria(wrong, /MLOPS-4\.1/);
    assert.equal(w.outcome, 'fail');
    assert.deepEqual(w.failed, ['prediction_accuracy (V2)', 'prediction_accuracy (V1)']);

    const imp = await runSuite(['--project=cloud', '--grep', 'MLOPS-4.1'], { MLV_REFERENCES: 'tests/recorded/references/cloud-impossible.yaml' });
    const i = failedCriteria(imp, /MLOPS-4\.1/);
    assert.equal(i.outcome, 'fail');
    assert.deepEqual(i.failed, ['p95_latency_ms', 'scaled up to at least 2 replicas under load']);

    for (const r of [wrong, imp]) assert.deepEqual(namespacesOf(r.runId), []);
  },
);

/** The P95 that MLOPS-4.1's p95_latency_ms criterion measured in a run. */
function p95Of(run: Awaited<ReturnType<typeof runSuite>>): number {
  const c = failedCriteria(run, /MLOPS-4\.1/).t.criteria.find((x) => x.name === 'p95_latency_ms');
  const m = /^p95_latency_ms = ([\d.]+) ms/.exec(c?.detail ?? '');
  assert.ok(m, `no measured p95_latency_ms: ${c?.detail ?? run.output.slice(-2000)}`);
  return Number(m[1]);
}

/** The control's slowdown: the model servers spend this many times the CPU per request. */
const SLOW = 5;

/** references/lab.yaml with MLOPS-4.1's model servers SLOW times slower (lab.mlv.io/slowdown), as a temp file. */
function slowedLabReferences(): string {
  const doc = parseYaml(readFileSync('references/lab.yaml', 'utf8')) as { target: string; tasks: Record<string, { workload: { annotations?: Record<string, string> } }> };
  const w = doc.tasks['MLOPS-4.1']!.workload;
  w.annotations = { ...w.annotations, [SLOWDOWN_ANNOTATION]: String(SLOW) };
  doc.target = `${doc.target}-slow${SLOW}x`;
  const file = join(mkdtempSync(join(tmpdir(), `mlv-slow${SLOW}x-`)), 'references.yaml');
  writeFileSync(file, stringifyYaml(doc));
  return file;
}

// The slowdown makes every model-server replica spend SLOW x the CPU per request (lab/cloud/runtime/slowdown.ts).
// On the lab's 2 shared cores, where the client and the TLS router use most of the CPU, 3x raised MLOPS-4.1's
// P95 only 1.7x (32 -> 55 ms), and once in CI it stayed under the band's 53.7 ms: too close for a control.
// 5x: P95 16.5 -> 112 ms (x6.8, 2026-12-02). The lab's calibrated bands (npm run calibrate) must catch it,
// while the same run without the slowdown (the first test's) passes.
test(`control: a ${SLOW}x slower model server (lab.mlv.io/slowdown "${SLOW}") fails p95_latency_ms of MLOPS-4.1 under the lab references`, { timeout: 10 * 60_000 }, async () => {
  const normal = healthy ?? (await runSuite(['--project=cloud', '--grep', 'MLOPS-4.1']));
  const slow = await runSuite(['--project=cloud', '--grep', 'MLOPS-4.1'], { MLV_REFERENCES: slowedLabReferences() });
  const [n, s] = [p95Of(normal), p95Of(slow)];
  const max = threshold(taskReferences(loadReferences('references/lab.yaml'), 'MLOPS-4.1'), 'p95_latency_ms').max!;
  const [nr, sl] = [failedCriteria(normal, /MLOPS-4\.1/), failedCriteria(slow, /MLOPS-4\.1/)];
  console.log(`P95 normal ${n} ms, slowdown ${SLOW}: ${s} ms (x${(s / n).toFixed(2)}), max ${max} ms; slowed run ${sl.outcome}, failed: ${sl.failed.join(', ') || 'none'}`);
  for (const r of [normal, slow]) assert.deepEqual(namespacesOf(r.runId), []);
  assert.equal(nr.outcome, 'pass', `the run without the slowdown must pass: failed ${nr.failed.join(', ')}`);
  assert.ok(s > 1.3 * n, `P95 with the slowdown ${s} ms should be well above the normal ${n} ms`);
  assert.equal(sl.outcome, 'fail');
  assert.ok(sl.failed.includes('p95_latency_ms'), `p95_latency_ms should fail: failed ${sl.failed.join(', ')}`);
});

test('a run killed mid-test leaves a namespace that the next preflight removes, with its runtime processes', { timeout: 6 * 60_000 }, async () => {
  const runId = `mlv-kill9c-${Date.now().toString(36)}`;
  await runSuite(['--project=cloud', '--grep', 'MLOPS-4.1'], { MLV_RUN_ID: runId }, 4 * 60_000, (pid) => {
    void until(() => runtimesOf(runId).length > 0, 120_000, 'a runtime of the run').then(
      () => setTimeout(() => process.kill(-pid, 'SIGKILL'), 1000),
      () => process.kill(-pid, 'SIGKILL'),
    );
  });
  assert.ok(namespacesOf(runId).length > 0, 'the killed run should have left its namespace');
  const next = await runSuite(['--project=preflight-cloud']);
  assert.equal(next.code, 0, next.output);
  await until(() => namespacesOf(runId).length === 0 && runtimesOf(runId).length === 0, 30_000, 'orphaned namespace and runtimes to go');
});
