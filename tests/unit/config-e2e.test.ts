import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeTarget, loadTarget, parseTarget } from '../../helpers/config.ts';
import { ConfigError } from '../../helpers/errors.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLOUD = { MLV_CAPABILITIES: 'kserve', MLV_KUBE_CONTEXT: 'lab' };
const SECRET = 's3cr3t-KEY-9f8e7d6c';
const STORE = { MLV_S3_ENDPOINT: 'http://127.0.0.1:9000', MLV_S3_BUCKET: 'mlv-e2e', AWS_ACCESS_KEY_ID: 'AKIALAB', AWS_SECRET_ACCESS_KEY: SECRET };

function problems(vars: Record<string, string>): string[] {
  try {
    parseTarget(vars, 'test.env');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.problems;
  }
  return [];
}

test('MLflow and the object store load from their standard names', () => {
  const t = parseTarget({ ...CLOUD, ...STORE, MLFLOW_TRACKING_URI: 'http://127.0.0.1:5050/', MLV_S3_PREFIX: 'team/x/' }, 'test.env');
  assert.deepEqual(t.mlflow, { uri: 'http://127.0.0.1:5050', token: undefined, username: undefined, password: undefined, insecureTls: false });
  assert.equal(t.objectStore?.bucket, 'mlv-e2e');
  assert.equal(t.objectStore?.prefix, 'team/x');
  assert.equal(t.objectStore?.region, 'us-east-1');
  assert.equal(t.objectStore?.clusterEndpoint, 'http://127.0.0.1:9000', 'the cluster endpoint defaults to the runner’s');
  const d = describeTarget(t);
  assert.match(d.objectStore!, /s3:\/\/mlv-e2e\/team\/x at http:\/\/127\.0\.0\.1:9000/);
  assert.ok(!JSON.stringify(d).includes(SECRET), 'the secret key is never described');
});

test('no MLflow or store settings: neither side exists, no problem', () => {
  const t = parseTarget(CLOUD, 'test.env');
  assert.equal(t.mlflow, undefined);
  assert.equal(t.objectStore, undefined);
});

test('half-given settings name what is missing, and never echo a secret', () => {
  const p = problems({ ...CLOUD, MLV_S3_BUCKET: 'mlv-e2e', AWS_SECRET_ACCESS_KEY: SECRET });
  assert.equal(p.length, 1);
  assert.match(p[0]!, /^AWS_ACCESS_KEY_ID is required .*Fix: /);
  const m = problems({ ...CLOUD, MLFLOW_TRACKING_USERNAME: 'me' });
  assert.ok(m.some((x) => x.startsWith('MLFLOW_TRACKING_URI is required')));
  assert.ok(m.some((x) => x.startsWith('MLFLOW_TRACKING_PASSWORD is required')));
});

test('bad values: a URL with credentials, a bucket name, credentials over plain http to another host', () => {
  assert.match(problems({ ...CLOUD, MLFLOW_TRACKING_URI: 'https://u:p@mlflow.example.org' })[0]!, /^MLFLOW_TRACKING_URI must not carry user:password@/);
  assert.match(problems({ ...CLOUD, ...STORE, MLV_S3_BUCKET: 'Bad_Bucket' })[0]!, /^MLV_S3_BUCKET must be an S3 bucket name/);
  const clear = problems({ ...CLOUD, MLFLOW_TRACKING_URI: 'http://mlflow.example.org', MLFLOW_TRACKING_TOKEN: 'tok-123456' });
  assert.match(clear[0]!, /plain http/);
  assert.ok(!clear.join('\n').includes('tok-123456'));
  assert.deepEqual(problems({ ...CLOUD, MLFLOW_TRACKING_URI: 'http://127.0.0.1:5050', MLFLOW_TRACKING_TOKEN: 'tok-123456' }), [], 'loopback http is fine');
  assert.match(problems({ ...CLOUD, MLFLOW_TRACKING_URI: 'https://m.example.org', MLFLOW_TRACKING_INSECURE_TLS: 'yes' })[0]!, /^MLFLOW_TRACKING_INSECURE_TLS /);
});

test('the process environment overrides the file for the standard names, as MLflow and AWS clients read them', () => {
  const d = mkdtempSync(join(tmpdir(), 'mlv-e2e-config-'));
  writeFileSync(join(d, 'target.env'), 'MLV_CAPABILITIES=kserve\nMLV_KUBE_CONTEXT=lab\nMLFLOW_TRACKING_URI=http://127.0.0.1:5050\n');
  const t = loadTarget(d, { MLV_ENV_FILE: 'target.env', MLFLOW_TRACKING_URI: 'https://mlflow.example.org' });
  assert.equal(t.mlflow?.uri, 'https://mlflow.example.org');
});
