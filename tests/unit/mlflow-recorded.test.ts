/**
 * The MLflow client and the lab's stand-in, held to a real MLflow server's recorded answers
 * (tests/recorded/mlflow): the client parses every answer and types every error of the
 * recording; the stand-in, driven through the same pass, answers with the same statuses, error
 * codes and body shapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { shapeDiff } from '../../helpers/shape-diff.ts';
import { mlflowScenario } from '../mlflow-scenario.ts';
import { recordingProxy, replayServer, type Exchange } from '../mlflow-recorder.ts';
import { startStandIn } from '../mlflow-standin-process.ts';

const FILE = 'tests/recorded/mlflow/mlflow-3.11.2.dev0.json';
const rec = JSON.parse(readFileSync(FILE, 'utf8')) as { server: { version: string }; suffix: string; errors: string[]; exchanges: Exchange[] };
const EQUAL_AT = new Set(['error_code', 'status', 'bytes', 'lifecycle_stage', 'key', 'version', 'name']);
/** ids and names differ between servers and runs: compare paths with them replaced */
const template = (p: string) =>
  p
    .split('?')[0]!
    .replace(/[0-9a-f]{32}/g, '<run>')
    .replace(/\/artifacts\/\d+\//, '/artifacts/<exp>/');

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

test(`the lab's stand-in answers like MLflow ${rec.server.version}: statuses, error codes, body shapes`, async () => {
  const standIn = await startStandIn();
  const got: Exchange[] = [];
  const proxy = await recordingProxy(standIn.url, got);
  try {
    const errors = await mlflowScenario(proxy.url, rec.suffix);
    assert.deepEqual(errors, rec.errors);
    const diffs = rec.exchanges.flatMap((want, i) => {
      const have = got[i];
      const at = `#${i} ${want.method} ${template(want.path)}`;
      if (!have) return [`${at}: no such request to the stand-in`];
      if (have.method !== want.method || template(have.path) !== template(want.path)) return [`${at}: the stand-in got ${have.method} ${template(have.path)}`];
      const head =
        have.status !== want.status ? [`${at}: HTTP ${have.status}, real ${want.status}`] : have.contentType !== want.contentType ? [`${at}: ${have.contentType}, real ${want.contentType}`] : [];
      return [...head, ...shapeDiff(want.body, have.body, EQUAL_AT).map((d) => `${at} ${d}`)];
    });
    assert.deepEqual(diffs, [], `the stand-in differs from MLflow ${rec.server.version}:\n${diffs.join('\n')}`);
  } finally {
    proxy.close();
    await standIn.stop();
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
