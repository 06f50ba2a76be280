/**
 * The lab KPA against Knative's own numbers: our cases written from the vectors of
 * knative/serving pkg/autoscaler/scaling/autoscaler_test.go (TargetValue there is our
 * target * utilisation; its test spec: max scale-up/down rate 10, panic threshold 200%,
 * stable window 60 s), and the acceptance control that Knative's defaults do not scale
 * at 10 concurrent requests.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configFromIsvc, decide, emptyState, kpaStep, type ScalerConfig, type ScalerState } from '../../lab/cloud/controller/autoscaler.ts';

/** Knative's test DeciderSpec, TargetValue = tv. */
function spec(tv: number, over: Partial<ScalerConfig> = {}): ScalerConfig {
  return {
    metric: 'concurrency',
    target: tv,
    utilization: 1,
    minReplicas: 0,
    maxReplicas: 100_000,
    stableWindowMs: 60_000,
    panicWindowPercentage: 10,
    panicThresholdPercentage: 200,
    maxScaleUpRate: 10,
    maxScaleDownRate: 10,
    scaleDownDelayMs: 0,
    ...over,
  };
}

const fresh = () => ({ recommendations: [], maxPanicPods: 0 });

describe('Knative Scale() vectors (TestAutoscalerScale & co.)', () => {
  const T = 1_000_000;
  const cases: { label: string; tv: number; stable: number; panic: number; ready: number; want: number; over?: Partial<ScalerConfig>; inPanic?: boolean }[] = [
    { label: 'StableModeNoChange', tv: 10, stable: 50, panic: 50, ready: 1, want: 5 },
    { label: 'StableModeNoChangeAlreadyScaled', tv: 10, stable: 50, panic: 50, ready: 5, want: 5 },
    { label: 'PanicStableLargerThanPanic', tv: 1, stable: 50, panic: 30, ready: 5, want: 50, inPanic: true },
    { label: 'PanicStableLessThanPanic', tv: 1, stable: 20, panic: 30, ready: 5, want: 30, inPanic: true },
    { label: 'StableModeIncreaseWithSmallScaleUpRate', tv: 1, stable: 3, panic: 3.1, ready: 2, want: 3, over: { maxScaleUpRate: 1.1 } },
    { label: 'StableModeDecreaseWithSmallScaleDownRate', tv: 10, stable: 1, panic: 1, ready: 100, want: 90, over: { maxScaleDownRate: 1.1 } },
    { label: 'PanicModeDoublePodCount', tv: 10, stable: 50, panic: 100, ready: 1, want: 10 },
    { label: 'UseOnePodAsMinimumIfEndpointsNotFound', tv: 10, stable: 1000, panic: 888, ready: 0, want: 10 },
  ];
  for (const c of cases) {
    it(c.label, () => {
      const state = c.inPanic ? { recommendations: [], panicTime: T - 5000, maxPanicPods: 5 } : fresh();
      assert.equal(kpaStep(state, T, c.stable, c.panic, c.ready, spec(c.tv, c.over)).count, c.want);
    });
  }

  it('RateLimitScaleUp / RateLimitScaleDown: x10 and /10 per step', () => {
    assert.equal(kpaStep(fresh(), T, 1000, 1001, 1, spec(10)).count, 10);
    assert.equal(kpaStep(fresh(), T, 1000, 1001, 10, spec(10)).count, 100);
    assert.equal(kpaStep(fresh(), T, 1, 1, 100, spec(10)).count, 10);
    assert.equal(kpaStep(fresh(), T, 1, 1, 10, spec(10)).count, 1);
  });

  it('PanicThenUnPanicScaleDown: no scale-down in panic, out of panic a stable window later', () => {
    const cfg = spec(10);
    let s = kpaStep(fresh(), T, 100, 100, 1, cfg);
    assert.equal(s.count, 10);
    s = kpaStep(s.state, T + 1, 100, 1000, 10, cfg);
    assert.deepEqual([s.count, s.panicking], [100, true]);
    s = kpaStep(s.state, T + 30_001, 1, 1, 10, cfg);
    assert.deepEqual([s.count, s.panicking], [100, true], 'traffic dropped, still in panic');
    s = kpaStep(s.state, T + 61_001, 1, 1, 10, cfg);
    assert.deepEqual([s.count, s.panicking], [1, false], 'scale down after the stable window');
  });

  it('ScaleDownDelay (5 min): the highest count of the delay wins', () => {
    const cfg = spec(10, { panicThresholdPercentage: 10_000, scaleDownDelayMs: 300_000 });
    const at = (st: Omit<ScalerState, 'samples'>, t: number, c: number) => kpaStep(st, t * 1000, c, c, 0, cfg);
    let s = at(fresh(), 2, 40);
    assert.equal(s.count, 4);
    s = at(s.state, 300, 0);
    assert.equal(s.count, 4, 'less than the delay');
    s = at(s.state, 302, 0);
    assert.equal(s.count, 0);
    const steps: [number, number][] = [
      [540, 40],
      [600, 30],
      [660, 0],
      [840, 0],
      [900, 0],
    ];
    const counts = steps.map(([t, c]) => (s = at(s.state, t, c)).count);
    assert.deepEqual(counts, [4, 4, 4, 3, 0]);
  });
});

