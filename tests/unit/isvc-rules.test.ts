import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildInferenceService, describeNotReady, getCondition, isReady, IsvcSpecError, parseIsvcStatus, type IsvcSpec } from '../../helpers/isvc.ts';

const GPU = 'nvidia.com/gpu';
const base: IsvcSpec = { name: 'm', model: { format: 'onnx', storageUri: 's3://models/m/1' } };

/** The problems buildInferenceService lists for `over` on top of a valid spec ([] when it builds). */
function problems(over: Partial<IsvcSpec>): string[] {
  try {
    buildInferenceService({ ...base, ...over });
    return [];
  } catch (e) {
    assert.ok(e instanceof IsvcSpecError, String(e));
    assert.equal(e.name, 'IsvcSpecError');
    assert.equal(e.message, `invalid InferenceService spec: ${e.problems.join('; ')}`);
    return e.problems;
  }
}
const ok = (over: Partial<IsvcSpec>) => assert.deepEqual(problems(over), [], JSON.stringify(over));
const bad = (over: Partial<IsvcSpec>, ...expected: string[]) => assert.deepEqual(problems(over), expected, JSON.stringify(over));

test('IsvcSpecError: every problem in one message', () => {
  const p = problems({ name: 'Bad', maxReplicas: 0 });
  assert.equal(p.length, 2);
  assert.match(p[0]!, /^name "Bad" must be a DNS-1123 label starting with a letter/);
});

test('names and namespaces: DNS-1123 labels of at most 63 characters', () => {
  for (const name of ['a', 'a1', 'a-b', 'a'.repeat(63)]) ok({ name });
  for (const name of ['1a', 'a-', '-a', 'A', 'a_b', 'a.b', 'a'.repeat(64)]) assert.equal(problems({ name }).length, 1, name);
  for (const namespace of ['a', '1a', 'a-1', '0', 'a'.repeat(63)]) ok({ namespace });
  for (const namespace of ['a-', 'a_b', 'ab!', 'A', '', 'a'.repeat(64)]) {
    bad({ namespace }, `namespace ${JSON.stringify(namespace)} must be a DNS-1123 label (lowercase a-z, 0-9, '-', at most 63 characters)`);
  }
});

test('storage URIs: the KServe schemes; a bare PyTorch state_dict is refused for TorchServe only', () => {
  const torch =
    'modelFormat pytorch is TorchServe: storageUri must be a directory with config/config.properties and model-store/*.mar; a bare state_dict (.pt/.pth) will not load. Export to ONNX and use format onnx';
  bad({ model: { format: 'pytorch', storageUri: 'pvc://vol/model.PT' } }, torch);
  bad({ model: { format: 'pytorch', storageUri: 's3://b/model.pth' } }, torch);
  ok({ model: { format: 'pytorch', storageUri: 's3://b/model.pth.d/' } });
  ok({ model: { format: 'pytorch', storageUri: 's3://b/torchserve' } });
  ok({ model: { format: 'onnx', storageUri: 's3://b/model.pt' } });
  const p = problems({ model: { format: 'onnx', storageUri: '/shared/models/m.onnx' } });
  assert.deepEqual(p, [
    'storageUri "/shared/models/m.onnx" must use one of s3:// gs:// pvc:// http:// https:// hf:// oci:// hdfs:// webhdfs:// (a path on the HPC filesystem is not reachable from the cluster)',
  ]);
  bad({ model: { format: 'onnx' } }, 'model format onnx needs a storageUri');
  ok({ model: { format: 'huggingface' } });
});

test('a custom container needs an image; its port becomes a TCP containerPort', () => {
  bad({ model: undefined, container: { image: '' } }, 'container.image is required');
  const withPort = buildInferenceService({ name: 'c', container: { image: 'img:1', port: 8080 } });
  assert.deepEqual(withPort.spec.predictor.containers, [{ name: 'kserve-container', image: 'img:1', ports: [{ containerPort: 8080, protocol: 'TCP' }] }]);
  const noPort = buildInferenceService({ name: 'c', container: { image: 'img:1', args: ['--x'] } });
  assert.deepEqual(noPort.spec.predictor.containers, [{ name: 'kserve-container', image: 'img:1', args: ['--x'] }]);
  assert.equal(noPort.spec.predictor.model, undefined);
});

