import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAPABILITIES, describeTarget, LAB_TARGET_FILE, loadTarget, parseTarget, resolveTargetSource } from '../../helpers/config.ts';
import { ConfigError } from '../../helpers/errors.ts';
import type { HpcTarget, Target } from '../../helpers/config.ts';

function hpc(t: Target): HpcTarget {
  assert.ok(t.hpc, 'the target has an HPC side');
  return t.hpc;
}

// parseTarget falls back to the caller's ssh-agent; make the tests independent of it.
delete process.env.SSH_AUTH_SOCK;

const dir = mkdtempSync(join(tmpdir(), 'mlv-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const KEY = join(dir, 'id_ed25519');
const KNOWN_HOSTS = join(dir, 'known_hosts');
const NO_SSH_CONFIG = join(dir, 'no-ssh-config');
const MISSING_LAB = join(dir, 'no-such-lab', 'target.env');
writeFileSync(KEY, '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n', { mode: 0o600 });
writeFileSync(KNOWN_HOSTS, '[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey\n');

const SECRET_TOKEN = 'tok-3f9c1a7e5b2d-SECRET';
const SECRET_PASSPHRASE = 'pass-8e7d6c5b4a-SECRET';

/** What lab/slurm/up.sh writes, with the paths pointing at temp files. */
const LAB: Record<string, string> = {
  MLV_TARGET_NAME: 'lab',
  MLV_SSH_HOST: '127.0.0.1',
  MLV_SSH_PORT: '2222',
  MLV_SSH_USER: 'mlops',
  MLV_SSH_KEY: KEY,
  MLV_SSH_KNOWN_HOSTS: KNOWN_HOSTS,
  MLV_SSH_HOST_KEY_CHECK: 'strict',
  MLV_SSH_CONFIG: NO_SSH_CONFIG,
  MLV_SLURM_PARTITION: 'lab',
  MLV_SHARED_ROOT: '/var/lib/mlops-lab/shared',
  MLV_RUNTIME_PREFIX: '',
  MLV_PYTHON: '/usr/bin/python3',
  MLV_DATASET_DIR: '/var/lib/mlops-lab/shared/datasets/mnist',
  MLV_GPUS_PER_NODE: '4',
  MLV_NODE_COUNT: '2',
  MLV_CAPABILITIES: 'gres-gpu,multi-gpu,multi-node',
  MLV_REFERENCES: 'lab',
};

const envText = (vars: Record<string, string | undefined>) =>
  Object.entries(vars)
    .filter(([, v]) => v !== undefined)
    // dotenv keeps single-quoted values literally (no escapes), so quote with ' unless the value holds one.
    .map(([k, v]) => `${k}=${v!.includes("'") ? (v!.includes('"') ? `\`${v}\`` : `"${v}"`) : `'${v}'`}`)
    .join('\n') + '\n';

let n = 0;
/** Write a .env file into its own temp dir and load it through MLV_ENV_FILE. */
function load(vars: Record<string, string | undefined>, env: Record<string, string> = {}) {
  const d = join(dir, `case-${n++}`);
  mkdirSync(d);
  writeFileSync(join(d, 'target.env'), envText(vars));
  return loadTarget(d, { MLV_ENV_FILE: 'target.env', MLV_LAB_TARGET_FILE: MISSING_LAB, ...env });
}

/** Expect exactly one ConfigError and return its problems. */
function problemsOf(fn: () => unknown): string[] {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err === undefined ? 'no error' : String(err)}`);
  assert.ok(!err.stack?.includes('    at '), 'a ConfigError prints without stack frames');
  assert.equal(err.stack, `ConfigError: ${err.message}`);
  for (const p of err.problems) assert.ok(err.message.includes(p));
  return err.problems;
}

