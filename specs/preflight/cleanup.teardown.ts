/**
 * Runs after every project that depends on preflight, whatever their outcome: cancels any
 * job that still carries this run's id and removes the run directory on the shared
 * filesystem (set MLV_KEEP_RUN_DIR=1 to keep it for debugging). When the ledger shows
 * nothing was created (e.g. the target was unreachable), it does not connect at all.
 */
import { existsSync } from 'node:fs';
import { test as teardown, expect } from '../../fixtures/index.ts';
import { SshConnection } from '../../clients/ssh.ts';
import { SlurmSession } from '../../clients/slurm.ts';
import { archiveLedger, outstanding } from '../../fixtures/ledger.ts';

teardown('remove everything this run created', async ({ ledger, target, runId }) => {
  const keepDir = process.env.MLV_KEEP_RUN_DIR === '1';
  const before = existsSync(ledger.file) ? outstanding(ledger.file) : [];
  teardown.skip(before.length === 0, 'this run created nothing on the target');

  const conn = await SshConnection.connect(target.ssh);
  const session = new SlurmSession(conn, { runId, partition: target.slurm.partition, runtimePrefix: target.runtimePrefix, sharedRoot: target.sharedRoot });
  try {
    const cancelled = await teardown.step('cancel jobs of this run still in the queue', () => session.cancelRun());
    for (const e of before.filter((x) => x.kind === 'slurm-job')) ledger.removed('slurm-job', e.id);
    if (cancelled.length) console.log(`cleanup: cancelled ${cancelled.join(', ')}`);
    if (!keepDir) {
      await teardown.step(`remove ${session.runDir}`, async () => {
        expect(session.runDir.startsWith(`${target.sharedRoot}/jobs/mlv-`)).toBe(true);
        await conn.run(['rm', '-rf', '--', session.runDir]);
        ledger.removed('remote-dir', session.runDir);
      });
    }
  } finally {
    session.close();
    conn.close();
  }
  const left = outstanding(ledger.file).filter((e) => !(e.kind === 'remote-dir' && keepDir));
  expect(left.map((e) => `${e.kind} ${e.id}`), 'resources recorded in the ledger and not removed').toEqual([]);
  if (!keepDir) archiveLedger(ledger.file);
});
