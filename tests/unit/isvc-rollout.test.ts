import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIsvcStatus } from '../../helpers/isvc-status.ts';
import { rolloutVerdict } from '../../helpers/isvc-rollout.ts';

const ready = { type: 'Ready', status: 'True' };
const status = (o: Record<string, unknown>) => parseIsvcStatus(o);
const predictor = (created: string, readyRev: string, traffic: { revisionName: string; percent: number }[]) => ({
  predictor: { latestCreatedRevision: created, latestReadyRevision: readyRev, traffic },
});

test('a rollout is done when generation 2 is observed, its revision is ready and takes all the traffic', () => {
  const done = status({
    observedGeneration: 2,
    conditions: [ready],
    modelStatus: { transitionStatus: 'UpToDate' },
    components: predictor('m-predictor-00002', 'm-predictor-00002', [{ revisionName: 'm-predictor-00002', percent: 100 }]),
  });
  assert.deepEqual(rolloutVerdict(done, 2), { state: 'rolled', revision: 'm-predictor-00002' });
});

test('the old status (Ready on generation 1) is not a finished rollout of generation 2', () => {
  const old = status({ observedGeneration: 1, conditions: [ready], components: predictor('m-predictor-00001', 'm-predictor-00001', [{ revisionName: 'm-predictor-00001', percent: 100 }]) });
  assert.equal(rolloutVerdict(old, 2).state, 'waiting');
  const moving = status({
    observedGeneration: 2,
    conditions: [ready],
    modelStatus: { transitionStatus: 'InProgress' },
    components: predictor('m-predictor-00002', 'm-predictor-00001', [{ revisionName: 'm-predictor-00001', percent: 100 }]),
  });
  const v = rolloutVerdict(moving, 2);
  assert.equal(v.state, 'waiting');
  assert.match((v as { detail: string }).detail, /latest created m-predictor-00002, latest ready m-predictor-00001, traffic m-predictor-00001 100%/);
});

test('a new revision that fails to load is a verdict once BlockedByFailedLoad holds; the old one still serves', () => {
  const blocked = status({
    observedGeneration: 3,
    conditions: [{ type: 'Ready', status: 'False', reason: 'ModelLoadFailed' }],
    modelStatus: {
      transitionStatus: 'BlockedByFailedLoad',
      states: { activeModelState: 'Loaded', targetModelState: 'FailedToLoad' },
      lastFailureInfo: { reason: 'ModelLoadFailed', message: 'no objects under s3://b/missing' },
    },
    components: predictor('m-predictor-00003', 'm-predictor-00002', [{ revisionName: 'm-predictor-00002', percent: 100 }]),
  });
  assert.equal(rolloutVerdict(blocked, 3, 0).state, 'waiting', 'within the grace a restart may still recover');
  const v = rolloutVerdict(blocked, 3, 20_000);
  assert.equal(v.state, 'blocked');
  assert.match((v as { headline: string }).headline, /BlockedByFailedLoad, lastFailureInfo ModelLoadFailed: no objects under s3:\/\/b\/missing/);
});
