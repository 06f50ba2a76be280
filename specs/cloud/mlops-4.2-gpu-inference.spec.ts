/**
 * MLOPS-4.2 GPU inference.
 * What runs: a Hugging Face text-generation InferenceService (MLV_LLM_MODEL_URI) with
 * `nvidia.com/gpu: 1`, asked for completions through the OpenAI-compatible route of the
 * KServe Hugging Face runtime. Pass: the GPU is really in the pod's limits and its node has
 * GPUs allocatable; every prompt gets non-empty text; P95 and throughput under the task
 * list's load (100 requests, 10 workers) meet the references; autoscaling triggers; GPU
 * utilisation from Prometheus/DCGM when configured. A node labelled lab.mlv.io/fake-gpu=true (the
 * lab's) is a stand-in: the report says so, and GPU utilisation is N/A on it.
 */
import { test } from '../../fixtures/index.ts';

test.use({ requires: { claims: ['kserve'], gpuNodes: 1, models: ['llm'] } });

test('MLOPS-4.2 serves an LLM on one GPU under load @gpu @slow', async ({ serving, criteria, ref }) => {
  const w = ref.inference;
  const svc = await serving.deploy('llm', { format: 'huggingface', storageUri: serving.uri('llm') }, { gpus: 1 });

  const pods = await serving.gpuPlacement(svc);
  await criteria.check('at least one predictor pod', pods.length > 0, `${pods.length} pod(s)`);
  for (const p of pods)
    await criteria.check(
      `pod ${p.pod} has a GPU in its limits, on a GPU node`,
      p.gpuLimit >= 1 && p.nodeGpus >= 1,
      `limits nvidia.com/gpu=${p.gpuLimit}; node ${p.node} allocatable nvidia.com/gpu=${p.nodeGpus}${p.standIn ? ' (a GPU stand-in, label lab.mlv.io/fake-gpu=true: no real GPU)' : ''}`,
    );

  await criteria.check('prompts to ask', w.prompts.length > 0, `${w.prompts.length} prompt(s) in the references`);
  for (const prompt of w.prompts) {
    const text = await serving.complete(svc, prompt);
    const why = serving.completionProblem(text);
    await criteria.check(`completion for "${prompt}" is non-empty and not degenerate`, why === null, why ?? JSON.stringify(text.slice(0, 120)));
  }

  const replicas = serving.sampleReplicas(svc);
  const t0 = Date.now();
  const load = await serving.load(svc, serving.completionRequest(svc, w.prompts[0] ?? 'Hello'));
  await criteria.loadSlo(load);
  const maxSeen = replicas.maxBetween(0, replicas.now());
  await criteria.check('autoscaling triggered under load', maxSeen > Math.max(1, w.minReplicas), `max ready replicas during the load: ${maxSeen}`);

  const secs = Math.max(30, Math.round((Date.now() - t0) / 1000));
  const standIn = pods.filter((p) => p.standIn).map((p) => p.node);
  if (standIn.length) {
    const nodes = [...new Set(standIn)].join(', ');
    return criteria.notApplicable('gpu_utilization_percent', `node ${nodes} is a GPU stand-in (label lab.mlv.io/fake-gpu=true): no GPU and no DCGM behind its nvidia.com/gpu`);
  }
  const series = await serving.prometheus(`avg_over_time(DCGM_FI_DEV_GPU_UTIL{namespace="${svc.namespace}",pod=~"${svc.name}-predictor.*"}[${secs}s])`);
  if (!series) await criteria.notApplicable('gpu_utilization_percent', 'MLV_PROMETHEUS_URL is not set: no DCGM metrics to read GPU utilisation from');
  else await criteria.check('DCGM reports the predictor GPU', series.length > 0, `${series.length} series`);
  for (const s of series ?? []) await criteria.threshold(`gpu_utilization_percent (${s.metric.pod ?? '?'} GPU ${s.metric.gpu ?? '?'})`, s.value, 'gpu_utilization_percent');
});
