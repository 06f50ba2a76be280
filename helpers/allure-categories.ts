/** Allure outcome categories: infra errors, broken capabilities, not-applicable skips, product failures. */
export const ALLURE_CATEGORIES = [
  { name: 'Infrastructure errors (the harness could not reach or drive the target)', messageRegex: '.*INFRA:.*', matchedStatuses: ['failed', 'broken'] },
  { name: 'Declared capability broken', messageRegex: '.*capability broken.*', matchedStatuses: ['failed', 'broken'] },
  { name: 'Not applicable on this target (skipped with reason)', matchedStatuses: ['skipped'] },
  { name: 'Product failures (a PASS criterion failed)', matchedStatuses: ['failed'] },
];
