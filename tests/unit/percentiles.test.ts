import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmptyRecorderError, LatencyRecorder } from '../../helpers/percentiles.ts';

/** HdrHistogram with 3 significant digits: relative error at most 0.1%. */
function near(actual: number, expected: number, rel = 0.001): void {
  assert.ok(Math.abs(actual - expected) <= expected * rel, `expected ${actual} ≈ ${expected} (±${rel * 100}%)`);
}

test('1..1000 ms: percentiles within HDR precision', () => {
  const r = new LatencyRecorder();
  for (let i = 1; i <= 1000; i++) r.record(i);
  const s = r.summary();
  assert.equal(s.count, 1000);
  assert.equal(s.min, 1);
  assert.equal(s.max, 1000);
  near(s.p50, 500);
  near(s.p90, 900);
  near(s.p95, 950);
  near(s.p99, 990);
  near(s.mean, 500.5);
});

test('sub-millisecond values keep microsecond resolution', () => {
  const r = new LatencyRecorder();
  r.record(0.25);
  r.record(0.75);
  assert.equal(r.summary().min, 0.25);
  assert.equal(r.summary().max, 0.75);
});

test('all-equal samples: every statistic is that value', () => {
  const r = new LatencyRecorder();
  for (let i = 0; i < 50; i++) r.record(42.5);
  assert.deepEqual(r.summary(), { count: 50, min: 42.5, p50: 42.5, p90: 42.5, p95: 42.5, p99: 42.5, max: 42.5, mean: 42.5 });
  assert.deepEqual(r.buckets(10), [{ from: 42.5, to: 42.5, count: 50 }]);
});

test('single sample is reported for every percentile (clamped into [min, max])', () => {
  const r = new LatencyRecorder();
  r.record(123.456);
  const s = r.summary();
  assert.equal(s.count, 1);
  for (const v of [s.min, s.p50, s.p90, s.p95, s.p99, s.max, s.mean]) assert.equal(v, 123.456);
});

test('empty recorder: summary() throws EmptyRecorderError, buckets() is []', () => {
  const r = new LatencyRecorder();
  assert.equal(r.count, 0);
  assert.throws(() => r.summary(), EmptyRecorderError);
  assert.throws(() => r.summary(), /no samples recorded/);
  assert.deepEqual(r.buckets(5), []);
});

test('rejects negative / non-finite latencies and bad arguments', () => {
  const r = new LatencyRecorder();
  assert.throws(() => r.record(-1), RangeError);
  assert.throws(() => r.record(Number.NaN), RangeError);
  assert.throws(() => r.record(Infinity), RangeError);
  r.record(1);
  assert.throws(() => r.percentile(101), RangeError);
  assert.throws(() => r.buckets(0), RangeError);
});

test('merge combines counts, min and max', () => {
  const a = new LatencyRecorder();
  const b = new LatencyRecorder();
  for (let i = 1; i <= 500; i++) a.record(i);
  for (let i = 501; i <= 1000; i++) b.record(i);
  a.merge(b).merge(new LatencyRecorder());
  const s = a.summary();
  assert.equal(s.count, 1000);
  assert.equal(s.min, 1);
  assert.equal(s.max, 1000);
  near(s.p50, 500);
  near(s.p99, 990);
  assert.equal(b.count, 500, 'merge leaves the other recorder untouched');
});

test('buckets: equal-width bins over [min, max] whose counts sum to count', () => {
  const r = new LatencyRecorder();
  for (let i = 1; i <= 1000; i++) r.record(i);
  const b = r.buckets(10);
  assert.equal(b.length, 10);
  assert.equal(b[0]?.from, 1);
  assert.equal(b[9]?.to, 1000);
  assert.equal(
    b.reduce((n, x) => n + x.count, 0),
    1000,
  );
  for (const x of b) assert.ok(x.count >= 95 && x.count <= 105, `uniform input, got bin ${JSON.stringify(x)}`);
  for (let i = 1; i < b.length; i++) assert.equal(b[i]?.from, b[i - 1]?.to);
});

test('buckets: a bimodal input lands in the first and last bins', () => {
  const r = new LatencyRecorder();
  for (let i = 0; i < 90; i++) r.record(10);
  for (let i = 0; i < 10; i++) r.record(200);
  const b = r.buckets(4);
  assert.deepEqual(
    b.map((x) => x.count),
    [90, 0, 0, 10],
  );
});
