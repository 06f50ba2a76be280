/**
 * MLOPS-1.2 Single-GPU LLM fine-tuning with Oumi.
 * What runs: `oumi train -c train.yaml` (workloads/oumi/train.yaml: TRL SFT of the target's
 * pre-staged base model, MLV_OUMI_MODEL, on a local chat JSONL) in one SLURM job with one GRES
 * GPU, then `oumi infer` of the saved model in a second job. Where: the target's partition,
 * Oumi as MLV_OUMI under the runtime prefix. Pass: every criterion below, against the references.
 */
import { test } from '../../fixtures/index.ts';

test.use({ requires: { gpusPerNode: 1, claims: ['gres-gpu'], oumi: ['compute'] } });

test('MLOPS-1.2 fine-tunes a causal LM with Oumi on one GRES GPU @gpu @oumi', async ({ oumi, criteria }) => {
  const sft = oumi.sft('mlops-1.2-sft');

  const r = await sft.run();
  await criteria.jobCompleted(r.job, 'oumi train job completed within its time limit');
  await criteria.gresAllocated(r.job, 1);
  await criteria.check(
    'the model is on the shared filesystem: config.json and non-empty safetensors weights, index consistent',
    r.model.problems.length === 0,
    r.model.problems.join('; ') || `${r.modelDir}: ${Object.keys(r.model.files).join(', ')}`,
  );
  await criteria.lossDecreased(r.loss, r.lossFrom);
  await criteria.threshold('job_elapsed_seconds', r.run.accounting.job.elapsedSeconds, 'job_elapsed_seconds', `the trainer's own loop: ${r.trainSeconds ?? '?'} s`);
  await criteria.noErrorLines(r.job, ['oom', 'cuda', 'traceback'], 'no OOM or CUDA errors in the job log');

  const inf = await oumi.infer('mlops-1.2-infer', r.modelDir).run();
  await criteria.jobCompleted(inf.job, 'oumi infer job completed');
  await criteria.check(
    'the model loads and generates: an answer to each of the 3 prompts, none degenerate',
    inf.answers.length === 3 && inf.problems.length === 0,
    inf.problems.join('; ') || inf.answers.map((a) => `${JSON.stringify(a.prompt)} -> ${JSON.stringify(a.response.slice(0, 60))}`).join(' | '),
  );
});
