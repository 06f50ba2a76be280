/**
 * The fault battery (issue: hardening §6): each fault is injected into the lab with
 * `lab/lab.sh fault <name> on`, the suite is run, and the test asserts the outcome class, the
 * message, the time to verdict, and that nothing of the run is left; `off` undoes it whatever
 * happens. Times to verdict are printed for the record.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { RUN_LABEL } from '../../clients/kube.ts';
import type { Manifest } from '../../helpers/manifest.ts';
import { LEDGER_DIR, manifestPath } from '../../helpers/run-state.ts';
import { jobsOfRun, runSuite, type PwRun } from './pw.ts';
import { waitFor } from './wait.ts';

const KUBECONFIG = '/var/lib/mlops-lab/cloud/kubeconfig';
const fault = (...args: string[]) => execFileSync('bash', ['lab/lab.sh', 'fault', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
after(() => fault('clear'));

/** Seconds to the end of the run's first test matching `title` (from Playwright's JSON report): from `since` (ms), else from that test's start. */
function verdictSeconds(run: PwRun, title: RegExp, since?: number): number {
  const ends: number[] = [];
  const walk = (s: { specs?: { title: string; tests: { results: { startTime: string; duration: number }[] }[] }[]; suites?: unknown[] }) => {
    for (const spec of s.specs ?? [])
      if (title.test(spec.title)) for (const t of spec.tests) for (const r of t.results) ends.push(since === undefined ? r.duration : Date.parse(r.startTime) + r.duration - since);
    for (const c of (s.suites ?? []) as (typeof s)[]) walk(c);
  };
  for (const s of (JSON.parse(readFileSync(run.resultsFile, 'utf8')) as { suites: Parameters<typeof walk>[0][] }).suites) walk(s);
  assert.ok(ends.length, `no result for ${title} in ${run.resultsFile}`);
  return Math.min(...ends) / 1000;
}

const oneLine = (s: string) => s.replace(/\n\s*/g, ' ');
const noStack = (out: string) => assert.doesNotMatch(out, /^\s+at \S+ \(.*:\d+:\d+\)$/m, `stack dump in:\n${out}`);
const outcomeOf = (run: PwRun, title: RegExp) => run.tests().find((t) => title.test(t.title));
const PREFLIGHT = /probe the HPC target/;

/** A ledger of a dead run that still lists a SLURM job (as a killed run leaves it): the preflight's sweep asks SLURM about it first. */
function leaveOrphanJob(): string {
  const runId = `mlv-orphan-${Date.now().toString(36)}`;
  const deadPid = spawnSync('true').pid;
  mkdirSync(LEDGER_DIR, { recursive: true });
  const file = join(LEDGER_DIR, `${runId}.jsonl`);
  writeFileSync(file, JSON.stringify({ op: 'created', kind: 'slurm-job', id: '999999', detail: { name: `${runId}-gone` }, runId, runnerPid: deadPid, at: new Date().toISOString() }) + '\n');
  return file;
}

