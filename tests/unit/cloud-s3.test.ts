/**
 * s3:// models the way KServe fetches them: the lab object store (lab/s3/server.ts, s3rver behind
 * SigV4 checking) in-process on an ephemeral port with a temp dir, the lab API server in-process for
 * the ServiceAccounts and Secrets, then the credential lookup (lab/cloud/controller/s3-credentials.ts)
 * and the storage-initializer's download (s3-download.ts through storage.ts stageModel).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startApiServer, type ApiServer } from '../../lab/cloud/apiserver/server.ts';
import { buildS3EnvVars, s3CredentialEnv, type S3Env } from '../../lab/cloud/controller/s3-credentials.ts';
import { stageModel, storageLogFile, StorageError } from '../../lab/cloud/controller/storage.ts';
import { startS3Server, type S3Server } from '../../lab/s3/server.ts';

const tmp = mkdtempSync(join(tmpdir(), 'cloud-s3-'));
const KEY = { accessKeyId: 'LABTESTKEY0000000001', secretAccessKey: 'lab-test-secret-0000000000000000000000001' };
const NS = 'team';
let s3: S3Server;
let api: ApiServer;
let core: CoreV1Api;
let host: string;

const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)))
    .sort();
const b64 = (s: string) => Buffer.from(s).toString('base64');
let n = 0;
const stage = async (uri: string, s3Env: S3Env) => {
  const dest = join(tmp, 'rev', String(++n));
  try {
    await stageModel(uri, { stateDir: join(tmp, 'state'), s3Env }, dest);
    return { dest, files: files(dest), log: readFileSync(storageLogFile(dest), 'utf8') };
  } catch (e) {
    assert.ok(e instanceof StorageError, String(e));
    return { dest, error: `${e.exception}: ${e.message}`, reason: e.reason, log: readFileSync(storageLogFile(dest), 'utf8') };
  }
};
const env = (over: S3Env = {}): S3Env => ({ AWS_ACCESS_KEY_ID: KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey, AWS_ENDPOINT_URL: s3.url, S3_USE_HTTPS: '0', ...over });
const secret = (name: string, data: Record<string, string>, annotations: Record<string, string> = {}) =>
  core.createNamespacedSecret({ namespace: NS, body: { metadata: { name, annotations }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) } });
const sa = (name: string, secrets: string[], annotations: Record<string, string> = {}) =>
  core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name, annotations }, secrets: secrets.map((s) => ({ name: s })) } });

before(async () => {
  s3 = await startS3Server({ directory: join(tmp, 'store'), port: 0, keys: [KEY], buckets: ['models', 'public'], publicBuckets: ['public'] });
  host = s3.url.slice('http://'.length);
  const client = new S3Client({ region: 'us-east-1', endpoint: s3.url, forcePathStyle: true, credentials: KEY });
  const put = (Bucket: string, Key: string, Body: string | Buffer) => client.send(new PutObjectCommand({ Bucket, Key, Body }));
  await put('models', 'mnist/1/model.onnx', 'onnx-bytes');
  await put('models', 'mnist/config.pbtxt', 'name: "mnist"');
  await put('models', 'mnist/1/', ''); // a folder marker and an empty object are skipped
  await put('models', 'mnist/empty.txt', '');
  await put('models', 'mnist-wrong/model.onnx', 'other');
  await put('public', 'm/model.onnx', 'public-bytes');
  // a multipart upload (three parts) and an archive the initializer unpacks
  await new Upload({ client, params: { Bucket: 'models', Key: 'big/model.bin', Body: Buffer.alloc(12 * 2 ** 20, 7) }, partSize: 5 * 2 ** 20 }).done();
  mkdirSync(join(tmp, 'arc/m'), { recursive: true });
  writeFileSync(join(tmp, 'arc/m/model.onnx'), 'packed');
  execFileSync('tar', ['-czf', join(tmp, 'arc/model.tar.gz'), '-C', join(tmp, 'arc'), 'm']);
  await put('models', 'packed/model.tar.gz', readFileSync(join(tmp, 'arc/model.tar.gz')));
  client.destroy();

  api = await startApiServer({ stateDir: join(tmp, 'api'), host: '127.0.0.1', port: 0 });
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
});

after(async () => {
  await s3?.close();
  await api?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('the lab object store', () => {
  it('refuses unsigned requests, a wrong secret and an unknown key; keeps a multipart upload and a streamed body whole', async () => {
    assert.equal((await fetch(`${s3.url}/models/mnist/config.pbtxt`)).status, 403);
    assert.match(await (await fetch(`${s3.url}/models/mnist/config.pbtxt`)).text(), /<Code>AccessDenied<\/Code>/);
    assert.equal(await (await fetch(`${s3.url}/public/m/model.onnx`)).text(), 'public-bytes');
    const tryKey = async (accessKeyId: string, secretAccessKey: string) => {
      const c = new S3Client({ region: 'us-east-1', endpoint: s3.url, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
      const r = await c.send(new PutObjectCommand({ Bucket: 'models', Key: 'x', Body: 'x' })).then(
        () => 'stored',
        (e: Error & { $metadata?: { httpStatusCode?: number } }) => `${e.$metadata?.httpStatusCode} ${e.name}`,
      );
      c.destroy();
      return r;
    };
    assert.equal(await tryKey(KEY.accessKeyId, 'wrong'), '403 SignatureDoesNotMatch');
    assert.equal(await tryKey('NOSUCHKEY', KEY.secretAccessKey), '403 InvalidAccessKeyId');
    assert.equal(await tryKey('S3RVER', 'S3RVER'), '403 InvalidAccessKeyId'); // s3rver's built-in key is revoked
    // a stream body goes aws-chunked (checksum trailer): stored as the plain payload
    const c = new S3Client({ region: 'us-east-1', endpoint: s3.url, forcePathStyle: true, credentials: KEY });
    await c.send(new PutObjectCommand({ Bucket: 'models', Key: 'streamed/model.onnx', Body: Readable.from([Buffer.from('stream'), Buffer.from('ed')]), ContentLength: 8 }));
    assert.equal(await (await c.send(new GetObjectCommand({ Bucket: 'models', Key: 'streamed/model.onnx' }))).Body!.transformToString(), 'streamed');
    c.destroy();
    const big = await stage('s3://models/big/model.bin', env());
    assert.deepEqual(big.files, ['model.bin']);
    assert.equal(readFileSync(join(big.dest, 'model.bin')).length, 12 * 2 ** 20);
  });
});

describe('KServe s3 credentials (s3_secret.go, service_account_credentials.go)', () => {
  before(async () => {
    await secret(
      's3-good',
      { AWS_ACCESS_KEY_ID: KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey },
      {
        'serving.kserve.io/s3-endpoint': host,
        'serving.kserve.io/s3-usehttps': '0',
        'serving.kserve.io/s3-region': 'us-east-1',
      },
    );
    await secret('s3-nokey', { AWS_SECRET_ACCESS_KEY: 'x' });
    await secret('not-s3', { token: 'x' });
    await sa('models', ['not-s3', 's3-good']);
    await sa('ghost', ['no-such-secret']);
    await sa('half', ['s3-nokey']);
    await sa('irsa', [], { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/r', 'serving.kserve.io/s3-endpoint': 'minio:9000' });
    await sa('plain', [], { 'serving.kserve.io/s3-endpoint': 'minio:9000' });
  });

  it('builds the env as BuildS3EnvVars: a scheme in the endpoint wins, https unless s3-usehttps is "0"', () => {
    assert.deepEqual(buildS3EnvVars({ 'serving.kserve.io/s3-endpoint': 'minio:9000' }), { S3_ENDPOINT: 'minio:9000', AWS_ENDPOINT_URL: 'https://minio:9000' });
    assert.deepEqual(buildS3EnvVars({ 'serving.kserve.io/s3-endpoint': 'minio:9000', 'serving.kserve.io/s3-usehttps': '0' }), {
      S3_ENDPOINT: 'minio:9000',
      AWS_ENDPOINT_URL: 'http://minio:9000',
      S3_USE_HTTPS: '0',
    });
    assert.deepEqual(buildS3EnvVars({ 'serving.kserve.io/s3-endpoint': 'http://minio:9000', 'serving.kserve.io/s3-usehttps': '1' }), {
      S3_ENDPOINT: 'minio:9000',
      AWS_ENDPOINT_URL: 'http://minio:9000',
      S3_USE_HTTPS: '0',
    });
    // the annotation, else the Secret's data key of the env's name
    assert.deepEqual(buildS3EnvVars({ 'serving.kserve.io/s3-verifyssl': '0' }, { AWS_DEFAULT_REGION: 'eu-west-1', S3_VERIFY_SSL: '1', awsAnonymousCredential: 'true' }), {
      S3_VERIFY_SSL: '0',
      awsAnonymousCredential: 'true',
      AWS_DEFAULT_REGION: 'eu-west-1',
    });
  });

  it('follows serviceAccountName → ServiceAccount → its S3 Secret; the default ServiceAccount has none', async () => {
    const got = await s3CredentialEnv(core, NS, 'models', {}, 'p-');
    assert.deepEqual(got, {
      env: { AWS_ACCESS_KEY_ID: KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey, S3_ENDPOINT: host, AWS_ENDPOINT_URL: s3.url, S3_USE_HTTPS: '0', AWS_DEFAULT_REGION: 'us-east-1' },
      secrets: ['s3-good'],
    });
    assert.deepEqual(await s3CredentialEnv(core, NS, undefined, {}, 'p-'), { env: {}, secrets: [] });
    // the InferenceService annotation names the Secret instead of the ServiceAccount's list
    assert.deepEqual(await s3CredentialEnv(core, NS, undefined, { 'serving.kserve.io/storageSecretName': 's3-good' }, 'p-'), got);
    // ServiceAccount annotations count only with the IRSA role annotation
    assert.equal(((await s3CredentialEnv(core, NS, 'irsa', {}, 'p-')) as { env: S3Env }).env.AWS_ENDPOINT_URL, 'https://minio:9000');
    assert.deepEqual(await s3CredentialEnv(core, NS, 'plain', {}, 'p-'), { env: {}, secrets: [] });
  });

  it('refuses the pod when the ServiceAccount or a listed Secret is missing; a missing key id is the kubelet error', async () => {
    assert.deepEqual(await s3CredentialEnv(core, NS, 'nobody', {}, 'm-predictor-00001-deployment-abc-'), {
      forbidden: 'pods "m-predictor-00001-deployment-abc-" is forbidden: error looking up service account team/nobody: serviceaccount "nobody" not found',
    });
    assert.deepEqual(await s3CredentialEnv(core, NS, 'ghost', {}, 'p-'), {
      forbidden: 'admission webhook "inferenceservice.kserve-webhook-server.pod-mutator" denied the request: secrets "no-such-secret" not found',
    });
    assert.equal(((await s3CredentialEnv(core, NS, 'half', {}, 'p-')) as { missingKey?: string }).missingKey, "couldn't find key AWS_ACCESS_KEY_ID in Secret team/s3-nokey");
  });
});

describe("the storage-initializer's s3 download (kserve_storage.py _download_s3)", () => {
  it('downloads every object under a prefix, keeping relative paths, skipping folder markers and empty objects', async () => {
    const r = await stage('s3://models/mnist/', env());
    assert.deepEqual(r.files, ['1/model.onnx', 'config.pbtxt']);
    assert.equal(readFileSync(join(r.dest, '1/model.onnx'), 'utf8'), 'onnx-bytes');
    assert.match(r.log!, /kserve\.storage INFO Found S3 object: mnist\/1\/model\.onnx \(10 bytes\)\n/);
    assert.match(r.log!, /kserve\.storage INFO Downloaded object mnist\/config\.pbtxt\n/);
    assert.match(r.log!, /Successfully copied s3:\/\/models\/mnist\/ to \/mnt\/models\n$/);
    // the prefix is a plain string prefix, as in S3's ListObjects: mnist also matches mnist-wrong
    assert.deepEqual((await stage('s3://models/mnist', env())).files, ['-wrong/model.onnx', '1/model.onnx', 'config.pbtxt']);
  });

  it('downloads a single object as its file name, and unpacks a single archive', async () => {
    assert.deepEqual((await stage('s3://models/mnist/1/model.onnx', env())).files, ['model.onnx']);
    const packed = await stage('s3://models/packed/model.tar.gz', env());
    assert.deepEqual(packed.files, ['m/model.onnx']);
    assert.match(packed.log!, /Unpacking: \/mnt\/models\/model\.tar\.gz/);
  });

  it('fails as KServe does: a wrong secret, no credentials, a missing key, a missing bucket', async () => {
    const bad = await stage('s3://models/mnist', env({ AWS_SECRET_ACCESS_KEY: 'wrong' }));
    assert.equal(bad.error, 'RuntimeError: S3 error [403]: Forbidden');
    assert.equal(bad.reason, 'ModelLoadFailed');
    assert.match(bad.log, /kserve\.storage ERROR S3 error for s3:\/\/models\/mnist: An error occurred \(403\) when calling the HeadBucket operation: Forbidden\n/);
    assert.match(bad.log, /ERROR Storage initialization failed \(ModelLoadFailed\)\nRuntimeError: S3 error \[403\]: Forbidden\n$/);
    const none = await stage('s3://models/mnist', { AWS_ENDPOINT_URL: s3.url });
    assert.equal(none.error, 'RuntimeError: S3 authentication failed. Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or use awsAnonymousCredential=true.');
    assert.match(none.log, /S3 error for s3:\/\/models\/mnist: Unable to locate credentials/);
    assert.equal((await stage('s3://models/nothing/here', env())).error, 'RuntimeError: Failed to fetch model. No model found in nothing/here.');
    assert.equal((await stage('s3://nob/m', env())).error, "RuntimeError: S3 resource 'nob' not found.");
  });

  it('signs nothing with awsAnonymousCredential "true": a private bucket refuses, a public one serves', async () => {
    const anon = env({ AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', awsAnonymousCredential: 'true' });
    assert.equal((await stage('s3://models/mnist', anon)).error, 'RuntimeError: S3 error [403]: Forbidden');
    assert.deepEqual((await stage('s3://public/m', anon)).files, ['model.onnx']);
    // only "true" turns it on (get_S3_config): with "1" and no keys there are no credentials
    assert.match((await stage('s3://public/m', { ...anon, awsAnonymousCredential: '1' })).error!, /S3 authentication failed/);
  });

  it('speaks https unless s3-usehttps is "0": the lab store is http, so the default fails its TLS handshake', async () => {
    const https = buildS3EnvVars({ 'serving.kserve.io/s3-endpoint': host });
    const r = await stage('s3://models/mnist/config.pbtxt', env(https));
    assert.match(r.error!, new RegExp(`^SSLError: SSL validation failed for https://${host}/models `));
    assert.match(r.log, /Storage initialization failed \(ModelLoadFailed\)\nSSLError: /);
    const http = buildS3EnvVars({ 'serving.kserve.io/s3-endpoint': host, 'serving.kserve.io/s3-usehttps': '0' });
    assert.deepEqual((await stage('s3://models/mnist/config.pbtxt', env(http))).files, ['config.pbtxt']);
    const down = await stage('s3://models/m', env({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9' }));
    assert.equal(down.error, 'EndpointConnectionError: Could not connect to the endpoint URL: "http://127.0.0.1:9/models"');
  });
});
