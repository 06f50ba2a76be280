/**
 * The lab model server (lab/cloud/runtime/main.ts) as a real child process on
 * real ONNX models built in-test: KServe V1 and Open Inference Protocol V2
 * round trips, metadata, error handling, V1/V2 agreement, load failures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mnistDigits, writeCorrupt, writeMnistLinear, writeTinyAffine } from '../../lab/cloud/models/make-test-models.ts';
import { tinyAffineModel } from '../../lab/cloud/models/onnx-builder.ts';

const RUNTIME = join(import.meta.dirname, '../../lab/cloud/runtime/main.ts');
const tmp = mkdtempSync(join(tmpdir(), 'cloud-runtime-'));

interface Runtime {
  proc: ChildProcess;
  base: string;
  logFile: string;
  output: () => string;
}

function startRuntime(name: string, dir: string, readyTimeoutMs = 20_000): Promise<Runtime> {
  const ready = join(tmp, `${name}.ready`);
  const proc = spawn(process.execPath, ['--import', 'tsx', RUNTIME, '--model-name', name, '--model-dir', dir, '--listen', '127.0.0.1:0', '--ready-file', ready], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = setInterval(() => {
      if (existsSync(ready)) {
        clearInterval(poll);
        const port = Number(readFileSync(ready, 'utf8').trim());
        resolve({ proc, base: `http://127.0.0.1:${port}`, logFile: ready, output: () => out });
      } else if (proc.exitCode !== null || Date.now() - t0 > readyTimeoutMs) {
        clearInterval(poll);
        reject(Object.assign(new Error(`runtime ${name} not ready (exit ${proc.exitCode}): ${out}`), { out, code: proc.exitCode }));
      }
    }, 25);
  });
}

function exitOf(proc: ChildProcess): Promise<number | null> {
  return proc.exitCode !== null ? Promise.resolve(proc.exitCode) : new Promise((r) => proc.once('exit', (c) => r(c)));
}

/** The reply fields these tests read: V1 predictions, V2 outputs (the first is there whenever they look), errors. */
type Output = { name: string; datatype: string; shape: number[]; data: number[]; parameters?: unknown };
type Reply = { predictions: number[][]; outputs: [Output, ...Output[]]; model_name?: string; model_version?: unknown; parameters?: unknown; id?: string; error: string };

async function json(url: string, body?: unknown): Promise<{ status: number; body: Reply }> {
  const res = await fetch(url, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Reply };
}

function close(a: number[], b: number[], tol = 1e-4): void {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)), `element ${i}: ${x} vs ${b[i]}`));
}

