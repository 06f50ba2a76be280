import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { lossDecision, parseOumiMetrics, parseTrainerState, parseTrainingLog, parseWorldSize } from '../../helpers/oumi-training.ts';
import { degenerateGenerations, generationsOf, parseInferOutput, parseTaskResult, perplexityOf, TASK_RESULT_PATH, taskMetrics } from '../../helpers/oumi-eval.ts';
import { launcherCopies, parseLaunchStatus, parseLaunchUp, slurmStateWord } from '../../helpers/oumi-launch-output.ts';

/** Real outputs of Oumi d8ed077 (0.9.dev121) on the lab's tiny LM: tests/recorded/oumi/README.md. */
const rec = (f: string) => readFileSync(new URL(`../recorded/oumi/${f}`, import.meta.url), 'utf8');
const ratio = { max: 0.9, unit: '', source: 'test' };

test('trainer_state.json of a real 1.2 run: ten logged steps, the summary entry, loss decreased', () => {
  const s = parseTrainerState(rec('trainer_state-1.2.json'));
  assert.equal(s.globalStep, 10);
  assert.equal(s.loss.length, 10);
  assert.deepEqual(s.loss[0], { step: 1, loss: 5.69701623916626 });
  assert.ok(s.trainRuntimeSeconds! > 0 && s.trainLoss! > 0);
  const d = lossDecision(s.loss, ratio);
  assert.equal(d.pass, true, d.message);
  assert.equal(d.window, 2);
  assert.ok(d.ratio > 0.7 && d.ratio < 0.8, d.message);
  assert.match(d.message, /^loss_ratio = 0\.7\d+, want <= 0\.9 \(test\): ok .*first 2 logged steps 5\.258, of the last 2 3\.88\d \(10 steps\)$/);
});

test('control: a real run whose loss does not decrease (learning rate 1e-12) fails the loss decision', () => {
  const s = parseTrainerState(rec('trainer_state-lr0.json'));
  const d = lossDecision(s.loss, ratio);
  assert.equal(d.pass, false);
  assert.ok(d.ratio > 1, d.message);
  assert.match(d.message, /FAILED/);
  assert.equal(lossDecision(s.loss, ratio, 3).pass, false);
});

test('lossDecision: too few points, non-finite losses, a window larger than half', () => {
  assert.match(lossDecision([{ step: 1, loss: 2 }], ratio).message, /1 logged loss value\(s\): at least 2 are needed/);
  assert.equal(lossDecision([], ratio).pass, false);
  assert.match(
    lossDecision(
      [
        { step: 1, loss: 2 },
        { step: 2, loss: NaN },
      ],
      ratio,
    ).message,
    /not finite/,
  );
  const d = lossDecision(
    [3, 2, 1, 0.5].map((loss, i) => ({ step: i + 1, loss })),
    ratio,
    10,
  );
  assert.equal(d.window, 2);
  assert.equal(d.ratio, 0.75 / 2.5);
});

test('the 2-process run: world size 2 and half the steps per epoch; its loss went down too', () => {
  assert.deepEqual(parseWorldSize(rec('world_size-2.2.json')), { worldSize: 2, localWorldSize: 2 });
  const ddp = parseTrainerState(rec('trainer_state-2.2.json'));
  const single = parseTrainerState(rec('trainer_state-1.2.json'));
  assert.equal(Math.round(ddp.epoch / single.epoch), 2);
  assert.equal(lossDecision(ddp.loss, ratio).pass, true);
});

test("fallbacks: Oumi's metrics_rank0000.jsonl and the trainer's log lines give the same series as trainer_state.json", () => {
  const state = parseTrainerState(rec('trainer_state-1.2.json')).loss;
  assert.deepEqual(parseOumiMetrics(rec('metrics_rank0000-1.2.jsonl')), state);
  const fromLog = parseTrainingLog(rec('train-1.2.log'));
  assert.deepEqual(
    fromLog.map((p) => p.step),
    state.map((p) => p.step),
  );
  for (const [i, p] of fromLog.entries()) assert.ok(Math.abs(p.loss - state[i]!.loss) < 0.001, `step ${p.step}`);
  assert.equal(parseTrainingLog(rec('train-2.2.log')).length, 10);
  assert.equal(parseTrainingLog(rec('launch-job-3.1.log')).length, 10);
});

test('parseTrainingLog: transformers 4.x numbers, lines without step (one per rank), nan', () => {
  const log = "{'loss': 2.5, 'learning_rate': 1e-05, 'epoch': 0.5}\r 50%|{'loss': 2.5, 'epoch': 0.5}\n{'loss': 1.25, 'grad_norm': 3.0, 'epoch': 1.0}\n{'loss': 'nan', 'step': 7}";
  assert.deepEqual(parseTrainingLog(log), [
    { step: 1, loss: 2.5 },
    { step: 2, loss: 2.5 },
    { step: 3, loss: 1.25 },
    { step: 7, loss: NaN },
  ]);
  assert.deepEqual(parseTrainingLog("{'loss': '3.1', 'step': 4}\n{'loss': '9.9', 'step': 4}"), [{ step: 4, loss: 3.1 }]);
  assert.throws(() => parseTrainerState('{"log_history": []}'), /global_step/);
  assert.throws(() => parseTrainerState('not json'), /not JSON/);
});