/** One problem, naming `field`, with a Fix. */
function oneProblem(fn: () => unknown, field: string, ...mentions: (string | RegExp)[]): string {
  const problems = problemsOf(fn);
  assert.equal(problems.length, 1, `want one problem, got:\n${problems.join('\n')}`);
  const p = problems[0]!;
  assert.ok(p.includes(field), `problem does not name ${field}: ${p}`);
  assert.match(p, /Fix: \S/, `problem has no Fix: ${p}`);
  for (const m of mentions) assert.ok(typeof m === 'string' ? p.includes(m) : m.test(p), `problem does not mention ${m}: ${p}`);
  return p;
}

test('a lab-like .env loads into a typed Target', () => {
  const t = load(LAB);
  assert.equal(t.name, 'lab');
  assert.ok(t.source.endsWith('target.env'));
  assert.equal(t.cloud, undefined, 'no cloud settings: no cloud side');
  const h = hpc(t);
  assert.deepEqual(h.ssh, {
    host: '127.0.0.1',
    alias: '127.0.0.1',
    port: 2222,
    user: 'mlops',
    keyPath: KEY,
    passphrase: undefined,
    agent: undefined,
    jump: undefined,
    knownHostsPath: KNOWN_HOSTS,
    hostKeyCheck: 'strict',
  });
  assert.deepEqual(h.slurm, { partition: 'lab', account: undefined });
  assert.equal(h.sharedRoot, '/var/lib/mlops-lab/shared');
  assert.equal(h.datasetDir, '/var/lib/mlops-lab/shared/datasets/mnist');
  assert.deepEqual(h.runtimePrefix, []);
  assert.equal(h.python, '/usr/bin/python3');
  assert.equal(h.gpusPerNode, 4);
  assert.equal(h.nodeCount, 2);
  assert.deepEqual(t.capabilities, ['gres-gpu', 'multi-gpu', 'multi-node']);
  assert.equal(t.references, 'lab');
  assert.equal(h.jobTimeScale, 1);
});

test('defaults: port 22, strict, python3, 0 GPUs, 1 node, no claims, default references, dataset under the shared root', () => {
  const t = parseTarget(
    {
      MLV_SSH_HOST: 'login.example.org',
      MLV_SSH_USER: 'alice',
      MLV_SSH_KEY: KEY,
      MLV_SSH_KNOWN_HOSTS: KNOWN_HOSTS,
      MLV_SSH_CONFIG: NO_SSH_CONFIG,
      MLV_SLURM_PARTITION: 'gpu',
      MLV_SHARED_ROOT: '/shared/',
    },
    'test',
  );
  assert.equal(t.name, 'custom');
  const h = hpc(t);
  assert.equal(h.ssh.port, 22);
  assert.equal(h.ssh.hostKeyCheck, 'strict');
  assert.equal(h.python, 'python3');
  assert.equal(h.gpusPerNode, 0);
  assert.equal(h.nodeCount, 1);
  assert.deepEqual(h.poll, { minMs: 2000, maxMs: 30000 });
  assert.equal(t.workers, 4);
  assert.deepEqual(t.capabilities, []);
  assert.equal(t.references, 'default');
  assert.equal(h.sharedRoot, '/shared');
  assert.equal(h.datasetDir, '/shared/datasets/mnist');
});

test('a runtime prefix is split into words', () => {
  const t = load({ ...LAB, MLV_RUNTIME_PREFIX: `apptainer exec --nv "/shared/containers/py torch.sif"` });
  assert.deepEqual(hpc(t).runtimePrefix, ['apptainer', 'exec', '--nv', '/shared/containers/py torch.sif']);
});

test('missing MLV_SSH_HOST', () => {
  oneProblem(() => load({ ...LAB, MLV_SSH_HOST: undefined }), 'MLV_SSH_HOST', 'is required');
  oneProblem(() => load({ ...LAB, MLV_SSH_HOST: 'login node; rm -rf /' }), 'MLV_SSH_HOST', 'not a valid host name');
});

