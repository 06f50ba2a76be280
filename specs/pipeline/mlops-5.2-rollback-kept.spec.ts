/**
 * MLOPS-5.2's rollback, on the deployment `npx mlv-pipeline run --keep` kept: only
 * `npx mlv-pipeline rollback [--to N]` runs it (the `pipeline` project exists when
 * MLV_PIPELINE_DEPLOYMENT names the deployment's record).
 * What runs: the kept InferenceService rolls out to version N (default: the one that served before)
 * under a closed-loop load, then the served-model check. Where: the cloud side, MLflow, the object store.
 * Pass: as 5.2's rollback: it took, the alias moved only then, the load ran through it with no failed
 * request and within the P95 budget, and the served model is version N's registered artifact.
 */
import { test } from '../../fixtures/index.ts';

test.use({ requires: { sides: ['cloud'], claims: ['kserve'], services: ['mlflow', 'object-store'] } });

test('MLOPS-5.2 rolls the kept deployment back to an earlier version under traffic', async ({ keptDeployment, criteria }) => {
  const kept = await keptDeployment();
  const version = kept.to.registered.version.version;
  const back = kept.rollout('rollback');
  await criteria.rolledOut(`rollback to version ${version}`, await back.promote(kept.svc, kept.to), version);
  await criteria.servedModel((await back.verify(kept.svc, kept.to)).comparison);
});