test('task_result.json of the real evaluation: perplexity, generations with BLEU and ROUGE-L', () => {
  const files = [parseTaskResult(rec('task_result-mlv_perplexity.json')), parseTaskResult(rec('task_result-mlv_generations.json'))];
  assert.match(files[0]!.startTime!, /^\d{8}_\d{6}$/);
  const p = perplexityOf(taskMetrics(files, 'mlv_perplexity'));
  assert.ok(p.perplexity > 1 && Number.isFinite(p.perplexity));
  assert.equal(p.tokens, 421);
  const g = generationsOf(taskMetrics(files, 'mlv_generations'));
  assert.deepEqual(
    g.generations.map((x) => x.prompt),
    ['Write a short story about', 'Explain quantum computing in simple terms', 'Create a haiku about nature'],
  );
  assert.ok(g.bleu! >= 0 && g.bleu! <= 1 && g.rougeL! >= 0 && g.rougeL! <= 1);
  assert.deepEqual(degenerateGenerations(g.generations), []);
  assert.throws(() => taskMetrics(files, 'wikitext'), /no task_result\.json holds task wikitext \(tasks found: mlv_perplexity, mlv_generations\)/);
  assert.throws(() => perplexityOf({ perplexity: null, tokens: 3 }), /no finite perplexity/);
  assert.throws(() => perplexityOf({ perplexity: 0.5, tokens: 3 }), /not a finite number >= 1/);
  assert.throws(() => parseTaskResult('{"start_time": "x"}'), /no results/);
});

test('TASK_RESULT_PATH finds the files Oumi writes below output_dir', () => {
  assert.ok(TASK_RESULT_PATH.test('/o/eval/custom_20261202_135114/task_result.json'));
  assert.ok(TASK_RESULT_PATH.test('custom_20261202_135114_1/task_result.json'));
  assert.ok(TASK_RESULT_PATH.test('/o/lm_harness_20261202_135114/task_result.json'));
  assert.ok(!TASK_RESULT_PATH.test('/o/custom_20261202/task_result.json'));
});

test('oumi infer output and degenerate generations (empty, one token repeated, a loop)', () => {
  const out = parseInferOutput(rec('infer-out.jsonl'));
  assert.equal(out.length, 3);
  assert.equal(out[0]!.prompt, 'Write a short story about');
  assert.ok(out.every((o) => o.response.length > 0 && o.finishReason === 'length'));
  const bad = degenerateGenerations([
    { prompt: 'a', response: '   ' },
    { prompt: 'b', response: 'the the the the the the the the' },
    { prompt: 'c', response: 'go home now go home now go home now go home now' },
    { prompt: 'd', response: 'A little robot worked in a busy cluster room.' },
  ]);
  assert.equal(bad.length, 3);
  assert.match(bad[0]!, /^"a": empty response/);
  assert.match(bad[1]!, /^"b": /);
  assert.throws(() => parseInferOutput('{"messages": [{"role": "user", "content": "x"}]}'), /not the assistant/);
});

test('oumi launch output: the job id and final status of up, the rows of status, sacct states', () => {
  assert.deepEqual(parseLaunchUp(rec('launch-up.log')), { jobId: '3', cluster: 'mlops@127.0.0.1', finalStatus: 'COMPLETED' });
  assert.deepEqual(parseLaunchUp(rec('launch-up-detach.log')), { jobId: '4', cluster: 'mlops@127.0.0.1', finalStatus: undefined });
  assert.deepEqual(launcherCopies(rec('launch-up.log')), ['oumi_launcher/20261202_135402805009'], 'the copy on the cluster, to remove');
  assert.deepEqual(launcherCopies(rec('launch-up-detach.log')), ['oumi_launcher/20261202_135437569839']);
  assert.deepEqual(parseLaunchStatus(rec('launch-status.log')), [
    { cluster: 'mlops@127.0.0.1', id: '1', status: 'COMPLETED' },
    { cluster: 'mlops@127.0.0.1', id: '2', status: 'COMPLETED' },
    { cluster: 'mlops@127.0.0.1', id: '3', status: 'COMPLETED' },
    { cluster: 'mlops@127.0.0.1', id: '4', status: 'CANCELLED' },
  ]);
  assert.deepEqual(parseLaunchStatus(rec('launch-status-running.log')), [{ cluster: 'mlops@127.0.0.1', id: '4', status: 'RUNNING' }]);
  assert.equal(slurmStateWord('CANCELLED by 1001'), 'CANCELLED');
  assert.match(rec('launch-unreachable.log'), /ClusterUnreachableError/);
});
