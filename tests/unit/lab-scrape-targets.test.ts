/**
 * The lab Prometheus's targets file (lab/cloud/controller/scrape-targets.ts): the labels a
 * cluster's kubernetes_sd + relabeling give a pod, the runtime's metrics address, atomic rewrites.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderTargets, sanitizeLabelName, ScrapeTargetsWriter, type ScrapeReplica } from '../../lab/cloud/controller/scrape-targets.ts';

const replica = (over: Partial<ScrapeReplica>): ScrapeReplica => ({
  namespace: 'mlv-run',
  podName: 'mnist-predictor-00001-abc',
  runtime: 'triton',
  podLabels: { 'serving.kserve.io/inferenceservice': 'mnist', app: 'mnist-predictor-00001' },
  port: 41000,
  metricsPort: 41001,
  ...over,
});

test("a Triton pod is scraped on its metrics port, a KServe Python one on its REST port, with the pod's labels sanitized", () => {
  const groups = renderTargets([replica({ podName: 'b-predictor-1', runtime: 'python', port: 42000, metricsPort: undefined }), replica({})]);
  assert.deepEqual(
    groups.map((g) => `${g.labels.pod}@${g.targets[0]}`),
    ['b-predictor-1@127.0.0.1:42000', 'mnist-predictor-00001-abc@127.0.0.1:41001'],
  );
  const triton = groups.find((g) => g.labels.pod === 'mnist-predictor-00001-abc')!;
  assert.deepEqual(triton.labels, {
    serving_kserve_io_inferenceservice: 'mnist',
    app: 'mnist-predictor-00001',
    namespace: 'mlv-run',
    pod: 'mnist-predictor-00001-abc',
    container: 'kserve-container',
    __metrics_path__: '/metrics',
  });
  assert.equal(sanitizeLabelName('app.kubernetes.io/name'), 'app_kubernetes_io_name');
});

test('a replica with no metrics listener yet, or a runtime that publishes none, is not listed', () => {
  assert.deepEqual(renderTargets([replica({ metricsPort: undefined }), replica({ runtime: 'huggingface' }), replica({ runtime: 'python', port: undefined })]), []);
});

test('the writer rewrites the file only when the targets change', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'scrape-')), 'prometheus', 'targets', 'pods.json');
  const lines: string[] = [];
  const w = new ScrapeTargetsWriter(path, (l) => lines.push(l));
  w.update([replica({})]);
  w.update([replica({})]);
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).length, 1);
  w.update([]);
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), []);
  assert.deepEqual(lines, ['scrape targets: mlv-run/mnist-predictor-00001-abc@127.0.0.1:41001', 'scrape targets: none']);
});
