/**
 * MLOPS-2.2 Multi-GPU LLM training with Oumi.
 * What runs: MLOPS-1.2's SFT twice in one test: first with 1 process (the baseline, on this
 * target, in this run), then with 2 through `oumi distributed torchrun -m oumi train` on 2 GRES
 * GPUs of one node. Pass: the criteria below; the speedup is samples per second over the
 * baseline's, and the final loss is compared with the baseline's, both against the references.
 */
import { test } from '../../fixtures/index.ts';

test.use({ requires: { gpusPerNode: 2, claims: ['gres-gpu', 'multi-gpu'], oumi: ['compute'] } });

test('MLOPS-2.2 trains with Oumi on 2 GRES GPUs, faster than on 1, to a comparable loss @multi-gpu @gpu @oumi', async ({ oumi, criteria }) => {
  const baseline = oumi.sft('mlops-2.2-baseline');
  const ddp = oumi.sft('mlops-2.2-ddp', { processes: 2 });

  // One after the other: the two runs must not compete for the node.
  const b = await test.step('1-process baseline (MLOPS-1.2 workload)', () => baseline.run());
  await criteria.jobCompleted(b.job, 'baseline job completed');
  const r = await test.step('2 processes with oumi distributed torchrun', () => ddp.run());
  await criteria.jobCompleted(r.job, '2-process job completed');
  await criteria.gresAllocated(r.job, 2);
  await criteria.check('world size 2 (telemetry/world_size.json)', r.worldSize === 2, `WORLD_SIZE=${r.worldSize ?? 'not written'}`);
  await criteria.check('the model is saved: config.json and safetensors weights', r.model.problems.length === 0, r.model.problems.join('; ') || `${r.modelDir}`);
  await criteria.lossDecreased(r.loss, r.lossFrom);
  await criteria.noErrorLines(r.job, ['nccl', 'gloo', 'oom', 'cuda', 'traceback'], 'no NCCL, gloo, OOM or CUDA errors in the job log');
  const c = oumi.compare(b, r);
  await criteria.threshold('speedup', c.speedup, 'speedup', c.speedupDetail);
  await criteria.threshold('final_loss_ratio_vs_1.2', c.finalLossRatio, 'final_loss_ratio_vs_1.2', c.finalLossDetail);
});
