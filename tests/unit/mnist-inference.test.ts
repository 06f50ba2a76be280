import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracy, agreement, logitRows, mnistV1Request } from '../../helpers/mnist-inference.ts';
import { MNIST_SIZE, toInstance, type Digit } from '../../helpers/mnist-samples.ts';

const digit = (label: number, fill = 0): Digit => ({ pixels: new Uint8Array(MNIST_SIZE).fill(fill), label });
const row = (hot: number) => Array.from({ length: 10 }, (_, i) => (i === hot ? 5 : -1));

test('logitRows: rows of 10 numbers come back as they are', () => {
  const pred = [row(3), row(7)];
  assert.equal(logitRows(pred, 'v1'), pred);
  assert.deepEqual(logitRows([], 'v1'), []);
});

test('logitRows: anything but rows of 10 numbers throws, naming the protocol and what came back', () => {
  const bad: unknown[] = [null, 'x', { predictions: [] }, [row(1).slice(0, 9)], [[...row(1), 0]], [row(1), 'r'], [[...row(1).slice(0, 9), '1']], [[...row(1).slice(0, 9), null]]];
  for (const pred of bad) assert.throws(() => logitRows(pred, 'v2 infer'), /^Error: v2 infer: expected one row of 10 logits per instance, got /, JSON.stringify(pred));
  assert.throws(() => logitRows({ predictions: 'nope' }, 'v1'), { message: 'v1: expected one row of 10 logits per instance, got {"predictions":"nope"}' });
  const long = Array.from({ length: 100 }, () => 'abcdefgh');
  const err = (() => {
    try {
      logitRows(long, 'v1');
    } catch (e) {
      return (e as Error).message;
    }
  })();
  assert.equal(err, `v1: expected one row of 10 logits per instance, got ${JSON.stringify(long).slice(0, 200)}`);
});

test('accuracy: the share of predictions equal to the labels; NaN on no digits', () => {
  const digits = [digit(1), digit(2), digit(3), digit(4)];
  assert.equal(accuracy([1, 2, 3, 4], digits), 1);
  assert.equal(accuracy([1, 0, 3, 0], digits), 0.5);
  assert.equal(accuracy([0, 0, 0, 4], digits), 0.25);
  assert.equal(accuracy([], digits), 0, 'missing predictions count as wrong');
  assert.equal(accuracy([1, 2, 3, 4, 5, 6], digits.slice(0, 2)), 1, 'extra predictions have no label to match');
  assert.ok(Number.isNaN(accuracy([1], [])));
});

test('agreement: the share of positions where both protocols predict the same digit', () => {
  assert.equal(agreement([1, 2, 3, 4], [1, 2, 3, 4]), 1);
  assert.equal(agreement([1, 2, 3, 4], [1, 0, 3, 0]), 0.5);
  assert.equal(agreement([1, 2, 3, 4], [4, 3, 2, 1]), 0, 'the same digits in another order do not agree');
  assert.equal(agreement([7, 7, 7], [7, 1, 1]), 1 / 3);
  assert.equal(agreement([5], [5]), 1);
});

test('agreement: nothing to compare, or lists of different lengths, is 0 (not a vacuous 1)', () => {
  assert.equal(agreement([], []), 0);
  assert.equal(agreement([1, 2], [1, 2, 3]), 0);
  assert.equal(agreement([1, 2, 3], [1, 2]), 0);
  assert.equal(agreement([1], []), 0);
  assert.equal(agreement([], [1]), 0);
});

test('mnistV1Request: the V1 predict path and one normalized instance', () => {
  const d = digit(3, 255);
  const req = mnistV1Request('mnist', d);
  assert.equal(req.path, '/v1/models/mnist:predict');
  assert.deepEqual(req.body, { instances: [toInstance(d)] });
  const inst = (req.body as { instances: number[][][][] }).instances[0]!;
  assert.equal(inst.length, 1);
  assert.equal(inst[0]!.length, 28);
  assert.ok(Math.abs(inst[0]![0]![0]! - (1 - 0.1307) / 0.3081) < 1e-9);
});

test('mnistV1Request: a response must hold exactly one prediction', () => {
  const { validate } = mnistV1Request('m', digit(0));
  assert.equal(validate(JSON.stringify({ predictions: [row(0)] })), true);
  assert.equal(validate(JSON.stringify({ predictions: [] })), 'predictions missing');
  assert.equal(validate(JSON.stringify({ predictions: [row(0), row(1)] })), 'predictions missing');
  assert.equal(validate(JSON.stringify({ predictions: { 0: row(0), length: 1 } })), 'predictions missing');
  assert.equal(validate(JSON.stringify({ outputs: [row(0)] })), 'predictions missing');
  assert.throws(() => validate('not json'), SyntaxError);
});
