import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluate, inferenceWorkload, loadReferences, referencesPath, servingFromWorkload, threshold, trainingWorkload } from '../../helpers/references.ts';
import { ConfigError } from '../../helpers/errors.ts';

const root = mkdtempSync(join(tmpdir(), 'mlv-refs-'));
after(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, 'references'));

const task = (workload?: Record<string, unknown>) => ({ workload, thresholds: { t: { min: 1, unit: '' } } });

function configProblems(fn: () => unknown): { problems: string[]; message: string } {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return { problems: e.problems, message: e.message };
  }
  assert.fail('expected a ConfigError');
}

let n = 0;
function write(tasks: Record<string, unknown>, ext = '.yaml'): string {
  const file = join(root, `refs-${n++}${ext}`);
  writeFileSync(file, JSON.stringify({ target: 't', tasks }));
  return file;
}

test('trainingWorkload: defaults for what a task leaves out; epochs and a time limit are required', () => {
  assert.deepEqual(trainingWorkload(task({ epochs: 1, timeLimitSeconds: 60 })), { epochs: 1, trainSamples: 0, testSamples: 0, batchSize: 128, cpusPerTask: 4, mem: '8G', timeLimitSeconds: 60 });
  const { problems, message } = configProblems(() => trainingWorkload(task()));
  assert.deepEqual(
    problems.map((p) => p.split(':')[0]),
    ['workload.epochs', 'workload.timeLimitSeconds'],
  );
  assert.match(message, /^Invalid target configuration in references \(training workload\):/);
  assert.match(configProblems(() => trainingWorkload(task({ epochs: 0, timeLimitSeconds: 60 }))).problems[0]!, /^workload\.epochs: /);
});

test('inferenceWorkload: defaults, and the serving part of the InferenceService it gives', () => {
  const w = inferenceWorkload(task());
  assert.deepEqual(w, {
    minReplicas: 1,
    maxReplicas: 3,
    scaleMetric: 'concurrency',
    requests: { cpu: '1', memory: '2Gi' },
    limits: { cpu: '2', memory: '4Gi' },
    annotations: {},
    readyTimeoutSeconds: 300,
    validationSamples: 200,
    concurrency: 10,
    scaleDownBudgetSeconds: 0,
    model: { format: 'onnx', protocolVersion: 'v2', runtime: 'kserve-tritonserver', runtimeProtocols: ['v2', 'grpc-v2'] },
    prompts: [],
    maxTokens: 32,
  });
  assert.equal(inferenceWorkload(task({ scaleMetric: 'rps' })).scaleMetric, 'rps');
  assert.match(configProblems(() => inferenceWorkload(task({ scaleMetric: 'cpu' }))).message, /references \(inference workload\)/);
  assert.match(configProblems(() => inferenceWorkload(task({ requests: { cpu: '1' } }))).problems[0]!, /^workload\.requests\.memory: /);
  assert.match(configProblems(() => inferenceWorkload(task({ limits: { memory: '1Gi' } }))).problems[0]!, /^workload\.limits\.cpu: /);
  const custom = inferenceWorkload(task({ minReplicas: 0, maxReplicas: 5, scaleTarget: 4, annotations: { 'autoscaling.knative.dev/window': '6s' } }));
  assert.deepEqual(servingFromWorkload(custom), {
    minReplicas: 0,
    maxReplicas: 5,
    scaleMetric: 'concurrency',
    scaleTarget: 4,
    annotations: { 'autoscaling.knative.dev/window': '6s' },
    resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } },
  });
});

test("inferenceWorkload model: ONNX over v2 on kserve-tritonserver unless the target says otherwise; protocols and formats are KServe's", () => {
  // a site serving MNIST through TorchServe over v1, named model, no second runtime
  const ts = inferenceWorkload(task({ model: { format: 'pytorch', protocolVersion: 'v1', runtime: 'kserve-torchserve', runtimeProtocols: ['v1', 'v2'], name: 'mnist' } }));
  assert.deepEqual(ts.model, { format: 'pytorch', protocolVersion: 'v1', runtime: 'kserve-torchserve', runtimeProtocols: ['v1', 'v2'], name: 'mnist' });
  // a model section of its own keeps KServe's defaults: no protocol (v1), no runtime (auto-selected)
  assert.deepEqual(inferenceWorkload(task({ model: {} })).model, { format: 'onnx', runtimeProtocols: [] });
  assert.match(configProblems(() => inferenceWorkload(task({ model: { protocolVersion: 'v3' } }))).problems[0]!, /^workload\.model\.protocolVersion: /);
  assert.match(configProblems(() => inferenceWorkload(task({ model: { format: 'caffe' } }))).problems[0]!, /^workload\.model\.format: /);
  assert.match(configProblems(() => inferenceWorkload(task({ model: { runtimeProtocols: ['http'] } }))).problems[0]!, /^workload\.model\.runtimeProtocols\.0: /);
});

test('threshold: by name, or an error listing the known ones', () => {
  const t = { thresholds: { acc: { min: 0.9, unit: '' }, time: { max: 60, unit: 's' } } };
  assert.deepEqual(threshold(t, 'time'), { max: 60, unit: 's' });
  assert.throws(() => threshold(t, 'loss'), { message: 'no threshold named loss; known: acc, time' });
});

