/**
 * Bad input, table-driven: each broken or hostile `.env` (or override) is refused with one
 * ConfigError that names the field, carries no stack frame and no raw control character,
 * echoes no secret, and keeps every problem short.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTarget } from '../../helpers/config.ts';
import { ConfigError } from '../../helpers/errors.ts';
import { renderSbatch, type JobSpec, type RenderContext } from '../../helpers/sbatch.ts';
import { AGENT_SOCKET } from './config-agent.ts';

delete process.env.SSH_AUTH_SOCK;
const dir = mkdtempSync(join(tmpdir(), 'mlv-bad-input-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
};
const KEY = file('id_ed25519', '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n');
const KNOWN_HOSTS = file('known_hosts', '[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey\n');
const KUBECONFIG = file('kubeconfig', 'apiVersion: v1\n');
const CA = file('ca.pem', '-----BEGIN CERTIFICATE-----\n');
const A_DIR = join(dir, 'a-directory');
mkdirSync(join(A_DIR, 'refs.yaml'), { recursive: true });

/** Secrets planted in every file, and per case: none may appear in any message. */
const TOKEN = 'tok-4a5b6c7d8e9f-NEVER-PRINT';
const PASSPHRASE = 'pp-1f2e3d4c5b-NEVER-PRINT';
const SECRETS = [TOKEN, PASSPHRASE, 'S3CRET-userinfo-pw', 'S3CRET-query-token', 'S3CRET-hf-token', 'S3CRET-swallowed', 'S3CRET-AKIA-pw'];

const BASE: [string, string][] = [
  ['MLV_TARGET_NAME', 'bad-input'],
  ['MLV_SSH_HOST', '127.0.0.1'],
  ['MLV_SSH_PORT', '2222'],
  ['MLV_SSH_USER', 'mlops'],
  ['MLV_SSH_KEY', KEY],
  ['MLV_SSH_KEY_PASSPHRASE', PASSPHRASE],
  ['MLV_SSH_KNOWN_HOSTS', KNOWN_HOSTS],
  ['MLV_SSH_HOST_KEY_CHECK', 'strict'],
  ['MLV_SSH_CONFIG', join(dir, 'no-ssh-config')],
  ['MLV_SLURM_PARTITION', 'lab'],
  ['MLV_SHARED_ROOT', '/srv/mlops-lab/shared'],
  ['MLV_GPUS_PER_NODE', '4'],
  ['MLV_NODE_COUNT', '2'],
  ['MLV_CAPABILITIES', 'gres-gpu,multi-gpu,multi-node,kserve'],
  ['MLV_KUBECONFIG', KUBECONFIG],
  ['MLV_INFERENCE_CA', CA],
  ['MLV_INFERENCE_TOKEN', TOKEN],
];

interface Case {
  name: string;
  /** The field (or text) the problem must name. */
  field: string;
  set?: Record<string, string>;
  /** Raw lines appended to the file. */
  append?: string;
  /** Process environment overrides. */
  env?: Record<string, string>;
  /** More the problem must say. */
  says?: RegExp;
}

