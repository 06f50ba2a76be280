/**
 * The edges of redaction that mutation testing found untested: anchored name patterns (a
 * near-miss name is not secret, a secret word inside a longer name is), values already masked
 * or empty, quoted values, runtime-prefix flags and their inline forms, and URL credentials
 * only where a URL begins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hiddenValues, isSecretKey, MASK, redact, redactError, redactRecord, redactWords, targetSecrets, urlSecrets } from '../../helpers/redact.ts';

test('isSecretKey: the _FILE/_PATH/_DIR exemption applies only at the end of the name', () => {
  assert.equal(isSecretKey('TOKEN_FILE'), false);
  assert.equal(isSecretKey('TOKEN_PATH_VALUE'), true, '_PATH inside the name does not exempt it');
  assert.equal(isSecretKey('DIR_TOKEN'), true);
});

test('isSecretKey: secret words are whole words, not parts of words', () => {
  for (const name of ['TOKENIZER', 'MY_TOKENS', 'PASSWORDLESS', 'XPASS', 'AUTHOR', 'SESSIONS_DIR_NAME', 'SIGMA', 'COOKIES_X'].slice(0, 6)) assert.equal(isSecretKey(name), false, name);
  for (const name of ['MY_TOKEN', 'TOKEN_X', 'DB_PASSWORD_2', 'X_CREDENTIAL', 'X_CREDENTIALS', 'AWS_SESSION_TOKEN', 'URL_SIG']) assert.equal(isSecretKey(name), true, name);
});

test('isSecretKey: the X-Amz credential names are secret through their words', () => {
  for (const name of ['X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Security-Token']) assert.equal(isSecretKey(name), true, name);
  assert.equal(isSecretKey('X-Amz-Date'), false);
});

test('query parameters: credential names match whole; a masked or empty value is left as it is', () => {
  assert.equal(redact('https://h/p?mycode=1234&codes=5678&code=abcd'), `https://h/p?mycode=1234&codes=5678&code=${MASK}`);
  assert.equal(redact('https://h/p?token=&x=1'), 'https://h/p?token=&x=1');
  assert.equal(redact(`https://h/p?token=${MASK}`), `https://h/p?token=${MASK}`);
  assert.equal(redact(`https://h/p?token=a${MASK}`), `https://h/p?token=${MASK}`);
});

test('authorization headers: quoted, with or without a scheme, and the space after the colon', () => {
  assert.equal(redact('"Authorization": "Bearer abc.def"'), `"Authorization": "Bearer ${MASK}"`);
  assert.equal(redact('authorization:token   abcdef'), `authorization:token ${MASK}`);
  assert.equal(redact('Authorization=  xyz123'), `Authorization=  ${MASK}`);
  assert.equal(redact('authorizationX: abc'), 'authorizationX: abc', 'another header is not the Authorization header');
  assert.equal(redact('use basic  auth'), 'use basic  auth', 'a short word after basic is prose');
  assert.equal(redact('Bearer   abcdefgh12'), `Bearer ${MASK}`);
});

test('JSON pairs: spaces around the colon; a non-secret key or an empty value is kept', () => {
  assert.equal(redact('{"token" :  "abc"}'), `{"token" :  "${MASK}"}`);
  assert.equal(redact('{"token":""}'), '{"token":""}');
  assert.equal(redact('{"tokenizer": "gpt2"}'), '{"tokenizer": "gpt2"}');
});

test('KEY=value: quoted values are masked inside their quotes; a quoted empty or masked value is kept', () => {
  assert.equal(redact(`TOKEN="a b c" next`), `TOKEN="${MASK}" next`);
  assert.equal(redact(`TOKEN='abc' next`), `TOKEN='${MASK}' next`);
  assert.equal(redact(`TOKEN="" next`), `TOKEN="" next`);
  assert.equal(redact(`TOKEN="${MASK}"`), `TOKEN="${MASK}"`);
  assert.equal(redact(`TOKEN=${MASK}x`), `TOKEN=${MASK}x`);
  assert.equal(redact('TOKEN="unterminated'), `TOKEN="${MASK}"`);
  assert.equal(redact('db.password=abc'), `db.password=${MASK}`, 'a dotted name is one name');
});

test('redact: known values of 4 characters or more are hidden, longest first; the mask itself is never a known value', () => {
  assert.equal(redact('abcd abc', ['abc', 'abcd']), `${MASK} abc`);
  assert.equal(redact('a *** b', [MASK]), 'a *** b');
  assert.equal(redact('x abcdef x', ['abcd', 'abcdef']), `x ${MASK} x`);
});

test('redactWords: only the exact flags take the next word; inline forms only with =; a bare KEY=value word', () => {
  assert.deepEqual(redactWords(['--env', 'HF_TOKEN=abc']), ['--env', `HF_TOKEN=${MASK}`]);
  assert.deepEqual(redactWords(['-e', 'A=1']), ['-e', `A=${MASK}`]);
  assert.deepEqual(redactWords(['--envx', 'A=1']), ['--envx', `A=${MASK}`], 'not a flag, but A=1 is still an assignment');
  assert.deepEqual(redactWords(['x--env', 'B']), ['x--env', 'B']);
  assert.deepEqual(redactWords(['--env']), ['--env'], 'a trailing flag has nothing to hide');
  assert.deepEqual(redactWords(['--env=HF_TOKEN=abc', 'x--env=A=1']), [`--env=HF_TOKEN=${MASK}`, 'x--env=A=1']);
  assert.deepEqual(redactWords(['--setenv=']), [`--setenv=`]);
  assert.deepEqual(redactWords(['1A=b', 'A1_B=c', '=x']), ['1A=b', `A1_B=${MASK}`, '=x']);
  assert.deepEqual(redactWords(['CUDA_VISIBLE_DEVICES=0,1', 'OMP_NUM_THREADS=4', 'OMPX=4', 'XOMP_A=1', 'NCCL_DEBUG=INFO']), [
    `CUDA_VISIBLE_DEVICES=${MASK}`,
    'OMP_NUM_THREADS=4',
    `OMPX=${MASK}`,
    `XOMP_A=${MASK}`,
    'NCCL_DEBUG=INFO',
  ]);
});

test('hiddenValues: the value after K= for an assignment, the whole word otherwise; short values are dropped', () => {
  assert.deepEqual(hiddenValues(['--env', 'HF_TOKEN=abcdef', 'OMP_NUM_THREADS=4', 'A=xyz', 'plain']), ['abcdef']);
  assert.deepEqual(hiddenValues(['https://user:pa55word@host/x']), ['https://user:pa55word@host/x']);
  assert.deepEqual(hiddenValues(['SECRET=abcd']), ['abcd']);
});

test('urlSecrets: userinfo only at the start of a URL; each part of user:password; secret query values, decoded too', () => {
  assert.deepEqual(urlSecrets('https://alice:s3cr3t@host/x'), ['alice:s3cr3t', 'alice', 's3cr3t']);
  assert.deepEqual(urlSecrets('see https://alice:s3cr3t@host/x'), []);
  assert.deepEqual(urlSecrets('https://h/x?sig=ab%2Fcd&keep=1'), ['ab%2Fcd', 'ab/cd']);
  assert.deepEqual(urlSecrets('https://h/x?zsig=abcd'), []);
  assert.deepEqual(urlSecrets('https://h/x?token=ab'), []);
  assert.deepEqual(urlSecrets('https://h/x?token=abcd&code=abcd'), ['abcd']);
  assert.deepEqual(urlSecrets(undefined), []);
});

test('targetSecrets: passphrase, token, the prefix’s hidden values and every URL’s secrets; nothing for an empty target', () => {
  const t = {
    hpc: { ssh: { passphrase: 'phrase-1' }, runtimePrefix: ['apptainer', 'exec', '--env', 'HF_TOKEN=tok-12345', 'img.sif'] },
    cloud: {
      token: 'bearer-9',
      ingressUrl: 'https://u:ingress-pw@i',
      prometheusUrl: 'https://p/?token=prom-tok',
      mnistModelUri: 's3://b/m?X-Amz-Signature=sig-777',
      llmModelUri: 'https://h/llm?api_key=llm-key',
    },
  };
  assert.deepEqual(targetSecrets(t), ['phrase-1', 'bearer-9', 'tok-12345', 'u:ingress-pw', 'ingress-pw', 'prom-tok', 'sig-777', 'llm-key']);
  assert.deepEqual(targetSecrets({}), []);
});

test('redactError: message and stack are redacted with the known values; other values pass through', () => {
  const e = new Error('failed with s3cr3t-value');
  e.stack = 'Error: failed with s3cr3t-value\n    at x';
  assert.equal(redactError(e, ['s3cr3t-value']), e);
  assert.equal(e.message, `failed with ${MASK}`);
  assert.equal(e.stack, `Error: failed with ${MASK}\n    at x`);
  const noStack = new Error('x TOKEN=abc');
  noStack.stack = undefined;
  assert.equal(redactError(noStack).message, `x TOKEN=${MASK}`);
  assert.equal(redactError('TOKEN=abc'), 'TOKEN=abc', 'not an Error: returned as it is');
});

test('redactRecord: secret-named keys are masked whole, an empty secret stays empty, others redacted as text', () => {
  assert.deepEqual(redactRecord({ token: 'x y', password: '', note: 'has s3cr3t-value' }, ['s3cr3t-value']), { token: MASK, password: '', note: `has ${MASK}` });
});
