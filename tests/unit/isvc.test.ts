import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildInferenceService, describeNotReady, getCondition, isReady, IsvcSpecError, parseIsvcStatus, type IsvcSpec } from '../../helpers/isvc.ts';

const onnxCpu: IsvcSpec = {
  name: 'mnist-onnx',
  namespace: 'mlops-test',
  labels: { 'app.kubernetes.io/part-of': 'mlops-validation' },
  model: { format: 'onnx', formatVersion: '1', storageUri: 's3://models/mnist/1', protocolVersion: 'v2' },
  minReplicas: 1,
  maxReplicas: 3,
  scaleMetric: 'cpu',
  scaleTarget: 50,
  resources: { requests: { cpu: 1, memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } },
  serviceAccountName: 'models-s3',
  deploymentMode: 'RawDeployment',
  autoscalerClass: 'hpa',
};

test('ONNX CPU spec (MLOPS-4.1) builds the exact v1beta1 shape', () => {
  assert.deepEqual(buildInferenceService(onnxCpu), {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: {
      name: 'mnist-onnx',
      namespace: 'mlops-test',
      labels: { 'app.kubernetes.io/part-of': 'mlops-validation' },
      annotations: { 'serving.kserve.io/deploymentMode': 'RawDeployment', 'serving.kserve.io/autoscalerClass': 'hpa' },
    },
    spec: {
      predictor: {
        minReplicas: 1,
        maxReplicas: 3,
        scaleMetric: 'cpu',
        scaleTarget: 50,
        serviceAccountName: 'models-s3',
        model: {
          modelFormat: { name: 'onnx', version: '1' },
          protocolVersion: 'v2',
          storageUri: 's3://models/mnist/1',
          resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } },
        },
      },
    },
  });
});

test('Hugging Face GPU spec (MLOPS-4.2) builds the exact v1beta1 shape', () => {
  const isvc = buildInferenceService({
    name: 'smollm',
    namespace: 'mlops-test',
    model: { format: 'huggingface', args: ['--model_name=smollm', '--model_id=HuggingFaceTB/SmolLM-135M'] },
    minReplicas: 1,
    maxReplicas: 2,
    scaleMetric: 'concurrency',
    scaleTarget: 4,
    gpus: 1,
    resources: { requests: { cpu: '2', memory: '8Gi' }, limits: { cpu: '4', memory: '16Gi' } },
    nodeSelector: { 'nvidia.com/gpu.present': 'true' },
    tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
  });
  assert.deepEqual(isvc, {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name: 'smollm', namespace: 'mlops-test' },
    spec: {
      predictor: {
        minReplicas: 1,
        maxReplicas: 2,
        scaleMetric: 'concurrency',
        scaleTarget: 4,
        nodeSelector: { 'nvidia.com/gpu.present': 'true' },
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
        model: {
          modelFormat: { name: 'huggingface' },
          args: ['--model_name=smollm', '--model_id=HuggingFaceTB/SmolLM-135M'],
          resources: {
            requests: { cpu: '2', memory: '8Gi', 'nvidia.com/gpu': '1' },
            limits: { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' },
          },
        },
      },
    },
  });
});

test('custom container predictor', () => {
  const isvc = buildInferenceService({ name: 'echo', container: { image: 'ghcr.io/x/echo:1', args: ['--port=8080'], port: 8080 } });
  assert.deepEqual(isvc.spec.predictor, {
    containers: [{ name: 'kserve-container', image: 'ghcr.io/x/echo:1', args: ['--port=8080'], ports: [{ containerPort: 8080, protocol: 'TCP' }] }],
  });
});

test('rejects names that are not DNS-1123 labels starting with a letter', () => {
  for (const name of ['Mnist', 'mnist_onnx', '1mnist', '-mnist', 'mnist-', '', 'a'.repeat(64), 'mnist.onnx']) {
    assert.throws(
      () => buildInferenceService({ ...onnxCpu, name }),
      (e: unknown) => {
        assert.ok(e instanceof IsvcSpecError);
        assert.match(e.message, /must be a DNS-1123 label starting with a letter/);
        assert.ok(e.message.includes(JSON.stringify(name)), 'message quotes the bad name');
        return true;
      },
      name,
    );
  }
  assert.throws(() => buildInferenceService({ ...onnxCpu, namespace: 'Prod' }), /namespace "Prod" must be a DNS-1123 label/);
  assert.doesNotThrow(() => buildInferenceService({ ...onnxCpu, name: 'a'.repeat(63) }));
});

test('rejects minReplicas > maxReplicas and other replica mistakes', () => {
  assert.throws(() => buildInferenceService({ ...onnxCpu, minReplicas: 4, maxReplicas: 3 }), /minReplicas \(4\) must not exceed maxReplicas \(3\)/);
  assert.throws(() => buildInferenceService({ ...onnxCpu, minReplicas: -1 }), /minReplicas must be an integer >= 0, got -1/);
  assert.throws(() => buildInferenceService({ ...onnxCpu, maxReplicas: 1.5 }), /maxReplicas must be an integer >= 0, got 1\.5/);
  assert.doesNotThrow(() => buildInferenceService({ ...onnxCpu, minReplicas: 0 }), 'scale to zero is allowed');
});

test('all problems are reported together', () => {
  try {
    buildInferenceService({ ...onnxCpu, name: 'Bad', minReplicas: 5, maxReplicas: 2 });
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof IsvcSpecError);
    assert.equal(e.problems.length, 2);
  }
});

