import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_ATTEMPTS, retryDecision } from '../../helpers/retry.ts';

const node = (name: string, state: string) => ({ node: name, state, reason: 'none', since: 'Unknown' });

test('retryDecision: the first attempt is retried when the partition has the nodes the job needs', () => {
  const d = retryDecision(1, 'lab', [node('node1', 'idle'), node('node2', 'down*')], 1);
  assert.deepEqual(d, { retry: true, why: 'retrying once: 1 of 2 node(s) of partition lab usable (node1=idle, node2=down*), the job needs 1' });
});

test('retryDecision: a 2-node job with one node down is not retried, and says why', () => {
  const d = retryDecision(1, 'lab', [node('node1', 'mixed'), node('node2', 'down*')], 2);
  assert.equal(d.retry, false);
  assert.equal(d.why, 'Not retried: the job needs 2 node(s), and only 1 of 2 node(s) of partition lab usable (node1=mixed, node2=down*)');
});

test('retryDecision: exactly as many usable nodes as needed is enough; drained, INVAL and unknown nodes do not count', () => {
  assert.equal(retryDecision(1, 'p', [node('a', 'allocated'), node('b', 'idle'), node('c', 'drained'), node('d', 'inval'), node('e', 'unknown*')], 2).retry, true);
  assert.equal(retryDecision(1, 'p', [node('a', 'allocated'), node('c', 'draining'), node('d', 'inval')], 2).retry, false);
});

test('retryDecision: the retry is never retried, whatever the nodes', () => {
  assert.equal(MAX_ATTEMPTS, 2);
  const d = retryDecision(2, 'lab', [node('node1', 'idle'), node('node2', 'idle')], 1);
  assert.deepEqual(d, { retry: false, why: 'Not retried again: this was already the retry (at most 1 retry per job)' });
  assert.equal(retryDecision(3, 'lab', [node('node1', 'idle')], 1).retry, false);
});

test('retryDecision: when sinfo fails there is no retry; an empty partition cannot run anything', () => {
  assert.deepEqual(retryDecision(1, 'gpu', undefined, 1), { retry: false, why: 'Not retried: the nodes of partition gpu could not be listed (sinfo failed)' });
  assert.equal(retryDecision(1, 'gpu', [], 1).why, 'Not retried: the job needs 1 node(s), and only 0 of 0 node(s) of partition gpu usable (none listed)');
});
