/**
 * The inference clients against bodies as the real servers send them (tests/recorded/protocol/):
 * KServe's Python server sends null for unset optional fields, Triton omits them; both parse.
 * Bodies that are really wrong are still rejected, with the field and the reason.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { InferenceSchemaError } from '../../clients/inference/http.ts';
import { KServeV2Client } from '../../clients/inference/v2.ts';
import { CompletionsClient } from '../../clients/inference/openai.ts';

type Body = Record<string, unknown>;
const recorded = (name: string): Body => {
  const r = JSON.parse(readFileSync(new URL(`../recorded/protocol/${name}.json`, import.meta.url), 'utf8')) as { source: string; status: number; body: Body };
  assert.match(r.source, /\.(py|cc|md)\b/, `${name}: source names the upstream file`);
  return r.body;
};
const pyInfer = recorded('kserve-python-v2-infer');
const pyMeta = recorded('kserve-python-v2-metadata');
const pyReady = recorded('kserve-python-v2-model-ready');
const tritonInfer = recorded('triton-v2-infer');
const tritonMeta = recorded('triton-v2-metadata');
const hfCompletion = recorded('kserve-hf-openai-completion');
const out0 = (b: Body) => (b['outputs'] as Body[])[0]!;

/** Body served per model name (GET /v2/models/<m> and POST .../infer alike). */
const bodies = new Map<string, Body>();
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const m = /^\/v2\/models\/([^/]+)(\/infer|\/ready)?$|^\/(\w+)\/openai\/v1\/completions$/.exec(req.url ?? '');
    const body = m ? bodies.get(m[1] ?? m[3] ?? '') : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { error: 'no such model' }));
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const v2 = new KServeV2Client({ baseUrl }, { retries: 0 });
after(async () => {
  v2.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
const input = { name: 'input-0', shape: [2, 4], datatype: 'FP32' as const, data: [6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6] };

/** The schema error thrown for `body`, served as model `name`. */
async function rejection(name: string, body: Body, call: 'infer' | 'meta' = 'infer'): Promise<InferenceSchemaError> {
  bodies.set(name, body);
  const p = call === 'infer' ? v2.infer(name, [input]) : v2.modelMetadata(name);
  const e = await p.then(
    () => assert.fail(`${name}: accepted`),
    (x: unknown) => x,
  );
  assert.ok(e instanceof InferenceSchemaError, String(e));
  return e;
}

test("a V2 infer answer with KServe's Python-server nulls parses (model_version, parameters, outputs[].parameters)", async () => {
  assert.equal(pyInfer['model_version'], null);
  assert.equal(pyInfer['parameters'], null);
  assert.equal(out0(pyInfer)['parameters'], null);
  bodies.set('sklearn-iris', pyInfer);
  const r = await v2.infer('sklearn-iris', [input]);
  assert.equal(r.model_name, 'sklearn-iris');
  assert.equal(r.model_version, null);
  assert.deepEqual(r.outputs, [{ name: 'output-0', shape: [2], datatype: 'INT64', parameters: null, data: [1, 1] }]);
});

test('V2 metadata with "versions": null and "platform": "" parses; so does model ready {name, ready}', async () => {
  bodies.set('sklearn-iris', pyMeta);
  assert.deepEqual(await v2.modelMetadata('sklearn-iris'), { name: 'sklearn-iris', versions: null, platform: '', inputs: [], outputs: [] });
  bodies.set('sklearn-iris', pyReady);
  assert.deepEqual(await v2.modelReady('sklearn-iris'), { name: 'sklearn-iris', ready: true });
});

test('Triton-shaped bodies (no id, no parameters, model_version "1") parse', async () => {
  assert.equal('parameters' in tritonInfer || 'id' in tritonInfer, false);
  bodies.set('mnist', tritonInfer);
  const r = await v2.infer('mnist', [input]);
  assert.equal(r.model_version, '1');
  assert.equal(r.id, undefined);
  assert.deepEqual(r.outputs[0]?.shape, [1, 10]);
  assert.equal(r.outputs[0]?.data.length, 10);
  bodies.set('mnist', tritonMeta);
  const meta = await v2.modelMetadata('mnist');
  assert.deepEqual(meta.versions, ['1']);
  assert.deepEqual(meta.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 1, 28, 28] }]);
});

