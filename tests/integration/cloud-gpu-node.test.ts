/**
 * The cloud lab's GPU stand-in and scheduling (lab/cloud/controller/nodes.ts), against the lab
 * API server and controller in process (ephemeral ports, temp state dir): the controller registers
 * lab-cloud-gpu-node (nvidia.com/gpu allocatable, label lab.mlv.io/fake-gpu=true); a predictor
 * asking for a GPU lands there and only there (the suite's gpuPlacement finds it, flagged a
 * stand-in); an over-ask stays Pending with kube-scheduler's message. Then, when lab/llm has built
 * the tiny LLM, kserve-huggingfaceserver serves it through the ingress's OpenAI route.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { ApiServer } from '../../lab/cloud/apiserver/main.ts';
import { startController, type Controller } from '../../lab/cloud/controller/controller.ts';
import { createHostPathClaim } from '../../lab/cloud/controller/volumes.ts';
import { writeMnistLinear } from '../../lab/cloud/models/make-test-models.ts';
import { KubeClient } from '../../clients/kube.ts';
import { degenerate } from '../../helpers/completion-quality.ts';
import { ISVC as G, startLabApi } from './lab-api.ts';
import { waitFor as waitUntil } from './wait.ts';

const NS = 'default';
const LLM = `${process.env['LAB_SRV'] ?? '/srv/mlops-lab'}/shared/models/tiny-llm`;
const PYTHON = `${process.env['LAB_SRV'] ?? '/srv/mlops-lab'}/shared/venvs/llm/bin/python`;
const noLlm = [`${LLM}/model.safetensors`, PYTHON].filter((p) => !existsSync(p));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tmp = mkdtempSync(join(tmpdir(), 'cloud-gpu-'));
const stateDir = join(tmp, 'cloud');
let api: ApiServer;
let controller: Controller;
let custom: CustomObjectsApi;
let core: CoreV1Api;

type Pod = { metadata: { name: string }; spec: { nodeName?: string }; status: { phase: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] } };

/** The shared wait, at this file's pace: up to 30 s, every 200 ms. */
const waitFor = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000) => waitUntil(what, fn, timeoutMs, 200);
async function pods(name: string): Promise<Pod[]> {
  return JSON.parse(JSON.stringify((await core.listNamespacedPod({ namespace: NS, labelSelector: `serving.kserve.io/inferenceservice=${name}` })).items));
}

async function ready(name: string): Promise<boolean> {
  const o = (await custom.getNamespacedCustomObject({ ...G, namespace: NS, name })) as { status?: { conditions?: { type: string; status: string }[] } };
  return o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function deploy(name: string, model: Record<string, unknown>): Promise<unknown> {
  return custom.createNamespacedCustomObject({
    ...G,
    namespace: NS,
    body: { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name, namespace: NS }, spec: { predictor: { minReplicas: 1, maxReplicas: 1, model } } },
  });
}

const onnx = (gpus: string) => ({
  modelFormat: { name: 'onnx' },
  runtime: 'lab-onnx-python',
  storageUri: `file://${join(tmp, 'mnist')}`,
  resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi', 'nvidia.com/gpu': gpus } },
});

describe('cloud lab GPU stand-in node and scheduling', { timeout: 180_000 }, () => {
  before(async () => {
    ({ api, custom, core } = await startLabApi(stateDir));
    writeMnistLinear(join(tmp, 'mnist'));
    if (!noLlm.length) cpSync(LLM, join(stateDir, 'pvc', 'mlv-models', 'tiny-llm'), { recursive: true });
    // pvc:// resolves to a claim in the InferenceService's own namespace, as in KServe.
    await createHostPathClaim(core, NS, 'mlv-models', join(stateDir, 'pvc', 'mlv-models'));
    controller = await startController({ kubeconfig: api.kubeconfigPath, stateDir, runDir: join(tmp, 'run'), ingressPort: 0, tickMs: 500, log: () => {} });
  });

  after(async () => {
    await controller?.stop();
    await api?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('registers the stand-in GPU node beside lab-cloud-node, labelled as a stand-in', async () => {
    const nodes = (await core.listNode()).items.map((n) => [n.metadata?.name, n.status?.allocatable?.['nvidia.com/gpu'], n.metadata?.labels?.['lab.mlv.io/fake-gpu']]);
    assert.deepEqual(nodes, [
      ['lab-cloud-gpu-node', '4', 'true'],
      ['lab-cloud-node', undefined, undefined],
    ]);
  });

  it('a predictor asking for a GPU runs on the GPU node, and gpuPlacement finds it as a stand-in', async () => {
    await deploy('gpu-one', onnx('1'));
    await waitFor('gpu-one Ready', () => ready('gpu-one'));
    const kube = await KubeClient.create({ kubeconfig: api.kubeconfigPath });
    const placed = await kube.gpuPlacement('gpu-one', NS);
    assert.equal(placed.length, 1);
    assert.deepEqual({ ...placed[0], pod: undefined }, { pod: undefined, gpuLimit: 1, node: 'lab-cloud-gpu-node', nodeGpus: 4, standIn: true });
  });

  it('an over-ask (8 GPUs, the node has 4) stays Pending with the scheduler message and no running process', async () => {
    await deploy('gpu-eight', onnx('8'));
    const pod = await waitFor('an Unschedulable pod', async () => (await pods('gpu-eight')).find((p) => p.status?.conditions?.some((c) => c.reason === 'Unschedulable')));
    assert.equal(pod.status.phase, 'Pending');
    assert.equal(pod.spec.nodeName, undefined);
    const c = pod.status.conditions!.find((x) => x.type === 'PodScheduled')!;
    assert.deepEqual([c.status, c.reason], ['False', 'Unschedulable']);
    assert.match(c.message ?? '', /^0\/2 nodes are available: 2 Insufficient nvidia\.com\/gpu\. /);
    await sleep(3000);
    assert.equal((await pods('gpu-eight')).length, 1, 'one Pending pod stands for the replicas, not one per reconcile');
    assert.equal(await ready('gpu-eight'), false);
  });

  it(
    'kserve-huggingfaceserver serves the tiny LLM under the InferenceService name through the OpenAI route',
    { skip: noLlm.length ? `tiny LLM not built (missing ${noLlm.join(', ')})` : false },
    async () => {
      await deploy('tiny-llm', {
        modelFormat: { name: 'huggingface' },
        storageUri: 'pvc://mlv-models/tiny-llm',
        resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi', 'nvidia.com/gpu': '1' } },
      });
      await waitFor('tiny-llm Ready', () => ready('tiny-llm'), 90_000);
      const ca = readFileSync(join(stateDir, 'ca.crt'));
      const body = JSON.stringify({ model: 'tiny-llm', prompt: 'Write a short story about', max_tokens: 16 });
      const reply = await new Promise<{ status: number; json: { model: string; choices: { text: string }[] } }>((resolve, reject) => {
        const req = https.request(
          { host: '127.0.0.1', port: controller.ingressPort, path: '/openai/v1/completions', method: 'POST', ca, headers: { host: `tiny-llm.${NS}.lab.mlv.io`, 'content-type': 'application/json' } },
          (res) => {
            let t = '';
            res.on('data', (d) => (t += d));
            res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(t) }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.json));
      assert.equal(reply.json.model, 'tiny-llm');
      assert.equal(degenerate(reply.json.choices[0]!.text), null, reply.json.choices[0]!.text);
      const [pod] = await pods('tiny-llm');
      assert.equal(pod?.spec.nodeName, 'lab-cloud-gpu-node');
    },
  );
});
