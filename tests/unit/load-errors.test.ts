import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorBreakdown, podRestarts } from '../../helpers/load-errors.ts';

const none = { byStatus: {}, timeout: 0, connection: 0, invalid: 0, other: 0 };

test('errorBreakdown: each kind with its count, most frequent first; nothing when there were no errors', () => {
  assert.equal(errorBreakdown(none), '');
  assert.equal(errorBreakdown({ ...none, byStatus: { 502: 8, 503: 1 }, connection: 3 }), 'HTTP 502 x 8, connection x 3, HTTP 503 x 1');
  assert.equal(errorBreakdown({ byStatus: {}, timeout: 2, connection: 0, invalid: 5, other: 1 }), 'invalid response x 5, timeout x 2, other x 1');
});

test('podRestarts: containers with restarts, with the last termination; none for a pod that never restarted', () => {
  const pods = [
    {
      metadata: { name: 'mnist-predictor-00001-deployment-a' },
      status: {
        containerStatuses: [
          { name: 'queue-proxy', restartCount: 0 },
          { name: 'kserve-container', restartCount: 2, lastState: { terminated: { exitCode: 137, reason: 'Error', finishedAt: '2026-12-02T04:51:02Z' } } },
        ],
      },
    },
    { metadata: { name: 'mnist-predictor-00001-deployment-b' }, status: { containerStatuses: [{ name: 'kserve-container', restartCount: 1, lastState: {} }] } },
    { metadata: { name: 'pending' }, status: {} },
    {},
  ];
  assert.deepEqual(podRestarts(pods), [
    'pod mnist-predictor-00001-deployment-a container kserve-container restarted 2 time(s) (last: Error, exit 137 at 04:51:02 UTC)',
    'pod mnist-predictor-00001-deployment-b container kserve-container restarted 1 time(s)',
  ]);
  assert.deepEqual(
    podRestarts([{ metadata: { name: 'p' }, status: { containerStatuses: [{ name: 'c', restartCount: 1, lastState: { terminated: { finishedAt: new Date('2026-12-02T01:02:03Z') } } }] } }]),
    ['pod p container c restarted 1 time(s) (last: terminated, exit ? at 01:02:03 UTC)'],
  );
});