test('replicas and scaling bounds', () => {
  bad({ maxReplicas: 0 }, 'maxReplicas must be >= 1, got 0');
  ok({ maxReplicas: 1 });
  ok({ minReplicas: 0 });
  ok({ minReplicas: 5 });
  ok({ minReplicas: 1, maxReplicas: 1 });
  bad({ minReplicas: 2, maxReplicas: 1 }, 'minReplicas (2) must not exceed maxReplicas (1)');
  bad({ minReplicas: -1 }, 'minReplicas must be an integer >= 0, got -1');
  bad({ maxReplicas: 1.5 }, 'maxReplicas must be an integer >= 0, got 1.5');
  ok({ scaleTarget: 1, scaleMetric: 'cpu' });
  bad({ scaleTarget: 0, scaleMetric: 'cpu' }, 'scaleTarget must be an integer >= 1, got 0');
  bad({ scaleTarget: 2.5, scaleMetric: 'cpu' }, 'scaleTarget must be an integer >= 1, got 2.5');
  bad({ scaleTarget: 5 }, 'scaleTarget needs a scaleMetric');
  for (const scaleMetric of ['concurrency', 'rps'] as const) {
    bad({ deploymentMode: 'RawDeployment', scaleMetric }, `scaleMetric ${scaleMetric} is a Knative KPA metric; RawDeployment (HPA) supports cpu or memory`);
    ok({ deploymentMode: 'Serverless', scaleMetric });
    ok({ scaleMetric });
  }
  ok({ deploymentMode: 'RawDeployment', scaleMetric: 'memory' });
});

test('GPUs: a whole number, the same in requests and limits, given one way', () => {
  ok({ gpus: 1 });
  bad({ gpus: 0 }, 'gpus must be an integer >= 1, got 0');
  bad({ gpus: 1.5 }, 'gpus must be an integer >= 1, got 1.5');
  bad({ resources: { requests: { [GPU]: 1 } } }, `${GPU} must be set in limits (extended resources cannot be requested without a limit)`);
  ok({ resources: { limits: { [GPU]: 1 } } });
  ok({ resources: { requests: { [GPU]: '1' }, limits: { [GPU]: 1 } } });
  bad({ resources: { requests: { [GPU]: 1 }, limits: { [GPU]: 2 } } }, `${GPU} requests (1) must equal limits (2)`);
  bad({ gpus: 1, resources: { limits: { [GPU]: 1 } } }, `give gpus or resources.*.${GPU}, not both`);
  bad({ gpus: 1, resources: { requests: { [GPU]: 1 }, limits: { [GPU]: 1 } } }, `give gpus or resources.*.${GPU}, not both`);
  assert.deepEqual(buildInferenceService({ ...base, gpus: 2, resources: { requests: { cpu: 1 } } }).spec.predictor.model?.resources, { requests: { cpu: '1', [GPU]: '2' }, limits: { [GPU]: '2' } });
});

test('resources: quantities only; a request may not exceed its limit', () => {
  bad({ resources: { requests: { cpu: 'lots' } } }, 'resources.requests.cpu "lots" is not a Kubernetes quantity');
  bad({ resources: { limits: { memory: '1GB!' } } }, 'resources.limits.memory "1GB!" is not a Kubernetes quantity');
  ok({ resources: { requests: { cpu: undefined }, limits: { memory: undefined } } });
  bad({ resources: { requests: { cpu: '2' }, limits: { cpu: '1500m' } } }, 'resources.requests.cpu (2) exceeds limits.cpu (1500m)');
  bad({ resources: { requests: { memory: '1Gi' }, limits: { memory: '512Mi' } } }, 'resources.requests.memory (1Gi) exceeds limits.memory (512Mi)');
  ok({ resources: { requests: { cpu: '1' }, limits: { cpu: '1000m' } } });
  ok({ resources: { requests: { cpu: '4' } } });
  ok({ resources: { limits: { cpu: '1' } } });
  const built = buildInferenceService({ ...base, resources: { requests: { cpu: 1, memory: undefined } } });
  assert.deepEqual(built.spec.predictor.model?.resources, { requests: { cpu: '1' } });
  assert.equal(buildInferenceService({ ...base, resources: { requests: { cpu: undefined } } }).spec.predictor.model?.resources, undefined);
});

test('annotations given are kept beside the deployment mode', () => {
  const isvc = buildInferenceService({ ...base, annotations: { 'a/b': 'c' }, deploymentMode: 'Serverless' });
  assert.deepEqual(isvc.metadata.annotations, { 'a/b': 'c', 'serving.kserve.io/deploymentMode': 'Serverless' });
  assert.deepEqual(buildInferenceService({ ...base, annotations: { x: 'y' } }).metadata.annotations, { x: 'y' });
  assert.equal(buildInferenceService({ ...base, labels: {} }).metadata.labels, undefined);
});

