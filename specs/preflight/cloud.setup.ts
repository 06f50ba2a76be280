/**
 * Cloud preflight: remove what earlier, interrupted runs left behind (namespaces and, with
 * them, their InferenceServices), then probe the Kubernetes/KServe target once and write the
 * cloud manifest every cloud test reads.
 */
import { test as setup } from '../../fixtures/index.ts';

setup.use({ requires: { claims: ['kserve'] } });

setup('probe the Kubernetes/KServe target', async ({ kubeSweep, cloudProbe }) => {
  const orphansRemoved = await setup.step('remove namespaces of earlier, interrupted runs', () => kubeSweep.orphans());
  await cloudProbe({ orphansRemoved });
});
