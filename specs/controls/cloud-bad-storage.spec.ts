/** Control (MLV_CONTROLS=1 only): a storageUri that does not exist must fail before the Ready timeout, naming lastFailureInfo and the storage-initializer's log. */
import { test } from '../../fixtures/index.ts';

test.use({ requires: { sides: ['cloud'], claims: ['kserve'] } });

test('control: an InferenceService with a missing storageUri never becomes Ready', async ({ kserve }) => {
  await kserve.deploy(
    { name: 'bad-storage', model: { format: 'onnx', protocolVersion: 'v2', storageUri: 'pvc://mlv-models/does-not-exist' }, minReplicas: 1, maxReplicas: 1 },
    { readyTimeoutMs: 90_000 },
  );
});