test('parseIsvcStatus: the whole object or its status; malformed parts are named', () => {
  const st = {
    conditions: [
      { type: 'PredictorReady', status: 'False' },
      { type: 'Ready', status: 'True' },
    ],
  };
  assert.equal(isReady(parseIsvcStatus({ kind: 'InferenceService', status: st })), true);
  assert.equal(isReady(parseIsvcStatus(st)), true);
  assert.deepEqual(parseIsvcStatus({ kind: 'InferenceService' }).conditions, []);
  assert.deepEqual(parseIsvcStatus(null).conditions, []);
  assert.deepEqual(parseIsvcStatus(undefined).conditions, []);
  assert.throws(() => parseIsvcStatus('ready'), /^Error: InferenceService status is malformed: \(root\): /);
  assert.throws(() => parseIsvcStatus({ conditions: [{ type: 'Ready', status: 'Maybe' }] }), /^Error: InferenceService status is malformed: conditions\.0\.status: /);
  const malformed = [
    { address: { url: 5 } },
    { url: 5 },
    { modelStatus: { states: { targetModelState: 'Loaded' } } },
    { modelStatus: { copies: { failedCopies: 1.5 } } },
    { modelStatus: { lastFailureInfo: { exitCode: 'x' } } },
    { modelStatus: { transitionStatus: 3 } },
    { components: { predictor: { traffic: [{ percent: 'all' }] } } },
    { components: { predictor: { address: { url: false } } } },
    { components: { predictor: { latestReadyRevision: 1 } } },
    { observedGeneration: 1.5 },
  ];
  for (const m of malformed) assert.throws(() => parseIsvcStatus(m), /status is malformed/, JSON.stringify(m));
  const extra = parseIsvcStatus({ conditions: [], somethingNew: 1, modelStatus: { states: { activeModelState: 'Loaded', more: true } } });
  assert.equal(extra.modelStatus?.states?.activeModelState, 'Loaded');
});

test('getCondition, isReady and describeNotReady', () => {
  const st = parseIsvcStatus({
    conditions: [
      { type: 'IngressReady', status: 'True' },
      { type: 'PredictorReady', status: 'False', reason: 'Failed' },
      { type: 'Ready', status: 'Unknown', message: 'waiting' },
    ],
    modelStatus: { states: { activeModelState: '' }, lastFailureInfo: { message: 'no such file' } },
  });
  assert.equal(getCondition(st, 'PredictorReady')?.reason, 'Failed');
  assert.equal(getCondition(st, 'Ready')?.message, 'waiting');
  assert.equal(getCondition(st, 'Nope'), undefined);
  assert.equal(isReady(st), false);
  assert.equal(isReady(parseIsvcStatus({ conditions: [{ type: 'PredictorReady', status: 'True' }] })), false);
  assert.equal(describeNotReady(st), 'lastFailure: no such file; PredictorReady=False (Failed); Ready=Unknown: waiting; activeModelState=(empty)');
  assert.equal(describeNotReady(parseIsvcStatus({ conditions: [{ type: 'Ready', status: 'True' }] })), 'no conditions reported yet');
  assert.equal(
    describeNotReady(parseIsvcStatus({ modelStatus: { states: { activeModelState: 'Loading' }, lastFailureInfo: { reason: 'OOM', message: 'killed' } } })),
    'lastFailure: OOM: killed; activeModelState=Loading',
  );
});

test('describeNotReady: a model status without states or failure adds nothing', () => {
  assert.equal(describeNotReady(parseIsvcStatus({ modelStatus: { transitionStatus: 'InProgress' } })), 'no conditions reported yet');
});

test('protocolVersion and runtime: rendered into spec.predictor.model; KServe enum and a runtime name only', () => {
  const model = buildInferenceService({ ...base, model: { format: 'onnx', storageUri: 's3://m/1', protocolVersion: 'grpc-v2', runtime: 'kserve-tritonserver' } }).spec.predictor.model;
  assert.deepEqual(model, { modelFormat: { name: 'onnx' }, protocolVersion: 'grpc-v2', runtime: 'kserve-tritonserver', storageUri: 's3://m/1' });
  assert.equal('runtime' in buildInferenceService(base).spec.predictor.model!, false);
  assert.equal('protocolVersion' in buildInferenceService(base).spec.predictor.model!, false);
  for (const protocolVersion of ['v1', 'v2', 'grpc-v1', 'grpc-v2'] as const) ok({ model: { ...base.model!, protocolVersion } });
  for (const runtime of ['kserve-tritonserver', 'a', 'rt.v2', 'x1']) ok({ model: { ...base.model!, runtime } });
  for (const runtime of ['', 'Triton', 'rt_1', '-rt', 'rt.', 'a'.repeat(254)]) {
    bad({ model: { ...base.model!, runtime } }, `runtime ${JSON.stringify(runtime)} must be a ServingRuntime name (a DNS-1123 subdomain: lowercase a-z, 0-9, '-', '.')`);
  }
  const wrong = 'v3' as 'v1';
  bad({ model: { ...base.model!, protocolVersion: wrong } }, 'protocolVersion "v3" must be one of v1, v2, grpc-v1, grpc-v2');
});
