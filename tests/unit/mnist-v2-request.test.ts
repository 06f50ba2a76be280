/** The load test's V2 request (clients/inference/mnist.ts mnistV2Request): path, one digit's tensor, and what a response must hold. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BATCH, mnistV2Request } from '../../clients/inference/mnist.ts';
import { MNIST_SIZE, toFlat, type Digit } from '../../helpers/mnist-samples.ts';

const digit: Digit = { label: 3, pixels: new Uint8Array(MNIST_SIZE).fill(64) };

test('mnistV2Request: the model name from the runtime (not the InferenceService), one FP32 [1,1,28,28] tensor on the metadata input', () => {
  const r = mnistV2Request('mnist', 'input', digit);
  assert.equal(r.path, '/v2/models/mnist/infer');
  assert.deepEqual(r.body, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1, 28, 28], data: toFlat(digit) }] });
  assert.equal((r.body as { inputs: { data: number[] }[] }).inputs[0]!.data.length, 28 * 28);
  assert.equal(mnistV2Request('a b', 'input', digit).path, '/v2/models/a%20b/infer');
});

test('mnistV2Request: a response must hold outputs[0] with 10 logits; nulls as the Python server sends them are fine', () => {
  const { validate } = mnistV2Request('mnist', 'input', digit);
  const ten = Array(10).fill(0.1);
  assert.equal(validate(JSON.stringify({ model_name: 'mnist', model_version: '1', outputs: [{ name: 'logits', datatype: 'FP32', shape: [1, 10], data: ten }] })), true);
  assert.equal(
    validate(JSON.stringify({ model_name: 'mnist', model_version: null, id: 'x', parameters: null, outputs: [{ name: 'logits', datatype: 'FP32', shape: [1, 10], parameters: null, data: ten }] })),
    true,
  );
  assert.match(String(validate(JSON.stringify({ outputs: [{ data: ten.slice(1) }] }))), /10 logits/);
  assert.match(String(validate(JSON.stringify({ error: 'Not Found' }))), /10 logits/);
});

test("V2 batches fit the max_batch_size the lab stages in config.pbtxt (64), not Triton's default 4", () => {
  assert.ok(BATCH <= 64 && BATCH > 4, `batch ${BATCH}`);
});
