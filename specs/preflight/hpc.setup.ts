/**
 * HPC preflight: remove what earlier, interrupted runs left behind, then probe the target
 * once and write the capability manifest every HPC test reads. A basic capability every
 * HPC task needs, found broken here, fails before any workload runs.
 */
import { test as setup } from '../../fixtures/index.ts';

setup('probe the HPC target and write the capability manifest', async ({ slurmSweep, hpcProbe }) => {
  const orphansRemoved = await setup.step('remove what earlier, interrupted runs left behind', () => slurmSweep.orphans());
  await hpcProbe({ orphansRemoved }); // a broken basic capability fails here, listing each problem
});