describe('cloud runtime: tiny affine model', () => {
  let rt: Runtime;
  const { W, b } = tinyAffineModel();
  const expected = (x: number[]) => [0, 1, 2].map((j) => b[j]! + x.reduce((s, xi, i) => s + xi * W[i]![j]!, 0));

  before(async () => {
    rt = await startRuntime('tiny', writeTinyAffine(join(tmp, 'tiny')));
  });
  after(async () => {
    rt?.proc.kill('SIGTERM');
    if (rt) assert.equal(await exitOf(rt.proc), 0, 'SIGTERM drains and exits 0');
  });

  it('answers health and readiness endpoints', async () => {
    assert.deepEqual((await json(`${rt.base}/`)).body, { status: 'alive' });
    assert.equal((await json(`${rt.base}/v2/health/live`)).status, 200);
    assert.deepEqual(await json(`${rt.base}/v2/health/ready`), { status: 200, body: { ready: true } });
    assert.deepEqual(await json(`${rt.base}/v1/models/tiny`), { status: 200, body: { name: 'tiny', ready: true } });
    assert.deepEqual(await json(`${rt.base}/v2/models/tiny/ready`), { status: 200, body: { name: 'tiny', ready: true } });
  });

  it('serves V2 metadata from the ONNX session (dynamic dims as -1), with the Python server\'s versions null and platform ""', async () => {
    const { status, body } = await json(`${rt.base}/v2/models/tiny`);
    assert.equal(status, 200);
    assert.deepEqual(body, {
      name: 'tiny',
      versions: null,
      platform: '',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 3] }],
    });
    assert.deepEqual((await json(`${rt.base}/v2/models/tiny/versions/1`)).body, body);
  });

  it('V1 predict computes x@W+b per instance', async () => {
    const xs = [
      [1, 2, 3, 4],
      [-1, 0.5, 0, 2],
    ];
    const { status, body } = await json(`${rt.base}/v1/models/tiny:predict`, { instances: xs });
    assert.equal(status, 200);
    assert.equal(body.predictions.length, 2);
    xs.forEach((x, i) => close(body.predictions[i]!, expected(x)));
  });

  it('V2 infer computes the same as V1, echoes id, reports shape/datatype', async () => {
    const xs = [
      [1, 2, 3, 4],
      [-1, 0.5, 0, 2],
    ];
    const v1 = (await json(`${rt.base}/v1/models/tiny:predict`, { instances: xs })).body.predictions as number[][];
    const { status, body } = await json(`${rt.base}/v2/models/tiny/infer`, {
      id: 'req-42',
      inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', data: xs.flat() }],
    });
    assert.equal(status, 200);
    assert.equal(body.model_name, 'tiny');
    assert.equal(body.id, 'req-42');
    // KServe's Python server: the pydantic response models serialise unset optionals as null
    assert.deepEqual([body.model_version, body.parameters, body.outputs[0].parameters], [null, null, null]);
    assert.equal(body.outputs.length, 1);
    const out = body.outputs[0];
    assert.equal(out.name, 'y');
    assert.equal(out.datatype, 'FP32');
    assert.deepEqual(out.shape, [2, 3]);
    close(out.data, v1.flat(), 1e-6);
    // nested data is accepted too
    const nested = await json(`${rt.base}/v2/models/tiny/infer`, { inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', data: xs }] });
    close(nested.body.outputs[0].data, out.data, 0);
    assert.match(String(nested.body.id), /^[0-9a-f-]{36}$/, 'no id sent: the server makes one (a uuid)');
  });

  it('rejects tensors that do not match the metadata with 400 and an error body', async () => {
    const cases: [unknown, RegExp][] = [
      [{ inputs: [{ name: 'nope', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, /unexpected input 'nope'.*'x' FP32 \[-1,4\]/],
      [{ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP64', data: [1, 2, 3, 4] }] }, /datatype "FP64" but model 'tiny' expects FP32/],
      [{ inputs: [{ name: 'x', shape: [1, 5], datatype: 'FP32', data: [1, 2, 3, 4, 5] }] }, /shape \[1,5\].*dimension 1 must be 4/],
      [{ inputs: [{ name: 'x', shape: [4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, /rank 1.*rank 2/],
      [{ inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, /4 elements but shape \[2,4\] needs 8/],
      [{ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 'a', 3, 4] }] }, /element 1 is the string/],
      [{ inputs: [] }, /non-empty array/],
      [{ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }], outputs: [{ name: 'zz' }] }, /unknown output "zz"/],
    ];
    for (const [body, re] of cases) {
      const r = await json(`${rt.base}/v2/models/tiny/infer`, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(typeof r.body.error, 'string');
      assert.match(r.body.error, re);
    }
    const bad = await fetch(`${rt.base}/v2/models/tiny/infer`, { method: 'POST', body: '{not json' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /invalid JSON/);
    const v1 = await json(`${rt.base}/v1/models/tiny:predict`, { instances: [[1, 2, 3]] });
    assert.equal(v1.status, 400);
    assert.match(v1.body.error, /3 values but input 'x' needs 4/);
  });

  it('404s unknown models and paths', async () => {
    assert.equal((await json(`${rt.base}/v2/models/other`)).status, 404);
    assert.match((await json(`${rt.base}/v1/models/other:predict`, { instances: [[1, 2, 3, 4]] })).body.error, /other does not exist/);
    assert.equal((await json(`${rt.base}/nothing`)).status, 404);
  });

  it('logs each request to stdout (the pod log)', async () => {
    await json(`${rt.base}/v1/models/tiny`);
    await new Promise((r) => setTimeout(r, 50));
    assert.match(rt.output(), /READY port=\d+/);
    assert.match(rt.output(), /GET \/v1\/models\/tiny 200 [\d.]+ms/);
    assert.match(rt.output(), /POST \/v2\/models\/tiny\/infer 400/);
  });
});

describe('cloud runtime: MNIST-shaped model', () => {
  let rt: Runtime;
  before(async () => {
    writeMnistLinear(join(tmp, 'mnist'));
    rt = await startRuntime('mnist', join(tmp, 'mnist'));
  });
  after(() => rt?.proc.kill('SIGTERM'));

  it('accepts 1x28x28 and flat 784 instances; V1 and V2 agree; predictions classify real digits', async () => {
    const digits = mnistDigits()
      .test.filter((_, i) => i % 150 === 0)
      .slice(0, 10);
    const flat = digits.map((d) => Array.from(d.pixels));
    const nested = flat.map((p) => [Array.from({ length: 28 }, (_, r) => p.slice(r * 28, r * 28 + 28))]);
    const a = (await json(`${rt.base}/v1/models/mnist:predict`, { instances: nested })).body.predictions as number[][];
    const b = (await json(`${rt.base}/v1/models/mnist:predict`, { instances: flat })).body.predictions as number[][];
    assert.equal(a.length, digits.length);
    assert.ok(a.every((row) => row.length === 10));
    assert.deepEqual(a, b);
    const v2 = await json(`${rt.base}/v2/models/mnist/infer`, {
      inputs: [{ name: 'input', shape: [digits.length, 1, 28, 28], datatype: 'FP32', data: flat.flat() }],
    });
    assert.equal(v2.status, 200);
    assert.deepEqual(v2.body.outputs[0].shape, [digits.length, 10]);
    assert.equal(v2.body.outputs[0].name, 'logits');
    close(v2.body.outputs[0].data, a.flat(), 1e-5);
    const argmax = (r: number[]) => r.indexOf(Math.max(...r));
    const correct = a.filter((row, i) => argmax(row) === digits[i]!.label).length;
    assert.ok(correct >= 6, `nearest-centroid model got ${correct}/10`);
  });

  it('a single inference is fast (median well under 5 ms over keep-alive)', async () => {
    const body = JSON.stringify({ instances: [Array(784).fill(0.1)] });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const url = new URL(`${rt.base}/v1/models/mnist:predict`);
    const once = () =>
      new Promise<number>((resolve, reject) => {
        const r = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        r.on('error', reject);
        r.end(body);
      });
    const times: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t = performance.now();
      assert.equal(await once(), 200);
      if (i >= 20) times.push(performance.now() - t);
    }
    agent.destroy();
    times.sort((x, y) => x - y);
    const median = times[times.length >> 1]!;
    assert.ok(median < 5, `median ${median} ms`);
  });
});

describe('cloud runtime: load failures', () => {
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('exits non-zero with a clear FATAL line on a corrupt model', async () => {
    const err = await startRuntime('bad', writeCorrupt(join(tmp, 'corrupt'))).then(
      () => assert.fail('corrupt model must not become ready'),
      (e) => e as { out: string; code: number },
    );
    assert.equal(err.code, 1);
    assert.match(err.out, /FATAL: failed to load model bad from .*corrupt.*Protobuf parsing failed/);
  });

  it('exits non-zero on a missing model directory', async () => {
    const err = await startRuntime('gone', join(tmp, 'does-not-exist')).then(
      () => assert.fail('missing dir must fail'),
      (e) => e as { out: string; code: number },
    );
    assert.equal(err.code, 1);
    assert.match(err.out, /does-not-exist does not exist/);
  });
});
