/**
 * The matrix and the report say which KServe deployment mode a cloud test validated
 * (the test's `deployment-mode` annotation, helpers/matrix.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMatrix, matrixHtml, matrixMarkdown, testOutcomes, type PwReport } from '../../helpers/matrix.ts';

const FILE = 'specs/cloud/mlops-4.1-cpu-inference.spec.ts';
const report = (annotations: { type: string; description?: string }[]): PwReport => ({
  suites: [{ title: FILE, file: FILE, specs: [{ title: 'serves', file: FILE, tests: [{ projectName: 'cloud', status: 'expected', results: [{ status: 'passed', duration: 1000, annotations }] }] }] }],
});

test('the deployment-mode annotation reaches the test outcome, the matrix row, the markdown and the HTML', () => {
  const tests = testOutcomes(report([{ type: 'deployment-mode', description: 'Serverless (Knative KPA)' }]), () => undefined);
  assert.equal(tests[0]?.deploymentMode, 'Serverless (Knative KPA)');
  const rows = buildMatrix(tests);
  assert.deepEqual(rows.find((r) => r.task === 'MLOPS-4.1')?.modes, ['Serverless (Knative KPA)']);
  const md = matrixMarkdown(rows, {});
  assert.match(md, /\| MLOPS-4\.1 [^|]*\(KServe Serverless \(Knative KPA\)\) \|/);
  assert.match(md, /serves \(1\.0 s\) \[deployment mode: Serverless \(Knative KPA\)\]/);
  assert.match(matrixHtml(rows, {}), /\(KServe Serverless \(Knative KPA\)\)<\/td>/);
});

test('without the annotation nothing is claimed', () => {
  const tests = testOutcomes(report([{ type: 'other', description: 'x' }]), () => undefined);
  assert.equal(tests[0]?.deploymentMode, undefined);
  const rows = buildMatrix(tests);
  assert.deepEqual(rows.find((r) => r.task === 'MLOPS-4.1')?.modes, []);
  assert.doesNotMatch(matrixMarkdown(rows, {}), /KServe .*Knative|deployment mode:/);
});
