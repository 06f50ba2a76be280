/**
 * The KPA-like scaling decision (lab/cloud/controller/autoscaler.ts) on
 * synthetic concurrency series (stable mode), and Knative's own arithmetic
 * (./cloud-autoscaler-knative.test.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configFromIsvc, decide, emptyState, parseDuration, type ScalerConfig, type ScalerState } from '../../lab/cloud/controller/autoscaler.ts';

// stable mode only (panic threshold out of reach), utilisation 1: target = pods per unit of concurrency
const base: ScalerConfig = {
  metric: 'concurrency',
  target: 1,
  utilization: 1,
  minReplicas: 1,
  maxReplicas: 3,
  stableWindowMs: 6000,
  panicWindowPercentage: 10,
  panicThresholdPercentage: Infinity,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  scaleDownDelayMs: 15000,
};

/** Feed one sample per second; returns the replica count after each tick (applying each decision). */
function run(series: number[], cfg: ScalerConfig, start = 1): number[] {
  let state: ScalerState = emptyState();
  let current = start;
  const out: number[] = [];
  series.forEach((value, i) => {
    const d = decide(state, { t: (i + 1) * 1000, value }, current, cfg);
    state = d.state;
    current = d.desired;
    out.push(current);
  });
  return out;
}

describe('KPA decision', () => {
  it('stays at minReplicas with no traffic', () => {
    assert.deepEqual(run([0, 0, 0, 0], base), [1, 1, 1, 1]);
    assert.deepEqual(run([0, 0, 0], { ...base, minReplicas: 2 }, 2), [2, 2, 2]);
  });

  it('scales up immediately to ceil(window average / target)', () => {
    // concurrency 2 per tick, window 6 s: averages 2,2,... -> 2 replicas at the first tick
    assert.deepEqual(run([2, 2, 2], base), [2, 2, 2]);
    // after idle samples the average ramps: [0,0,3] -> avg 1 -> 1; [0,0,3,3] -> 1.5 -> 2
    assert.deepEqual(run([0, 0, 3, 3, 3], base), [1, 1, 1, 2, 2]);
    // target 4: concurrency 10 -> ceil(10/4) = 3
    const d = decide(emptyState(), { t: 1000, value: 10 }, 1, { ...base, target: 4 });
    assert.equal(d.raw, 3);
    assert.equal(d.desired, 3);
    assert.equal(d.direction, 'up');
  });

  it('clamps to maxReplicas', () => {
    const d = decide(emptyState(), { t: 1000, value: 50 }, 1, base);
    assert.equal(d.raw, 50);
    assert.equal(d.desired, 3);
    assert.deepEqual(run([10, 10, 10, 10], base), [3, 3, 3, 3]);
  });

  it('scales down only after the scale-down delay', () => {
    const cfg = { ...base, stableWindowMs: 2000, scaleDownDelayMs: 5000 };
    // 3 s of load (c=3), then idle
    const series = [3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const out = run(series, cfg);
    assert.equal(out[2], 3, 'scaled up during load');
    // window average drops below 1 at t=5 s (samples at 4 s and 5 s are 0) ...
    // ... but the delay keeps 3 replicas until the t=3 s recommendation ages out of the 5 s delay
    assert.deepEqual(out.slice(3, 7), [3, 3, 3, 3]);
    assert.equal(out.at(-1), 1, 'back to minReplicas after the delay');
    const firstDown = out.findIndex((n, i) => i > 2 && n < 3);
    assert.ok(firstDown >= 7, `scaled down at tick ${firstDown + 1}, before the 5 s delay after load ended`);
  });

  it('scale-down with zero delay follows the window average', () => {
    const out = run([3, 3, 0, 0, 0, 0], { ...base, stableWindowMs: 1000, scaleDownDelayMs: 0 });
    assert.deepEqual(out, [3, 3, 1, 1, 1, 1]);
  });

  it('a new spike during the delay scales up again at once', () => {
    const cfg = { ...base, stableWindowMs: 1000, scaleDownDelayMs: 10000, maxReplicas: 5 };
    const out = run([2, 0, 0, 5, 0], cfg);
    assert.deepEqual(out, [2, 2, 2, 5, 5]);
  });

  it('scales to zero only when minReplicas is 0, and from zero on queued demand', () => {
    const cfg = { ...base, minReplicas: 0, stableWindowMs: 1000, scaleDownDelayMs: 2000 };
    // the t=1 s recommendation (1) ages out of the 2 s delay at t=3 s
    assert.deepEqual(run([1, 0, 0, 0, 0], cfg), [1, 1, 0, 0, 0]);
    assert.deepEqual(run([0, 0.5, 0.5], cfg, 0), [0, 1, 1]);
  });

  it('rps metric: ceil(rps / target)', () => {
    const d = decide(emptyState(), { t: 1000, value: 45 }, 1, { ...base, metric: 'rps', target: 20 });
    assert.equal(d.desired, 3);
  });
});

describe('KPA config from an InferenceService', () => {
  it("defaults are Knative's: concurrency, target 100 at 0.7, 60 s window, panic 10% / 200%, rates 1000 / 2, no delay", () => {
    const { config, warnings } = configFromIsvc({ spec: { predictor: {} } });
    assert.deepEqual(config, {
      metric: 'concurrency',
      target: 100,
      utilization: 0.7,
      minReplicas: 1,
      maxReplicas: 5,
      stableWindowMs: 60_000,
      panicWindowPercentage: 10,
      panicThresholdPercentage: 200,
      maxScaleUpRate: 1000,
      maxScaleDownRate: 2,
      scaleDownDelayMs: 0,
    });
    assert.deepEqual(warnings, []);
    assert.equal(configFromIsvc({ spec: { predictor: { scaleMetric: 'rps' } } }).config.target, 200, 'requests-per-second-target-default');
  });

  it('reads spec fields and Knative annotations', () => {
    const { config } = configFromIsvc({
      metadata: {
        annotations: {
          'autoscaling.knative.dev/window': '10s',
          'autoscaling.knative.dev/scale-down-delay': '1m30s',
          'autoscaling.knative.dev/target-utilization-percentage': '50',
          'autoscaling.knative.dev/panic-window-percentage': '20',
          'autoscaling.knative.dev/panic-threshold-percentage': '150',
        },
      },
      spec: { predictor: { minReplicas: 1, maxReplicas: 3, scaleMetric: 'rps', scaleTarget: 50 } },
    });
    assert.deepEqual(
      { ...config },
      {
        ...config,
        metric: 'rps',
        target: 50,
        utilization: 0.5,
        minReplicas: 1,
        maxReplicas: 3,
        stableWindowMs: 10000,
        panicWindowPercentage: 20,
        panicThresholdPercentage: 150,
        scaleDownDelayMs: 90000,
      },
    );
    assert.equal(configFromIsvc({ metadata: { annotations: { 'autoscaling.knative.dev/target': '7' } }, spec: { predictor: {} } }).config.target, 7);
  });

  it('warns on unsupported metrics and bad values', () => {
    const { config, warnings } = configFromIsvc({
      metadata: { annotations: { 'autoscaling.knative.dev/window': 'soon', 'autoscaling.knative.dev/panic-threshold-percentage': '100' } },
      spec: { predictor: { minReplicas: 2, maxReplicas: 1, scaleMetric: 'cpu', scaleTarget: 0 } },
    });
    assert.equal(config.metric, 'concurrency');
    assert.equal(config.target, 100);
    assert.equal(config.maxReplicas, 2);
    assert.equal(config.stableWindowMs, 60_000);
    assert.equal(config.panicThresholdPercentage, 200, 'below Knative’s minimum 110%');
    assert.equal(warnings.length, 5);
    assert.match(warnings.join('\n'), /cpu.*HPA/);
  });

  it('the lab minimum window is 1 s (Knative: 6 s)', () => {
    const ann = (w: string) => configFromIsvc({ metadata: { annotations: { 'autoscaling.knative.dev/window': w } }, spec: { predictor: {} } });
    assert.equal(ann('1s').config.stableWindowMs, 1000);
    assert.equal(ann('500ms').config.stableWindowMs, 60_000);
    assert.match(ann('500ms').warnings.join('\n'), /lab range 1s/);
  });

  it('parses Go-style durations', () => {
    assert.equal(parseDuration('6s'), 6000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1m30s'), 90000);
    assert.equal(parseDuration('15'), 15000);
    assert.equal(parseDuration('x1s'), undefined);
  });
});
