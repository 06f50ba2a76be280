/**
 * Controls (run only by `npm test`, with MLV_CONTROLS=1): deliberately impossible requests
 * whose outcome the integration tests assert, to show the checks can fail.
 */
import { test } from '../../fixtures/index.ts';

test('control: a test needing 9 GPUs per node on a 4-GPU target is skipped with the reason', async ({ capabilities }) => {
  capabilities.require({ gpusPerNode: 9, claims: ['gres-gpu'] });
});

test('control: a job asking SLURM for 9 GPUs on a 4-GPU node fails with the scheduler reason', async ({ slurm }) => {
  // Bypasses the capability check on purpose: this is what a spec would see if the declared inventory were wrong.
  await slurm.run({ name: 'control-9gpus', nodes: 1, ntasks: 1, cpusPerTask: 1, mem: '100M', gpus: 9, timeLimitSeconds: 60, steps: [{ argv: ['true'], inRuntime: false }] }, { timeoutMs: 60_000 });
});

test('control: a target that claims more GPUs than GRES shows fails as a broken capability', async ({ capabilities }) => {
  // MLV_GPUS_PER_NODE is overridden to 8 by the integration test; GRES shows 4.
  capabilities.require({ gpusPerNode: 8, claims: ['gres-gpu'] });
});
