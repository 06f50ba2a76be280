/** Allure outcome categories: infra errors, broken capabilities, not-applicable skips, product failures, passes after a retry. */
import { CAPABILITY_MARKER, INFRA_MARKER } from './errors.ts';

export const ALLURE_CATEGORIES = [
  { name: 'Infrastructure errors (the harness could not reach or drive the target)', messageRegex: `.*${INFRA_MARKER}.*`, matchedStatuses: ['failed', 'broken'] },
  { name: 'Declared capability broken', messageRegex: `.*${CAPABILITY_MARKER}.*`, matchedStatuses: ['failed', 'broken'] },
  { name: 'Not applicable on this target (skipped with reason)', matchedStatuses: ['skipped'] },
  { name: 'Product failures (a PASS criterion failed)', matchedStatuses: ['failed'] },
  { name: 'Flaky (passed after one retry of a scheduler fault or a dropped SSH connection)', matchedStatuses: ['passed'], flaky: true },
];
