/**
 * Allure marks a result flaky through `statusDetails.flaky`, which no runtime API sets. A test
 * that passed only after the SLURM fixture's single retry carries the RETRIED_LABEL (with why);
 * before the report is generated, its result file gets `flaky: true` and the reason as message.
 */
export const RETRIED_LABEL = 'mlv_retried';

interface AllureResult {
  labels?: { name: string; value: string }[];
  statusDetails?: { message?: string; flaky?: boolean };
}

/** The result marked flaky, or undefined when it was not retried. */
export function flakyResult<T extends AllureResult>(result: T): T | undefined {
  const why = (result.labels ?? []).filter((l) => l.name === RETRIED_LABEL).map((l) => l.value);
  if (!why.length) return undefined;
  const message = result.statusDetails?.message || `passed after a retry: ${why.join(' / ')}`;
  return { ...result, statusDetails: { ...result.statusDetails, flaky: true, message } };
}
