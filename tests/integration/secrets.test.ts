/**
 * Acceptance 2 of the hardening issue: fake secrets configured everywhere a secret can go on
 * the lab (the runtime prefix's env token, the SSH key passphrase, the inference bearer token,
 * a token in the Prometheus URL's query, a signature in the model URI's query) never reach what
 * a user or CI reads: the runner's output, the results JSON, junit, the Allure results,
 * test-results/, reports/ and the validation matrix built from the run. The control plants a
 * secret in a scanned file and shows the same scan finds it, and the masked form in the
 * attachments shows the secrets really were configured.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runSuite, type PwRun } from './pw.ts';

const S = {
  prefix: 'mlv-fake-secret-1-prefix',
  passphrase: 'mlv-fake-secret-2-passphrase',
  token: 'mlv-fake-secret-3-bearer',
  prometheus: 'mlv-fake-secret-4-prom',
  model: 'mlv-fake-secret-5-modeluri',
};
const SECRETS = Object.values(S);

/** Files under the scanned places that hold any fake secret, and whether the runner's output did. */
function leaks(run: PwRun): string[] {
  const dirs = [run.outDir, 'reports', 'test-results'];
  const hits: string[] = [];
  for (const s of SECRETS) {
    const r = spawnSync('grep', ['-rlF', '--', s, ...dirs], { encoding: 'utf8' });
    assert.ok(r.status === 0 || r.status === 1, `grep failed: ${r.stderr}`);
    hits.push(
      ...r.stdout
        .split('\n')
        .filter(Boolean)
        .map((f) => `${f}: ${s}`),
    );
    if (run.output.includes(s)) hits.push(`runner output: ${s}`);
  }
  return hits;
}

/** Build the matrix of the run into its own directory, so reports are scanned too. */
function buildReport(run: PwRun) {
  execFileSync('node', ['--import', 'tsx', 'reports/build-report.ts', '--no-allure'], {
    env: { ...process.env, MLV_REPORT_OUT: run.outDir, MLV_RESULTS_JSON: run.resultsFile },
    stdio: 'pipe',
  });
}

function check(run: PwRun, masked: RegExp) {
  buildReport(run);
  assert.deepEqual(leaks(run), [], 'a fake secret leaked');
  // Configured for real: the attachments carry the masked form.
  const found = spawnSync('grep', ['-rlE', masked.source, run.outDir], { encoding: 'utf8' });
  assert.ok(found.stdout.trim(), `no attachment shows ${masked.source}: were the secrets configured?`);
  // Control: the same scan finds a secret planted unredacted.
  writeFileSync(join(run.outDir, 'planted.txt'), `HF_TOKEN=${S.prefix}\n`);
  assert.ok(
    leaks(run).some((l) => l.startsWith(join(run.outDir, 'planted.txt'))),
    'the scan cannot find a planted secret',
  );
}

test('HPC: the runtime-prefix token and the key passphrase appear nowhere', { timeout: 10 * 60_000 }, async () => {
  const run = await runSuite(['--project=hpc', '--grep', 'MLOPS-1.1'], {
    MLV_REFERENCES: 'tests/recorded/references/hpc-quick.yaml', // a short training: this checks the masking, not the model
    MLV_RUNTIME_PREFIX: `env HF_TOKEN=${S.prefix}`,
    MLV_SSH_KEY_PASSPHRASE: S.passphrase,
  });
  const t = run.tests();
  assert.ok(t.length > 0, run.output);
  check(run, /HF_TOKEN=\*\*\*/);
});

test('cloud: the bearer token, the Prometheus URL token and the model URI signature appear nowhere', { timeout: 10 * 60_000 }, async () => {
  const run = await runSuite(['--project=cloud', '--grep', 'MLOPS-4.1'], {
    MLV_REFERENCES: 'tests/recorded/references/cloud-quick.yaml',
    MLV_INFERENCE_TOKEN: S.token,
    MLV_PROMETHEUS_URL: `https://127.0.0.1:9/metrics?access_token=${S.prometheus}`,
    MLV_MNIST_MODEL_URI: `pvc://mlv-models/mnist-repository?X-Amz-Signature=${S.model}`,
  });
  const t = run.tests();
  assert.ok(t.length > 0, run.output);
  check(run, /X-Amz-Signature=\*\*\*/);
});
