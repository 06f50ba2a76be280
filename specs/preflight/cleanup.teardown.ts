/**
 * Runs after every project that depends on preflight, whatever their outcome: cancels any
 * job that still carries this run's id and removes the run directory on the shared
 * filesystem (set MLV_KEEP_RUN_DIR=1 to keep it for debugging).
 */
import { test as teardown, expect } from '../../fixtures/index.ts';
import { archiveLedger, outstanding } from '../../fixtures/ledger.ts';

teardown('remove everything this run created', async ({ slurm, ledger, target }) => {
  const cancelled = await teardown.step('cancel jobs of this run still in the queue', () => slurm.session.cancelRun());
  for (const id of cancelled) ledger.removed('slurm-job', id);

  const runDir = slurm.session.runDir;
  if (process.env.MLV_KEEP_RUN_DIR !== '1') {
    await teardown.step(`remove ${runDir}`, async () => {
      expect(runDir.startsWith(`${target.sharedRoot}/jobs/mlv-`)).toBe(true);
      await slurm.session.conn.run(['rm', '-rf', '--', runDir]);
      ledger.removed('remote-dir', runDir);
    });
  }
  const left = outstanding(ledger.file).filter((e) => !(e.kind === 'remote-dir' && process.env.MLV_KEEP_RUN_DIR === '1'));
  expect(left.map((e) => `${e.kind} ${e.id}`), 'resources recorded in the ledger and not removed').toEqual([]);
  archiveLedger(ledger.file);
});
