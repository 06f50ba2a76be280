/**
 * MLOPS-4.1 CPU inference on KServe.
 * What runs: the MNIST classifier (the 1.1 workload's ONNX export, MLV_MNIST_MODEL_URI) as an
 * InferenceService on CPU with the task list's replicas and resources. Where: a namespace of
 * this run. Pass: Ready with its cold start recorded; valid predictions (accuracy on a fixed
 * labelled set) through V1 and V2, which must agree; under closed-loop load, P95, throughput
 * and zero errors against the references; scale-up to 2+ replicas within the reference time,
 * and back down after the load where the target's window fits the test's budget.
 */
import { test } from '../../fixtures/index.ts';
import { stepChart, barHistogram } from '../../helpers/charts.ts';
import { endpointUrl } from '../../clients/inference/endpoint.ts';
import { KServeV1Client } from '../../clients/inference/v1.ts';
import { KServeV2Client } from '../../clients/inference/v2.ts';
import { runLoad } from '../../clients/loadgen.ts';
import { accuracy, agreement, predictV1, predictV2 } from '../../helpers/mnist-inference.ts';
import { mnistSplit, toInstance } from '../../helpers/mnist-samples.ts';
import { inferenceWorkload, servingFromWorkload, taskReferences, threshold } from '../../helpers/references.ts';

const MODEL = 'mnist';

