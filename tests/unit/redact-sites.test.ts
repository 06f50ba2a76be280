/**
 * Each place that writes what a user or CI reads goes through the one redaction: the manifest
 * problems, the sbatch attachment (the submitted script keeps the real value), the
 * InferenceService attachment, the matrix reasons and criteria, the dry-run files, the test
 * errors Playwright reports, and the bearer token's transport. Each case also shows the raw text
 * holds the secret, so the redaction is what removes it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestInfo } from '@playwright/test';
import { checkTokenTransport, redactUrl, resolveEndpoint } from '../../clients/inference/endpoint.ts';
import { InferenceTransport } from '../../clients/inference/http.ts';
import type { HpcTarget, Target } from '../../helpers/config.ts';
import { InfraError } from '../../helpers/errors.ts';
import { buildInferenceService } from '../../helpers/isvc.ts';
import { testOutcomes, type PwReport } from '../../helpers/matrix.ts';
import { hiddenValues, MASK, redact, redactError, targetSecrets, urlSecrets } from '../../helpers/redact.ts';
import { renderJob } from '../../helpers/sbatch.ts';

const TOK = 'hf_fake_0123456789abcdef';
// Before the dry-run fixture is imported: it reads its directory at load.
process.env.MLV_REPORT_OUT = mkdtempSync(join(tmpdir(), 'mlv-dry-'));
const SIG = 'sig-fake-9876543210';
const prefix = ['apptainer', 'exec', '--env', `HF_TOKEN=${TOK}`, '--env', 'OMP_NUM_THREADS=4', '/shared/c.sif'];

test('hiddenValues and urlSecrets give the exact values to hide', () => {
  assert.deepEqual(hiddenValues(prefix), [TOK]);
  assert.deepEqual(hiddenValues(['env', `A_TOKEN=${TOK}`, 'python3']), [TOK]);
  assert.deepEqual(urlSecrets(`s3://AKIAFAKE:${SIG}@bucket/m?X-Amz-Signature=${SIG}&region=eu`).sort(), ['AKIAFAKE', `AKIAFAKE:${SIG}`, SIG].sort());
  assert.deepEqual(urlSecrets('https://h/p?x=1&page=2'), []);
  const t = { hpc: { ssh: { passphrase: 'pass-phrase-1' }, runtimePrefix: prefix }, cloud: { token: 'bearer-1', mnistModelUri: `pvc://m/r?X-Amz-Signature=${SIG}` } };
  assert.deepEqual(targetSecrets(t).sort(), ['bearer-1', 'pass-phrase-1', SIG, TOK].sort());
});

test('a secret split across lines by a message is still hidden by its exact value', () => {
  const text = `uri: /pvc/m?X-Amz-Signature=\n  ${SIG} does not exist`;
  assert.ok(redact(text).includes(SIG), 'the pattern alone misses it');
  assert.ok(!redact(text, [SIG]).includes(SIG));
});

test('manifest problems: the runtime prefix and torch error text are redacted', async () => {
  const { problemsOf } = await import('../../fixtures/probe-hpc.ts');
  const hpc = { sharedRoot: '/s', runtimePrefix: prefix, python: 'python3', datasetDir: '/d', gpuKind: 'nvidia', gpusPerNode: 1 } as unknown as HpcTarget;
  const probe = { host: 'n1', seesLogin: true, writable: true, computeWritable: true, cuda: false, cudaCount: 0, torchError: `env: HF_TOKEN=${TOK}: bad` };
  const problems = problemsOf({ capabilities: [] } as unknown as Target, hpc, { login: true }, probe, { dir: '/d', present: true, missing: [] });
  assert.equal(problems.length, 2);
  assert.ok(prefix.join(' ').includes(TOK));
  for (const p of problems) {
    assert.ok(!p.includes(TOK), p);
    assert.ok(p.includes('--env HF_TOKEN=*** --env OMP_NUM_THREADS=4'), p);
  }
});

test('sbatch: the submitted script keeps the token, the attached one does not', () => {
  const script = renderJob({ name: 'train', timeLimitSeconds: 60, steps: [{ argv: ['python3', 'x.py'] }] }, { runId: 'r1', partition: 'p', runtimePrefix: prefix, sharedRoot: '/s' });
  assert.ok(script.includes(TOK), 'the job needs the real value');
  const attached = redact(script, targetSecrets({ hpc: { ssh: {}, runtimePrefix: prefix } }));
  assert.ok(!attached.includes(TOK));
  assert.ok(attached.includes(`HF_TOKEN=${MASK}`));
});

test('InferenceService attachment: credentials in the model URI are masked, the object keeps them', () => {
  const uri = `s3://AKIAFAKE:${SIG}@bucket/mnist?X-Amz-Signature=${SIG}`;
  const isvc = buildInferenceService({ name: 'm', model: { format: 'onnx', storageUri: uri } });
  const raw = JSON.stringify(isvc, null, 2);
  assert.ok(raw.includes(SIG));
  const shown = redact(raw, targetSecrets({ cloud: { mnistModelUri: uri } }));
  assert.ok(!shown.includes(SIG) && !shown.includes('AKIAFAKE'), shown);
  assert.ok(shown.includes(`s3://${MASK}@bucket/mnist?X-Amz-Signature=${MASK}`), shown);
});

test('matrix: failure reasons and criteria details are redacted', () => {
  const criteria = JSON.stringify([{ name: 'load', status: 'fail', detail: `GET https://u:${SIG}@h/v1?access_token=${SIG} → 401` }]);
  const report = (message: string, attach: boolean): PwReport => ({
    suites: [
      {
        title: 'f',
        file: 'specs/hpc/mlops-1.1-mnist.spec.ts',
        specs: [
          {
            title: 't',
            file: 'specs/hpc/mlops-1.1-mnist.spec.ts',
            tests: [
              {
                projectName: 'hpc',
                status: 'x',
                results: [{ status: 'failed', duration: 0, errors: [{ message }], attachments: attach ? [{ name: 'criteria.json', contentType: 'application/json', body: criteria }] : [] }],
              },
            ],
          },
        ],
      },
    ],
  });
  const [plain] = testOutcomes(report(`job failed: HF_TOKEN=${TOK} rejected`, false), () => undefined);
  assert.equal(plain!.reason, `job failed: HF_TOKEN=${MASK} rejected`);
  const [crit] = testOutcomes(report('x', true), (a) => a.body);
  assert.ok(!crit!.reason.includes(SIG) && !crit!.criteria[0]!.detail.includes(SIG), crit!.reason);
});

test('dry run: the written and attached files are redacted', async () => {
  const { dryRunFor } = await import('../../fixtures/dry-run.ts');
  const attached: string[] = [];
  const info = { project: { name: 'p' }, titlePath: ['f', `redact-${Date.now()}`], attach: async (_n: string, o: { body: string }) => void attached.push(o.body) } as unknown as TestInfo;
  const dry = dryRunFor(true, info, [TOK]);
  await dry.record('x.sbatch', `srun env HF_TOKEN=${TOK} python3`);
  assert.deepEqual(attached, [`srun env HF_TOKEN=${MASK} python3`]);
  const dir = readdirSync(join(process.env.MLV_REPORT_OUT!, 'dry-run')).find((d) => d.includes('redact-'))!;
  assert.ok(!readFileSync(join(process.env.MLV_REPORT_OUT!, 'dry-run', dir, 'x.sbatch'), 'utf8').includes(TOK));
});

test('test errors: message, stack and value redacted in place before Playwright reports them', async () => {
  const { redactTestErrors } = await import('../../fixtures/dry-run.ts');
  const errors: TestInfo['errors'] = [{ message: `boom ${TOK}`, stack: `Error: boom ${TOK}\n    at x`, value: `v ${TOK}` }];
  redactTestErrors(errors, [TOK]);
  assert.deepEqual(errors, [{ message: `boom ${MASK}`, stack: `Error: boom ${MASK}\n    at x`, value: `v ${MASK}` }]);
  const e = redactError(new InfraError(`INFRA: ${TOK}`), [TOK]);
  assert.ok(e instanceof InfraError && !e.message.includes(TOK) && !String(e.stack).includes(TOK));
});

test('bearer token: refused over plain http unless the target opts in; https and no token pass', () => {
  const http = { baseUrl: `http://127.0.0.1:31080?access_token=${SIG}`, bearerToken: 'tok-1' };
  assert.throws(() => checkTokenTransport(http), /MLV_INFERENCE_TOKEN would be sent over plain http to http:\/\/127\.0\.0\.1:31080\/?\?access_token=\*\*\*\. Fix: .*MLV_INFERENCE_TOKEN_OVER_HTTP=yes/);
  assert.throws(() => new InferenceTransport(http), /MLV_INFERENCE_TOKEN_OVER_HTTP=yes/, 'a hand-built endpoint is checked too');
  assert.throws(() => resolveEndpoint({ url: 'http://m.ns.example.com' }, { bearerToken: 'tok-1' }), /plain http/);
  assert.equal(checkTokenTransport({ ...http, tokenOverHttp: true }).bearerToken, 'tok-1');
  assert.equal(checkTokenTransport({ baseUrl: 'https://h', bearerToken: 'tok-1' }).baseUrl, 'https://h');
  assert.equal(checkTokenTransport({ baseUrl: 'http://h' }).baseUrl, 'http://h');
  assert.equal(redactUrl(`https://u:${SIG}@h/p?token=${SIG}`), `https://h/p?token=${MASK}`);
});
