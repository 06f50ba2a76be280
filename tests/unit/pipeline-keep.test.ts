/**
 * mlv-pipeline's kept deployment in the ledger: kept with no expiry and named, a later preflight's
 * orphan sweep leaves it (however late); once `down` expires it, the sweep takes it as an orphan.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ledger, orphanLedgers } from '../../fixtures/ledger.ts';
import { LASTING } from '../../fixtures/pipeline-keep.ts';

const DEAD_PID = 2 ** 22 + 12345; // above pid_max: never a live process

test('a kept deployment stays through every later sweep, named; expired by down, it is an orphan', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlv-pipeline-keep-'));
  try {
    const l = new Ledger('mlv-k', DEAD_PID, dir);
    for (const id of ['ns1', 'ns1/inferenceservices/mnist-release']) l.created(id.includes('/') ? 'k8s-object' : 'k8s-namespace', id);
    l.created('mlflow-entity', 'registered-model/m');
    l.kept('k8s-namespace', 'ns1', LASTING, 'mnist-release@mlv-k');
    l.kept('k8s-object', 'ns1/inferenceservices/mnist-release', LASTING, 'mnist-release@mlv-k');
    l.kept('mlflow-entity', 'registered-model/m', LASTING, 'mnist-release@mlv-k');
    assert.deepEqual(l.outstanding(), [], 'not this run to remove');
    assert.deepEqual(
      l.keptEntries().map((e) => [e.id, e.deployment]),
      [
        ['ns1', 'mnist-release@mlv-k'],
        ['ns1/inferenceservices/mnist-release', 'mnist-release@mlv-k'],
        ['registered-model/m', 'mnist-release@mlv-k'],
      ],
    );
    const in100Years = Date.now() + 100 * 365 * 86_400_000;
    const [later] = orphanLedgers('mlv-other', dir, in100Years);
    assert.deepEqual(later?.entries, [], 'a later sweep removes nothing of it');
    assert.equal(later?.kept.length, 3);
    // mlv-pipeline down: every entry kept again, expired now
    const down = new Ledger('mlv-k', 0, dir);
    for (const e of down.keptEntries()) down.kept(e.kind, e.id, Date.now() - 1000);
    const [after] = orphanLedgers('mlv-other', dir);
    assert.deepEqual(after?.entries.map((e) => [e.id, e.deployment]).sort(), [
      ['ns1', undefined],
      ['ns1/inferenceservices/mnist-release', undefined],
      ['registered-model/m', undefined],
    ]);
    assert.deepEqual(after?.kept, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