test('MLOPS-4.1 serves the MNIST classifier on CPU, valid under load, and autoscales @slow', async ({ target, references, capabilities, kserve, criteria }, testInfo) => {
  capabilities.require({ claims: ['kserve'] });
  test.skip(!target.cloud.mnistModelUri, 'MLV_MNIST_MODEL_URI is not set: no MNIST ONNX model on this target’s storage to serve');
  const ref = taskReferences(references, 'MLOPS-4.1');
  const w = inferenceWorkload(ref);

  const svc = await kserve.deploy(
    {
      name: MODEL,
      model: { format: 'onnx', storageUri: target.cloud.mnistModelUri! },
      ...servingFromWorkload(w),
    },
    { readyTimeoutMs: w.readyTimeoutSeconds * 1000 },
  );
  await criteria.check('InferenceService Ready', true, `Ready in ${(svc.coldStartMs / 1000).toFixed(1)} s at ${svc.status.url}`);
  await criteria.threshold('cold_start_seconds', svc.coldStartMs / 1000, threshold(ref, 'cold_start_seconds'));

  const v1 = new KServeV1Client(svc.endpoint);
  const v2 = new KServeV2Client(svc.endpoint);
  const digits = mnistSplit().test.slice(0, w.validationSamples);
  const ready = await v1.modelReady(MODEL);
  await criteria.check('V1 model ready', ready.ready, JSON.stringify(ready));
  const viaV1 = await predictV1(v1, MODEL, digits);
  await criteria.threshold('prediction_accuracy (V1)', accuracy(viaV1, digits), threshold(ref, 'prediction_accuracy'));
  const viaV2 = await predictV2(v2, MODEL, digits);
  await criteria.check('V2 request tensors match the model metadata', viaV2.tensorProblems.length === 0, viaV2.tensorProblems.join('; ') || `input "${viaV2.inputName}" FP32 [N,1,28,28]`);
  await criteria.threshold('prediction_accuracy (V2)', accuracy(viaV2.labels, digits), threshold(ref, 'prediction_accuracy'));
  await criteria.check('V1 and V2 agree on every sample', agreement(viaV1, viaV2.labels) === 1, `agreement ${(agreement(viaV1, viaV2.labels) * 100).toFixed(1)}% on ${digits.length} digits`);

  // Load, sampling the ready replicas every second throughout.
  const replicas: { x: number; y: number }[] = [];
  const t0 = Date.now();
  const sampler = setInterval(() => void kserve.readyReplicas(MODEL).then((n) => replicas.push({ x: (Date.now() - t0) / 1000, y: n }), () => {}), 1000);
  try {
    const loadStart = (Date.now() - t0) / 1000;
    const load = await test.step(`closed-loop load: ${w.concurrency} workers, ${w.loadSeconds ? `${w.loadSeconds} s` : `${w.totalRequests} requests`}`, () =>
      runLoad({
        ...svc.endpoint,
        url: endpointUrl(svc.endpoint, `/v1/models/${MODEL}:predict`),
        body: { instances: [toInstance(digits[0]!)] },
        concurrency: w.concurrency,
        durationMs: w.loadSeconds ? w.loadSeconds * 1000 : undefined,
        totalRequests: w.totalRequests,
        validate: (body) => {
          const p = JSON.parse(body) as { predictions?: unknown[] };
          return Array.isArray(p.predictions) && p.predictions.length === 1 ? true : 'predictions missing';
        },
      }),
    );
    const loadEnd = (Date.now() - t0) / 1000;
    await testInfo.attach('load-result.json', { body: JSON.stringify({ ...load, histogram: undefined }, null, 2), contentType: 'application/json' });
    if (load.histogram.length) await testInfo.attach('latency-histogram.svg', { body: barHistogram({ title: `MLOPS-4.1 latency (${load.successes} requests)`, buckets: load.histogram, xLabel: 'ms' }), contentType: 'image/svg+xml' });
    await criteria.check('load produced successes', load.successes > 0 && !!load.latency, `${load.successes} ok of ${load.requests}`);
    if (load.latency) {
      await criteria.threshold('p95_latency_ms', load.latency.p95, threshold(ref, 'p95_latency_ms'));
      await testInfo.attach('latency.json', { body: JSON.stringify(load.latency, null, 2), contentType: 'application/json' });
    }
    await criteria.threshold('throughput_rps (successes / wall time)', load.throughputRps, threshold(ref, 'throughput_rps'));
    await criteria.threshold('errors', load.errors.total, threshold(ref, 'errors'));

    const up = replicas.find((r) => r.x >= loadStart && r.y >= 2);
    const maxSeen = Math.max(0, ...replicas.filter((r) => r.x >= loadStart && r.x <= loadEnd + 1).map((r) => r.y));
    await criteria.check('scaled up to at least 2 replicas under load', !!up, up ? `${up.y} replicas ${(up.x - loadStart).toFixed(1)} s into the load` : `max ${maxSeen} ready replica(s) during the load (maxReplicas ${w.maxReplicas})`);
    if (up) await criteria.threshold('scale_up_seconds', up.x - loadStart, threshold(ref, 'scale_up_seconds'));

    if (w.scaleDownBudgetSeconds > 0) {
      const downAt = await test.step(`wait up to ${w.scaleDownBudgetSeconds} s for scale-down to ${w.minReplicas}`, async () => {
        const end = Date.now() + w.scaleDownBudgetSeconds * 1000;
        while (Date.now() < end) {
          const n = await kserve.readyReplicas(MODEL);
          if (n <= Math.max(1, w.minReplicas)) return (Date.now() - t0) / 1000;
          await new Promise((r) => setTimeout(r, 1000));
        }
        return undefined;
      });
      await criteria.check('scaled back down after the load', downAt !== undefined, downAt !== undefined ? `down to ${Math.max(1, w.minReplicas)} replica(s) ${(downAt - loadEnd).toFixed(1)} s after the load stopped` : `still above ${w.minReplicas} replica(s) ${w.scaleDownBudgetSeconds} s after the load`);
    } else {
      await criteria.notApplicable('scaled back down after the load', 'the target’s scale-down window does not fit the test budget (references: scaleDownBudgetSeconds = 0)');
    }
  } finally {
    clearInterval(sampler);
    if (replicas.length) await testInfo.attach('replicas.svg', { body: stepChart({ title: 'MLOPS-4.1 ready replicas over time', xLabel: 's', yLabel: 'replicas', series: [{ name: MODEL, points: replicas }] }), contentType: 'image/svg+xml' });
  }
});
