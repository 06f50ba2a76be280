/**
 * A broken .env gets one clear paragraph that names the field and the fix, within 15 s, with
 * no stack dump and no secret.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LAB_TARGET_FILE } from '../../helpers/config.ts';
import { runSuite } from './pw.ts';

const SECRET = 'tok-9f8e7d6c5b4a-do-not-print';
const dir = mkdtempSync(join(tmpdir(), 'mlv-badenv-'));
const wrongKey = join(dir, 'wrong_key');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrongKey]);

function envFile(name: string, changes: Record<string, string>, append = ''): string {
  let text = readFileSync(LAB_TARGET_FILE, 'utf8');
  for (const [k, v] of Object.entries(changes)) {
    text = new RegExp(`^${k}=`, 'm').test(text) ? text.replace(new RegExp(`^${k}=.*$`, 'm'), `${k}=${v}`) : `${text}\n${k}=${v}\n`;
  }
  const p = join(dir, `${name}.env`);
  writeFileSync(p, `${text}\nMLV_INFERENCE_TOKEN=${SECRET}\n${append}`);
  return p;
}

const cases: { name: string; changes: Record<string, string>; append?: string; expect: RegExp }[] = [
  { name: 'wrong host', changes: { MLV_SSH_HOST: 'no-such-login-node.invalid' }, expect: /does not resolve\. Fix: check MLV_SSH_HOST/ },
  { name: 'wrong port', changes: { MLV_SSH_PORT: '2299' }, expect: /connection refused.*Fix: check MLV_SSH_HOST and MLV_SSH_PORT/ },
  { name: 'missing key', changes: { MLV_SSH_KEY: '/nonexistent/id_ed25519' }, expect: /MLV_SSH_KEY points to \/nonexistent\/id_ed25519, which does not exist.*Fix:/ },
  { name: 'wrong key', changes: { MLV_SSH_KEY: wrongKey }, expect: /authentication failed.*Fix: check MLV_SSH_USER and MLV_SSH_KEY/ },
  { name: 'bad partition', changes: { MLV_SLURM_PARTITION: 'nosuchpart' }, expect: /MLV_SLURM_PARTITION=nosuchpart is not a partition of this cluster\. Fix: use one of: lab/ },
  { name: 'non-numeric GPU count', changes: { MLV_GPUS_PER_NODE: 'four' }, expect: /MLV_GPUS_PER_NODE must be a whole number \(got "four"\)\. Fix:/ },
  {
    name: 'runtime prefix with a shell injection',
    changes: { MLV_RUNTIME_PREFIX: '"apptainer exec x.sif; rm -rf ~"' },
    expect: /MLV_RUNTIME_PREFIX is not allowed: ";" is not allowed outside quotes.*Fix:/,
  },
  { name: 'a later duplicate turns host keys off', changes: {}, append: 'MLV_SSH_HOST_KEY_CHECK=off\n', expect: /MLV_SSH_HOST_KEY_CHECK is set twice, on lines \d+ and \d+ .*Fix: keep one of them/ },
  { name: 'misspelt key', changes: {}, append: 'MLV_GPU_PER_NODE=4\n', expect: /MLV_GPU_PER_NODE \(in \S+\) is not a known setting: did you mean MLV_GPUS_PER_NODE\? Fix:/ },
  { name: 'key file is a directory', changes: { MLV_SSH_KEY: dir }, expect: /MLV_SSH_KEY points to \S+, which is a directory, not a file\. Fix:/ },
  {
    name: 'runtime prefix with an --env token',
    changes: { MLV_RUNTIME_PREFIX: `apptainer exec --env HF_TOKEN=${SECRET} x.sif | sh` },
    expect: /MLV_RUNTIME_PREFIX is not allowed: "\|" is not allowed outside quotes \(got "apptainer exec --env HF_TOKEN=\*\*\* x\.sif \| sh"\)\. Fix:/,
  },
];

for (const c of cases) {
  test(`bad .env: ${c.name}`, { timeout: 60_000 }, async () => {
    const run = await runSuite(['--project=preflight-hpc'], { MLV_ENV_FILE: envFile(c.name.replace(/\W+/g, '-'), c.changes, c.append) });
    assert.notEqual(run.code, 0, run.output);
    assert.ok(run.seconds < 15, `took ${run.seconds.toFixed(1)} s`);
    assert.match(run.output.replace(/\n\s*/g, ' '), c.expect, run.output);
    assert.doesNotMatch(run.output, /^\s+at \S+ \(.*:\d+:\d+\)$/m, `stack dump in:\n${run.output}`);
    assert.ok(!run.output.includes(SECRET), 'secret printed');
  });
}