test('an empty MLV_SSH_HOST= gives one problem', () => {
  oneProblem(() => load({ ...LAB, MLV_SSH_HOST: '' }), 'MLV_SSH_HOST', 'is required');
});

test('bad ports: "22a", 70000, 0', () => {
  oneProblem(() => load({ ...LAB, MLV_SSH_PORT: '22a' }), 'MLV_SSH_PORT', 'whole number', '"22a"');
  oneProblem(() => load({ ...LAB, MLV_SSH_PORT: '70000' }), 'MLV_SSH_PORT', '65535', '"70000"');
  oneProblem(() => load({ ...LAB, MLV_SSH_PORT: '0' }), 'MLV_SSH_PORT', 'at least 1');
  oneProblem(() => load({ ...LAB, MLV_SSH_PORT: '-22' }), 'MLV_SSH_PORT');
  oneProblem(() => load({ ...LAB, MLV_SSH_PORT: '2.5' }), 'MLV_SSH_PORT');
});

test('non-numeric MLV_GPUS_PER_NODE and MLV_NODE_COUNT', () => {
  oneProblem(() => load({ ...LAB, MLV_GPUS_PER_NODE: 'four', MLV_CAPABILITIES: '' }), 'MLV_GPUS_PER_NODE', 'whole number', '"four"');
  oneProblem(() => load({ ...LAB, MLV_NODE_COUNT: 'two', MLV_CAPABILITIES: '' }), 'MLV_NODE_COUNT', 'whole number', '"two"');
  oneProblem(() => load({ ...LAB, MLV_NODE_COUNT: '0', MLV_CAPABILITIES: '' }), 'MLV_NODE_COUNT', 'at least 1');
});

test('missing key file', () => {
  const missing = join(dir, 'no-such-key');
  oneProblem(() => load({ ...LAB, MLV_SSH_KEY: missing }), 'MLV_SSH_KEY', missing, 'not readable');
});

test('no key and no agent', () => {
  oneProblem(() => load({ ...LAB, MLV_SSH_KEY: undefined }), 'MLV_SSH_KEY', 'ssh-agent');
  // An agent socket given explicitly must exist.
  oneProblem(() => load({ ...LAB, MLV_SSH_KEY: undefined, MLV_SSH_AGENT: join(dir, 'no-agent.sock') }), 'MLV_SSH_AGENT', 'does not exist');
});

test('known_hosts: required under strict, optional under accept-new and off', () => {
  const missing = join(dir, 'no-known-hosts');
  oneProblem(() => load({ ...LAB, MLV_SSH_KNOWN_HOSTS: missing }), 'MLV_SSH_KNOWN_HOSTS', missing, 'strict');
  oneProblem(() => load({ ...LAB, MLV_SSH_KNOWN_HOSTS: missing, MLV_SSH_HOST_KEY_CHECK: undefined }), 'MLV_SSH_KNOWN_HOSTS', 'strict');
  assert.equal(hpc(load({ ...LAB, MLV_SSH_KNOWN_HOSTS: missing, MLV_SSH_HOST_KEY_CHECK: 'accept-new' })).ssh.knownHostsPath, missing);
  assert.equal(hpc(load({ ...LAB, MLV_SSH_KNOWN_HOSTS: missing, MLV_SSH_HOST_KEY_CHECK: 'off' })).ssh.hostKeyCheck, 'off');
  oneProblem(() => load({ ...LAB, MLV_SSH_HOST_KEY_CHECK: 'yes' }), 'MLV_SSH_HOST_KEY_CHECK', '"yes"', 'strict');
});

test('bad partition and account characters', () => {
  for (const p of ['gpu partition', 'gpu;id', '$(id)', 'a/b']) oneProblem(() => load({ ...LAB, MLV_SLURM_PARTITION: p }), 'MLV_SLURM_PARTITION', 'letters, digits');
  oneProblem(() => load({ ...LAB, MLV_SLURM_PARTITION: undefined }), 'MLV_SLURM_PARTITION', 'is required');
  oneProblem(() => load({ ...LAB, MLV_SLURM_ACCOUNT: 'proj 1' }), 'MLV_SLURM_ACCOUNT', 'letters, digits');
});