/** One sample a second for `seconds`, each decision applied; returns the replica counts. */
function drive(cfg: ScalerConfig, concurrency: (second: number) => number, seconds: number, start = 1): number[] {
  let state: ScalerState = emptyState();
  let current = start;
  const out: number[] = [];
  for (let i = 1; i <= seconds; i++) {
    const d = decide(state, { t: i * 1000, value: concurrency(i) }, current, cfg);
    state = d.state;
    current = d.desired;
    out.push(current);
  }
  return out;
}

describe('Knative defaults at the task list load (acceptance control)', () => {
  const isvc = (predictor: Record<string, unknown>) => configFromIsvc({ spec: { predictor: { minReplicas: 1, maxReplicas: 3, ...predictor } } }).config;

  it('no scaleTarget, 10 concurrent requests for 60 s: stays at 1 replica (target 100 x 0.7)', () => {
    const out = drive(isvc({ scaleMetric: 'concurrency' }), () => 10, 60);
    assert.equal(Math.max(...out), 1);
    // the same with the lab's 6 s window and 15 s delay
    const lab = configFromIsvc({ spec: { predictor: { maxReplicas: 3 } } }, { stableWindowMs: 6000, scaleDownDelayMs: 15_000, replicaCap: 5 }).config;
    assert.equal(Math.max(...drive(lab, () => 10, 60)), 1);
  });

  it('the boundary: 70 in flight is one pod, 71 is two', () => {
    const cfg = isvc({ maxReplicas: 5 });
    assert.equal(decide(emptyState(), { t: 1000, value: 70 }, 1, cfg).desired, 1);
    assert.equal(decide(emptyState(), { t: 1000, value: 71 }, 1, cfg).desired, 2);
  });

  it('scaleTarget 2 (target value 1.4): the same load scales at once to maxReplicas', () => {
    const out = drive(isvc({ scaleMetric: 'concurrency', scaleTarget: 2 }), () => 10, 10);
    assert.equal(out[0], 3);
  });

  it('a burst after a quiet minute panics: scale-up at once, no scale-down for a stable window', () => {
    const cfg = isvc({ scaleTarget: 3, maxReplicas: 5 });
    // 60 s at 1 in flight, then 20 s at 10, then idle
    const out = drive(cfg, (s) => (s <= 60 ? 1 : s <= 80 ? 10 : 0), 200);
    assert.equal(out[59], 1);
    // target value 2.1; after 1 s of burst the stable average is 1.15 (1 pod), the panic window (6 s) sees 2.5 -> 2 pods, 2/1 >= 200%
    assert.ok((out[60] ?? 0) >= 2, `scaled up in the first second of the burst (got ${out[60]})`);
    assert.equal(out[79], 5, 'ceil(10 / 2.1)');
    assert.equal(out[80 + 30], 5, 'held in panic 30 s after the burst (the stable count is 2 by then)');
    assert.equal(out.at(-1), 1, 'back to minReplicas once out of panic and the window has drained');
  });
});
