/**
 * The MLflow client, held to a real MLflow server's recorded answers (tests/recorded/mlflow): it
 * parses every answer and types every error of the recording. The lab's stand-in is held to the
 * same recording in mlflow-standin.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { shapeDiff } from '../../helpers/shape-diff.ts';
import { mlflowScenario } from '../mlflow-scenario.ts';
import { replayServer, type Exchange } from '../mlflow-recorder.ts';

const FILE = 'tests/recorded/mlflow/mlflow-3.11.2.dev0.json';
const rec = JSON.parse(readFileSync(FILE, 'utf8')) as { server: { version: string }; suffix: string; errors: string[]; exchanges: Exchange[] };
const EQUAL_AT = new Set(['error_code', 'status', 'bytes', 'lifecycle_stage', 'key', 'version', 'name']);

test(`the client parses every answer of MLflow ${rec.server.version} and types its errors`, async () => {
  const replay = await replayServer(rec.exchanges);
  try {
    const errors = await mlflowScenario(replay.url, rec.suffix);
    assert.deepEqual(replay.mismatches, []);
    assert.deepEqual(errors, rec.errors);
  } finally {
    replay.close();
  }
});

test('the client fails on an answer that is not MLflow’s (control): a run without run_id', async () => {
  const broken = structuredClone(rec.exchanges);
  const create = broken.find((e) => e.path.endsWith('/runs/create'))!;
  delete (create.body as { run: { info: { run_id?: string } } }).run.info.run_id;
  const replay = await replayServer(broken);
  try {
    await assert.rejects(() => mlflowScenario(replay.url, rec.suffix), /MLflow runs\/create: unexpected response \(run\.info\.run_id: /);
  } finally {
    replay.close();
  }
});

test('shapeDiff reports a missing key, an extra key, null for a string and a wrong error_code; ids may differ (control)', () => {
  const real = { run: { info: { run_id: 'a', end_time: null, tags: [{ key: 'k', value: 'v' }] } }, error_code: 'RESOURCE_DOES_NOT_EXIST' };
  assert.deepEqual(shapeDiff(real, { run: { info: { run_id: 'b', end_time: null, tags: [{ key: 'k', value: 'w' }] } }, error_code: 'RESOURCE_DOES_NOT_EXIST' }, EQUAL_AT), []);
  assert.deepEqual(shapeDiff(real, { run: { info: { end_time: 'x', extra: 1, tags: [] } }, error_code: 'INVALID_PARAMETER_VALUE' }, EQUAL_AT), [
    'body.run.info.run_id: missing (the real server sends string)',
    'body.run.info.end_time: string where the real server sends null',
    'body.run.info.tags: 0 element(s) where the real server sends 1',
    'body.run.info.extra: present (number), the real server does not send it',
    'body.error_code: "INVALID_PARAMETER_VALUE" where the real server sends "RESOURCE_DOES_NOT_EXIST"',
  ]);
});
