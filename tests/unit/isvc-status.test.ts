// When waiting for Ready is over (readyVerdict), and the "not Ready" line without KServe's noise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCKED_GRACE_MS, describeNotReady, parseIsvcStatus, readyVerdict } from '../../helpers/isvc.ts';

const status = (transitionStatus: string | undefined, extra: Record<string, unknown> = {}, ready = 'False') =>
  parseIsvcStatus({ conditions: [{ type: 'Ready', status: ready }], modelStatus: { ...(transitionStatus ? { transitionStatus } : {}), ...extra } });
const noRuntime = { reason: 'NoSupportingRuntime', message: 'No runtime found to support specified framework/version' };

test('InvalidSpec: failed at once, with lastFailureInfo in the one-line headline', () => {
  const st = status('InvalidSpec', { states: { activeModelState: '', targetModelState: 'FailedToLoad' }, lastFailureInfo: noRuntime });
  assert.deepEqual(readyVerdict(st), {
    state: 'failed',
    headline: 'cannot become Ready: transitionStatus InvalidSpec, lastFailureInfo NoSupportingRuntime: No runtime found to support specified framework/version',
  });
  assert.deepEqual(readyVerdict(status('InvalidSpec')), { state: 'failed', headline: 'cannot become Ready: transitionStatus InvalidSpec, no lastFailureInfo' });
});

test('BlockedByFailedLoad: waiting until it has held for the grace period, then failed with reason, last log line and exit code', () => {
  const message = 'INFO:kserve.storage:Copying contents of s3://models/none to local\nERROR:kserve.storage:x\nRuntimeError: Failed to fetch model. No model found in s3://models/none.\n';
  const st = status('BlockedByFailedLoad', { lastFailureInfo: { reason: 'ModelLoadFailed', message, exitCode: 1 } });
  assert.deepEqual(readyVerdict(st), { state: 'waiting' });
  assert.deepEqual(readyVerdict(st, BLOCKED_GRACE_MS - 1), { state: 'waiting' });
  assert.deepEqual(readyVerdict(st, 0, 0), readyVerdict(st, BLOCKED_GRACE_MS));
  assert.deepEqual(readyVerdict(st, BLOCKED_GRACE_MS), {
    state: 'failed',
    headline:
      'cannot become Ready: transitionStatus BlockedByFailedLoad, lastFailureInfo ModelLoadFailed: [...] RuntimeError: Failed to fetch model. No model found in s3://models/none. (exit code 1)',
  });
  assert.equal(BLOCKED_GRACE_MS, 15_000);
});

test('still worth waiting: InProgress, UpToDate, no model status; Ready wins over a blocked rollout', () => {
  for (const t of ['InProgress', 'UpToDate', '', undefined]) assert.deepEqual(readyVerdict(status(t), 60_000), { state: 'waiting' }, String(t));
  assert.deepEqual(readyVerdict(status('BlockedByFailedLoad', {}, 'True'), 60_000), { state: 'ready' });
  assert.deepEqual(readyVerdict(status('InvalidSpec', {}, 'True')), { state: 'ready' });
});

test("describeNotReady drops Stopped=False (KServe's default) but keeps Stopped=True and other False conditions", () => {
  const conditions = [
    { type: 'IngressReady', status: 'True' },
    { type: 'PredictorReady', status: 'False', reason: 'RevisionMissing' },
    { type: 'Ready', status: 'False', reason: 'RevisionMissing' },
    { type: 'Stopped', status: 'False' },
  ];
  assert.equal(describeNotReady(parseIsvcStatus({ conditions })), 'PredictorReady=False (RevisionMissing); Ready=False (RevisionMissing)');
  const stopped = parseIsvcStatus({ conditions: [{ type: 'Stopped', status: 'True', reason: 'StoppedISVC' }] });
  assert.equal(describeNotReady(stopped), 'Stopped=True (StoppedISVC)');
  assert.equal(describeNotReady(parseIsvcStatus({ conditions: [{ type: 'LatestDeploymentReady', status: 'False' }] })), 'LatestDeploymentReady=False');
});

test('describeNotReady keeps a multi-line failure message to its last line', () => {
  const st = parseIsvcStatus({ modelStatus: { lastFailureInfo: { reason: 'ModelLoadFailed', message: 'downloading\n\nRuntimeError: no model\n' } } });
  assert.equal(describeNotReady(st), 'lastFailure: ModelLoadFailed: [...] RuntimeError: no model');
});
