import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLOUD_KEYS, FIXES, HPC_KEYS, HPC_REQUIRED, RawSchema, SECRET_FIELDS, STANDARD_KEYS } from '../../helpers/config-schema.ts';
import { parseTarget, type Target } from '../../helpers/config.ts';
import { ConfigError } from '../../helpers/errors.ts';
import { isStorageUri, STORAGE_SCHEMES, STORAGE_URI_HINT } from '../../helpers/storage-uri.ts';
import { AGENT_SOCKET } from './config-agent.ts';

/** A valid HPC target that touches no file: a listening agent socket, host key checking off, no ssh config. */
const BASE: Record<string, string> = {
  MLV_SSH_HOST: 'login',
  MLV_SSH_USER: 'u',
  MLV_SSH_AGENT: AGENT_SOCKET,
  MLV_SSH_HOST_KEY_CHECK: 'off',
  MLV_SSH_CONFIG: '/nonexistent/ssh-config',
  MLV_SLURM_PARTITION: 'gpu',
  MLV_SHARED_ROOT: '/shared',
};

function parse(over: Record<string, string | undefined>): { target?: Target; problems: string[] } {
  try {
    return { target: parseTarget({ ...BASE, ...over }, 'test.env'), problems: [] };
  } catch (e) {
    if (e instanceof ConfigError) return { problems: e.problems };
    throw e;
  }
}

/** The one problem of `field` for `value`, or undefined when the value is accepted. */
function problem(field: string, value: string): string | undefined {
  const { problems } = parse({ [field]: value });
  const mine = problems.filter((p) => p.startsWith(`${field} `));
  assert.ok(mine.length <= 1, mine.join('\n'));
  return mine[0];
}

function accepts(field: string, values: string[]) {
  for (const v of values) assert.equal(problem(field, v), undefined, `${field}=${JSON.stringify(v)} is accepted`);
}
function rejects(field: string, values: string[], message: string) {
  for (const v of values) {
    const p = problem(field, v);
    assert.ok(p, `${field}=${JSON.stringify(v)} is rejected`);
    assert.ok(p.startsWith(`${field} ${message} (`), p);
    assert.ok(p.endsWith(`. Fix: ${FIXES[field] ?? 'see .env.example'}.`), p);
  }
}

test('every fix is a real instruction, and every field with a fix is a target setting', () => {
  const fields = Object.keys(RawSchema.shape);
  for (const [field, fix] of Object.entries(FIXES)) {
    assert.ok(fields.includes(field), field);
    assert.match(fix, /^(set|point|use|name) \S.{15,}[^.]$/, field);
  }
  for (const k of HPC_REQUIRED) assert.ok(FIXES[k], k);
  assert.deepEqual([...HPC_REQUIRED], ['MLV_SSH_HOST', 'MLV_SLURM_PARTITION', 'MLV_SHARED_ROOT']);
});

test('the secret fields; a bad secret is reported without its value', () => {
  assert.deepEqual([...SECRET_FIELDS].sort(), ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'MLFLOW_TRACKING_PASSWORD', 'MLFLOW_TRACKING_TOKEN', 'MLV_INFERENCE_TOKEN', 'MLV_SSH_KEY_PASSPHRASE']);
  const shown = problem('MLV_SSH_PORT', 'secret-looking');
  assert.ok(shown?.includes('(got "secret-looking")'));
});

