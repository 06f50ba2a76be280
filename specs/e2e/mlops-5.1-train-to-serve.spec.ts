/**
 * MLOPS-5.1 End-to-end pipeline (CRITICAL).
 * What runs: the 1.1 MNIST workload on the HPC side, exported to ONNX; an MLflow run with its
 * lineage; a registered model version with the serving alias; the registered artifact synced to
 * the object store as a Triton model repository; an InferenceService from that URI (s3 credentials
 * the KServe way). Where: both sides of the target, its MLflow and its object store.
 * Pass: every stage, within the task list's stage limits; lineage tags on the run and the version;
 * checksums at every hand-over; the served model is the registered one (its outputs on a fixed
 * probe batch equal the artifact's own, computed on the runner); and, where the target names a
 * Prometheus, it counted the requests sent to the deployed model and has its latency quantile
 * within the references (N/A without one).
 */
import { test } from '../../fixtures/index.ts';

test.use({ requires: { gpusPerNode: 1, claims: ['gres-gpu', 'kserve'], services: ['mlflow', 'object-store'] } });

test('MLOPS-5.1 trains on HPC, registers in MLflow, syncs, deploys on KServe and serves the same model @critical @gpu', async ({ pipeline, criteria, mlflow, serving }) => {
  const path = pipeline.mnist('mnist-e2e');
  const trained = await path.train();
  await criteria.jobCompleted(trained.run.job);
  await criteria.gresAllocated(trained.run.job, 1);

  const tracked = await path.track(trained);
  await criteria.lineage('lineage tags on the MLflow run', trained.tags, (await mlflow.client.getRun(tracked.run.run_id)).data?.tags);
  const registered = await path.register(tracked);
  await criteria.check(
    'model version READY and the alias resolves to it',
    registered.aliasVersion === registered.version.version,
    `version ${registered.version.version} ${registered.version.status}; alias → ${registered.aliasVersion}`,
  );
  await criteria.lineage('lineage tags on the model version', trained.tags, registered.version.tags);
  await criteria.threshold('register_seconds', path.stages.seconds('register'));

  const synced = await path.sync(registered);
  await criteria.threshold('sync_seconds', path.stages.seconds('sync'));

  const svc = await path.deploy(synced);
  await criteria.threshold('deploy_seconds', path.stages.seconds('deploy'));
  await criteria.threshold('train_to_ready_seconds', path.stages.between('train', 'deploy'));

  const inferred = await path.infer(svc, synced);
  await criteria.threshold('prediction_accuracy', inferred.accuracy);
  await criteria.servedModel(inferred.comparison);
  await serving.monitoringChecks(svc);
});
