import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALLURE_CATEGORIES } from '../../helpers/allure-categories.ts';
import { flakyResult, RETRIED_LABEL } from '../../helpers/allure-flaky.ts';

test('flakyResult: a result with the retried label is flaky, with the retries as its message; the rest is kept', () => {
  const r = {
    uuid: 'u',
    status: 'passed',
    labels: [
      { name: 'feature', value: 'x' },
      { name: RETRIED_LABEL, value: 'job 7 requeued' },
      { name: RETRIED_LABEL, value: 'SSH dropped' },
    ],
  };
  assert.deepEqual(flakyResult(r), { ...r, statusDetails: { flaky: true, message: 'passed after a retry: job 7 requeued / SSH dropped' } });
  const withMessage = { ...r, statusDetails: { message: 'own', trace: 't' } };
  assert.deepEqual(flakyResult(withMessage)?.statusDetails, { message: 'own', trace: 't', flaky: true });
});

test('flakyResult: a result without the label is left alone', () => {
  assert.equal(flakyResult({ labels: [{ name: 'feature', value: 'x' }] }), undefined);
  assert.equal(flakyResult({}), undefined);
  assert.equal(RETRIED_LABEL, 'mlv_retried');
});

test('the Allure categories have one for flaky passes', () => {
  const c = ALLURE_CATEGORIES.find((x) => 'flaky' in x);
  assert.deepEqual(c, { name: 'Flaky (passed after one retry of a scheduler fault or a dropped SSH connection)', matchedStatuses: ['passed'], flaky: true });
});