test('relative MLV_SHARED_ROOT and MLV_DATASET_DIR', () => {
  oneProblem(() => load({ ...LAB, MLV_SHARED_ROOT: 'shared/mlv' }), 'MLV_SHARED_ROOT', 'absolute', '"shared/mlv"');
  oneProblem(() => load({ ...LAB, MLV_SHARED_ROOT: undefined }), 'MLV_SHARED_ROOT', 'is required');
  oneProblem(() => load({ ...LAB, MLV_DATASET_DIR: 'datasets' }), 'MLV_DATASET_DIR', 'absolute');
});

test('MLV_RUNTIME_PREFIX with shell syntax is refused', () => {
  for (const prefix of [
    'apptainer exec x.sif; rm -rf /',
    'apptainer exec $IMAGE',
    'apptainer exec `pick`',
    'apptainer exec x.sif | tee log',
    'apptainer exec x.sif > /dev/null',
    'apptainer exec "unterminated',
  ]) {
    oneProblem(() => load({ ...LAB, MLV_RUNTIME_PREFIX: prefix }), 'MLV_RUNTIME_PREFIX', 'not allowed');
  }
});

test('unknown capability', () => {
  const p = oneProblem(() => load({ ...LAB, MLV_CAPABILITIES: 'gres-gpu,quantum,multi-gpu' }), 'MLV_CAPABILITIES', 'quantum');
  for (const c of CAPABILITIES) assert.ok(p.includes(c), `the fix lists ${c}`);
});

test('claims that contradict the inventory', () => {
  oneProblem(() => load({ ...LAB, MLV_GPUS_PER_NODE: '1' }), 'MLV_CAPABILITIES', 'multi-gpu', 'MLV_GPUS_PER_NODE is 1');
  oneProblem(() => load({ ...LAB, MLV_NODE_COUNT: '1' }), 'MLV_CAPABILITIES', 'multi-node', 'MLV_NODE_COUNT is 1');
});

test('bad URLs and missing cloud files', () => {
  oneProblem(() => load({ ...LAB, MLV_INGRESS_URL: 'ingress.local' }), 'MLV_INGRESS_URL', 'http(s) URL');
  oneProblem(() => load({ ...LAB, MLV_PROMETHEUS_URL: 'ftp://x' }), 'MLV_PROMETHEUS_URL', 'http(s) URL');
  oneProblem(() => load({ ...LAB, MLV_KUBECONFIG: join(dir, 'no-kubeconfig') }), 'MLV_KUBECONFIG', 'not readable');
  oneProblem(() => load({ ...LAB, MLV_INFERENCE_CA: join(dir, 'no-ca.pem') }), 'MLV_INFERENCE_CA', 'not readable');
  oneProblem(() => load({ ...LAB, MLV_JOB_TIME_SCALE: 'fast' }), 'MLV_JOB_TIME_SCALE', 'positive number');
});

test('several field-format problems at once: one ConfigError listing them all', () => {
  const problems = problemsOf(() => load({ ...LAB, MLV_SSH_HOST: undefined, MLV_SSH_PORT: '22a', MLV_GPUS_PER_NODE: 'four', MLV_SLURM_PARTITION: 'a b', MLV_SHARED_ROOT: 'rel' }));
  assert.equal(problems.length, 5, problems.join('\n'));
  for (const f of ['MLV_SSH_HOST', 'MLV_SSH_PORT', 'MLV_GPUS_PER_NODE', 'MLV_SLURM_PARTITION', 'MLV_SHARED_ROOT']) {
    assert.equal(problems.filter((p) => p.startsWith(f + ' ')).length, 1, `${f} in:\n${problems.join('\n')}`);
  }
  for (const p of problems) assert.match(p, /Fix: \S/);
});