test('autoscaling, storage, TorchServe and resource rules', () => {
  assert.throws(() => buildInferenceService({ ...onnxCpu, deploymentMode: undefined }), /autoscalerClass "hpa" needs deploymentMode "RawDeployment"/);
  assert.throws(() => buildInferenceService({ ...onnxCpu, scaleMetric: 'concurrency' }), /KPA metric; RawDeployment \(HPA\) supports cpu or memory/);
  assert.throws(() => buildInferenceService({ ...onnxCpu, scaleMetric: undefined }), /scaleTarget needs a scaleMetric/);
  assert.throws(
    () => buildInferenceService({ ...onnxCpu, model: { format: 'onnx', storageUri: 'file:///beegfs/models/mnist.onnx' } }),
    /storageUri "file:\/\/\/beegfs\/models\/mnist\.onnx" must use one of s3:\/\//,
  );
  assert.throws(() => buildInferenceService({ ...onnxCpu, model: { format: 'sklearn' } }), /sklearn needs a storageUri/);
  assert.throws(
    () => buildInferenceService({ ...onnxCpu, model: { format: 'pytorch', storageUri: 's3://models/mnist/model.pt' } }),
    /TorchServe: storageUri must be a directory with config\/config\.properties and model-store\/\*\.mar; a bare state_dict/,
  );
  assert.doesNotThrow(() => buildInferenceService({ ...onnxCpu, model: { format: 'pytorch', storageUri: 's3://models/mnist-torchserve' } }));
  assert.throws(() => buildInferenceService({ ...onnxCpu, model: undefined }), /exactly one of `model`/);
  assert.throws(() => buildInferenceService({ ...onnxCpu, resources: { requests: { cpu: '3' }, limits: { cpu: '2' } } }), /requests\.cpu \(3\) exceeds limits\.cpu \(2\)/);
  assert.throws(() => buildInferenceService({ ...onnxCpu, resources: { requests: { memory: '2 GB' } } }), /"2 GB" is not a Kubernetes quantity/);
  assert.throws(() => buildInferenceService({ ...onnxCpu, resources: { requests: { 'nvidia.com/gpu': 1 } } }), /must be set in limits/);
  assert.throws(() => buildInferenceService({ ...onnxCpu, resources: { requests: { 'nvidia.com/gpu': 2 }, limits: { 'nvidia.com/gpu': 1 } } }), /requests \(2\) must equal limits \(1\)/);
});

const readyIsvc = {
  apiVersion: 'serving.kserve.io/v1beta1',
  kind: 'InferenceService',
  metadata: { name: 'mnist-onnx' },
  status: {
    address: { url: 'http://mnist-onnx-predictor.mlops-test.svc.cluster.local' },
    components: {
      predictor: {
        latestCreatedRevision: 'mnist-onnx-predictor-00001',
        latestReadyRevision: 'mnist-onnx-predictor-00001',
        traffic: [{ latestRevision: true, percent: 100, revisionName: 'mnist-onnx-predictor-00001' }],
        url: 'http://mnist-onnx-predictor.mlops-test.example.com',
      },
    },
    conditions: [
      { lastTransitionTime: '2025-01-01T00:00:10Z', status: 'True', type: 'IngressReady' },
      { lastTransitionTime: '2025-01-01T00:00:10Z', severity: 'Info', status: 'True', type: 'PredictorReady' },
      { lastTransitionTime: '2025-01-01T00:00:10Z', status: 'True', type: 'Ready' },
    ],
    modelStatus: { copies: { failedCopies: 0, totalCopies: 1 }, states: { activeModelState: 'Loaded', targetModelState: 'Loaded' }, transitionStatus: 'UpToDate' },
    observedGeneration: 1,
    url: 'http://mnist-onnx.mlops-test.example.com',
  },
};

test('status schema reads a Ready InferenceService', () => {
  const s = parseIsvcStatus(readyIsvc);
  assert.equal(isReady(s), true);
  assert.equal(s.url, 'http://mnist-onnx.mlops-test.example.com');
  assert.equal(s.address?.url, 'http://mnist-onnx-predictor.mlops-test.svc.cluster.local');
  assert.equal(s.modelStatus?.states?.activeModelState, 'Loaded');
  assert.equal(s.modelStatus?.transitionStatus, 'UpToDate');
  assert.equal(s.components?.['predictor']?.latestReadyRevision, 'mnist-onnx-predictor-00001');
  assert.equal(getCondition(s, 'PredictorReady')?.status, 'True');
  assert.deepEqual(parseIsvcStatus(readyIsvc.status), s, 'accepts the status alone');
});

test('status schema: a failed load is explained; missing status is empty; malformed status throws', () => {
  const s = parseIsvcStatus({
    conditions: [
      { type: 'PredictorReady', status: 'False', reason: 'ModelLoadFailed', message: 'failed to load model' },
      { type: 'Ready', status: 'False', reason: 'ModelLoadFailed' },
    ],
    modelStatus: {
      states: { activeModelState: '', targetModelState: 'FailedToLoad' },
      transitionStatus: 'BlockedByFailedLoad',
      lastFailureInfo: { reason: 'ModelLoadFailed', message: 'Unable to load state_dict into TorchServe', exitCode: 1 },
    },
  });
  assert.equal(isReady(s), false);
  assert.equal(
    describeNotReady(s),
    'lastFailure: ModelLoadFailed: Unable to load state_dict into TorchServe; PredictorReady=False (ModelLoadFailed): failed to load model; Ready=False (ModelLoadFailed); activeModelState=(empty)',
  );
  const empty = parseIsvcStatus({ kind: 'InferenceService', metadata: { name: 'x' } });
  assert.deepEqual(empty.conditions, []);
  assert.equal(describeNotReady(empty), 'no conditions reported yet');
  assert.throws(() => parseIsvcStatus({ conditions: [{ type: 'Ready', status: 'yes' }] }), /status is malformed: conditions\.0\.status: /);
});
