/**
 * Runs after every project that depends on the HPC preflight, whatever their outcome:
 * cancels any job that still carries this run's id and removes the run directory on the
 * shared filesystem (MLV_KEEP_RUN_DIR=1 keeps it). When the ledger shows nothing was
 * created on the HPC side (e.g. the target was unreachable), it does not connect at all.
 */
import { test as teardown, expect } from '../../fixtures/index.ts';

teardown.skip(({ ledger }) => ledger.outstanding(['slurm-job', 'remote-dir']).length === 0, 'this run created nothing on the HPC target');

teardown('remove everything this run created on the HPC target', async ({ slurmSweep }) => {
  await slurmSweep.run();
  expect(slurmSweep.left(), 'resources recorded in the ledger and not removed').toEqual([]);
});