test('several consistency problems at once: one ConfigError listing them all', () => {
  const problems = problemsOf(() =>
    load({ ...LAB, MLV_SSH_KEY: join(dir, 'nope'), MLV_SSH_KNOWN_HOSTS: join(dir, 'nope-kh'), MLV_RUNTIME_PREFIX: 'a;b', MLV_CAPABILITIES: 'quantum,multi-gpu', MLV_GPUS_PER_NODE: '1' }),
  );
  assert.equal(problems.length, 5, problems.join('\n'));
  for (const f of ['MLV_SSH_KEY', 'MLV_SSH_KNOWN_HOSTS', 'MLV_RUNTIME_PREFIX', 'unknown entries: quantum', 'claims multi-gpu']) {
    assert.ok(
      problems.some((p) => p.includes(f)),
      `${f} in:\n${problems.join('\n')}`,
    );
  }
});

test('format and consistency problems together are all listed', () => {
  const problems = problemsOf(() => load({ ...LAB, MLV_SSH_PORT: '22a', MLV_SSH_KEY: join(dir, 'nope'), MLV_CAPABILITIES: 'quantum' }));
  assert.ok(problems.some((p) => p.includes('MLV_SSH_PORT')));
  assert.ok(
    problems.some((p) => p.includes('MLV_SSH_KEY')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.includes('quantum')),
    problems.join('\n'),
  );
});

test('secrets never appear in error messages or in describeTarget', () => {
  const secrets = { MLV_INFERENCE_TOKEN: SECRET_TOKEN, MLV_SSH_KEY_PASSPHRASE: SECRET_PASSPHRASE };
  const bad: Record<string, string | undefined>[] = [
    { MLV_SSH_HOST: undefined },
    { MLV_SSH_PORT: '22a' },
    { MLV_SSH_KEY: join(dir, 'nope') },
    { MLV_SSH_KNOWN_HOSTS: join(dir, 'nope') },
    { MLV_RUNTIME_PREFIX: 'a;b' },
    { MLV_CAPABILITIES: 'quantum' },
    { MLV_INGRESS_URL: 'nope' },
    { MLV_SSH_PORT: '22a', MLV_GPUS_PER_NODE: 'four', MLV_SHARED_ROOT: 'rel', MLV_SSH_HOST_KEY_CHECK: 'maybe' },
  ];
  for (const b of bad) {
    let message = '';
    try {
      load({ ...LAB, ...secrets, ...b });
      assert.fail(`no error for ${JSON.stringify(b)}`);
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      message = `${e.message}\n${e.stack}\n${e.problems.join('\n')}\n${JSON.stringify(e)}`;
    }
    assert.ok(!message.includes(SECRET_TOKEN), `token leaked for ${JSON.stringify(b)}`);
    assert.ok(!message.includes(SECRET_PASSPHRASE), `passphrase leaked for ${JSON.stringify(b)}`);
  }
  // Secrets given through the process environment, too.
  try {
    load({ ...LAB, MLV_SSH_PORT: '22a' }, secrets);
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.ok(!e.message.includes(SECRET_TOKEN) && !e.message.includes(SECRET_PASSPHRASE));
  }
  const t = load({ ...LAB, ...secrets, MLV_KUBECONFIG: KEY });
  assert.equal(t.cloud?.token, SECRET_TOKEN);
  assert.equal(hpc(t).ssh.passphrase, SECRET_PASSPHRASE);
  const d = describeTarget(t);
  const shown = JSON.stringify(d);
  assert.ok(!shown.includes(SECRET_TOKEN), shown);
  assert.ok(!shown.includes(SECRET_PASSPHRASE), shown);
  assert.equal(d.inferenceToken, '(set, hidden)');
  assert.equal(describeTarget(load({ ...LAB, MLV_KUBECONFIG: KEY })).inferenceToken, '(none)');
  assert.equal(describeTarget(load(LAB)).inferenceToken, undefined, 'no cloud side: no cloud fields');
});

