import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { endpointUrl, redactUrl, resolveEndpoint, type Endpoint } from '../../clients/inference/endpoint.ts';
import { InferenceConnectionError, InferenceHttpError, InferenceSchemaError, InferenceTransport } from '../../clients/inference/http.ts';
import { KServeV1Client } from '../../clients/inference/v1.ts';
import { checkTensorsAgainstMetadata, KServeV2Client, type V2ModelMetadata } from '../../clients/inference/v2.ts';
import { CompletionsClient } from '../../clients/inference/openai.ts';

interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

const MNIST_META = {
  name: 'mnist',
  versions: ['1'],
  platform: 'onnxruntime_onnx',
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 1, 28, 28] }],
  outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 10] }],
};

/** A mock KServe/OpenAI server: routes answer like the real runtimes (or deliberately not). */
function startMock() {
  const seen: Seen[] = [];
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const raw = Buffer.concat(chunks).toString();
      const body: unknown = raw ? JSON.parse(raw) : undefined;
      seen.push({ method: req.method ?? '', path, headers: req.headers, body });
      const n = (hits.get(path) ?? 0) + 1;
      hits.set(path, n);
      const json = (status: number, v: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
      const b = body as Record<string, unknown> | undefined;
      switch (`${req.method} ${path}`) {
        // ---- V1
        case 'GET /v1/models/iris':
          return json(200, { name: 'iris', ready: true });
        case 'GET /v1/models/loading':
          return json(503, { error: 'Model with name loading is not ready.' });
        case 'GET /v1/models/nope':
          return json(404, { error: 'Model with name nope does not exist.' });
        case 'GET /v1/models/weird':
          return json(200, { name: 'weird', ready: 'yes' });
        case 'POST /v1/models/iris:predict':
          return json(200, { predictions: (b?.['instances'] as unknown[]).map(() => 1) });
        case 'POST /v1/models/bad:predict':
          return json(200, { preds: [1] });
        case 'POST /v1/models/html:predict':
          return res.writeHead(200, { 'content-type': 'text/html' }).end('<html>gateway page</html>');
        case 'POST /v1/models/boom:predict':
          return json(500, { error: 'x'.repeat(2000) });
        case 'POST /v1/models/flaky:predict':
          return n <= 2 ? json(503, { error: 'no healthy upstream' }) : json(200, { predictions: [0] });
        case 'POST /v1/models/down:predict':
          return json(503, { error: 'no healthy upstream' });
        case 'POST /v1/models/slow:predict':
          setTimeout(() => json(200, { predictions: [] }), 500);
          return;
        // ---- V2
        case 'GET /v2/health/live':
          return json(200, { live: true });
        case 'GET /v2/health/ready':
          return res.writeHead(200).end(); // Triton: empty body
        case 'GET /v2/models/mnist':
          return json(200, MNIST_META);
        case 'GET /v2/models/mnist/ready':
          return json(200, { name: 'mnist', ready: true });
        case 'GET /v2/models/loading/ready':
          return json(503, { error: 'not ready' });
        case 'GET /v2/models/noshape':
          return json(200, { name: 'noshape', platform: 'x', inputs: [{ name: 'a', datatype: 'FP32' }] });
        case 'POST /v2/models/mnist/infer':
          return json(200, { model_name: 'mnist', outputs: [{ name: 'logits', datatype: 'FP32', shape: [1, 10], data: Array(10).fill(0.1) }] });
        case 'POST /v2/models/badinfer/infer':
          return json(200, { model_name: 'badinfer', outputs: [{ name: 'y', datatype: 'FP32', shape: ['1'], data: [1] }] });
        // ---- completions
        case 'POST /openai/v1/completions': {
          const prompts = Array.isArray(b?.['prompt']) ? (b?.['prompt'] as string[]) : [b?.['prompt'] as string];
          return json(200, {
            id: 'cmpl-1',
            object: 'text_completion',
            model: b?.['model'],
            choices: prompts.map((p, i) => ({ index: i, text: ` answer to ${p}`, finish_reason: 'length', logprobs: null })).reverse(),
            usage: { prompt_tokens: 3 * prompts.length, completion_tokens: 5 * prompts.length, total_tokens: 8 * prompts.length },
          });
        }
        case 'POST /bad/openai/v1/completions':
          return json(200, { choices: [] });
        default:
          return json(404, { error: `no route ${req.method} ${path}` });
      }
    });
  });
  return { server, seen, hits };
}

