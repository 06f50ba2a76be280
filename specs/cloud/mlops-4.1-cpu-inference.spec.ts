/**
 * MLOPS-4.1 CPU inference on KServe.
 * What runs: the MNIST classifier (the 1.1 workload's ONNX export, MLV_MNIST_MODEL_URI) as an InferenceService
 * on CPU with the task list's replicas and resources, in the format, protocol and runtime the references give
 * (default ONNX over v2 on kserve-tritonserver, as a stock KServe serves ONNX). Where: a namespace of this run.
 * Pass: Ready with its cold start recorded; valid predictions (accuracy on a fixed labelled set) through V2;
 * through V1 too, agreeing with V2, where a runtime speaks V1 (else N/A naming the runtime); under closed-loop
 * load in the deployed protocol, P95, throughput and zero errors against the references; scale-up to 2+ replicas
 * within the reference time, and back down after the load where the target's window fits the test's budget
 * (both N/A, with the reason, in a deployment mode whose autoscaler ignores the scaleMetric: KServe's HPA).
 */
import { test } from '../../fixtures/index.ts';

test.use({ requires: { claims: ['kserve'], models: ['mnist'] } });

test('MLOPS-4.1 serves the MNIST classifier on CPU, valid under load, and autoscales @slow', async ({ serving, kserve, criteria, ref }) => {
  const svc = await serving.deployMnist('mnist');
  const w = ref.inference;
  const mode = await kserve.deploymentMode(svc.name, w.scaleMetric); // also the test's deployment-mode annotation
  await criteria.check('InferenceService Ready', svc.ready, `Ready=${svc.ready} in ${(svc.coldStartMs / 1000).toFixed(1)} s at ${svc.status.url}`);
  await criteria.threshold('cold_start_seconds', svc.coldStartMs / 1000);

  const digits = serving.digits();
  const v2 = await serving.classify(svc, 'v2', digits);
  await criteria.check('V2 request tensors match the model metadata', v2.tensorProblems.length === 0, v2.tensorProblems.join('; ') || `input "${v2.inputName}" FP32 [N,1,28,28]`);
  await criteria.threshold('prediction_accuracy (V2)', v2.accuracy, 'prediction_accuracy');
  await serving.v1Checks(svc, digits, v2.labels);

  // Load, sampling the ready replicas every second throughout.
  const replicas = serving.sampleReplicas(svc);
  const loadStart = replicas.now();
  const load = await serving.load(svc, await serving.mnistRequest(svc, digits));
  const loadEnd = replicas.now();
  await criteria.loadSlo(load);
  const up = replicas.firstAtLeast(2, loadStart);
  if (mode.scaleCheckNA) {
    for (const c of ['scaled up to at least 2 replicas under load', 'scaled back down after the load']) await criteria.notApplicable(c, mode.scaleCheckNA);
    return;
  }
  await criteria.check(
    'scaled up to at least 2 replicas under load',
    !!up,
    up ? `${up.y} replicas ${(up.x - loadStart).toFixed(1)} s into the load` : `max ${replicas.maxBetween(loadStart, loadEnd + 1)} ready replica(s) during the load (maxReplicas ${w.maxReplicas})`,
  );
  if (up) await criteria.threshold('scale_up_seconds', up.x - loadStart);

  const floor = Math.max(1, w.minReplicas);
  if (w.scaleDownBudgetSeconds > 0) {
    const down = await test.step(`wait up to ${w.scaleDownBudgetSeconds} s for scale-down to ${floor}`, () => serving.waitReplicasAtMost(svc, floor, w.scaleDownBudgetSeconds));
    await criteria.check(
      'scaled back down after the load',
      down !== undefined,
      down !== undefined
        ? `down to ${floor} replica(s) ${(replicas.now() - loadEnd).toFixed(1)} s after the load stopped`
        : `still above ${floor} replica(s) ${w.scaleDownBudgetSeconds} s after the load`,
    );
  } else {
    await criteria.notApplicable('scaled back down after the load', 'the target’s scale-down window does not fit the test budget (references: scaleDownBudgetSeconds = 0)');
  }
});