test('a V2 infer answer that is really wrong is rejected, naming the field and why', async () => {
  const noOutputs: Body = { ...pyInfer };
  delete noOutputs['outputs'];
  assert.match((await rejection('no-outputs', noOutputs)).message, /V2 infer response .*malformed: outputs: Invalid input: expected array, received undefined/);
  const withOutput = (o: Body): Body => ({ ...pyInfer, outputs: [{ ...out0(pyInfer), ...o }] });
  assert.match((await rejection('data-object', withOutput({ data: { '0': 1 } }))).message, /outputs\.0\.data: Invalid input: expected array, received object/);
  const dt = await rejection('bad-datatype', withOutput({ datatype: 'FLOAT32' }));
  assert.match(dt.message, /outputs\.0\.datatype: datatype "FLOAT32" is not a V2 datatype \(BOOL, UINT8, .*, BYTES\)/);
  assert.match((await rejection('short-data', withOutput({ data: [1] }))).message, /outputs\.0: data has 1 elements, shape \[2\] needs 2/);
  assert.match((await rejection('long-data', withOutput({ data: [1, 1, 1] }))).message, /outputs\.0: data has 3 elements, shape \[2\] needs 2/);
  assert.match((await rejection('neg-dim', withOutput({ shape: [-1] }))).message, /outputs\.0\.shape\.0: /);
  assert.match((await rejection('param-object', withOutput({ parameters: { x: { y: 1 } } }))).message, /outputs\.0\.parameters\.x: /);
  assert.match((await rejection('version-number', { ...pyInfer, model_version: 1 })).message, /model_version: Invalid input: expected string, received number/);
  assert.match((await rejection('id-null', { ...pyInfer, id: null })).message, /\bid: Invalid input: expected string, received null/);
});

test('V2 metadata that is really wrong is rejected', async () => {
  assert.match((await rejection('meta-platform', { ...pyMeta, platform: null }, 'meta')).message, /platform: Invalid input: expected string, received null/);
  const badInput = { ...tritonMeta, inputs: [{ name: 'input', datatype: 'float', shape: [-1, 784] }] };
  assert.match((await rejection('meta-dtype', badInput, 'meta')).message, /inputs\.0\.datatype: datatype "float" is not a V2 datatype/);
  const badDim = { ...tritonMeta, inputs: [{ name: 'input', datatype: 'FP32', shape: [-2, 784] }] };
  assert.match((await rejection('meta-dim', badDim, 'meta')).message, /inputs\.0\.shape\.0: /);
});

test("the Hugging Face runtime's completion answer with nulls (logprobs, stop_reason, usage details) parses; completion_tokens may be null", async () => {
  const c = new CompletionsClient({ baseUrl: `${baseUrl}/hf` }, { retries: 0 });
  try {
    bodies.set('hf', hfCompletion);
    const r = await c.complete({ model: 'tiny-llama', prompt: 'the river' });
    assert.deepEqual(r, { texts: [' the river runs to the sea'], finishReasons: ['length'], usage: { promptTokens: 4, completionTokens: 8, totalTokens: 12 }, model: 'tiny-llama' });
    bodies.set('hf', { ...hfCompletion, usage: { prompt_tokens: 4, total_tokens: 4, completion_tokens: null } });
    assert.equal((await c.complete({ model: 'tiny-llama', prompt: 'x' })).usage.completionTokens, null);
    bodies.set('hf', { ...hfCompletion, choices: [{ index: 0, text: null, finish_reason: 'length' }] });
    await assert.rejects(c.complete({ model: 'tiny-llama', prompt: 'x' }), /choices\.0\.text: Invalid input: expected string, received null/);
  } finally {
    c.close();
  }
});