test('describeTarget: a readable summary', () => {
  const d = describeTarget(load({ ...LAB, MLV_RUNTIME_PREFIX: 'apptainer exec --nv /c/p.sif' }));
  assert.equal(d.target, 'lab');
  assert.equal(d.ssh, 'mlops@127.0.0.1:2222');
  assert.equal(d.auth, `key ${KEY}`);
  assert.equal(d.hostKeyCheck, 'strict');
  assert.equal(d.partition, 'lab');
  assert.equal(d.runtimePrefix, 'apptainer exec --nv /c/p.sif');
  assert.equal(d.inventory, '2 node(s) x 4 GPU(s); claims: gres-gpu, multi-gpu, multi-node');
  assert.equal(d.kube, undefined, 'no cloud side: no kubeconfig line');
  assert.equal(describeTarget(load({ ...LAB, MLV_CAPABILITIES: 'kserve' })).kube, '(default kubeconfig)');
  assert.equal(describeTarget(load({ ...LAB, MLV_CAPABILITIES: '' })).inventory, '2 node(s) x 4 GPU(s); claims: none');
  assert.equal(describeTarget(load(LAB)).runtimePrefix, '(none)');
});

test('a Host alias from the ssh config resolves HostName, Port, User, IdentityFile, ProxyJump', () => {
  const cfg = join(dir, 'ssh_config');
  writeFileSync(
    cfg,
    [
      'Host cluster',
      '  HostName login01.hpc.example.org',
      '  Port 2200',
      '  User alice',
      `  IdentityFile ${KEY}`,
      '  ProxyJump bob@bastion:2022',
      '',
      'Host bastion',
      '  HostName bastion.example.org',
      '  User carol',
      '',
      'Host other',
      '  HostName other.example.org',
      '  ProxyJump gateway',
      '',
      'Host gateway',
      '  HostName gw.example.org',
      '  Port 2022',
      '  User gwuser',
      '',
      'Host *',
      '  User fallback',
      `  IdentityFile ${KEY}`,
      '',
    ].join('\n'),
  );
  const base = { ...LAB, MLV_SSH_CONFIG: cfg, MLV_SSH_HOST: 'cluster', MLV_SSH_PORT: undefined, MLV_SSH_USER: undefined, MLV_SSH_KEY: undefined };
  const t = load(base);
  assert.equal(hpc(t).ssh.alias, 'cluster');
  assert.equal(hpc(t).ssh.host, 'login01.hpc.example.org');
  assert.equal(hpc(t).ssh.port, 2200);
  assert.equal(hpc(t).ssh.user, 'alice');
  assert.equal(hpc(t).ssh.keyPath, KEY);
  assert.deepEqual(hpc(t).ssh.jump, { host: 'bastion.example.org', port: 2022, user: 'bob' });
  assert.equal(describeTarget(t).ssh, 'alice@cluster:2200 via bastion.example.org');

  // The jump host given as an alias: its HostName, Port and User come from its own entry.
  assert.deepEqual(hpc(load({ ...base, MLV_SSH_HOST: 'other' })).ssh.jump, { host: 'gw.example.org', port: 2022, user: 'gwuser' });

  // Explicit MLV_* values beat the ssh config.
  const o = load({ ...base, MLV_SSH_PORT: '2300', MLV_SSH_USER: 'dave', MLV_SSH_JUMP: 'erin@jump.example.org:2400' });
  assert.equal(hpc(o).ssh.port, 2300);
  assert.equal(hpc(o).ssh.user, 'dave');
  assert.deepEqual(hpc(o).ssh.jump, { host: 'jump.example.org', port: 2400, user: 'erin' });

  // A name with no entry of its own only gets what `Host *` gives.
  const plain = load({ ...base, MLV_SSH_HOST: '10.0.0.5' });
  assert.equal(hpc(plain).ssh.host, '10.0.0.5');
  assert.equal(hpc(plain).ssh.port, 22);
  assert.equal(hpc(plain).ssh.user, 'fallback');
});