const mock = startMock();
await new Promise<void>((r) => mock.server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(mock.server.address() as AddressInfo).port}`;
after(async () => {
  mock.server.closeAllConnections();
  await new Promise((r) => mock.server.close(r));
});
const ep: Endpoint = { baseUrl: base, hostHeader: 'iris.default.example.com', bearerToken: 'SECRET-TOKEN', tokenOverHttp: true };
const fast = { retryBaseMs: 5, retryMaxMs: 20 };

describe('endpoint resolution', () => {
  test('status.url directly', () => {
    assert.deepEqual(resolveEndpoint({ url: 'http://iris.default.example.com/' }), { baseUrl: 'http://iris.default.example.com' });
  });
  test('through an ingress base URL with the Host header from status.url', () => {
    const e = resolveEndpoint({ url: 'http://iris.default.example.com' }, { ingressBaseUrl: 'http://127.0.0.1:31080/', bearerToken: 't', tokenOverHttp: true });
    assert.deepEqual(e, { baseUrl: 'http://127.0.0.1:31080', hostHeader: 'iris.default.example.com', bearerToken: 't', tokenOverHttp: true });
    const tls = resolveEndpoint({ url: 'https://iris.ns.example.com/serving/ns/iris' }, { ingressBaseUrl: 'https://10.0.0.5', ca: 'PEM' });
    assert.equal(tls.baseUrl, 'https://10.0.0.5/serving/ns/iris');
    assert.equal(tls.hostHeader, 'iris.ns.example.com');
    assert.equal(tls.servername, 'iris.ns.example.com');
    assert.equal(tls.ca, 'PEM');
  });
  test('clear errors when the status has no URL yet', () => {
    assert.throws(() => resolveEndpoint({}), /no status\.url yet/);
    assert.throws(() => resolveEndpoint(undefined), /no status\.url yet/);
    assert.throws(() => resolveEndpoint({ url: 'grpc://x' }), /must be http\(s\)/);
  });
  test('endpointUrl and redactUrl', () => {
    assert.equal(endpointUrl({ baseUrl: 'http://h' }, 'v1/models/m'), 'http://h/v1/models/m');
    assert.equal(redactUrl('https://user:pw@h/p?token=abc&x=1'), 'https://h/p?token=***&x=1');
  });
});

describe('KServe V1', () => {
  const v1 = new KServeV1Client(ep, fast);
  after(() => v1.close());

  test('modelReady: ready, not ready (503, no retry), unknown model throws', async () => {
    assert.deepEqual(await v1.modelReady('iris'), { name: 'iris', ready: true });
    mock.hits.clear();
    assert.deepEqual(await v1.modelReady('loading'), { name: 'loading', ready: false });
    assert.equal(mock.hits.get('/v1/models/loading'), 1);
    await assert.rejects(v1.modelReady('nope'), (e: unknown) => e instanceof InferenceHttpError && e.status === 404 && /does not exist/.test(e.body));
    await assert.rejects(v1.modelReady('weird'), (e: unknown) => e instanceof InferenceSchemaError && /ready: .*boolean/i.test(e.message));
  });

  test('predict sends {instances} with Host and bearer headers', async () => {
    mock.seen.length = 0;
    const r = await v1.predict('iris', [
      [6.8, 2.8, 4.8, 1.4],
      [6.0, 3.4, 4.5, 1.6],
    ]);
    assert.deepEqual(r, { predictions: [1, 1] });
    const s = mock.seen[0];
    assert.equal(s?.path, '/v1/models/iris:predict');
    assert.equal(s?.headers.host, 'iris.default.example.com');
    assert.equal(s?.headers.authorization, 'Bearer SECRET-TOKEN');
    assert.equal(s?.headers['content-type'], 'application/json');
    assert.deepEqual(s?.body, {
      instances: [
        [6.8, 2.8, 4.8, 1.4],
        [6.0, 3.4, 4.5, 1.6],
      ],
    });
  });

  test('malformed bodies are rejected by zod with a clear message', async () => {
    await assert.rejects(v1.predict('bad', [1]), (e: unknown) => {
      assert.ok(e instanceof InferenceSchemaError);
      assert.match(e.message, /^V1 predict response from http:\/\/127\.0\.0\.1:\d+\/v1\/models\/bad:predict is malformed: predictions: /);
      assert.deepEqual(e.issues.length, 1);
      assert.match(e.body, /"preds":\[1\]/);
      return true;
    });
    await assert.rejects(v1.predict('html', [1]), /is malformed: body is not valid JSON \(body: <html>gateway page<\/html>\)/);
  });

  test('HTTP errors carry status, url and a trimmed body, never the token', async () => {
    await assert.rejects(v1.predict('boom', [1]), (e: unknown) => {
      assert.ok(e instanceof InferenceHttpError);
      assert.equal(e.status, 500);
      assert.equal(e.method, 'POST');
      assert.equal(e.url, `${base}/v1/models/boom:predict`);
      assert.ok(e.body.length <= 501, `body trimmed, got ${e.body.length}`);
      assert.ok(e.body.endsWith('…'));
      const dump = `${e.message} ${e.stack} ${JSON.stringify(e)} ${JSON.stringify(Object.entries(e))}`;
      assert.ok(!dump.includes('SECRET-TOKEN'), 'token leaked into the error');
      return true;
    });
  });

  test('503 is retried with bounded backoff, then succeeds or gives up', async () => {
    mock.hits.clear();
    assert.deepEqual(await v1.predict('flaky', [1]), { predictions: [0] });
    assert.equal(mock.hits.get('/v1/models/flaky:predict'), 3);
    const once = new KServeV1Client(ep, { ...fast, retries: 2 });
    await assert.rejects(once.predict('down', [1]), (e: unknown) => e instanceof InferenceHttpError && e.status === 503);
    assert.equal(mock.hits.get('/v1/models/down:predict'), 3, '1 attempt + 2 retries');
    once.close();
  });

  test('timeouts are not retried; refused connections are retried then reported', async () => {
    mock.hits.clear();
    const slow = new KServeV1Client(ep, { ...fast, timeoutMs: 100 });
    await assert.rejects(slow.predict('slow', [1]), (e: unknown) => e instanceof InferenceConnectionError && e.code === 'ECONNABORTED');
    assert.equal(mock.hits.get('/v1/models/slow:predict'), 1);
    slow.close();

    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const t0 = Date.now();
    const refused = new KServeV1Client({ baseUrl: `http://127.0.0.1:${port}`, bearerToken: 'SECRET-TOKEN', tokenOverHttp: true }, { ...fast, retries: 2 });
    await assert.rejects(refused.predict('m', [1]), (e: unknown) => {
      assert.ok(e instanceof InferenceConnectionError);
      assert.equal(e.code, 'ECONNREFUSED');
      assert.ok(!e.message.includes('SECRET-TOKEN'));
      return true;
    });
    assert.ok(Date.now() - t0 >= 10, 'backed off between attempts');
    refused.close();
  });
});

