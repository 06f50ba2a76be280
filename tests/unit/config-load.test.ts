import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeTarget, loadTarget, parseTarget, type Target } from '../../helpers/config.ts';
import { ConfigError } from '../../helpers/errors.ts';
import { AGENT_SOCKET } from './config-agent.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlv-config-load-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const KUBECONFIG = join(dir, 'kubeconfig');
writeFileSync(KUBECONFIG, 'apiVersion: v1\n');

/** A valid HPC side that touches no file: a listening agent socket, host key checking off, no ssh config. */
const HPC: Record<string, string> = {
  MLV_SSH_HOST: 'login',
  MLV_SSH_USER: 'u',
  MLV_SSH_AGENT: AGENT_SOCKET,
  MLV_SSH_HOST_KEY_CHECK: 'off',
  MLV_SSH_CONFIG: join(dir, 'none'),
  MLV_SLURM_PARTITION: 'gpu',
  MLV_SHARED_ROOT: '/shared',
};

function error(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail('expected a ConfigError');
}
const parse = (vars: Record<string, string | undefined>): Target => parseTarget(vars, 't.env');

test('blank values are unset: they configure no side and fall back to defaults', () => {
  const cloudOnly = parse({ MLV_SSH_HOST: '', MLV_SLURM_PARTITION: '  ', MLV_KUBE_CONTEXT: 'kind' });
  assert.equal(cloudOnly.hpc, undefined);
  assert.equal(cloudOnly.cloud?.context, 'kind');
  const hpcOnly = parse({ ...HPC, MLV_KUBE_CONTEXT: '', MLV_INGRESS_URL: ' ', MLV_SSH_PORT: '', MLV_GPUS_PER_NODE: '   ' });
  assert.equal(hpcOnly.cloud, undefined);
  assert.deepEqual([hpcOnly.hpc?.ssh.port, hpcOnly.hpc?.gpusPerNode], [22, 0]);
});

test('capabilities: comma-separated with spaces; every unknown one is listed', () => {
  assert.deepEqual(parse({ ...HPC, MLV_CAPABILITIES: ' gres-gpu , apptainer,,' }).capabilities, ['gres-gpu', 'apptainer']);
  const e = error(() => parse({ ...HPC, MLV_CAPABILITIES: 'quantum, gres-gpu, warp' }));
  assert.match(e.problems[0]!, /^MLV_CAPABILITIES has unknown entries: quantum, warp\. Fix: use a comma-separated subset of: gres-gpu, cuda, /);
});

test('claims against the inventory: 2 GPUs or 2 nodes are enough', () => {
  const t = parse({ ...HPC, MLV_CAPABILITIES: 'multi-gpu,multi-node', MLV_GPUS_PER_NODE: '2', MLV_NODE_COUNT: '2' });
  assert.deepEqual([t.hpc?.gpusPerNode, t.hpc?.nodeCount], [2, 2]);
  assert.equal(error(() => parse({ ...HPC, MLV_CAPABILITIES: 'multi-node', MLV_NODE_COUNT: '1' })).problems.length, 1);
});

test('the shared root loses its trailing slashes; the dataset defaults under it', () => {
  const h = parse({ ...HPC, MLV_SHARED_ROOT: '/shared/mlv//' }).hpc!;
  assert.equal(h.sharedRoot, '/shared/mlv');
  assert.equal(h.datasetDir, '/shared/mlv/datasets/mnist');
});

test('a jump host from the ssh config must look like [user@]host[:port]', () => {
  const cfg = join(dir, 'ssh_config');
  writeFileSync(cfg, 'Host login\n  ProxyJump bastion:22x\nHost other\n  ProxyJump me@gate:2200\n');
  const e = error(() => parse({ ...HPC, MLV_SSH_CONFIG: cfg }));
  assert.deepEqual(e.problems, ['MLV_SSH_JUMP must look like [user@]host[:port] with a port from 1 to 65535 (got "bastion:22x"). Fix: use [user@]host[:port] of the jump host, or leave it empty.']);
  assert.deepEqual(parse({ ...HPC, MLV_SSH_HOST: 'other', MLV_SSH_CONFIG: cfg }).hpc?.ssh.jump, { host: 'gate', port: 2200, user: 'me' });
});

