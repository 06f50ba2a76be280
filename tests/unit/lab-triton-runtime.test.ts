/**
 * The lab's Triton-like runtime (lab/cloud/runtime/main.ts --runtime triton): a model
 * repository with models named after their directories, V2 only (V1 paths 404 as tritonserver
 * answers them), no nulls in its answers, and the auto-completed max_batch_size (4) unless
 * config.pbtxt sets one, refused with Triton's error body; and Triton's metrics on their own
 * listener (the ready file's second line), under Triton's names.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { predictV2, refusedBatchLimit } from '../../clients/inference/mnist.ts';
import { InferenceHttpError } from '../../clients/inference/http.ts';
import { KServeV2Client } from '../../clients/inference/v2.ts';
import { writeMnistLinear, writeTinyAffine } from '../../lab/cloud/models/make-test-models.ts';
import { mnistSplit } from '../../helpers/mnist-samples.ts';
import { effectiveMaxBatchSize, parseConfigPbtxt, scanRepository, TRITON_DEFAULT_MAX_BATCH_SIZE } from '../../lab/cloud/runtime/repository.ts';
import { checkBatch } from '../../lab/cloud/runtime/triton.ts';

const RUNTIME = join(import.meta.dirname, '../../lab/cloud/runtime/main.ts');
const tmp = mkdtempSync(join(tmpdir(), 'lab-triton-'));

function start(repo: string, extra: string[] = []): Promise<{ proc: ChildProcess; base: string; metrics?: string }> {
  const ready = join(tmp, `ready-${Math.random().toString(36).slice(2)}`);
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', RUNTIME, '--runtime', 'triton', '--model-name', 'my-isvc', '--model-dir', repo, '--listen', '127.0.0.1:0', '--ready-file', ready, '--no-access-log', ...extra],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (existsSync(ready)) {
        clearInterval(poll);
        const [port, metricsPort] = readFileSync(ready, 'utf8').split('\n');
        resolve({ proc, base: `http://127.0.0.1:${port}`, metrics: metricsPort ? `http://127.0.0.1:${metricsPort}` : undefined });
      } else if (proc.exitCode !== null) {
        clearInterval(poll);
        reject(new Error(`exit ${proc.exitCode}: ${out}`));
      }
    }, 25);
  });
}

async function req(url: string, body?: unknown): Promise<{ status: number; text: string; json: Record<string, unknown> | undefined }> {
  const res = await fetch(url, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

const batch = (n: number, id?: string) => ({ ...(id ? { id } : {}), inputs: [{ name: 'x', shape: [n, 4], datatype: 'FP32', data: Array(n * 4).fill(0.5) }] });

describe('Triton-like runtime over a model repository', () => {
  let rt: { proc: ChildProcess; base: string };
  before(async () => {
    const repo = join(tmp, 'repo');
    const one = writeTinyAffine(join(repo, 'affine', '1'));
    mkdirSync(join(repo, 'affine', '3'), { recursive: true });
    copyFileSync(one, join(repo, 'affine', '3', 'model.onnx'));
    mkdirSync(join(repo, 'big', '1'), { recursive: true });
    copyFileSync(one, join(repo, 'big', '1', 'model.onnx'));
    writeFileSync(join(repo, 'big', 'config.pbtxt'), 'name: "big"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 16 # room for the suite\n');
    writeFileSync(join(repo, 'README'), 'files at the top are not models');
    rt = await start(repo);
  });
  after(() => {
    rt?.proc.kill('SIGTERM');
  });

  it('V1 paths get 404 {"error":"Not Found"}, as tritonserver answers any path it does not route', async () => {
    for (const [path, body] of [
      ['/v1/models/affine', undefined],
      ['/v1/models/affine:predict', { instances: [[1, 2, 3, 4]] }],
      ['/', undefined],
    ] as const) {
      const r = await req(`${rt.base}${path}`, body);
      assert.deepEqual([r.status, r.json], [404, { error: 'Not Found' }], path);
    }
  });

  it('names each model after its directory (not the InferenceService) and serves its latest version', async () => {
    const meta = await req(`${rt.base}/v2/models/affine`);
    assert.equal(meta.status, 200);
    assert.deepEqual(meta.json, {
      name: 'affine',
      versions: ['3'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 3] }],
    });
    const isvcName = await req(`${rt.base}/v2/models/my-isvc/infer`, batch(1));
    assert.deepEqual([isvcName.status, isvcName.json], [400, { error: "Request for unknown model: 'my-isvc' is not found" }]);
    assert.equal((await req(`${rt.base}/v2/models/affine/versions/1/infer`, batch(1))).status, 400, 'version 1 is not served (latest only)');
    assert.equal((await req(`${rt.base}/v2/models/affine/versions/3/infer`, batch(1))).status, 200);
    const ready = await req(`${rt.base}/v2/health/ready`);
    assert.deepEqual([ready.status, ready.text], [200, '']);
  });

  it('answers V2 infer with no nulls: id only when sent, model_version a string', async () => {
    const r = await req(`${rt.base}/v2/models/affine/infer`, batch(2));
    assert.equal(r.status, 200);
    assert.ok(!r.text.includes('null'), r.text);
    assert.deepEqual(Object.keys(r.json!).sort(), ['model_name', 'model_version', 'outputs']);
    assert.deepEqual([r.json!.model_name, r.json!.model_version], ['affine', '3']);
    assert.equal((await req(`${rt.base}/v2/models/affine/infer`, batch(1, 'q7'))).json!.id, 'q7');
  });

  it("limits the batch to the auto-completed max_batch_size 4, refusing 5 with Triton's error body", async () => {
    assert.equal((await req(`${rt.base}/v2/models/affine/infer`, batch(4))).status, 200);
    const five = await req(`${rt.base}/v2/models/affine/infer`, batch(5));
    assert.deepEqual([five.status, five.json], [400, { error: "[request id: <id_unknown>] inference request batch-size must be <= 4 for 'affine'" }]);
    const withId = await req(`${rt.base}/v2/models/affine/infer`, batch(5, 'r1'));
    assert.equal(withId.json!.error, "[request id: r1] inference request batch-size must be <= 4 for 'affine'");
    const cfg = await req(`${rt.base}/v2/models/affine/config`);
    assert.equal(cfg.json!.max_batch_size, 4);
  });

  it("a config.pbtxt's max_batch_size wins: 16 passes, 17 is refused", async () => {
    assert.equal((await req(`${rt.base}/v2/models/big/infer`, batch(16))).status, 200);
    const r = await req(`${rt.base}/v2/models/big/infer`, batch(17));
    assert.deepEqual([r.status, r.json], [400, { error: "[request id: <id_unknown>] inference request batch-size must be <= 16 for 'big'" }]);
  });
});

describe("the suite's V2 client on a Triton model without a config.pbtxt (max_batch_size 4)", () => {
  let rt: { proc: ChildProcess; base: string };
  before(async () => {
    writeMnistLinear(join(tmp, 'mnist-repo', 'mnist', '1'));
    rt = await start(join(tmp, 'mnist-repo'));
  });
  after(() => {
    rt?.proc.kill('SIGTERM');
  });

  it('predictV2 falls back to the batch size Triton names, and classifies every digit', async () => {
    const digits = mnistSplit().test.slice(0, 10);
    const v2 = new KServeV2Client({ baseUrl: rt.base });
    const r = await predictV2(v2, 'mnist', digits);
    assert.equal(r.batchSize, 4);
    const one: number[] = [];
    for (const d of digits) one.push(...(await predictV2(v2, 'mnist', [d])).labels);
    assert.deepEqual(r.labels, one, 'the same labels as one digit at a time');
  });

  it("refusedBatchLimit reads only a 400 with Triton's batch message", () => {
    const msg = (status: number, body: string) => new InferenceHttpError(status, 'POST', 'u', body);
    assert.equal(refusedBatchLimit(msg(400, `{"error":"[request id: <id_unknown>] inference request batch-size must be <= 4 for 'mnist'"}`)), 4);
    assert.equal(refusedBatchLimit(msg(500, 'inference request batch-size must be <= 4')), undefined);
    assert.equal(refusedBatchLimit(msg(400, '{"error":"Not Found"}')), undefined);
    assert.equal(refusedBatchLimit(msg(400, 'inference request batch-size must be <= 0')), undefined);
    assert.equal(refusedBatchLimit(new Error('inference request batch-size must be <= 4')), undefined);
  });
});

describe('model repository rules', () => {
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("Triton's default max_batch_size is 4; config wins; a model that cannot batch gets 0 and refuses a config > 0", () => {
    assert.equal(TRITON_DEFAULT_MAX_BATCH_SIZE, 4);
    assert.equal(
      effectiveMaxBatchSize({ name: 'm' }, [
        [-1, 4],
        [-1, 3],
      ]),
      4,
    );
    assert.equal(effectiveMaxBatchSize({ name: 'm', configMaxBatchSize: 64 }, [[-1, 784]]), 64);
    assert.equal(
      effectiveMaxBatchSize({ name: 'm' }, [
        [1, 4],
        [-1, 3],
      ]),
      0,
    );
    assert.throws(() => effectiveMaxBatchSize({ name: 'm', configMaxBatchSize: 8 }, [[1, 4]]), /does not support batching while non-zero max_batch_size/);
    assert.doesNotThrow(() => checkBatch({ name: 'm', maxBatchSize: 0 }, batch(9)), 'no batching: no batch check');
  });

  it('parses name and max_batch_size from config.pbtxt, ignoring comments', () => {
    assert.deepEqual(parseConfigPbtxt('name: "mnist"\n# max_batch_size: 2\nmax_batch_size: 64\ninput [ { name: "input" } ]'), { name: 'mnist', maxBatchSize: 64 });
    assert.deepEqual(parseConfigPbtxt('platform: "onnxruntime_onnx"'), { name: undefined, maxBatchSize: undefined });
  });

  it('fails like tritonserver on an empty repository, a model with no version, a name mismatch', () => {
    const r = join(tmp, 'bad');
    mkdirSync(r, { recursive: true });
    assert.throws(() => scanRepository(r), /no models found/);
    mkdirSync(join(r, 'm'));
    assert.throws(() => scanRepository(r), /at least one version must be available/);
    writeTinyAffine(join(r, 'm', '2'));
    writeFileSync(join(r, 'm', 'config.pbtxt'), 'name: "other"');
    assert.throws(() => scanRepository(r), /does not match the directory name/);
    assert.throws(() => scanRepository(join(r, 'nope')), /failed to stat/);
  });
});

describe("Triton's metrics on their own listener", () => {
  let rt: { proc: ChildProcess; base: string; metrics?: string };
  before(async () => {
    const repo = join(tmp, 'metrics-repo');
    writeTinyAffine(join(repo, 'affine', '2'));
    rt = await start(repo, ['--metrics-config', 'summary_latencies=true']);
  });
  after(() => {
    rt?.proc.kill('SIGTERM');
  });

  it('counts what reached the model, per model and version, in the text format without _total; a refused batch is not counted', async () => {
    for (const n of [1, 2, 4]) assert.equal((await req(`${rt.base}/v2/models/affine/infer`, batch(n))).status, 200);
    assert.equal((await req(`${rt.base}/v2/models/affine/infer`, batch(5))).status, 400);
    const res = await fetch(`${rt.metrics}/metrics`);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    const text = await res.text();
    const sample = (name: string) => new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
    assert.equal(sample('nv_inference_request_success\\{model="affine",version="2"\\}'), '3');
    assert.equal(sample('nv_inference_count\\{model="affine",version="2"\\}'), '7', 'batch elements: 1 + 2 + 4');
    assert.equal(sample('nv_inference_request_failure\\{model="affine",version="2",reason="BACKEND"\\}'), '0');
    assert.ok(!/_total/.test(text), 'prometheus-cpp counters carry no _total suffix');
    assert.match(text, /^# TYPE nv_inference_request_summary_us summary$/m);
    assert.match(text, /^nv_inference_request_summary_us\{quantile="0\.95",model="affine",version="2"\} \d/m);
    assert.equal(sample('nv_inference_request_summary_us_count\\{model="affine",version="2"\\}'), '3');
    assert.equal((await fetch(`${rt.metrics}/metrics`, { method: 'POST' })).status, 405);
    assert.equal(await (await fetch(`${rt.metrics}/other`)).text(), '');
  });
});