test('an IdentityFile under ~ is expanded', () => {
  const cfg = join(dir, 'ssh_config_home');
  writeFileSync(cfg, 'Host h\n  HostName h.example.org\n  User u\n  IdentityFile ~/.ssh/mlv-test-no-such-key\n');
  const p = oneProblem(() => load({ ...LAB, MLV_SSH_CONFIG: cfg, MLV_SSH_HOST: 'h', MLV_SSH_USER: undefined, MLV_SSH_KEY: undefined }), 'MLV_SSH_KEY');
  assert.ok(p.includes(join(homedir(), '.ssh/mlv-test-no-such-key')), p);
});

test('no user anywhere is a problem naming MLV_SSH_USER', () => {
  oneProblem(() => load({ ...LAB, MLV_SSH_USER: undefined }), 'MLV_SSH_USER', 'is required');
});

test('process env MLV_* overrides the file; other variables do not', () => {
  const t = load(LAB, { MLV_SLURM_PARTITION: 'override', MLV_GPUS_PER_NODE: '8', SLURM_PARTITION: 'ignored', MLV_SSH_PORT: '2223' });
  assert.equal(hpc(t).slurm.partition, 'override');
  assert.equal(hpc(t).gpusPerNode, 8);
  assert.equal(hpc(t).ssh.port, 2223);
  // An override is validated like the file.
  oneProblem(() => load(LAB, { MLV_SSH_PORT: '70000' }), 'MLV_SSH_PORT', '70000');
});

test('the target comes from MLV_ENV_FILE, else ./.env, else the lab file', () => {
  const d = join(dir, 'resolve');
  mkdirSync(d);
  assert.equal(resolveTargetSource(d, { MLV_LAB_TARGET_FILE: MISSING_LAB }), undefined);
  const lab = join(d, 'lab-target.env');
  writeFileSync(lab, envText({ ...LAB, MLV_TARGET_NAME: 'from-lab-file' }));
  assert.equal(resolveTargetSource(d, { MLV_LAB_TARGET_FILE: lab }), lab);
  assert.equal(loadTarget(d, { MLV_LAB_TARGET_FILE: lab }).name, 'from-lab-file');
  writeFileSync(join(d, '.env'), envText({ ...LAB, MLV_TARGET_NAME: 'from-dotenv' }));
  assert.equal(resolveTargetSource(d, { MLV_LAB_TARGET_FILE: lab }), join(d, '.env'));
  const fromDotenv = loadTarget(d, { MLV_LAB_TARGET_FILE: lab });
  assert.equal(fromDotenv.name, 'from-dotenv');
  writeFileSync(join(d, 'other.env'), envText({ ...LAB, MLV_TARGET_NAME: 'from-env-file' }));
  assert.equal(loadTarget(d, { MLV_ENV_FILE: 'other.env', MLV_LAB_TARGET_FILE: lab }).name, 'from-env-file');
  assert.equal(LAB_TARGET_FILE, '/var/lib/mlops-lab/target.env');
});

test('no .env and no lab file: a clear "no target" error', () => {
  const d = join(dir, 'empty');
  mkdirSync(d);
  const problems = problemsOf(() => loadTarget(d, { MLV_LAB_TARGET_FILE: MISSING_LAB }));
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^no target: there is no \.env in /);
  assert.ok(problems[0]!.includes(d));
  assert.match(problems[0]!, /Fix: .*npm run lab -- up.*\.env\.example/);
});

test('MLV_ENV_FILE pointing to a missing file', () => {
  const problems = problemsOf(() => loadTarget(dir, { MLV_ENV_FILE: 'missing.env' }));
  assert.equal(problems.length, 1);
  assert.ok(problems[0]!.includes(join(dir, 'missing.env')));
  assert.match(problems[0]!, /MLV_ENV_FILE.*Fix: /);
});

