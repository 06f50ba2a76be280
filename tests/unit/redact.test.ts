import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSecretKey, MASK, redact, redactRecord, redactWords } from '../../helpers/redact.ts';

test('isSecretKey: tokens, passwords, secrets and credentials; not paths to them, not a bare KEY', () => {
  const secret = [
    'MLV_INFERENCE_TOKEN',
    'MLV_SSH_KEY_PASSPHRASE',
    'MLV_MLFLOW_PASSWORD',
    'HF_TOKEN',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_ACCESS_KEY_ID',
    'OPENAI_API_KEY',
    'apiKey',
    'accessToken',
    'client-secret',
    'X-Amz-Signature',
    'db.password',
    'AUTH',
    'GITHUB_PAT_PASS',
  ];
  const plain = [
    'MLV_SSH_KEY',
    'MLV_SSH_KNOWN_HOSTS',
    'MLV_SSH_HOST_KEY_CHECK',
    'TOKEN_FILE',
    'MLV_PRIVATE_KEY_PATH',
    'SECRETS_DIR',
    'KEYBOARD',
    'TOKENIZER',
    'PASSAGE',
    'MLV_SHARED_ROOT',
    'monkey',
    'author',
  ];
  for (const k of secret) assert.equal(isSecretKey(k), true, k);
  for (const k of plain) assert.equal(isSecretKey(k), false, k);
});

test('redact: URL userinfo and token-like query parameters; the rest of the URL stays', () => {
  assert.equal(redact('https://alice:hunter2@example.org/x?a=1&access_token=abc123'), `https://${MASK}@example.org/x?a=1&access_token=${MASK}`);
  assert.equal(redact('s3://AKIA:wJalr@bucket/model'), `s3://${MASK}@bucket/model`);
  assert.equal(
    redact('https://b.s3.amazonaws.com/m?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=deadbeef&X-Amz-Expires=300'),
    `https://b.s3.amazonaws.com/m?X-Amz-Credential=${MASK}&X-Amz-Signature=${MASK}&X-Amz-Expires=300`,
  );
  assert.equal(redact('https://blob.core.windows.net/c/m?sv=2020&sig=abc%3D'), `https://blob.core.windows.net/c/m?sv=2020&sig=${MASK}`);
  assert.equal(redact('https://h/p?token=t&key=AIza1&page=2#id_token=x'), `https://h/p?token=${MASK}&key=${MASK}&page=2#id_token=${MASK}`);
  assert.equal(redact('mail alice@example.org at https://example.org/a@b'), 'mail alice@example.org at https://example.org/a@b', 'an @ after the host is not userinfo');
});

test('redact: bearer tokens and Authorization headers', () => {
  assert.equal(redact('Authorization: Bearer eyJhbGciOi.abc.def'), `Authorization: Bearer ${MASK}`);
  assert.equal(redact('-H "authorization: token ghp_abcdefgh"'), `-H "authorization: token ${MASK}"`);
  assert.equal(redact('sent Bearer abcdefgh12345678 to the server'), `sent Bearer ${MASK} to the server`);
  assert.equal(redact('{"Authorization":"Basic dXNlcjpwYXNz"}'), `{"Authorization":"Basic ${MASK}"}`);
});

test('redact: K=V, K: V and JSON values of secret-named keys; other keys untouched', () => {
  assert.equal(redact('MLV_SHARED_ROOT=/x MLV_INFERENCE_TOKEN=tok-1 HF_TOKEN="a b" PASSWORD=\'p w\''), `MLV_SHARED_ROOT=/x MLV_INFERENCE_TOKEN=${MASK} HF_TOKEN="${MASK}" PASSWORD='${MASK}'`);
  assert.equal(redact('password: hunter2; user: bob'), `password: ${MASK}; user: bob`);
  assert.equal(redact('{"hfToken": "s3cr\\"et", "name": "lab"}'), `{"hfToken": "${MASK}", "name": "lab"}`);
  assert.equal(redact('exec\nMLV_INFERENCE_TOKEN=swallowed\n'), `exec\nMLV_INFERENCE_TOKEN=${MASK}\n`, 'a token line swallowed into another value');
});

test('redact: known secret values anywhere, longest first; short values are not hunted', () => {
  assert.equal(redact('the value abcdef123 and abcdef123456', ['abcdef123', 'abcdef123456']), `the value ${MASK} and ${MASK}`);
  assert.equal(redact('a.b+c(d) here', ['a.b+c(d)']), `${MASK} here`, 'regex characters in a secret are literal');
  assert.equal(redact('abc is short', ['abc', undefined, '']), 'abc is short');
});

test('redact is idempotent', () => {
  const samples = ['https://u:p@h/?token=t', 'Authorization: Bearer abcdefghijk', 'HF_TOKEN="x y" A=1', '{"secret": "v"}', 'plain text, no secrets'];
  for (const s of samples) assert.equal(redact(redact(s)), redact(s), s);
});

test('redactWords: every env value of a runtime prefix is hidden unless it is a tuning variable', () => {
  const words = ['apptainer', 'exec', '--env', 'HF_TOKEN=abc', '--env=OMP_NUM_THREADS=4', '-e', 'FOO=bar', 'NCCL_DEBUG=INFO', '--env', 'CUDA_X=1,HF_TOKEN=z', '--nv', 'img.sif'];
  assert.deepEqual(redactWords(words), [
    'apptainer',
    'exec',
    '--env',
    `HF_TOKEN=${MASK}`,
    '--env=OMP_NUM_THREADS=4',
    '-e',
    `FOO=${MASK}`,
    'NCCL_DEBUG=INFO',
    '--env',
    `CUDA_X=${MASK}`,
    '--nv',
    'img.sif',
  ]);
  assert.deepEqual(redactWords(['env', 'NCCL_TOKEN=s', 'python3']), ['env', `NCCL_TOKEN=${MASK}`, 'python3'], 'a secret-named tuning variable is hidden');
  assert.deepEqual(redactWords(['--bind', 'https://u:p@h/x']), ['--bind', `https://${MASK}@h/x`]);
  assert.deepEqual(redactWords(['--env']), ['--env']);
});

test('redactRecord: secret-named keys masked whole, other values redacted as text', () => {
  assert.deepEqual(redactRecord({ token: 'abc', url: 'https://u:p@h/', note: 'plain', empty: '' }), { token: MASK, url: `https://${MASK}@h/`, note: 'plain', empty: '' });
  assert.deepEqual(redactRecord({ msg: 'has 123456-secret in it' }, ['123456-secret']), { msg: `has ${MASK} in it` });
});

test('a secret assignment inside a non-secret value is still masked (the outer match must not hide it)', () => {
  assert.equal(redact('job failed: HF_TOKEN=abc123456 rejected'), `job failed: HF_TOKEN=${MASK} rejected`);
  assert.equal(redact('OPTS=A_TOKEN=abc123456'), `OPTS=A_TOKEN=${MASK}`);
  assert.equal(redact('reason: ok, status: done'), 'reason: ok, status: done');
  assert.equal(redact(redact('x: y: S3_SECRET=zzz999')), `x: y: S3_SECRET=${MASK}`);
});