describe('Open Inference Protocol (V2)', () => {
  const v2 = new KServeV2Client(ep, fast);
  after(() => v2.close());

  test('health endpoints (KServe JSON body and Triton empty body)', async () => {
    assert.equal(await v2.serverLive(), true);
    assert.equal(await v2.serverReady(), true);
  });

  test('model metadata and readiness', async () => {
    const meta = await v2.modelMetadata('mnist');
    assert.deepEqual(meta, MNIST_META);
    assert.deepEqual(await v2.modelReady('mnist'), { name: 'mnist', ready: true });
    assert.deepEqual(await v2.modelReady('loading'), { name: 'loading', ready: false });
    await assert.rejects(v2.modelMetadata('noshape'), /V2 model metadata .* malformed: inputs\.0\.shape: /);
  });

  test('infer sends tensors and validates outputs', async () => {
    mock.seen.length = 0;
    const input = { name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32' as const, data: Array(784).fill(0) };
    const r = await v2.infer('mnist', [input]);
    assert.equal(r.model_name, 'mnist');
    assert.deepEqual(r.outputs[0]?.shape, [1, 10]);
    assert.deepEqual(mock.seen[0]?.body, { inputs: [input] });
    await assert.rejects(v2.infer('badinfer', [input]), /outputs\.0\.shape\.0: /);
  });
});

describe('checkTensorsAgainstMetadata', () => {
  const meta: Pick<V2ModelMetadata, 'inputs'> = {
    inputs: [
      { name: 'input', datatype: 'FP32', shape: [-1, 784] },
      { name: 'mask', datatype: 'BOOL', shape: [-1] },
    ],
  };
  test('a consistent request gives no messages (-1 matches any size)', () => {
    assert.deepEqual(
      checkTensorsAgainstMetadata(
        [
          { name: 'input', datatype: 'FP32', shape: [3, 784], data: Array(3 * 784).fill(0) },
          { name: 'mask', datatype: 'BOOL', shape: [2], data: [[true], [false]] },
        ],
        meta,
      ),
      [],
    );
  });
  test('precise messages for name, datatype, rank, dim, data length and duplicates', () => {
    const msgs = checkTensorsAgainstMetadata(
      [
        { name: 'input', datatype: 'FP64', shape: [1, 28, 28] },
        { name: 'extra', datatype: 'FP32', shape: [1] },
        { name: 'extra', datatype: 'FP32', shape: [1] },
      ],
      meta,
    );
    assert.deepEqual(msgs, [
      'input "input": datatype FP64, model expects FP32',
      'input "input": shape [1,28,28] has rank 3, model expects rank 2 [-1,784]',
      'input "extra": not declared by the model (declared: input, mask)',
      'input "extra": given more than once',
      'input "mask": required by the model but missing',
    ]);
    assert.deepEqual(
      checkTensorsAgainstMetadata(
        [
          { name: 'input', datatype: 'FP32', shape: [1, 28], data: [1, 2] },
          { name: 'mask', datatype: 'BOOL', shape: [-1] },
        ],
        meta,
      ),
      [
        'input "input": dim 1 is 28, model expects 784 (shape [1,28] vs [-1,784])',
        'input "input": data has 2 elements, shape [1,28] needs 28',
        'input "mask": shape [-1] has invalid dims -1 (need integers >= 0)',
      ],
    );
  });
});

describe('completions', () => {
  test('KServe Hugging Face runtime route /openai/v1/completions', async () => {
    mock.seen.length = 0;
    const c = new CompletionsClient(ep, fast);
    assert.equal(c.path, '/openai/v1/completions');
    const r = await c.complete({ model: 'smollm', prompt: ['Hi', 'Yo'], maxTokens: 5 });
    assert.deepEqual(r.texts, [' answer to Hi', ' answer to Yo'], 'ordered by choice index');
    assert.deepEqual(r.finishReasons, ['length', 'length']);
    assert.deepEqual(r.usage, { promptTokens: 6, completionTokens: 10, totalTokens: 16 });
    assert.equal(r.model, 'smollm');
    assert.deepEqual(mock.seen[0]?.body, { model: 'smollm', prompt: ['Hi', 'Yo'], max_tokens: 5 });
    c.close();
  });

  test('an empty choices list is rejected', async () => {
    const c = new CompletionsClient({ ...ep, baseUrl: `${base}/bad` }, fast);
    await assert.rejects(c.complete({ model: 'm', prompt: 'x' }), /completion response from .* malformed: choices: /);
    c.close();
  });
});

test('transport: keep-alive sockets are released by close()', async () => {
  const t = new InferenceTransport({ baseUrl: base }, fast);
  await t.request('GET', '/v2/health/live');
  await t.request('GET', '/v2/health/live');
  t.close();
  await new Promise((r) => setTimeout(r, 30));
  const open = await new Promise<number>((res, rej) => mock.server.getConnections((e, n) => (e ? rej(e) : res(n))));
  assert.equal(open, 0, 'every client closed its sockets');
});
