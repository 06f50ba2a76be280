/**
 * MLOPS-3.2 Oumi evaluation.
 * What runs: `oumi evaluate -c eval.yaml` in a SLURM job on the model MLOPS-1.2 saved in this run
 * (or, when 1.2 did not run, the same SFT first). Two custom evaluations (workloads/oumi/mlv_eval.py,
 * through OUMI_EXTRA_DEPS_FILE, since Oumi's lm_harness tasks download their data): perplexity on
 * the evaluation text, and answers to the task list's three prompts, scored with BLEU and ROUGE-L
 * against reference answers. Pass: every criterion below, against the references.
 */
import { test } from '../../fixtures/index.ts';

test.use({ requires: { gpusPerNode: 1, claims: ['gres-gpu'], oumi: ['compute'] } });

test('MLOPS-3.2 evaluates the fine-tuned model with oumi evaluate @oumi @gpu', async ({ oumi, criteria }) => {
  const model = await test.step('the model MLOPS-1.2 saved, else the same SFT now', async () => (await oumi.savedModel('mlops-1.2-sft')) ?? (await oumi.sft('mlops-3.2-sft').run()).modelDir);
  const e = await oumi.evaluate('mlops-3.2-eval', model).run();
  await criteria.jobCompleted(e.job, 'oumi evaluate job completed');
  await criteria.check('task_result.json files exist and parse (one per task)', e.resultFiles.length === 2 && e.problems.length === 0, e.problems.join('; ') || e.resultFiles.join(', '));
  await criteria.threshold('perplexity', e.perplexity?.perplexity ?? NaN, 'perplexity', e.perplexity ? `${e.perplexity.tokens} tokens of the evaluation text` : 'not computed');
  const g = e.generations;
  const answers = g?.generations ?? [];
  await criteria.check(
    'the 3 generations are non-empty and not degenerate',
    answers.length === 3 && e.degenerate.length === 0,
    e.degenerate.join('; ') || answers.map((a) => `${JSON.stringify(a.prompt)} -> ${JSON.stringify(a.response.slice(0, 50))}`).join(' | ') || 'none',
  );
  await criteria.check(
    'BLEU and ROUGE-L computed against the reference answers',
    Number.isFinite(g?.bleu) && Number.isFinite(g?.rougeL),
    `BLEU-4 ${g?.bleu ?? 'none'}, ROUGE-L F1 ${g?.rougeL ?? 'none'}`,
  );
});
