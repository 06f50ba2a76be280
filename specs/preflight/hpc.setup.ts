/**
 * HPC preflight: remove what earlier, interrupted runs left behind, then probe the target
 * once and write the capability manifest every HPC test reads. A basic capability every
 * HPC task needs, found broken here, fails before any workload runs.
 */
import { test as setup, expect } from '../../fixtures/index.ts';

setup('probe the HPC target and write the capability manifest', async ({ slurmSweep, hpcProbe }) => {
  const orphansRemoved = await setup.step('remove what earlier, interrupted runs left behind', () => slurmSweep.orphans());
  const manifest = await hpcProbe({ orphansRemoved });
  expect(manifest.problems, `preflight found broken capabilities:\n- ${manifest.problems.join('\n- ')}`).toEqual([]);
});