/** Preflight-time faults: the HPC preflight fails with the class and message, in the time given; `orphan`: with an earlier run's job to sweep. */
const preflightFaults: { name: string; node?: string; outcome: 'infra' | 'fail'; expect: RegExp; within: number; orphan?: boolean }[] = [
  {
    name: 'slurmctld-down',
    outcome: 'infra',
    expect: /INFRA: slurmctld \(the SLURM controller\) does not answer: scontrol ping: .* is DOWN\. Fix: start or resume slurmctld/,
    within: 15,
    orphan: true,
  },
  { name: 'slurmctld-hung', outcome: 'infra', expect: /INFRA: slurmctld \(the SLURM controller\) does not answer: scontrol ping: .*\. Fix: start or resume slurmctld/, within: 15, orphan: true },
  { name: 'slurmdbd-down', outcome: 'infra', expect: /INFRA: slurmdbd \(SLURM accounting\) does not answer: sacct: .*Connection refused.*Fix: start slurmdbd/, within: 15, orphan: true },
  { name: 'sshd-down', outcome: 'infra', expect: /INFRA: SSH to mlops@127\.0\.0\.1:2222: connection refused\..*Fix: check MLV_SSH_HOST and MLV_SSH_PORT/, within: 15 },
  {
    name: 'host-key-changed',
    outcome: 'infra',
    expect:
      /INFRA: SSH to mlops@127\.0\.0\.1:2222: the server's ssh-ed25519 host key SHA256:\S+ does NOT match .*Fix: verify SHA256:\S+ out of band.*ssh-keygen -R '\[127\.0\.0\.1\]:2222'.*accept-new does not accept a changed key/,
    within: 15,
  },
  {
    name: 'gres-missing',
    node: 'node2',
    outcome: 'fail',
    expect:
      /capability broken: the declared GPUs are not there: - node node2 has 1 GPU\(s\) where the target declares 4 per node \(MLV_GPUS_PER_NODE=4\); SLURM set it inval: "gres\/gpu count reported lower than configured \(1 < 4\)"\. Fix: check the GPUs on node2/,
    within: 15,
  },
  {
    name: 'gres-missing',
    node: 'all',
    outcome: 'fail',
    expect: /the declared GPUs are not there: - node node1 has 1 GPU\(s\) .* - node node2 has 1 GPU\(s\) /,
    within: 15,
  },
  {
    name: 'shared-ro',
    outcome: 'fail',
    expect:
      /capability broken: shared filesystem \/srv\/mlops-lab\/shared is not writable from the login node: mkdir -p \S+: .*Read-only file system\. Fix: remount it read-write, or point MLV_SHARED_ROOT/,
    within: 15,
  },
  {
    name: 'no-torch',
    outcome: 'fail',
    expect: /torch does not import on compute node node\d under the runtime prefix "" with \/srv\/mlops-lab\/shared\/venvs\/no-torch\/bin\/python: No module named 'torch'\. Fix: install torch/,
    within: 30, // the probe is a job on a compute node
  },
];

for (const f of preflightFaults) {
  const title = `fault ${f.name}${f.node ? ` (${f.node})` : ''}${f.orphan ? ', with a job of a killed run in its ledger' : ''}: the HPC preflight reports ${f.outcome.toUpperCase()}, naming it`;
  test(title, { timeout: 3 * 60_000 }, async () => {
    const orphan = f.orphan ? leaveOrphanJob() : undefined;
    fault(f.name, 'on', ...(f.node ? [f.node] : []));
    let run: PwRun;
    try {
      run = await runSuite(['--project=preflight-hpc'], {}, 2 * 60_000);
    } finally {
      fault(f.name, 'off');
    }
    if (orphan) {
      assert.match(readFileSync(orphan, 'utf8'), /"id":"999999"/, 'the ledger keeps the job for the next sweep');
      assert.doesNotMatch(readFileSync(orphan, 'utf8'), /"op":"removed"/, 'the job is not marked removed while SLURM does not answer');
      rmSync(orphan);
    }
    const seconds = verdictSeconds(run, PREFLIGHT);
    console.log(`fault ${f.name}${f.node ? ` ${f.node}` : ''}: ${f.outcome} ${seconds.toFixed(1)} s into the preflight (the run took ${run.seconds.toFixed(1)} s)`);
    assert.notEqual(run.code, 0);
    assert.equal(outcomeOf(run, PREFLIGHT)?.outcome, f.outcome, run.output);
    assert.match(oneLine(run.output), f.expect, run.output);
    assert.ok(seconds < f.within, `verdict after ${seconds.toFixed(1)} s (want < ${f.within})`);
    noStack(run.output);
    assert.deepEqual(jobsOfRun(run.runId), [], 'a job of the run is left');
  });
}