const long = (n: number) => 'x'.repeat(n);
const CASES: Case[] = [
  // host, port, user
  { name: 'host with a space', field: 'MLV_SSH_HOST', set: { MLV_SSH_HOST: 'login node' }, says: /is not a valid host name/ },
  { name: 'host of 300 characters', field: 'MLV_SSH_HOST', set: { MLV_SSH_HOST: long(300) }, says: /at most 253/ },
  { name: 'port 0', field: 'MLV_SSH_PORT', set: { MLV_SSH_PORT: '0' }, says: /at least 1/ },
  { name: 'port 65536', field: 'MLV_SSH_PORT', set: { MLV_SSH_PORT: '65536' }, says: /at most 65535/ },
  { name: 'port 1e3', field: 'MLV_SSH_PORT', set: { MLV_SSH_PORT: '1e3' }, says: /whole number/ },
  { name: 'user with shell syntax', field: 'MLV_SSH_USER', set: { MLV_SSH_USER: 'root;id' }, says: /not a valid user name/ },
  { name: 'user with an ANSI escape', field: 'MLV_SSH_USER', set: { MLV_SSH_USER: '\u001b[31mroot' }, says: /escape \(ANSI\)/ },
  // key file, known_hosts, host-key mode, agent, jump host, ssh config
  { name: 'key file is a directory', field: 'MLV_SSH_KEY', set: { MLV_SSH_KEY: A_DIR }, says: /is a directory, not a file/ },
  { name: 'key file relative', field: 'MLV_SSH_KEY', set: { MLV_SSH_KEY: 'id_ed25519' }, says: /absolute path/ },
  { name: 'key file missing', field: 'MLV_SSH_KEY', set: { MLV_SSH_KEY: '/nonexistent/id_ed25519' }, says: /does not exist/ },
  { name: 'known_hosts is a directory', field: 'MLV_SSH_KNOWN_HOSTS', set: { MLV_SSH_KNOWN_HOSTS: A_DIR }, says: /is a directory/ },
  { name: 'known_hosts missing under strict', field: 'MLV_SSH_KNOWN_HOSTS', set: { MLV_SSH_KNOWN_HOSTS: '/nonexistent/kh' }, says: /strict/ },
  { name: 'host-key mode "no"', field: 'MLV_SSH_HOST_KEY_CHECK', set: { MLV_SSH_HOST_KEY_CHECK: 'no' }, says: /strict/ },
  { name: 'host-key mode in upper case', field: 'MLV_SSH_HOST_KEY_CHECK', set: { MLV_SSH_HOST_KEY_CHECK: 'STRICT' } },
  { name: 'agent is a regular file', field: 'MLV_SSH_AGENT', set: { MLV_SSH_AGENT: KEY }, says: /not a socket/ },
  { name: 'agent is a directory', field: 'MLV_SSH_AGENT', set: { MLV_SSH_AGENT: A_DIR, MLV_SSH_KEY: '' }, says: /directory, not a socket/ },
  { name: 'jump host a@b@c', field: 'MLV_SSH_JUMP', set: { MLV_SSH_JUMP: 'a@b@c' } },
  { name: 'ssh config is a directory', field: 'MLV_SSH_CONFIG', set: { MLV_SSH_CONFIG: A_DIR }, says: /is a directory/ },
  // partition, account
  { name: 'partition with ;', field: 'MLV_SLURM_PARTITION', set: { MLV_SLURM_PARTITION: 'gpu;rm' } },
  { name: 'account with a space', field: 'MLV_SLURM_ACCOUNT', set: { MLV_SLURM_ACCOUNT: 'a b' } },
  // shared root
  { name: 'shared root with ..', field: 'MLV_SHARED_ROOT', set: { MLV_SHARED_ROOT: '/srv/../etc' }, says: /normalised/ },
  { name: 'shared root with a space', field: 'MLV_SHARED_ROOT', set: { MLV_SHARED_ROOT: '/srv/my shared' }, says: /whitespace/ },
  { name: 'shared root with %u', field: 'MLV_SHARED_ROOT', set: { MLV_SHARED_ROOT: '/srv/%u' }, says: /% \(sbatch expands it/ },
  { name: 'shared root /', field: 'MLV_SHARED_ROOT', set: { MLV_SHARED_ROOT: '/' }, says: /must not be \/ itself/ },
  { name: 'shared root relative', field: 'MLV_SHARED_ROOT', set: { MLV_SHARED_ROOT: 'shared' }, says: /absolute/ },
  { name: 'shared root with //', field: 'MLV_SHARED_ROOT', set: { MLV_SHARED_ROOT: '/srv//x' }, says: /normalised/ },
  // runtime prefix
  { name: 'prefix starting with LD_PRELOAD=', field: 'MLV_RUNTIME_PREFIX', set: { MLV_RUNTIME_PREFIX: 'LD_PRELOAD=/tmp/x.so apptainer exec i.sif' }, says: /assignment LD_PRELOAD=/ },
  { name: 'prefix with a NUL', field: 'MLV_RUNTIME_PREFIX', set: { MLV_RUNTIME_PREFIX: 'apptainer\u0000exec i.sif' }, says: /NUL/ },
  { name: 'prefix with a no-break space', field: 'MLV_RUNTIME_PREFIX', set: { MLV_RUNTIME_PREFIX: 'apptainer\u00a0exec i.sif' }, says: /U\+00A0/ },
  { name: 'prefix with ; and an --env token', field: 'MLV_RUNTIME_PREFIX', set: { MLV_RUNTIME_PREFIX: 'apptainer exec --env HF_TOKEN=S3CRET-hf-token i.sif; rm -rf ~' }, says: /HF_TOKEN=\*\*\*/ },
  { name: 'prefix with $()', field: 'MLV_RUNTIME_PREFIX', set: { MLV_RUNTIME_PREFIX: 'apptainer exec $(id).sif' } },
  { name: 'an open quote swallows a token line', field: 'MLV_RUNTIME_PREFIX', append: 'MLV_RUNTIME_PREFIX="apptainer exec\nMLV_INFERENCE_TOKEN=S3CRET-swallowed\n"\n', says: /lines \(hidden\)/ },
  // GPU and node counts, time scale
  { name: 'GPUs 1e+23', field: 'MLV_GPUS_PER_NODE', set: { MLV_GPUS_PER_NODE: '1e+23' }, says: /whole number/ },
  { name: 'GPUs 4.5', field: 'MLV_GPUS_PER_NODE', set: { MLV_GPUS_PER_NODE: '4.5' } },
  { name: 'GPUs -1', field: 'MLV_GPUS_PER_NODE', set: { MLV_GPUS_PER_NODE: '-1' } },
  { name: 'GPUs 99999999999999999999999', field: 'MLV_GPUS_PER_NODE', set: { MLV_GPUS_PER_NODE: '99999999999999999999999' }, says: /at most 1024/ },
  { name: 'nodes Infinity', field: 'MLV_NODE_COUNT', set: { MLV_NODE_COUNT: 'Infinity' }, says: /whole number/ },
  { name: 'nodes 0', field: 'MLV_NODE_COUNT', set: { MLV_NODE_COUNT: '0' }, says: /at least 1/ },
  { name: 'nodes past MAX_SLURM_NODES', field: 'MLV_NODE_COUNT', set: { MLV_NODE_COUNT: '65537' }, says: /at most 65536/ },
  { name: 'time scale 0', field: 'MLV_JOB_TIME_SCALE', set: { MLV_JOB_TIME_SCALE: '0' }, says: /positive/ },
  { name: 'time scale 1e400', field: 'MLV_JOB_TIME_SCALE', set: { MLV_JOB_TIME_SCALE: '1e400' } },
  { name: 'time scale 1000', field: 'MLV_JOB_TIME_SCALE', set: { MLV_JOB_TIME_SCALE: '1000' }, says: /at most 100/ },
  // URLs
  { name: 'ingress URL with user:password@', field: 'MLV_INGRESS_URL', set: { MLV_INGRESS_URL: 'https://admin:S3CRET-userinfo-pw@gw.example.org' }, says: /user:password@/ },
  {
    name: 'Prometheus URL with a token and a space',
    field: 'MLV_PROMETHEUS_URL',
    set: { MLV_PROMETHEUS_URL: 'https://p.example.org/?access_token=S3CRET-query-token x' },
    says: /access_token=\*\*\*/,
  },
  { name: 'ingress URL javascript:', field: 'MLV_INGRESS_URL', set: { MLV_INGRESS_URL: 'javascript:alert(1)' } },
  { name: 'model URI with credentials and a space', field: 'MLV_MNIST_MODEL_URI', set: { MLV_MNIST_MODEL_URI: 's3://AKIA:S3CRET-AKIA-pw@bucket/m x' } },
  // kube keys
  { name: 'kubeconfig is a directory', field: 'MLV_KUBECONFIG', set: { MLV_KUBECONFIG: A_DIR }, says: /is a directory/ },
  { name: 'namespace of 64 characters', field: 'MLV_KUBE_NAMESPACE', set: { MLV_KUBE_NAMESPACE: 'a'.repeat(64) }, says: /63/ },
  { name: 'context with a carriage return', field: 'MLV_KUBE_CONTEXT', set: { MLV_KUBE_CONTEXT: 'ctx\rX' }, says: /a carriage return|a newline/ },
  { name: 'CA bundle is a directory', field: 'MLV_INFERENCE_CA', set: { MLV_INFERENCE_CA: A_DIR } },
  // references, workers, poll, gpu kind, capabilities, python, dataset
  { name: 'references path is a directory', field: 'MLV_REFERENCES', set: { MLV_REFERENCES: join(A_DIR, 'refs.yaml') }, says: /is a directory/ },
  { name: 'references with $()', field: 'MLV_REFERENCES', set: { MLV_REFERENCES: '../$(id)' } },
  { name: 'workers 0', field: 'MLV_WORKERS', set: { MLV_WORKERS: '0' } },
  { name: 'workers 1000', field: 'MLV_WORKERS', set: { MLV_WORKERS: '1000' }, says: /at most 64/ },
  { name: 'keep-on-failure without a unit', field: 'MLV_KEEP_ON_FAILURE', set: { MLV_KEEP_ON_FAILURE: '3600' }, says: /e\.g\. 30m, 2h or 1d/ },
  { name: 'poll 50 ms', field: 'MLV_POLL_MIN_MS', set: { MLV_POLL_MIN_MS: '50' } },
  { name: 'poll min above max', field: 'MLV_POLL_MIN_MS', set: { MLV_POLL_MIN_MS: '5000', MLV_POLL_MAX_MS: '1000' }, says: /above MLV_POLL_MAX_MS/ },
  { name: 'gpu kind amd', field: 'MLV_GPU_KIND', set: { MLV_GPU_KIND: 'amd' } },
  { name: 'unknown capability', field: 'MLV_CAPABILITIES', set: { MLV_CAPABILITIES: 'gres-gpu,warp' }, says: /warp/ },
  { name: 'python with an argument', field: 'MLV_PYTHON', set: { MLV_PYTHON: 'python3 -c evil' } },
  { name: 'dataset dir relative', field: 'MLV_DATASET_DIR', set: { MLV_DATASET_DIR: 'datasets' } },
  // duplicates, unknown keys, case variants, control characters, huge values
  { name: 'a later duplicate turns host keys off', field: 'MLV_SSH_HOST_KEY_CHECK', append: 'MLV_SSH_HOST_KEY_CHECK=off\n', says: /set twice, on lines 8 and 18/ },
  { name: 'duplicate token', field: 'MLV_INFERENCE_TOKEN', append: `MLV_INFERENCE_TOKEN=${TOKEN}-2\n`, says: /set twice/ },
  { name: 'misspelt MLV_GPU_PER_NODE', field: 'MLV_GPU_PER_NODE', append: 'MLV_GPU_PER_NODE=4\n', says: /did you mean MLV_GPUS_PER_NODE\?/ },
  { name: 'lower-case key', field: 'mlv_gpus_per_node', append: 'mlv_gpus_per_node=4\n', says: /did you mean MLV_GPUS_PER_NODE\? Setting names are upper case/ },
  { name: 'mixed-case key', field: 'Mlv_Ssh_Port', append: 'Mlv_Ssh_Port=22\n', says: /did you mean MLV_SSH_PORT\?/ },
  { name: 'key without the MLV_ prefix', field: 'GPUS_PER_NODE', append: 'GPUS_PER_NODE=4\n', says: /did you mean MLV_GPUS_PER_NODE\?/ },
  { name: 'unknown key in the process environment', field: 'MLV_SSH_PORTT', env: { MLV_SSH_PORTT: '22' }, says: /in the process environment\) is not a known setting: did you mean MLV_SSH_PORT\?/ },
  { name: 'unknown key, nothing close', field: 'MLV_QUANTUM_FLUX', append: 'MLV_QUANTUM_FLUX=1\n', says: /not a setting of this suite/ },
  { name: 'target name with ANSI escapes', field: 'MLV_TARGET_NAME', set: { MLV_TARGET_NAME: 'lab\u001b[2J\u001b[31m' }, says: /escape/ },
  { name: 'a 100 KB value', field: 'MLV_TARGET_NAME', set: { MLV_TARGET_NAME: long(100_000) }, says: /too long \(100000 characters/ },
  { name: 'a 5 KB partition is echoed cut short', field: 'MLV_SLURM_PARTITION', set: { MLV_SLURM_PARTITION: `${long(5000)};` }, says: /\.\.\." \(5001 characters\)/ },
];

const fmt = (k: string, v: string) => (/^[^'"#\s]*$/.test(v) || !v.includes("'") ? `${k}='${v}'` : `${k}="${v}"`);
let n = 0;
function envFile(c: Case): string {
  const vars = BASE.map(([k, v]) => [k, c.set?.[k] ?? v] as const);
  for (const [k, v] of Object.entries(c.set ?? {})) if (!BASE.some(([b]) => b === k)) vars.push([k, v]);
  const text = vars.map(([k, v]) => fmt(k, v)).join('\n') + '\n' + (c.append ?? '');
  return file(`case-${n++}.env`, text);
}

function refusal(c: Case): ConfigError {
  try {
    loadTarget(dir, { MLV_ENV_FILE: envFile(c), MLV_LAB_TARGET_FILE: join(dir, 'no-lab'), ...c.env });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
    return e;
  }
  assert.fail('accepted');
}

test('the base file of the table loads (each case breaks one thing)', () => {
  const t = loadTarget(dir, { MLV_ENV_FILE: envFile({ name: 'base', field: '' }), MLV_LAB_TARGET_FILE: join(dir, 'no-lab') });
  assert.equal(t.hpc?.ssh.port, 2222);
  assert.equal(t.cloud?.token, TOKEN);
  const agent = loadTarget(dir, { MLV_ENV_FILE: envFile({ name: 'agent', field: '', set: { MLV_SSH_KEY: '', MLV_SSH_AGENT: AGENT_SOCKET } }), MLV_LAB_TARGET_FILE: join(dir, 'no-lab') });
  assert.equal(agent.hpc?.ssh.agent, AGENT_SOCKET);
});

test(`at least 40 bad-input cases over every kind of field (${CASES.length})`, () => {
  assert.ok(CASES.length >= 40);
  assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length, 'case names are unique');
});

for (const c of CASES) {
  test(`bad input: ${c.name}`, () => {
    const e = refusal(c);
    const mine = e.problems.filter((p) => p.includes(c.field));
    assert.ok(mine.length, `no problem names ${c.field}:\n${e.message.slice(0, 2000)}`);
    if (c.says)
      assert.ok(
        mine.some((p) => c.says!.test(p)),
        `no problem of ${c.field} says ${c.says}:\n${mine.join('\n').slice(0, 2000)}`,
      );
    assert.doesNotMatch(e.message, /^\s+at /m, 'a stack frame');
    assert.equal(e.stack, `ConfigError: ${e.message}`);
    // eslint-disable-next-line no-control-regex -- no raw control character may reach a terminal
    assert.doesNotMatch(e.message, /[\u0000-\u0009\u000b-\u001f\u007f\u00a0]/, 'a raw control character');
    for (const s of SECRETS) assert.ok(!e.message.includes(s), `secret ${s} echoed:\n${e.message.slice(0, 2000)}`);
    for (const p of e.problems) assert.ok(p.length < 600, `a problem of ${p.length} characters: ${p.slice(0, 200)}...`);
    assert.match(mine[0]!, /Fix: \S/, 'the problem has a fix');
  });
}

test('the target file itself: a directory, or binary junk, is a ConfigError naming MLV_ENV_FILE', () => {
  for (const source of [A_DIR, file('junk.env', '\u0000\u0001\u0002MLV_SSH_HOST\u0000=x\n')]) {
    try {
      loadTarget(dir, { MLV_ENV_FILE: source, MLV_LAB_TARGET_FILE: join(dir, 'no-lab') });
      assert.fail('accepted');
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, source === A_DIR ? /MLV_ENV_FILE points to \S+, which is a directory, not a file\. Fix:/ : /no side is configured|not a known setting/);
      assert.doesNotMatch(e.message, /^\s+at /m);
    }
  }
});

/** The renderer's own bad input: what a workload or a fixture could hand it. Each throws naming the field, with no secret. */
const RENDER_CTX = { runId: 'mlv-bad', partition: 'lab', jobDir: '/srv/jobs/mlv-bad', workDir: '/srv/jobs/mlv-bad', runtimePrefix: [] };
const RENDER_CASES: { name: string; field: string; spec?: Partial<JobSpec>; ctx?: Partial<RenderContext> }[] = [
  { name: 'cpus per task 0', field: 'JobSpec.cpusPerTask', spec: { cpusPerTask: 0 } },
  { name: 'cpus per task 2^31', field: 'JobSpec.cpusPerTask', spec: { cpusPerTask: 2 ** 31 } },
  { name: 'cpus per task 1.5', field: 'JobSpec.cpusPerTask', spec: { cpusPerTask: 1.5 } },
  { name: 'nodes 1e+21', field: 'JobSpec.nodes', spec: { nodes: 1e21 } },
  { name: 'nodes Infinity', field: 'JobSpec.nodes', spec: { nodes: Infinity } },
  { name: 'tasks per node 513', field: 'JobSpec.ntasksPerNode', spec: { ntasksPerNode: 513 } },
  { name: 'GPUs NaN', field: 'JobSpec.gpus', spec: { gpus: NaN } },
  { name: 'memory 8GB', field: 'JobSpec.mem', spec: { mem: '8GB' } },
  { name: 'memory of 13 digits', field: 'JobSpec.mem', spec: { mem: '1000000000000M' } },
  { name: 'time 2.08e+303 s', field: 'time limit', spec: { timeLimitSeconds: 2.08e303 } },
  { name: 'time Infinity', field: 'time limit', spec: { timeLimitSeconds: Infinity } },
  { name: 'time NaN', field: 'time limit', spec: { timeLimitSeconds: NaN } },
  { name: 'env name LD_PRELOAD', field: 'LD_PRELOAD', spec: { env: { LD_PRELOAD: '/tmp/x.so' } } },
  { name: 'env name BASH_ENV', field: 'BASH_ENV', spec: { env: { BASH_ENV: '/tmp/x' } } },
  { name: 'env name IFS', field: 'IFS', spec: { env: { IFS: '/' } } },
  { name: 'env name PATH', field: 'PATH', spec: { env: { PATH: '/tmp' } } },
  { name: 'output directory with %u', field: '--output', ctx: { jobDir: '/srv/%u/jobs' } },
  { name: 'working directory with a space', field: '--chdir', ctx: { workDir: '/srv/a b' } },
];

for (const c of RENDER_CASES) {
  test(`bad render input: ${c.name}`, () => {
    const spec: JobSpec = { name: 'x', timeLimitSeconds: 60, steps: [{ argv: ['true'] }], env: { MLV_SECRETISH: TOKEN }, ...c.spec };
    assert.throws(
      () => renderSbatch(spec, { ...RENDER_CTX, ...c.ctx }),
      (e: Error) => e.message.includes(c.field) && !e.message.includes(TOKEN) && !/\n/.test(e.message),
    );
  });
}