test('loadTarget: the errors name where the target was looked for', () => {
  const lab = join(dir, 'no-lab', 'target.env');
  const none = error(() => loadTarget(dir, { MLV_LAB_TARGET_FILE: lab }));
  assert.match(none.message, /^Invalid target configuration in the environment:\n {2}- no target: there is no \.env in /);
  assert.ok(none.problems[0]!.includes(`(${lab} is missing)`), none.problems[0]);
  const missing = error(() => loadTarget(dir, { MLV_ENV_FILE: 'nope.env' }));
  assert.equal(missing.message, `Invalid target configuration in MLV_ENV_FILE:\n  - MLV_ENV_FILE points to ${join(dir, 'nope.env')}, which does not exist. Fix: point it to a .env file.`);
});

test('describeTarget: the cloud side and a jump host', () => {
  const t = parse({ ...HPC, MLV_SSH_JUMP: 'me@gate:2200', MLV_KUBECONFIG: KUBECONFIG, MLV_KUBE_CONTEXT: 'kind', MLV_INFERENCE_TOKEN: 'secret-x', MLV_GPU_KIND: 'fake', MLV_GPUS_PER_NODE: '2' });
  const d = describeTarget(t);
  assert.equal(d.ssh, 'u@login:22 via gate');
  assert.equal(d.kube, `${KUBECONFIG} (kind)`);
  assert.equal(d.inferenceToken, '(set, hidden)');
  assert.equal(d.inventory, '1 node(s) x 2 stand-in GPU(s); claims: none');
  assert.equal(d.auth, 'ssh-agent');
  assert.equal(describeTarget(parse({ MLV_KUBE_CONTEXT: 'kind' })).kube, '(default kubeconfig)');
  assert.equal(describeTarget(parse({ MLV_KUBECONFIG: KUBECONFIG })).kube, KUBECONFIG);
  assert.equal(describeTarget(parse({ MLV_KUBE_CONTEXT: 'kind' })).inferenceToken, '(none)');
});

test('ports from the ssh config and of the jump host are 1 to 65535', () => {
  const cfg = join(dir, 'ssh_config_ports');
  writeFileSync(cfg, 'Host big\n  Port 70000\nHost jumpy\n  ProxyJump gate:0\nHost ok\n  Port 2200\n');
  assert.match(
    error(() => parse({ ...HPC, MLV_SSH_HOST: 'big', MLV_SSH_CONFIG: cfg })).problems[0]!,
    /^MLV_SSH_PORT is not set and the Port of this host in \S+ is not from 1 to 65535 \(got "70000"\)\. Fix: /,
  );
  assert.equal(parse({ ...HPC, MLV_SSH_HOST: 'big', MLV_SSH_PORT: '22', MLV_SSH_CONFIG: cfg }).hpc?.ssh.port, 22, 'MLV_SSH_PORT wins over the ssh config');
  assert.match(
    error(() => parse({ ...HPC, MLV_SSH_HOST: 'jumpy', MLV_SSH_CONFIG: cfg })).problems[0]!,
    /^MLV_SSH_JUMP must look like \[user@\]host\[:port\] with a port from 1 to 65535 \(got "gate:0"\)/,
  );
  assert.equal(parse({ ...HPC, MLV_SSH_HOST: 'ok', MLV_SSH_CONFIG: cfg }).hpc?.ssh.port, 2200);
  for (const j of ['gate:65536', 'gate:0', 'gate:999999']) assert.match(error(() => parse({ ...HPC, MLV_SSH_JUMP: j })).problems[0]!, /^MLV_SSH_JUMP must have a port from 1 to 65535/, j);
  assert.equal(parse({ ...HPC, MLV_SSH_JUMP: 'gate:65535' }).hpc?.ssh.jump?.port, 65535);
});

test('describeTarget (the Allure environment and the manifest) hides runtime-prefix env values and secrets', () => {
  const t = parse({ ...HPC, MLV_RUNTIME_PREFIX: 'apptainer exec --env HF_TOKEN=hf-secret-123 --env OMP_NUM_THREADS=4 -e FOO=bar /img.sif', MLV_SSH_KEY_PASSPHRASE: 'pass-phrase-xyz' });
  assert.deepEqual(t.hpc?.runtimePrefix.slice(0, 4), ['apptainer', 'exec', '--env', 'HF_TOKEN=hf-secret-123'], 'the target keeps the real value');
  const d = describeTarget(t);
  assert.equal(d.runtimePrefix, 'apptainer exec --env HF_TOKEN=*** --env OMP_NUM_THREADS=4 -e FOO=*** /img.sif');
  assert.ok(!JSON.stringify(d).includes('hf-secret-123') && !JSON.stringify(d).includes('pass-phrase-xyz'));
});