test('fault node-drained: the 2-node test fails at once naming the node and the drain reason; nothing runs', { timeout: 3 * 60_000 }, async () => {
  fault('node-drained', 'on', 'node2');
  let run: PwRun;
  try {
    run = await runSuite(['--project=hpc', '--grep', '@multi-node'], {}, 2 * 60_000);
  } finally {
    fault('node-drained', 'off');
  }
  const t = outcomeOf(run, /2 ranks spread over 2 nodes/);
  assert.equal(t?.outcome, 'fail', run.output);
  assert.match(t!.reason, /only 1 usable node\(s\) with 1\+ GPU\(s\) in partition lab: node1=idle, node2=drained \(reason: "lab fault: node-drained"\)/);
  assert.ok(t!.durationMs < 5000, `took ${t!.durationMs} ms`);
  assert.deepEqual(jobsOfRun(run.runId), []);
});

/**
 * Run `grep` on the hpc project; when its job `job` runs, inject `name` (each of them in turn,
 * `afterMs` apart); returns the run and the time of the first injection.
 */
async function midJob(grep: string, job: string, name: string | string[], node?: string, afterMs = 0, env: Record<string, string> = {}): Promise<{ run: PwRun; injectedAt: number }> {
  const names = [name].flat();
  const runId = `mlv-fault-${names[0]}-${Date.now().toString(36)}`;
  let injectedAt = 0;
  const run = await runSuite(['--project=hpc', '--grep', grep], { MLV_RUN_ID: runId, ...env }, 6 * 60_000, () => {
    void waitFor('the job to run', async () => jobsOfRun(runId, job, 'RUNNING').length > 0, 180_000, 500).then(async () => {
      for (const n of names) {
        await new Promise((r) => setTimeout(r, afterMs));
        fault(n, 'on', ...(node ? [node] : []));
        injectedAt ||= Date.now();
      }
    });
  });
  assert.ok(injectedAt, `the fault was never injected (no RUNNING ${job} job):\n${run.output}`);
  return { run, injectedAt };
}

test('fault node-lost mid 2-node job: FAIL naming NODE_FAIL and the node within 60 s of SLURM’s verdict; no job left', { timeout: 8 * 60_000 }, async () => {
  let r: Awaited<ReturnType<typeof midJob>>;
  try {
    // 3 s in: its ranks run on both nodes (killed before srun launched them, the job just fails to start its step).
    r = await midJob('2 ranks spread over 2 nodes', 'mlops-2.1', 'node-lost', 'node2', 3000);
  } finally {
    fault('node-lost', 'off');
  }
  const { run, injectedAt } = r;
  const t = outcomeOf(run, /2 ranks spread over 2 nodes/);
  const seconds = verdictSeconds(run, /2 ranks spread over 2 nodes/, injectedAt);
  console.log(`fault node-lost: ${t?.outcome} ${seconds.toFixed(1)} s after the node was killed (SlurmdTimeout 30 s): ${t?.reason}`);
  assert.equal(t?.outcome, 'fail', run.output);
  assert.match(oneLine(run.output), /NODE_FAIL/);
  assert.match(t!.reason, /node2/);
  assert.ok(seconds < 30 + 60, `verdict ${seconds.toFixed(1)} s after the kill`);
  // Its one retry would wait on the dead node: not retried, and the verdict says why.
  assert.match(oneLine(run.output), /Not retried: the job needs 2 node\(s\), and only 1 of 2 node\(s\) of partition lab usable \(node1=\w+, node2=down\*?\)/);
  noStack(run.output);
  await waitFor('the queue to drop the job', async () => jobsOfRun(run.runId).length === 0, 30_000, 500);
});

