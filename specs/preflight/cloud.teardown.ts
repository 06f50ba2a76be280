/**
 * Runs after every project that depends on the cloud preflight, whatever their outcome:
 * deletes the run's namespaces and InferenceServices still recorded (workers delete their
 * own when they end). When the ledger shows nothing left, it does not connect at all.
 */
import { test as teardown, expect } from '../../fixtures/index.ts';

teardown.skip(
  ({ ledger }) => ledger.outstanding(['k8s-namespace', 'k8s-object', 'mlflow-entity', 's3-prefix']).length === 0,
  'this run left nothing on the Kubernetes target, MLflow or the object store',
);

teardown('remove everything this run created on the Kubernetes target, MLflow and the object store', async ({ kubeSweep, e2eSweep }) => {
  await kubeSweep.run();
  await e2eSweep.run();
  expect([...kubeSweep.left(), ...e2eSweep.left()], 'resources recorded in the ledger and not removed').toEqual([]);
});
