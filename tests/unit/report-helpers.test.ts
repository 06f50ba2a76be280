import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ALLURE_CATEGORIES } from '../../helpers/allure-categories.ts';
import { CapabilityError, InfraError } from '../../helpers/errors.ts';
import { cloudManifestPath, currentRunId, LEDGER_DIR, manifestPath, newRunId, STATE_DIR } from '../../helpers/run-state.ts';
import { trainingChart } from '../../helpers/training-charts.ts';

/** The category Allure puts a result in: the first whose statuses and (full-match) message regex fit. */
function categoryOf(status: string, message: string, flaky = false): string | undefined {
  return ALLURE_CATEGORIES.find(
    (c) => c.matchedStatuses.includes(status) && (c.messageRegex === undefined || new RegExp(`^(?:${c.messageRegex})$`).test(message)) && (!('flaky' in c) || c.flaky === flaky),
  )?.name;
}

test('Allure categories: infra errors, broken capabilities, skips and product failures land apart', () => {
  const infra = new InfraError('ssh to login refused').message;
  const broken = new CapabilityError('gres-gpu: no GPU visible').message;
  assert.equal(categoryOf('failed', infra), 'Infrastructure errors (the harness could not reach or drive the target)');
  assert.equal(categoryOf('broken', `Error: ${infra} (after 3 tries)`), 'Infrastructure errors (the harness could not reach or drive the target)');
  assert.equal(categoryOf('failed', broken), 'Declared capability broken');
  assert.equal(categoryOf('broken', broken), 'Declared capability broken');
  assert.equal(categoryOf('skipped', 'no GPU nodes'), 'Not applicable on this target (skipped with reason)');
  assert.equal(categoryOf('failed', 'expect(received).toBeGreaterThan(expected): accuracy 0.12'), 'Product failures (a PASS criterion failed)');
  assert.equal(categoryOf('broken', 'TypeError: x is undefined'), undefined, 'a broken test that is not infra is left to Allure’s defaults');
  assert.equal(categoryOf('passed', infra), undefined);
  assert.equal(categoryOf('passed', 'passed after a retry: job 7 requeued', true), 'Flaky (passed after one retry of a scheduler fault or a dropped SSH connection)');
  assert.equal(categoryOf('skipped', infra), 'Not applicable on this target (skipped with reason)');
  assert.equal(ALLURE_CATEGORIES.length, 5);
});

test('run state: paths under reports/.state by default, MLV_STATE_DIR moves them', () => {
  if (process.env.MLV_STATE_DIR === undefined) assert.equal(STATE_DIR, resolve('reports/.state'));
  assert.equal(LEDGER_DIR, resolve(STATE_DIR, 'ledger'));
  assert.equal(manifestPath('mlv-1'), resolve(STATE_DIR, 'manifest-mlv-1.json'));
  assert.equal(cloudManifestPath('mlv-1'), resolve(STATE_DIR, 'cloud-manifest-mlv-1.json'));
  const script = "import('./helpers/run-state.ts').then((m) => console.log(JSON.stringify([m.STATE_DIR, m.LEDGER_DIR, m.manifestPath('r')])))";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', env: { ...process.env, MLV_STATE_DIR: '/tmp/mlv-state-x' } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), ['/tmp/mlv-state-x', '/tmp/mlv-state-x/ledger', '/tmp/mlv-state-x/manifest-r.json']);
});

test('run state: currentRunId reads MLV_RUN_ID and refuses to run without it', () => {
  const saved = process.env.MLV_RUN_ID;
  try {
    process.env.MLV_RUN_ID = 'mlv-20260101000000-abcd';
    assert.equal(currentRunId(), 'mlv-20260101000000-abcd');
    delete process.env.MLV_RUN_ID;
    assert.throws(() => currentRunId(), { message: 'MLV_RUN_ID is not set: run the suite through playwright.config.ts' });
    process.env.MLV_RUN_ID = '';
    assert.throws(() => currentRunId(), /MLV_RUN_ID is not set/);
  } finally {
    if (saved === undefined) delete process.env.MLV_RUN_ID;
    else process.env.MLV_RUN_ID = saved;
  }
});

test('run state: newRunId is mlv-<UTC stamp to the second>-<4 random chars>, sortable and distinct', () => {
  const id = newRunId(new Date('2026-03-04T05:06:07.890Z'));
  assert.match(id, /^mlv-20260304050607-[a-z0-9]{4}$/);
  const ids = Array.from({ length: 8 }, () => newRunId(new Date('2026-03-04T05:06:07Z')));
  assert.ok(new Set(ids).size > 1, 'the random suffix varies');
  assert.ok(newRunId(new Date('2026-12-31T23:59:59Z')) < newRunId(new Date('2027-01-01T00:00:00Z')));
  assert.match(newRunId(), /^mlv-\d{14}-[a-z0-9]{4}$/);
});

test('trainingChart: loss on the left, accuracy on the right, the final test accuracy at the last epoch', () => {
  const svg = trainingChart('MLOPS-1.1 <mnist>', { epochs: [1, 2, 3], loss: [0.9, 0.4, NaN], accuracy: [0.8, 0.9, 0.95], test_accuracy: 0.97 });
  assert.ok(svg.includes('>MLOPS-1.1 &lt;mnist&gt;</text>'));
  assert.ok(svg.includes('>epoch</text>'));
  assert.ok(svg.includes('>training loss</text>'));
  assert.ok(svg.includes('>accuracy</text>'), 'right axis label');
  assert.ok(svg.includes('>loss</text>'));
  assert.ok(svg.includes('>train accuracy (right)</text>'));
  assert.ok(svg.includes('>test accuracy (final) (right)</text>'));
  assert.equal((svg.match(/<path /g) ?? []).length, 3);
  // loss: the NaN epoch is dropped (2 points); train accuracy 3; test accuracy 1.
  assert.equal((svg.match(/<circle /g) ?? []).length, 6);
  const circles = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"[^>]*fill="([^"]+)"/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), color: m[3] }));
  const testPoint = circles.at(-1)!;
  assert.equal(testPoint.x, Math.max(...circles.map((c) => c.x)), 'the test accuracy sits at the last epoch');
  assert.ok(testPoint.y < circles[circles.length - 2]!.y, 'test accuracy 0.97 is drawn above train accuracy 0.95 on the same axis');
  assert.ok(!svg.includes('NaN'));
});

test('trainingChart: without a test accuracy two series; with no epochs the test point sits at epoch 1', () => {
  const svg = trainingChart('t', { epochs: [1, 2], loss: [0.5], accuracy: [0.9, 0.95] });
  assert.equal((svg.match(/<path /g) ?? []).length, 2);
  assert.ok(!svg.includes('test accuracy'));
  assert.equal((svg.match(/<circle /g) ?? []).length, 3, 'a loss missing for epoch 2 is dropped');
  const none = trainingChart('t', { epochs: [], loss: [], accuracy: [], test_accuracy: 0.5 });
  assert.equal((none.match(/<circle /g) ?? []).length, 1);
  assert.ok(none.includes('>1</text>'), 'the x axis is around epoch 1');
});