test('one-shot faults ssh-dropped then job-requeued mid 1.1: each retried once, the test passes as FLAKY in the matrix and in Allure', { timeout: 8 * 60_000 }, async () => {
  const { run } = await midJob('MLOPS-1.1', 'mlops-1.1', ['ssh-dropped', 'job-requeued'], undefined, 3000);
  const t = outcomeOf(run, /MLOPS-1\.1/);
  assert.equal(t?.outcome, 'flaky', run.output);
  assert.match(
    t!.reason,
    /^the SSH connection to 127\.0\.0\.1 dropped at \d\d:\d\d:\d\d UTC \(.+\) and was re-established \d+ ms later\. \/ job \d+ \(mlv-fault-ssh-dropped-\w+-mlops-1\.1-mnist\) was requeued by SLURM .*Resubmitted \(retrying once: 2 of 2 node\(s\) of partition lab usable/,
  );
  noStack(run.output);
  // The report: FLAKY in the matrix, and flaky (with the retries as its message) in Allure's result.
  const env = {
    ...process.env,
    MLV_RESULTS_JSON: run.resultsFile,
    MLV_REPORT_OUT: run.outDir,
    MLV_ALLURE_RESULTS: join(run.outDir, 'allure-results'),
    MLV_ALLURE_REPORT: join(run.outDir, 'allure-report'),
  };
  execFileSync('node', ['--import', 'tsx', 'reports/build-report.ts'], { env, stdio: 'ignore' });
  assert.match(readFileSync(join(run.outDir, 'validation-matrix.md'), 'utf8'), /\| MLOPS-1\.1 [^|]+\| CRITICAL \| FLAKY \|/);
  const results = readdirSync(join(run.outDir, 'allure-results')).filter((f) => f.endsWith('-result.json'));
  const mine = results
    .map((f) => JSON.parse(readFileSync(join(run.outDir, 'allure-results', f), 'utf8')) as { name: string; statusDetails?: { flaky?: boolean; message?: string } })
    .find((r) => /MLOPS-1\.1/.test(r.name));
  assert.equal(mine?.statusDetails?.flaky, true, JSON.stringify(mine?.statusDetails));
  assert.match(mine!.statusDetails!.message!, /^passed after a retry: the SSH connection .* \/ job \d+ .*requeued/);
  await waitFor('the queue to drop the jobs', async () => jobsOfRun(run.runId).length === 0, 30_000, 500);
});

test('fault slurmdbd-down after submission: INFRA naming accounting; no job left', { timeout: 8 * 60_000 }, async () => {
  let r: Awaited<ReturnType<typeof midJob>>;
  try {
    // At once, with a short training (hpc-quick): accounting is first asked at the job's end.
    r = await midJob('MLOPS-1.1', 'mlops-1.1', 'slurmdbd-down', undefined, 0, { MLV_REFERENCES: 'tests/recorded/references/hpc-quick.yaml' });
  } finally {
    fault('slurmdbd-down', 'off');
  }
  const { run, injectedAt } = r;
  const t = outcomeOf(run, /MLOPS-1\.1/);
  console.log(`fault slurmdbd-down: ${t?.outcome} ${verdictSeconds(run, /MLOPS-1\.1/, injectedAt).toFixed(1)} s after the kill`);
  assert.equal(t?.outcome, 'infra', run.output);
  assert.match(t!.reason, /INFRA: slurmdbd \(SLURM accounting\) does not answer/);
  noStack(run.output);
  await waitFor('the queue to drop the job', async () => jobsOfRun(run.runId).length === 0, 30_000, 500);
});

test('fault slurmctld-down while a job runs: INFRA within 30 s naming the controller; the ledger keeps the job until it is gone', { timeout: 8 * 60_000 }, async () => {
  let r: Awaited<ReturnType<typeof midJob>>;
  try {
    // 5 s into the job, so that the controller has saved the job in its state before it dies.
    r = await midJob('MLOPS-1.1', 'mlops-1.1', 'slurmctld-down', undefined, 5000);
  } finally {
    fault('slurmctld-down', 'off');
  }
  const { run, injectedAt } = r;
  const t = outcomeOf(run, /MLOPS-1\.1/);
  const seconds = verdictSeconds(run, /MLOPS-1\.1/, injectedAt);
  console.log(`fault slurmctld-down mid-job: ${t?.outcome} ${seconds.toFixed(1)} s after the kill`);
  assert.equal(t?.outcome, 'infra', run.output);
  assert.match(t!.reason, /INFRA: slurmctld \(the SLURM controller\) does not answer: .*was last seen RUNNING on node\d/);
  assert.ok(seconds < 30, `verdict ${seconds.toFixed(1)} s after the kill`);
  noStack(run.output);
  // The job outlived its controller; the next preflight's sweep removes it.
  const next = await runSuite(['--project=preflight-hpc'], {}, 2 * 60_000);
  assert.equal(next.code, 0, next.output);
  const m = JSON.parse(readFileSync(manifestPath(next.runId), 'utf8')) as Manifest;
  assert.ok(
    m.orphansRemoved.some((o) => o.includes(`(run ${run.runId})`)),
    `the next preflight did not sweep the job of ${run.runId}: ${m.orphansRemoved.join(', ')}`,
  );
  await waitFor('the queue to drop the job', async () => jobsOfRun(run.runId).length === 0, 30_000, 500);
});

test('fault apiserver-down: the cloud preflight is INFRA within 15 s, naming the API URL', { timeout: 3 * 60_000 }, async () => {
  fault('apiserver-down', 'on');
  let run: PwRun;
  try {
    run = await runSuite(['--project=preflight-cloud'], {}, 2 * 60_000);
  } finally {
    fault('apiserver-down', 'off');
  }
  const title = /probe the Kubernetes\/KServe target/;
  const seconds = verdictSeconds(run, title);
  console.log(`fault apiserver-down: ${outcomeOf(run, title)?.outcome} ${seconds.toFixed(1)} s into the preflight`);
  assert.equal(outcomeOf(run, title)?.outcome, 'infra', run.output);
  assert.match(oneLine(run.output), /INFRA: .*https:\/\/127\.0\.0\.1:6443.*Fix:/);
  assert.ok(seconds < 15, `verdict after ${seconds.toFixed(1)} s`);
  noStack(run.output);
});

/** Pods of the run's InferenceService `name`, in the run's namespace (labelled with the run id). */
async function runPods(runId: string, name: string): Promise<number> {
  const kc = new KubeConfig();
  kc.loadFromFile(KUBECONFIG);
  const core = kc.makeApiClient(CoreV1Api);
  const nss = (await core.listNamespace({ labelSelector: `${RUN_LABEL}=${runId}` })).items.map((n) => n.metadata!.name!);
  let n = 0;
  for (const namespace of nss) n += (await core.listNamespacedPod({ namespace, labelSelector: `serving.kserve.io/inferenceservice=${name}` })).items.length;
  return n;
}

test('fault replica-killed under load: 4.1 fails, and its verdict names the error kinds and the container restarts', { timeout: 8 * 60_000 }, async () => {
  const runId = `mlv-fault-replica-${Date.now().toString(36)}`;
  let injectedAt = 0;
  // The autoscaler adds a second replica only under the load test's traffic: then kill them all.
  const run = await runSuite(['--project=cloud', '--grep', 'MLOPS-4.1'], { MLV_RUN_ID: runId }, 6 * 60_000, () => {
    void waitFor('the load test (a second replica)', async () => (await runPods(runId, 'mnist')) >= 2, 300_000, 250).then(() => {
      fault('replica-killed', 'on');
      injectedAt = Date.now();
    });
  });
  assert.ok(injectedAt, `the replicas were never killed (no scale-up seen):\n${run.output}`);
  const t = outcomeOf(run, /MLOPS-4\.1/);
  console.log(`fault replica-killed: ${t?.outcome}: ${t?.reason}`);
  assert.equal(t?.outcome, 'fail', run.output);
  assert.match(t!.reason, /errors: errors = [1-9]\d*.*\((HTTP 5\d\d|connection|timeout) x \d+.*pod \S+ container kserve-container restarted \d+ time\(s\) \(last: Error, exit 137 at/);
  // (a product FAIL: Playwright shows each failed criterion's call site, as for any expect)
  await waitFor('the run’s namespace to go', async () => (await runPods(runId, 'mnist')) === 0, 60_000, 1000);
});
