import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argmax, MNIST_SIZE, mnistFloatSplit, mnistSplit, toFlat, toInstance, type Digit } from '../../helpers/mnist-samples.ts';

const MEAN = 0.1307;
const STD = 0.3081;
const norm = (v: number) => (v / 255 - MEAN) / STD;

const countBy = (ds: { label: number }[]) => {
  const c = Array.from({ length: 10 }, () => 0);
  for (const d of ds) c[d.label]!++;
  return c;
};

test('mnistFloatSplit: the package digits in file order, 85% of each digit to train', () => {
  const { train, test: held } = mnistFloatSplit();
  assert.equal(train.length + held.length, 10000);
  for (const split of [train, held]) {
    for (let i = 1; i < split.length; i++) assert.ok(split[i]!.label >= split[i - 1]!.label, 'file order: digit 0 first');
    assert.equal(split[0]!.label, 0);
    assert.equal(split.at(-1)!.label, 9);
    for (const d of split) {
      assert.ok(d.pixels instanceof Float32Array);
      assert.equal(d.pixels.length, MNIST_SIZE);
    }
  }
  const tr = countBy(train);
  const te = countBy(held);
  for (let d = 0; d < 10; d++) {
    assert.ok(te[d]! > 100, `digit ${d} has test samples`);
    assert.equal(tr[d], Math.floor((tr[d]! + te[d]!) * 0.85), `digit ${d}: 85% to train`);
  }
  assert.equal(mnistFloatSplit(), mnistFloatSplit(), 'cached');
  assert.ok(train[0]!.pixels.some((v) => v > 0.5) && train[0]!.pixels.some((v) => v === 0), 'real pixels, not a blank image');
});

test('mnistSplit: the same digits as bytes, each split shuffled with a fixed seed', () => {
  const bytes = mnistSplit();
  const floats = mnistFloatSplit();
  assert.equal(mnistSplit(), bytes, 'cached');
  for (const name of ['train', 'test'] as const) {
    assert.equal(bytes[name].length, floats[name].length);
    assert.deepEqual(countBy(bytes[name]), countBy(floats[name]), `${name}: the same digits per label`);
    for (const d of bytes[name]) assert.ok(d.pixels instanceof Uint8Array && d.pixels.length === MNIST_SIZE);
  }
  // A fixed, shuffled order (the inference specs rely on the same labelled set every run).
  assert.deepEqual(
    bytes.test.slice(0, 12).map((d) => d.label),
    [3, 9, 8, 0, 4, 7, 2, 2, 3, 1, 8, 2],
  );
  assert.deepEqual(
    bytes.train.slice(0, 12).map((d) => d.label),
    [5, 5, 7, 7, 5, 2, 9, 7, 6, 9, 8, 2],
  );
  assert.ok(
    bytes.test.some((d, i) => i > 0 && d.label < bytes.test[i - 1]!.label),
    'not in file order',
  );
});

test('mnistSplit: bytes are the float pixels clamped to 0..1, times 255, rounded', () => {
  const key = (p: ArrayLike<number>, label: number) => `${label}:${Array.from(p).join(',')}`;
  const expected = mnistFloatSplit()
    .test.map((d) =>
      key(
        Uint8Array.from(d.pixels, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)),
        d.label,
      ),
    )
    .sort();
  const got = mnistSplit()
    .test.map((d) => key(d.pixels, d.label))
    .sort();
  assert.deepEqual(got, expected);
  const all = mnistSplit().test.flatMap((d) => [Math.min(...d.pixels), Math.max(...d.pixels)]);
  assert.equal(Math.min(...all), 0);
  assert.equal(Math.max(...all), 255);
});

test('toInstance: one 28×28 channel, row-major, normalized like the workload', () => {
  const pixels = new Uint8Array(MNIST_SIZE);
  pixels[0] = 255;
  pixels[27] = 51;
  pixels[28] = 102;
  pixels[MNIST_SIZE - 1] = 255;
  const d: Digit = { pixels, label: 4 };
  const inst = toInstance(d);
  assert.equal(inst.length, 1);
  assert.equal(inst[0]!.length, 28);
  for (const row of inst[0]!) assert.equal(row.length, 28);
  assert.equal(inst[0]![0]![0], norm(255));
  assert.equal(inst[0]![0]![27], norm(51));
  assert.equal(inst[0]![1]![0], norm(102));
  assert.equal(inst[0]![27]![27], norm(255));
  assert.equal(inst[0]![13]![13], norm(0));
  assert.ok(Math.abs(norm(0) - -0.424212917884) < 1e-9);
  assert.ok(Math.abs(norm(255) - 2.821486530347) < 1e-9);
  assert.deepEqual(toFlat(d), inst[0]!.flat());
  assert.equal(toFlat(d).length, MNIST_SIZE);
});

test('argmax: the index of the largest value, the first on ties', () => {
  assert.equal(argmax([0.1, 0.7, 0.2]), 1);
  assert.equal(argmax([-3, -1, -2]), 1);
  assert.equal(argmax([9, 1, 9]), 0);
  assert.equal(argmax([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 9);
  assert.equal(argmax([5]), 0);
  assert.equal(argmax([]), 0);
});