test('loadReferences: each task workload is checked against the schema of its kind', () => {
  const good = loadReferences(write({ 'MLOPS-1.1': task({ epochs: 1, timeLimitSeconds: 9 }), 'MLOPS-3.2': task({ anything: 'goes' }), 'MLOPS-3.1': task({ epochs: 'x' }) }));
  assert.deepEqual(Object.keys(good.tasks), ['MLOPS-1.1', 'MLOPS-3.2', 'MLOPS-3.1']);
  // MLOPS-5.x: the whole path's workload, its training part a training workload
  assert.ok(loadReferences(write({ 'MLOPS-5.1': task({ training: { epochs: 1, timeLimitSeconds: 9 } }) })).tasks['MLOPS-5.1']);
  assert.match(configProblems(() => loadReferences(write({ 'MLOPS-5.1': task({ training: { epochs: 0, timeLimitSeconds: 9 } }) }))).problems[0]!, /^tasks\.MLOPS-5\.1\.workload\.training\.epochs: /);
  const { problems } = configProblems(() => loadReferences(write({ 'MLOPS-2.1': task({ epochs: 1 }), 'MLOPS-4.1': task({ scaleMetric: 'cpu' }), 'XMLOPS-1.1': task({}), 'MLOPS-12.1': task({}) })));
  assert.deepEqual(problems.length, 2, problems.join('\n'));
  assert.match(problems[0]!, /^tasks\.MLOPS-2\.1\.workload\.timeLimitSeconds: /);
  assert.match(problems[1]!, /^tasks\.MLOPS-4\.1\.workload\.scaleMetric: /);
  assert.ok(loadReferences(write({ 'MLOPS-4.2': task({ maxTokens: 8 }) })).tasks['MLOPS-4.2']);
  assert.match(configProblems(() => loadReferences(write({ 'MLOPS-4.2': task({ maxTokens: 0 }) }))).problems[0]!, /^tasks\.MLOPS-4\.2\.workload\.maxTokens: /);
});

test('loadReferences: a schema problem and a workload problem are listed together; odd task shapes do not crash', () => {
  const { problems } = configProblems(() => loadReferences(write({ 'MLOPS-1.1': { workload: { epochs: -1 } } })));
  assert.ok(
    problems.some((p) => p.startsWith('tasks.MLOPS-1.1.thresholds')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.startsWith('tasks.MLOPS-1.1.workload.epochs')),
    problems.join('\n'),
  );
  assert.ok(configProblems(() => loadReferences(write({ 'MLOPS-1.1': null }))).problems.length >= 1);
  assert.ok(configProblems(() => loadReferences(write({ 'MLOPS-1.1': 'text' }))).problems.length >= 1);
  const file = join(root, 'list.json');
  writeFileSync(file, JSON.stringify({ target: 't', tasks: [task({ epochs: 'x' })] }));
  assert.ok(configProblems(() => loadReferences(file)).problems.some((p) => p.startsWith('tasks')));
  const nul = join(root, 'null.yaml');
  writeFileSync(nul, 'null\n');
  assert.ok(configProblems(() => loadReferences(nul)).problems.length >= 1);
});

test('loadReferences: .json is parsed as JSON, anything else as YAML; a missing file names the fix', () => {
  const yaml = join(root, 'x.json.yaml');
  writeFileSync(yaml, 'target: t\ntasks: {}\n');
  assert.equal(loadReferences(yaml).target, 't');
  const json = join(root, 'y.json');
  writeFileSync(json, '{"target": "j", "tasks": {}}');
  assert.equal(loadReferences(json).target, 'j');
  const missing = join(root, 'nope.yaml');
  const { problems, message } = configProblems(() => loadReferences(missing));
  assert.deepEqual(problems, [`MLV_REFERENCES names ${missing}, which does not exist. Fix: use default, lab, or a path to a references file.`]);
  assert.match(message, /^Invalid target configuration in MLV_REFERENCES:/);
});

test('referencesPath: .yaml, then .yml, then .json under references/; a name with a dot is a path', () => {
  writeFileSync(join(root, 'references', 'a.yml'), 'x');
  writeFileSync(join(root, 'references', 'a.json'), 'x');
  writeFileSync(join(root, 'references', 'b.json'), 'x');
  assert.equal(referencesPath('a', root), join(root, 'references', 'a.yml'));
  assert.equal(referencesPath('b', root), join(root, 'references', 'b.json'));
  assert.equal(referencesPath('c', root), join(root, 'references', 'c.yaml'));
  assert.equal(referencesPath('a.yml', root), join(root, 'a.yml'), 'an extension makes it a path');
  assert.equal(referencesPath('sub/a', root), join(root, 'sub/a'));
  assert.equal(referencesPath('/abs/a', root), '/abs/a');
});

test('evaluate: values of 1000 and more show one decimal', () => {
  assert.match(evaluate('x', 1000.25, { min: 1, unit: '' }).message, /^x = 1000\.3, /);
  assert.match(evaluate('x', 999.25, { min: 1, unit: '' }).message, /^x = 999\.3, /);
  assert.match(evaluate('x', -1234.56, { max: 1, unit: '' }).message, /^x = -1234\.6, /);
});

test('loadReferences: only MLOPS-4.x workloads are inference workloads; duplicate JSON keys parse as JSON', () => {
  assert.ok(loadReferences(write({ 'XMLOPS-4.1': task({ scaleMetric: 'cpu' }), 'MLOPS-3.2': task({ maxTokens: 0 }) })).tasks['MLOPS-3.2']);
  const dup = join(root, 'dup.json');
  writeFileSync(dup, '{"target": "a", "target": "b", "tasks": {}}');
  assert.equal(loadReferences(dup).target, 'b');
  writeFileSync(join(root, 'references', 'e'), 'x');
  writeFileSync(join(root, 'references', 'e.yaml'), 'x');
  assert.equal(referencesPath('e', root), join(root, 'references', 'e.yaml'));
});
