/**
 * Controls (run only by `npm test`, with MLV_CONTROLS=1): deliberately impossible requests
 * whose outcome the integration tests assert, to show the checks can fail.
 */
import { needs, test } from '../../fixtures/index.ts';

needs({ sides: ['hpc'], gpusPerNode: 9, claims: ['gres-gpu'] }, () => {
  test('control: a test needing 9 GPUs per node on a 4-GPU target is skipped with the reason', async ({ slurm }) => {
    // Never reached on a 4-GPU target: the gate skips it before `slurm` opens a connection.
    await slurm.exists('/');
  });
});

needs({ sides: ['hpc'] }, () => {
  test('control: a job asking SLURM for 9 GPUs on a 4-GPU node fails with the scheduler reason', async ({ slurm }) => {
    // Bypasses the requirement declaration on purpose: what a spec would see if the declared inventory were wrong.
    await slurm.run({ name: 'control-9gpus', nodes: 1, ntasks: 1, cpusPerTask: 1, mem: '100M', gpus: 9, timeLimitSeconds: 60, steps: [{ argv: ['true'], inRuntime: false }] }, { timeoutMs: 60_000 });
  });
});

// A target that declares more GPUs per node than GRES holds fails at the HPC preflight, which
// names each node and its count (tests/integration/hpc-lab.test.ts runs it with MLV_GPUS_PER_NODE=8).
