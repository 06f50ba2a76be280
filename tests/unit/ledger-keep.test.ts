/**
 * MLV_KEEP_ON_FAILURE in the ledger: a kept entry is not this run's to remove (not outstanding,
 * so the cleanup leaves it and the ledger check passes), and a later sweep sees it as an orphan
 * only once its expiry has passed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveIfClean, Ledger, markRemoved, orphanLedgers } from '../../fixtures/ledger.ts';
import { durationSeconds, labelTime } from '../../helpers/duration.ts';

const DEAD_PID = 2 ** 22 + 12345; // above pid_max: never a live process

function withDir(body: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'mlv-ledger-keep-'));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a kept entry is neither outstanding nor removed; keptEntries lists it with its expiry', () =>
  withDir((dir) => {
    const l = new Ledger('mlv-a', DEAD_PID, dir);
    l.created('k8s-namespace', 'ns1');
    l.created('k8s-object', 'ns1/inferenceservices/m');
    l.created('remote-dir', '/shared/jobs/mlv-a');
    l.kept('k8s-object', 'ns1/inferenceservices/m', Date.parse('2026-12-02T12:00:00Z'));
    l.kept('k8s-object', 'never-created', Date.parse('2026-12-02T12:00:00Z'));
    assert.deepEqual(
      l.outstanding().map((e) => e.id),
      ['ns1', '/shared/jobs/mlv-a'],
    );
    assert.deepEqual(
      l.keptEntries().map((e) => [e.id, e.keptUntil]),
      [['ns1/inferenceservices/m', '2026-12-02T12:00:00.000Z']],
    );
    assert.deepEqual(l.keptEntries(['remote-dir']), []);
    assert.equal(l.clean(), false);
    l.removed('k8s-object', 'ns1/inferenceservices/m');
    assert.deepEqual(l.keptEntries(), [], 'removed after being kept: gone');
    l.removed('k8s-namespace', 'ns1');
    l.removed('remote-dir', '/shared/jobs/mlv-a');
    assert.equal(l.clean(), true);
  }));

test('orphanLedgers: a kept entry is an orphan only once expired; the ledger is archived only when nothing is kept either', () =>
  withDir((dir) => {
    const l = new Ledger('mlv-b', DEAD_PID, dir);
    const until = Date.parse('2026-12-02T12:00:00Z');
    l.created('k8s-namespace', 'ns2');
    l.created('remote-dir', '/shared/jobs/mlv-b');
    l.removed('remote-dir', '/shared/jobs/mlv-b');
    l.kept('k8s-namespace', 'ns2', until);
    const before = orphanLedgers('mlv-other', dir, until - 1)[0]!;
    assert.deepEqual([before.runId, before.entries, before.kept.map((e) => e.id)], ['mlv-b', [], ['ns2']]);
    archiveIfClean(before.file);
    assert.deepEqual(readdirSync(dir), ['mlv-b.jsonl'], 'not archived while something is kept');
    const atExpiry = orphanLedgers('mlv-other', dir, until)[0]!;
    assert.deepEqual([atExpiry.entries.map((e) => e.id), atExpiry.kept], [['ns2'], []]);
    markRemoved(atExpiry.file, atExpiry.entries[0]!);
    archiveIfClean(atExpiry.file);
    assert.deepEqual(readdirSync(dir), ['mlv-b.done']);
  }));

test('durationSeconds: s, m, h, d; anything else is undefined', () => {
  assert.deepEqual(['90s', '30m', ' 2h', '1d', '2 h'].map(durationSeconds), [90, 1800, 7200, 86400, 7200]);
  for (const bad of ['', '2', 'h', '1.5h', '-1h', '2w', '1234567s', '2h30m', '2H']) assert.equal(durationSeconds(bad), undefined, bad);
});

test('labelTime: an ISO time without : or fractions, as a label value holds it', () => {
  const t = Date.parse('2026-12-02T10:30:05.123Z');
  assert.equal(labelTime(t), '20261202T103005Z');
  assert.match(labelTime(t), /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
});