test('a ConfigError carries no stack frames', () => {
  const e = new ConfigError(['X is wrong. Fix: set X.'], 'somewhere');
  assert.equal(e.name, 'ConfigError');
  assert.equal(e.stack, `ConfigError: ${e.message}`);
  assert.ok(!e.stack!.includes('    at '));
  assert.equal(e.message, 'Invalid target configuration in somewhere:\n  - X is wrong. Fix: set X.');
});

test('a target with only Kubernetes settings has a cloud side and no HPC side', () => {
  const t = parseTarget({ MLV_TARGET_NAME: 'k8s', MLV_KUBECONFIG: KEY, MLV_CAPABILITIES: 'kserve', MLV_MNIST_MODEL_URI: 's3://models/mnist' }, 'test');
  assert.equal(t.hpc, undefined);
  assert.equal(t.cloud?.kubeconfig, KEY);
  assert.equal(t.cloud?.mnistModelUri, 's3://models/mnist');
  assert.deepEqual(t.capabilities, ['kserve']);
});

test('claiming kserve alone configures the cloud side (default kubeconfig)', () => {
  const t = parseTarget({ MLV_CAPABILITIES: 'kserve' }, 'test');
  assert.equal(t.hpc, undefined);
  assert.deepEqual(t.cloud?.kubeconfig, undefined);
  assert.ok(t.cloud);
});

test('an HPC setting without the required ones names each missing one', () => {
  const problems = problemsOf(() => parseTarget({ MLV_GPUS_PER_NODE: '4', MLV_SSH_USER: 'u', MLV_SSH_KEY: KEY, MLV_SSH_KNOWN_HOSTS: KNOWN_HOSTS, MLV_SSH_CONFIG: NO_SSH_CONFIG }, 'test'));
  for (const f of ['MLV_SSH_HOST', 'MLV_SLURM_PARTITION', 'MLV_SHARED_ROOT'])
    assert.ok(
      problems.some((p) => p.startsWith(`${f} is required`)),
      `${f} in:\n${problems.join('\n')}`,
    );
});

test('neither side configured: one problem naming the settings of both sides', () => {
  const p = oneProblem(() => parseTarget({ MLV_TARGET_NAME: 'empty' }, 'test'), 'no side is configured', 'MLV_SSH_HOST', 'MLV_KUBECONFIG');
  assert.match(p, /kserve/);
});

test('storage URIs: one list of schemes for both models', () => {
  oneProblem(() => load({ ...LAB, MLV_MNIST_MODEL_URI: 'azure://x/y' }), 'MLV_MNIST_MODEL_URI', 's3://');
  oneProblem(() => load({ ...LAB, MLV_LLM_MODEL_URI: 'models/smollm' }), 'MLV_LLM_MODEL_URI', 'storageUri');
  assert.equal(load({ ...LAB, MLV_LLM_MODEL_URI: 'hf://HuggingFaceTB/SmolLM-135M' }).cloud?.llmModelUri, 'hf://HuggingFaceTB/SmolLM-135M');
});

test('poll intervals and workers come from the target, with bounds', () => {
  const t = load({ ...LAB, MLV_WORKERS: '1', MLV_POLL_MIN_MS: '500', MLV_POLL_MAX_MS: '3000' });
  assert.equal(t.workers, 1);
  assert.deepEqual(hpc(t).poll, { minMs: 500, maxMs: 3000 });
  oneProblem(() => load({ ...LAB, MLV_POLL_MIN_MS: '5000', MLV_POLL_MAX_MS: '3000' }), 'MLV_POLL_MIN_MS', 'above MLV_POLL_MAX_MS');
  oneProblem(() => load({ ...LAB, MLV_WORKERS: '0' }), 'MLV_WORKERS', 'at least 1');
});
