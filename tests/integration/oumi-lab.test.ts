/**
 * The Oumi specs (MLOPS-1.2, 2.2, 3.1, 3.2) against the real Oumi CLI on the lab. They need an Oumi on the
 * lab's shared path (lab/oumi/up.sh writes MLV_OUMI into the target file when there is one); where there is
 * none (CI's offline mirror has no Oumi), the first test checks that every Oumi spec skips naming it and the
 * others are skipped, saying so.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { byTitle, runSuite } from './pw.ts';
import { waitFor } from './wait.ts';

const TARGET = '/var/lib/mlops-lab/target.env';
const oumi = existsSync(TARGET) && /^MLV_OUMI=/m.test(readFileSync(TARGET, 'utf8'));
const NO_OUMI = 'no Oumi on the lab (lab/oumi/up.sh found none: the package index has no oumi); the Oumi specs skip, as the first test checks';
const fault = (...args: string[]) => execFileSync('bash', ['lab/lab.sh', 'fault', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const queued = (runId: string) =>
  spawnSync('squeue', ['-h', '-o', '%j'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((n) => n.startsWith(runId));
const launcherHomes = () => readdirSync(tmpdir()).filter((d) => /^mlv-oumi-[A-Za-z0-9]{6}$/.test(d));
const launcherSsh = () =>
  spawnSync('pgrep', ['-af', `${tmpdir()}/mlv-oumi-`], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => /\bssh\b/.test(l));
const launcherCopies = () => (existsSync('/home/mlops/oumi_launcher') ? readdirSync('/home/mlops/oumi_launcher') : []);

test('--project=hpc --grep @oumi: every Oumi spec runs against the real Oumi, or skips naming Oumi where the lab has none', { timeout: 20 * 60_000 }, async () => {
  const run = await runSuite(['--project=hpc', '--grep', '@oumi']);
  const specs = byTitle(run.tests(), /^MLOPS-(1\.2|2\.2|3\.1|3\.2) /);
  assert.equal(specs.length, 4, run.output);
  for (const t of specs) console.log(`${t.outcome.padEnd(5)} ${t.title}${t.reason ? `: ${t.reason}` : ''}`);
  if (!oumi) {
    for (const t of specs) assert.match(`${t.outcome} ${t.reason}`, /^skip Oumi is not available on "lab": MLV_OUMI is not set .*Fix: install Oumi/);
    return;
  }
  for (const t of specs) assert.equal(t.outcome, 'pass', `${t.title}: ${t.reason}\n${run.output}`);
  assert.deepEqual(queued(run.runId), [], 'a job of the run is left');
  assert.deepEqual(launcherSsh(), [], "an ssh process of Oumi's launcher is left (its ControlMaster)");
  assert.deepEqual(launcherHomes(), [], "the launcher's dedicated HOME is left");
  assert.deepEqual(launcherCopies(), [], "the launcher's copies on the cluster (~/oumi_launcher) are left");
});

test('an unreachable cluster makes MLOPS-3.1 an infra error within 15 s, leaving no ssh process and no job', { timeout: 10 * 60_000, skip: !oumi && NO_OUMI }, async () => {
  const run = await runSuite(['--project=hpc', '--grep', 'MLOPS-3.1'], {}, 6 * 60_000, () => {
    // Once the launcher's HOME exists the suite's own SSH connection is up; then sshd stops taking new ones.
    void waitFor('the launcher HOME', async () => launcherHomes().length > 0, 180_000).then(() => fault('sshd-down', 'on'));
  });
  try {
    const t = byTitle(run.tests(), /^MLOPS-3\.1 /)[0];
    console.log(`MLOPS-3.1 with sshd down: ${t?.outcome}: ${t?.reason?.slice(0, 300)}`);
    assert.equal(t?.outcome, 'infra', run.output);
    assert.match(t!.reason ?? '', /INFRA: Oumi's launcher could not reach mlops@127\.0\.0\.1 \(127\.0\.0\.1:2222\) after [\d.]+ s: .*Fix: check that this machine reaches the login node/);
    const took = Number(/after ([\d.]+) s/.exec(t!.reason ?? '')?.[1]);
    assert.ok(took < 15, `oumi launch up took ${took} s to report it`);
    assert.deepEqual(queued(run.runId), []);
    assert.deepEqual(launcherSsh(), []);
    assert.deepEqual(launcherHomes(), []);
  } finally {
    fault('sshd-down', 'off');
  }
});
