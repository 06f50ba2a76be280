/**
 * HPC and cloud targets stand alone, a skipped test opens no connection, and a dry run
 * submits nothing yet writes every script and manifest the real run would submit.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'dotenv';
import { LAB_TARGET_FILE } from '../../helpers/config.ts';
import { byTitle, jobsOfRun, runSuite } from './pw.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlv-targets-'));
const lab = parse(readFileSync(LAB_TARGET_FILE));
const CLOUD_KEYS = /^MLV_(KUBE|INGRESS_URL|INFERENCE_|MNIST_MODEL_URI)/;
const HPC_KEYS = /^MLV_(SSH_|SLURM_|SHARED_ROOT|DATASET_DIR|RUNTIME_PREFIX|PYTHON|GPUS_PER_NODE|GPU_KIND|NODE_COUNT|POLL_)/;

function envFile(name: string, keep: RegExp, extra: Record<string, string>): string {
  const vars = { ...Object.fromEntries(Object.entries(lab).filter(([k]) => keep.test(k))), MLV_TARGET_NAME: name, MLV_REFERENCES: 'lab', MLV_WORKERS: '1', ...extra };
  const p = join(dir, `${name}.env`);
  writeFileSync(
    p,
    Object.entries(vars)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
  return p;
}

const kubectl = (...args: string[]) => spawnSync('kubectl', ['--kubeconfig', lab.MLV_KUBECONFIG ?? '', ...args], { encoding: 'utf8' }).stdout.trim();
const sacctJobsOf = (runId: string) =>
  spawnSync('sacct', ['-a', '-n', '-X', '-S', 'now-1hour', '-o', 'JobName%80'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l.includes(runId));

test('a .env with only the cloud lab’s Kubernetes settings runs --project=cloud and passes 4.1; --project=hpc is refused at once', { timeout: 6 * 60_000 }, async () => {
  const env = envFile('cloud-only', CLOUD_KEYS, { MLV_CAPABILITIES: 'kserve' });
  // The short-load references (thresholds as on the lab): this checks the split target, not the load.
  const run = await runSuite(['--project=cloud', '--grep', 'MLOPS-4.1'], { MLV_ENV_FILE: env, MLV_REFERENCES: 'tests/recorded/references/cloud-quick.yaml' });
  const t = byTitle(run.tests(), /MLOPS-4\.1/)[0];
  assert.equal(t?.outcome, 'pass', run.output.slice(-3000));
  assert.ok(!/\[preflight-hpc\]|\[hpc\]/.test(run.output), 'no HPC project ran');
  const refused = await runSuite(['--project=hpc'], { MLV_ENV_FILE: env });
  assert.equal(refused.code, 2);
  assert.ok(refused.seconds < 15, `took ${refused.seconds.toFixed(1)} s`);
  assert.match(refused.output, /--project=hpc needs the HPC side of target "cloud-only" .* which is not configured\. Fix: set MLV_SSH_HOST, MLV_SLURM_PARTITION and MLV_SHARED_ROOT/);
});

test('a .env with only the SLURM lab’s SSH settings runs --project=hpc; --project=cloud is refused at once', { timeout: 6 * 60_000 }, async () => {
  // A short training (hpc-quick): this checks the split target, not the model.
  const env = envFile('hpc-only', HPC_KEYS, { MLV_CAPABILITIES: 'gres-gpu,multi-gpu,multi-node', MLV_REFERENCES: 'tests/recorded/references/hpc-quick.yaml' });
  const run = await runSuite(['--project=hpc', '--grep', 'MLOPS-1.1'], { MLV_ENV_FILE: env });
  const t = byTitle(run.tests(), /MLOPS-1\.1/)[0];
  assert.equal(t?.outcome, 'pass', run.output.slice(-3000));
  assert.ok(!/\[preflight-cloud\]|\[cloud\]/.test(run.output), 'no cloud project ran');
  assert.deepEqual(jobsOfRun(run.runId), []);
  const refused = await runSuite(['--project=cloud'], { MLV_ENV_FILE: env });
  assert.equal(refused.code, 2);
  assert.match(refused.output, /--project=cloud needs the cloud side of target "hpc-only" .* Fix: set MLV_KUBECONFIG or MLV_KUBE_CONTEXT/);
});

test('a test whose requirement the target does not claim is skipped before any connection or namespace', { timeout: 2 * 60_000 }, async () => {
  // A target whose SSH and Kubernetes endpoints refuse every connection: any attempt would be an INFRA error.
  const kubeconfig = join(dir, 'dead-kubeconfig');
  writeFileSync(kubeconfig, readFileSync(lab.MLV_KUBECONFIG ?? '', 'utf8').replace(/server: \S+/, 'server: https://127.0.0.1:1'));
  const env = envFile('dead', new RegExp(`${HPC_KEYS.source}|${CLOUD_KEYS.source}`), { MLV_SSH_PORT: '1', MLV_KUBECONFIG: kubeconfig, MLV_CAPABILITIES: 'gres-gpu,kserve' });
  const runId = `mlv-gate-${Date.now().toString(36)}`;
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { recursive: true });
  // The manifests a preflight would have written: 4 GPUs per node, no GPU node in Kubernetes.
  writeFileSync(
    join(stateDir, `manifest-${runId}.json`),
    JSON.stringify({
      runId,
      partition: 'lab',
      nodes: [],
      usableNodes: ['node1'],
      gpusByNode: { node1: 4 },
      tools: {},
      compute: { cudaAvailable: false, cudaDeviceCount: 0 },
      runDir: '/nonexistent',
      workloadsDir: '/nonexistent',
    }),
  );
  writeFileSync(
    join(stateDir, `cloud-manifest-${runId}.json`),
    JSON.stringify({ apiServer: 'https://127.0.0.1:1', kubeVersion: '?', kserve: true, nodes: [{ name: 'n1', gpus: 0, cpu: '2', memory: '8Gi' }], orphansRemoved: [] }),
  );
  const env2 = { MLV_ENV_FILE: env, MLV_RUN_ID: runId, MLV_STATE_DIR: stateDir, MLV_CONTROLS: '1', MLV_LLM_MODEL_URI: 's3://models/llm' };
  const run = await runSuite(['--project=controls', '--project=cloud', '--no-deps', '--grep', 'needing 9 GPUs|MLOPS-4.2'], env2);
  const tests = run.tests();
  assert.equal(tests.length, 2, run.output);
  for (const t of tests) assert.equal(t.outcome, 'skip', `${t.title}: ${t.outcome} ${t.reason}`);
  assert.match(byTitle(tests, /9 GPUs/)[0]?.reason ?? '', /declares 4 GPU\(s\) per node .*needs 9/);
  assert.match(byTitle(tests, /MLOPS-4\.2/)[0]?.reason ?? '', /^no GPU nodes/);
  assert.doesNotMatch(run.output, /INFRA|ECONNREFUSED|connection refused/i, 'a skipped test tried to connect');
});

test('a dry run of hpc and cloud submits no job, creates no Kubernetes object, and writes every script and manifest', { timeout: 3 * 60_000 }, async () => {
  const run = await runSuite(['--project=hpc', '--project=cloud'], { MLV_DRY_RUN: '1' });
  const tests = run.tests();
  const summary = tests.map((t) => `${t.outcome} ${t.title}: ${t.reason}`).join('\n');
  assert.equal(run.code, 0, run.output.slice(-3000));
  for (const t of tests) assert.equal(t.outcome, 'skip', summary);
  for (const t of byTitle(tests, /MLOPS-1\.1|2 ranks|MLOPS-4\.1|probe/)) assert.match(t.reason, /^dry run: /, summary);
  const out = join(run.outDir, 'dry-run');
  const files = existsSync(out)
    ? readdirSync(out, { recursive: true })
        .map(String)
        .filter((f) => /\.(sbatch|json)$/.test(f))
    : [];
  for (const f of [
    'preflight-probe.sbatch',
    'mlops-1.1-mnist.sbatch',
    'mlops-1.1-verify.sbatch',
    'mlops-2.1-baseline.sbatch',
    'mlops-2.1-ddp-1node.sbatch',
    'mlops-2.1-ddp-2nodes.sbatch',
    'mnist.isvc.json',
  ]) {
    assert.ok(
      files.some((x) => x.endsWith(f)),
      `${f} not written; got ${files.join(', ')}`,
    );
  }
  const script = readFileSync(join(out, files.find((f) => f.endsWith('mlops-1.1-mnist.sbatch')) ?? ''), 'utf8');
  assert.match(script, /^#SBATCH --gres=gpu:1$/m, 'the declared requirement sizes the GRES request');
  assert.deepEqual(jobsOfRun(run.runId), []);
  assert.deepEqual(sacctJobsOf(run.runId), [], 'sacct shows a job of the dry run');
  assert.equal(kubectl('get', 'ns', '-l', `mlv.io/run=${run.runId}`, '-o', 'name'), '');
});
