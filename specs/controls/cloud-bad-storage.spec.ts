/** Control (MLV_CONTROLS=1 only): a storageUri that does not exist must give a Ready timeout naming the condition reason. */
import { test } from '../../fixtures/index.ts';

test.use({ requires: { sides: ['cloud'], claims: ['kserve'] } });

test('control: an InferenceService with a missing storageUri never becomes Ready', async ({ kserve }) => {
  await kserve.deploy(
    { name: 'bad-storage', model: { format: 'onnx', protocolVersion: 'v2', storageUri: 'pvc://mlv-models/does-not-exist' }, minReplicas: 1, maxReplicas: 1 },
    { readyTimeoutMs: 15_000 },
  );
});
