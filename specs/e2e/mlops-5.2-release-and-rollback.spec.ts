/**
 * MLOPS-5.2 Pipeline automation: releases of a served model, on the stage engine of 5.1.
 * What runs: version 1 through 5.1's path (train, track, register, sync, deploy, infer); version 2
 * trained with another seed and registered under the same model; a deliberately broken step (a
 * rollout to a storage URI where nothing is); the rollout to version 2 and the rollback to version 1,
 * each under a closed-loop load. Pass: the broken step fails at its stage, runs nothing after it and
 * leaves version 1 serving under the alias; each rollout serves every request, within the P95
 * budget, moves the alias, and the served model is the version rolled out to.
 */
import { expect, test } from '../../fixtures/index.ts';

test.use({ requires: { gpusPerNode: 1, claims: ['gres-gpu', 'kserve'], services: ['mlflow', 'object-store'] } });

test('MLOPS-5.2 releases a new model version under traffic, survives a broken step and rolls back @gpu', async ({ pipeline, criteria }) => {
  const v1 = pipeline.mnist('mnist-release');
  const s1 = await v1.sync(await v1.register(await v1.track(await v1.train())));
  const svc = await v1.deploy(s1);
  await criteria.servedModel((await v1.infer(svc, s1)).comparison);

  const v2 = pipeline.release(v1, 'v2');
  const s2 = await v2.sync(await v2.register(await v2.track(await v2.train())));
  await criteria.check(
    'version 2 is another model than version 1',
    s2.onnx.compare(s1.onnx) !== 0,
    `v1 sha256 ${s1.registered.tracked.trained.tags['mlv.model.sha256']}, v2 ${s2.registered.tracked.trained.tags['mlv.model.sha256']}`,
  );

  const broken = pipeline.rollout(v1, 'broken-step');
  await expect(broken.promote(svc, pipeline.unreadable(s2)), 'a rollout to a storage URI where nothing is fails').rejects.toThrow(/stage "promote" failed/);
  const failed = broken.stages.failed();
  await criteria.check(
    'the broken step fails at its stage and nothing runs after it',
    failed?.name === 'promote' && broken.stages.records.at(-1)?.status === 'not run',
    `${failed?.name}: ${failed?.error ?? 'no failure'}`,
  );
  await criteria.servedModel((await pipeline.serves(v1, svc, s1)).comparison);

  const up = await v2.promote(svc, s2);
  await criteria.rolledOut('rollout to version 2', up, s2.registered.version.version);
  await criteria.servedModel((await v2.verify(svc, s2)).comparison);

  const back = pipeline.rollout(v1, 'rollback');
  const down = await back.promote(svc, s1);
  await criteria.rolledOut('rollback to version 1', down, s1.registered.version.version);
  await criteria.servedModel((await back.verify(svc, s1)).comparison);
});
