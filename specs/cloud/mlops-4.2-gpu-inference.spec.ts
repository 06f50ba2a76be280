/**
 * MLOPS-4.2 GPU inference.
 * What runs: a Hugging Face text-generation InferenceService (MLV_LLM_MODEL_URI) with
 * `nvidia.com/gpu: 1`, asked for completions through the OpenAI-compatible route of the
 * KServe Hugging Face runtime. Pass: the GPU is really in the pod's limits and its node has
 * GPUs allocatable; every prompt gets non-empty text; P95 and throughput under the task
 * list's load (100 requests, 10 workers) meet the references; autoscaling triggers; GPU
 * utilisation from Prometheus/DCGM when configured.
 */
import { test } from '../../fixtures/index.ts';
import { endpointUrl } from '../../clients/inference/endpoint.ts';
import { CompletionsClient } from '../../clients/inference/openai.ts';
import { runLoad } from '../../clients/loadgen.ts';
import { promQuery } from '../../clients/prometheus.ts';
import { inferenceWorkload, servingFromWorkload, taskReferences, threshold } from '../../helpers/references.ts';

const MODEL = 'llm';

test('MLOPS-4.2 serves an LLM on one GPU under load @gpu @slow', async ({ target, references, capabilities, kserve, criteria }) => {
  capabilities.require({ claims: ['kserve'], gpuNodes: 1 });
  test.skip(!target.cloud.llmModelUri, 'MLV_LLM_MODEL_URI is not set: no text-generation model on this target’s storage to serve');
  const ref = taskReferences(references, 'MLOPS-4.2');
  const w = inferenceWorkload(ref);

  const svc = await kserve.deploy(
    {
      name: MODEL,
      model: { format: 'huggingface', storageUri: target.cloud.llmModelUri! },
      ...servingFromWorkload(w),
      gpus: 1,
    },
    { readyTimeoutMs: w.readyTimeoutSeconds * 1000 },
  );

  const pods = await kserve.kube.pods(MODEL, kserve.namespace);
  const nodes = await kserve.kube.nodes();
  for (const p of pods) {
    const limit = Number(p.spec?.containers.find((c) => c.name === 'kserve-container')?.resources?.limits?.['nvidia.com/gpu'] ?? 0);
    const node = nodes.find((n) => n.metadata?.name === p.spec?.nodeName);
    const alloc = Number(node?.status?.allocatable?.['nvidia.com/gpu'] ?? 0);
    await criteria.check(`pod ${p.metadata?.name} has a GPU in its limits, on a GPU node`, limit >= 1 && alloc >= 1, `limits nvidia.com/gpu=${limit}; node ${p.spec?.nodeName} allocatable nvidia.com/gpu=${alloc}`);
  }

  const client = new CompletionsClient(svc.endpoint);
  for (const prompt of w.prompts) {
    const r = await client.complete({ model: MODEL, prompt, maxTokens: w.maxTokens });
    const text = r.texts[0]?.trim() ?? '';
    await criteria.check(`completion for "${prompt}"`, text.length > 0, text ? JSON.stringify(text.slice(0, 120)) : 'empty text');
  }

  let maxReplicas = 0;
  const sampler = setInterval(() => void kserve.readyReplicas(MODEL).then((n) => (maxReplicas = Math.max(maxReplicas, n)), () => {}), 1000);
  const t0 = Math.floor(Date.now() / 1000);
  const load = await runLoad({
    ...svc.endpoint,
    url: endpointUrl(svc.endpoint, client.path),
    body: { model: MODEL, prompt: w.prompts[0] ?? 'Hello', max_tokens: w.maxTokens },
    concurrency: w.concurrency,
    totalRequests: w.totalRequests ?? 100,
    durationMs: w.loadSeconds ? w.loadSeconds * 1000 : undefined,
    timeoutMs: 60_000,
  }).finally(() => clearInterval(sampler));
  if (load.latency) await criteria.threshold('p95_latency_ms', load.latency.p95, threshold(ref, 'p95_latency_ms'));
  await criteria.threshold('throughput_rps (successes / wall time)', load.throughputRps, threshold(ref, 'throughput_rps'));
  await criteria.threshold('errors', load.errors.total, threshold(ref, 'errors'));
  await criteria.check('autoscaling triggered under load', maxReplicas > Math.max(1, w.minReplicas), `max ready replicas during the load: ${maxReplicas}`);

  if (!target.cloud.prometheusUrl) {
    await criteria.notApplicable('gpu_utilization_percent', 'MLV_PROMETHEUS_URL is not set: no DCGM metrics to read GPU utilisation from');
  } else {
    const secs = Math.max(30, Math.floor(Date.now() / 1000) - t0);
    const series = await promQuery(target.cloud.prometheusUrl, `avg_over_time(DCGM_FI_DEV_GPU_UTIL{namespace="${kserve.namespace}",pod=~"${MODEL}-predictor.*"}[${secs}s])`, { token: target.cloud.token });
    await criteria.check('DCGM reports the predictor GPU', series.length > 0, `${series.length} series`);
    for (const s of series) await criteria.threshold(`gpu_utilization_percent (${s.metric.pod ?? '?'} GPU ${s.metric.gpu ?? '?'})`, s.value, threshold(ref, 'gpu_utilization_percent'));
  }
});
