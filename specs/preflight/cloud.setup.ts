/**
 * Cloud preflight: remove what earlier, interrupted runs left behind (namespaces and, with
 * them, their InferenceServices; MLflow entities and object-store prefixes), then probe the Kubernetes/KServe target once and write the
 * cloud manifest every cloud test reads.
 */
import { test as setup } from '../../fixtures/index.ts';

setup.use({ requires: { claims: ['kserve'] } });

setup('probe the Kubernetes/KServe target', async ({ kubeSweep, e2eSweep, cloudProbe }) => {
  const orphansRemoved = await setup.step('remove namespaces of earlier, interrupted runs', () => kubeSweep.orphans());
  orphansRemoved.push(...(await setup.step('remove MLflow entities and object-store prefixes of earlier, interrupted runs', () => e2eSweep.orphans())));
  await cloudProbe({ orphansRemoved });
});
