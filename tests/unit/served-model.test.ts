import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareOutputs, describeComparison } from '../../helpers/served-model.ts';
import { lineageProblems, lineageTags, treeSha256 } from '../../helpers/lineage.ts';
import { s3Credentials } from '../../helpers/kserve-s3.ts';

const rows = [
  [0.1, 2.5, -1],
  [3, 0, 0.5],
];

test('identical outputs compare equal; the largest difference is found and located', () => {
  assert.equal(compareOutputs(rows, rows).maxAbsDiff, 0);
  const served = [
    [0.1, 2.5, -1],
    [3, 0.00002, 0.5],
  ];
  const c = compareOutputs(served, rows);
  assert.ok(Math.abs(c.maxAbsDiff - 0.00002) < 1e-12);
  assert.deepEqual(c.worst, { sample: 1, index: 1, served: 0.00002, registered: 0 });
  assert.equal(c.argmaxAgreement, 1);
  assert.match(describeComparison(c, 1e-4), /max \|served − registered\| = 2\.00e-5 over 2 probe digits/);
});

test('another model (same predictions, other logits) is a large difference; shape problems are named', () => {
  const other = rows.map((r) => r.map((v) => v * 1.1));
  const c = compareOutputs(other, rows);
  assert.ok(c.maxAbsDiff > 0.2);
  assert.equal(c.argmaxAgreement, 1, 'the same top class does not make it the same model');
  assert.deepEqual(compareOutputs([rows[0]!], rows).problems, ['1 served row(s) for 2 probe sample(s)']);
  assert.deepEqual(compareOutputs([[1, 2], rows[1]!], rows).problems, ['sample 0: 2 served value(s), 3 registered']);
  assert.deepEqual(compareOutputs([[NaN, 0, 0], rows[1]!], rows).problems, ['sample 0: a non-finite output']);
  assert.deepEqual(compareOutputs([], []).problems, ['no probe outputs to compare']);
});

test('lineage: every tag must be there with its value', () => {
  const want = lineageTags({ jobId: '12', cluster: 'lab', partition: 'p', nodes: ['node1'], workloadCommit: 'abc', workloadSha256: 'w', datasetSha256: 'd', modelSha256: 'm' });
  const tags = Object.entries(want).map(([key, value]) => ({ key, value }));
  assert.deepEqual(lineageProblems(want, tags), []);
  assert.deepEqual(
    lineageProblems(
      want,
      tags.filter((t) => t.key !== 'mlv.model.sha256'),
    ),
    ['mlv.model.sha256 missing'],
  );
  assert.deepEqual(
    lineageProblems(
      want,
      tags.map((t) => (t.key === 'mlv.slurm.job_id' ? { ...t, value: '13' } : t)),
    ),
    ['mlv.slurm.job_id = "13", expected "12"'],
  );
  assert.equal(lineageProblems(want, undefined).length, Object.keys(want).length);
  assert.match(treeSha256(), /^[0-9a-f]{64}$/);
});

test('KServe s3 credentials: endpoint host and https flag as the annotations want them', () => {
  const store = { endpoint: 'http://127.0.0.1:9000', clusterEndpoint: 'https://minio.models.svc:9443', bucket: 'b', region: 'eu-west-1', prefix: 'p', accessKeyId: 'AK', secretAccessKey: 'SK' };
  const c = s3Credentials(store, 'ns', 'sa', { l: '1' });
  assert.deepEqual(c.secret.metadata.annotations, { 'serving.kserve.io/s3-region': 'eu-west-1', 'serving.kserve.io/s3-endpoint': 'minio.models.svc:9443', 'serving.kserve.io/s3-usehttps': '1' });
  assert.deepEqual(c.secret.stringData, { AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK' });
  assert.deepEqual(c.serviceAccount.secrets, [{ name: 'sa' }]);
  const aws = s3Credentials({ ...store, endpoint: undefined, clusterEndpoint: undefined }, 'ns', 'sa', {});
  assert.deepEqual(aws.secret.metadata.annotations, { 'serving.kserve.io/s3-region': 'eu-west-1' }, 'AWS itself: no endpoint annotation');
});
