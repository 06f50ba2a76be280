/**
 * One pass over every call the MLflow client makes, plus the errors it must type, against any
 * MLflow-REST server. scripts/record-mlflow.ts runs it against a real MLflow through a recording
 * proxy; the unit tests replay the recording to the client and run the same pass against the
 * lab's stand-in, comparing each exchange's status and body shape with the real server's.
 */
import { MlflowApiError, MlflowClient } from '../clients/mlflow/client.ts';

export async function mlflowScenario(uri: string, suffix: string): Promise<string[]> {
  const c = new MlflowClient({ uri, insecureTls: false });
  const errors: string[] = [];
  const expectError = async (what: string, call: () => Promise<unknown>) => {
    try {
      await call();
      errors.push(`${what}: no error`);
    } catch (e) {
      errors.push(`${what}: ${e instanceof MlflowApiError ? `${e.status} ${e.errorCode}` : (e as Error).message}`);
    }
  };
  await c.serverVersion();
  const exp = await c.createExperiment(`scenario-${suffix}`, { 'mlv.run_id': suffix });
  await expectError('duplicate experiment', () => c.createExperiment(`scenario-${suffix}`));
  await c.getExperiment(exp);
  await c.findExperiment(`scenario-${suffix}`);
  await c.findExperiment(`missing-${suffix}`);
  await c.searchExperiments(`tags.\`mlv.run_id\` = '${suffix}'`);
  const run = await c.createRun(exp, 'train', { 'mlv.slurm.job_id': '12' });
  await c.logBatch(run.run_id, {
    metrics: [
      { key: 'loss', value: 0.5, step: 1 },
      { key: 'loss', value: 0.25, step: 2 },
    ],
    params: { epochs: '2' },
    tags: { t: 'v' },
  });
  await c.logParam(run.run_id, 'batch_size', '128');
  await expectError('param overwrite', () => c.logParam(run.run_id, 'batch_size', '64'));
  await c.setTag(run.run_id, 'stage', 'done');
  await c.metricHistory(run.run_id, 'loss');
  await c.uploadArtifact(run, 'model/model.onnx', Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256)));
  await c.downloadArtifact(run, 'model/model.onnx');
  await expectError('missing artifact', () => c.downloadArtifact(run, 'model/missing.onnx'));
  await c.listArtifacts(run.run_id, 'model');
  await c.endRun(run.run_id, 'FINISHED');
  await c.getRun(run.run_id);
  await c.searchRuns([exp], "attributes.status = 'FINISHED'");
  await expectError('missing run', () => c.getRun('0123456789abcdef0123456789abcdef'));
  const name = `scenario-model-${suffix}`;
  await c.createRegisteredModel(name, { 'mlv.run_id': suffix });
  await expectError('duplicate registered model', () => c.createRegisteredModel(name));
  await c.getRegisteredModel(name);
  await c.getRegisteredModel(`missing-${suffix}`);
  await c.searchRegisteredModels(`name = '${name}'`);
  const v = await c.createModelVersion(name, `${run.artifact_uri}/model`, run.run_id, { 'mlv.model.sha256': 'abc' });
  await c.waitVersionReady(name, v.version, 30_000);
  await c.setModelVersionTag(name, v.version, 'k', 'v');
  await c.searchModelVersions(`name = '${name}'`);
  await c.downloadUri(v.source ?? '', 'model.onnx');
  await expectError('missing model version', () => c.getModelVersion(name, '99'));
  await c.setAlias(name, 'mlv-serving', v.version);
  await c.versionByAlias(name, 'mlv-serving');
  await c.deleteAlias(name, 'mlv-serving');
  await expectError('deleted alias', () => c.versionByAlias(name, 'mlv-serving'));
  await c.deleteModelVersion(name, v.version);
  await c.deleteRegisteredModel(name);
  await c.deleteRun(run.run_id);
  await c.deleteExperiment(exp);
  return errors;
}