test('HPC_KEYS and CLOUD_KEYS split the settings into the two sides, exact names only', () => {
  const side = (k: string) => (HPC_KEYS.test(k) ? 'hpc' : '') + (CLOUD_KEYS.test(k) ? 'cloud' : '');
  const bySide: Record<string, string[]> = {};
  for (const k of Object.keys(RawSchema.shape)) (bySide[side(k)] ??= []).push(k);
  // the e2e side's settings (MLflow, object store) configure neither side
  const e2e = [...STANDARD_KEYS]
    .filter((k) => !k.startsWith('AWS_'))
    .concat(['MLV_S3_ENDPOINT', 'MLV_S3_CLUSTER_ENDPOINT', 'MLV_S3_BUCKET', 'MLV_S3_REGION', 'MLV_S3_PREFIX', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);
  assert.deepEqual(bySide[''], ['MLV_TARGET_NAME', 'MLV_CAPABILITIES', 'MLV_REFERENCES', 'MLV_WORKERS', 'MLV_KEEP_ON_FAILURE', ...e2e]);
  assert.deepEqual(bySide.cloud, [
    'MLV_KUBECONFIG',
    'MLV_KUBE_CONTEXT',
    'MLV_KUBE_NAMESPACE',
    'MLV_KUBE_MODEL_NAMESPACE',
    'MLV_INGRESS_URL',
    'MLV_INFERENCE_CA',
    'MLV_INFERENCE_TOKEN',
    'MLV_INFERENCE_TOKEN_OVER_HTTP',
    'MLV_PROMETHEUS_URL',
    'MLV_MNIST_MODEL_URI',
    'MLV_LLM_MODEL_URI',
  ]);
  assert.equal(bySide.hpc?.length, Object.keys(RawSchema.shape).length - 16 - e2e.length);
  assert.ok(bySide.hpc?.includes('MLV_JOB_TIME_SCALE') && bySide.hpc.includes('MLV_POLL_MAX_MS') && bySide.hpc.includes('MLV_GPU_KIND'));
  const nearMisses = ['MLV_SHARED_ROOTS', 'MLV_DATASET_DIR2', 'MLV_RUNTIME_PREFIXES', 'MLV_PYTHONPATH', 'MLV_GPUS_PER_NODE_X', 'MLV_GPU_KINDS', 'MLV_NODE_COUNTS', 'MLV_JOB_TIME_SCALE_X'];
  for (const k of [...nearMisses, 'X_MLV_SSH_HOST', 'MLV_INGRESS_URLS', 'MLV_PROMETHEUS_URL2', 'MLV_MNIST_MODEL_URI_OLD', 'MLV_LLM_MODEL_URIS', 'X_MLV_KUBECONFIG']) assert.equal(side(k), '', k);
  assert.throws(
    () => parseTarget({ MLV_PYTHONPATH: '/x', MLV_KUBE_CONTEXT: 'kind' }, 't'),
    /MLV_PYTHONPATH \(in t\) is not a known setting: did you mean MLV_PYTHON\?/,
    'a near-miss name is refused, not ignored',
  );
});

test('whole numbers: trimmed, bounded inclusively', () => {
  accepts('MLV_SSH_PORT', ['1', '65535', ' 22 ']);
  rejects('MLV_SSH_PORT', ['0'], 'must be at least 1');
  rejects('MLV_SSH_PORT', ['65536'], 'must be at most 65535');
  rejects('MLV_SSH_PORT', ['22a', 'a22', '2 2', '-1'], 'must be a whole number');
  accepts('MLV_GPUS_PER_NODE', ['0', '1024']);
  rejects('MLV_GPUS_PER_NODE', ['1025'], 'must be at most 1024');
  accepts('MLV_NODE_COUNT', ['1', '65536']);
  rejects('MLV_NODE_COUNT', ['65537', '100000'], 'must be at most 65536');
  accepts('MLV_WORKERS', ['1', '64']);
  rejects('MLV_WORKERS', ['0'], 'must be at least 1');
  rejects('MLV_WORKERS', ['65'], 'must be at most 64');
  accepts('MLV_KEEP_ON_FAILURE', ['90s', '30m', ' 2h ', '1d', '2 h']);
  rejects('MLV_KEEP_ON_FAILURE', ['2', 'h', '1.5h', '-1h', '2w', '1234567s', '2h30m'], 'must be a whole number and a unit (s, m, h or d), e.g. 30m, 2h or 1d');
  assert.equal(parse({ MLV_KEEP_ON_FAILURE: '2h' }).target?.keepOnFailureSeconds, 7200);
  assert.equal(parse({}).target?.keepOnFailureSeconds, undefined);
  accepts('MLV_POLL_MIN_MS', ['100']);
  accepts('MLV_POLL_MAX_MS', ['2000', '600000']);
  assert.deepEqual(parse({ MLV_POLL_MIN_MS: '600000', MLV_POLL_MAX_MS: '600000' }).problems, []);
  rejects('MLV_POLL_MIN_MS', ['99'], 'must be at least 100');
  rejects('MLV_POLL_MAX_MS', ['600001'], 'must be at most 600000');
  const t = parse({ MLV_SSH_PORT: ' 2222 ', MLV_GPUS_PER_NODE: '8', MLV_NODE_COUNT: '3', MLV_WORKERS: '2', MLV_POLL_MIN_MS: '500', MLV_POLL_MAX_MS: '5000' }).target!;
  assert.deepEqual([t.hpc!.ssh.port, t.hpc!.gpusPerNode, t.hpc!.nodeCount, t.workers, t.hpc!.poll], [2222, 8, 3, 2, { minMs: 500, maxMs: 5000 }]);
});

test('defaults of the optional settings', () => {
  const t = parse({}).target!;
  assert.deepEqual([t.name, t.references, t.capabilities, t.workers], ['custom', 'default', [], 4]);
  const h = t.hpc!;
  assert.deepEqual([h.ssh.port, h.python, h.gpusPerNode, h.nodeCount, h.jobTimeScale, h.gpuKind, h.poll, h.runtimePrefix], [22, 'python3', 0, 1, 1, 'nvidia', { minMs: 2000, maxMs: 30000 }, []]);
  assert.equal(t.cloud, undefined);
  assert.equal(parse({ MLV_SSH_HOST_KEY_CHECK: undefined, MLV_SSH_KNOWN_HOSTS: '/nonexistent/kh' }).problems.length, 1, 'strict by default: a missing known_hosts file is a problem');
});

test('names: target, host, user, jump host, partition, account, python, namespace', () => {
  accepts('MLV_TARGET_NAME', ['lab', 'site_A.2-b']);
  rejects('MLV_TARGET_NAME', ['my site', 'a/b', 'x;y'], 'use letters, digits, . _ -');
  assert.equal(parse({ MLV_TARGET_NAME: ' lab ' }).target?.name, 'lab');
  accepts('MLV_SSH_HOST', ['login-1.example.org', '10.0.0.1', '[::1]', 'fe80::1', 'a_b']);
  rejects('MLV_SSH_HOST', ['login node', 'host;id', 'a/b', 'x$'], 'is not a valid host name');
  accepts('MLV_SSH_USER', ['mlops', '_svc', 'Ab.c-d_9', 'machine$']);
  rejects('MLV_SSH_USER', ['9user', '-x', 'a b', 'a$b', 'a@b'], 'is not a valid user name');
  accepts('MLV_SSH_JUMP', ['bastion', 'me@bastion.example.org', 'bastion:2200', 'me@b:22']);
  rejects('MLV_SSH_JUMP', ['me@', 'a b', 'b:', 'b:x', '@b', 'a@b@c'], 'must look like [user@]host[:port]');
  accepts('MLV_SLURM_PARTITION', ['gpu', 'gpu.a_1-x']);
  rejects('MLV_SLURM_PARTITION', ['gpu x', 'a/b'], 'is required and may only hold letters, digits, . _ -');
  accepts('MLV_SLURM_ACCOUNT', ['proj.1_a-b']);
  rejects('MLV_SLURM_ACCOUNT', ['proj 1', 'a;b', '$x'], 'may only hold letters, digits, . _ -');
  accepts('MLV_PYTHON', ['python3', '/opt/conda/bin/python3.11', 'c++-x']);
  rejects('MLV_PYTHON', ['python3 -u', 'py;id', '$(x)'], 'must be a command name or path');
  accepts('MLV_KUBE_NAMESPACE', ['mlv', 'a', 'mlv-test-1', '1a']);
  rejects('MLV_KUBE_NAMESPACE', ['MLV', '-a', 'a-', 'a_b', 'a.b', 'a b'], 'must be a Kubernetes namespace name');
  accepts('MLV_KUBE_MODEL_NAMESPACE', ['mlv-models', 'a']);
  rejects('MLV_KUBE_MODEL_NAMESPACE', ['Models', 'a_b', 'a/b', `${'a'.repeat(64)}`], 'must be a Kubernetes namespace name');
});

test('paths, enums, scale, URLs and storage URIs', () => {
  accepts('MLV_SHARED_ROOT', ['/shared/mlv', ' /x ', '/x/']);
  rejects('MLV_SHARED_ROOT', ['shared', './x', '~/x'], 'must be an absolute path');
  rejects('MLV_DATASET_DIR', ['datasets'], 'must be an absolute path');
  accepts('MLV_SSH_HOST_KEY_CHECK', ['strict', 'accept-new', 'off'].slice(1));
  rejects('MLV_SSH_HOST_KEY_CHECK', ['yes', 'Strict'], 'Invalid option: expected one of "strict"|"accept-new"|"off"');
  accepts('MLV_GPU_KIND', ['nvidia', 'fake']);
  rejects('MLV_GPU_KIND', ['amd'], 'Invalid option: expected one of "nvidia"|"fake"');
  accepts('MLV_JOB_TIME_SCALE', ['1', '2.5', '0.25', ' 3 ']);
  rejects('MLV_JOB_TIME_SCALE', ['-1', '.5', '1.', '2x', 'x2', '1.5.2'], 'must be a positive number');
  assert.equal(parse({ MLV_JOB_TIME_SCALE: '2.5' }).target?.hpc?.jobTimeScale, 2.5);
  accepts('MLV_INGRESS_URL', ['http://ingress.local', 'https://10.0.0.1:8443/x', ' https://a ']);
  rejects('MLV_INGRESS_URL', ['ingress.local', 'ftp://x', 'http://', 'https:// a', 'http://a b', 'xhttp://a', 'httpss://a'], 'must be an http(s) URL');
  rejects('MLV_PROMETHEUS_URL', ['prometheus:9090'], 'must be an http(s) URL');
  assert.equal(parse({ MLV_INGRESS_URL: ' https://gw ' }).target?.cloud?.ingressUrl, 'https://gw');
  accepts('MLV_MNIST_MODEL_URI', ['s3://models/mnist/1', 'pvc://vol/m', ' gs://b/m ']);
  rejects('MLV_MNIST_MODEL_URI', ['models/mnist', 'file:///m', 's3://', 's3://a b'], `must be ${STORAGE_URI_HINT}`);
  rejects('MLV_LLM_MODEL_URI', ['smollm'], `must be ${STORAGE_URI_HINT}`);
  assert.equal(STORAGE_URI_HINT, `a KServe storageUri (${STORAGE_SCHEMES.map((s) => `${s}://`).join(', ')})`);
  assert.ok(STORAGE_URI_HINT.startsWith('a KServe storageUri (s3://, gs://, pvc://, http://, https://'));
  for (const s of STORAGE_SCHEMES) assert.ok(isStorageUri(`${s}://x`), s);
  for (const u of ['S3://x', '3s://x', 's3:/x', 's3://', ' s3://x', 's3://x\ty', 'xs3://a']) assert.equal(isStorageUri(u), false, u);
});

test('optional settings: blank is unset, values are trimmed', () => {
  const t = parse({ MLV_SSH_KEY_PASSPHRASE: '  pw  ', MLV_KUBE_CONTEXT: ' kind ', MLV_INFERENCE_TOKEN: '   ', MLV_SLURM_ACCOUNT: ' acct ' }).target!;
  assert.equal(t.hpc!.ssh.passphrase, 'pw');
  assert.equal(t.cloud?.context, 'kind');
  assert.equal(t.cloud?.token, undefined);
  assert.equal(t.hpc!.slurm.account, 'acct');
});
