// Lint rules for this code base: typescript-eslint's recommended set, plus limits that keep
// files and functions small (tests and the lab's protocol tables may be longer).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.stryker-tmp/', 'reports/out/', 'reports/allure-results/', 'reports/allure-report/', 'test-results/', 'workloads/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly' },
    },
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Playwright fixtures take `{}` as their first parameter when they need no other fixture.
      'no-empty-pattern': 'off',
      '@typescript-eslint/no-empty-object-type': 'off',
    },
  },
  {
    // A spec is a declaration: at most about 60 lines, no loops that poll, no hand parsing, no non-null assertions.
    files: ['specs/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 60, skipBlankLines: false, skipComments: false }],
      'no-restricted-syntax': [
        'error',
        { selector: 'WhileStatement', message: 'no while loops in a spec: use a fixture (e.g. serving.waitReplicasAtMost, built on expect.poll)' },
        { selector: "CallExpression[callee.name='setInterval']", message: 'no setInterval in a spec: use serving.sampleReplicas' },
        { selector: "CallExpression[callee.object.name='JSON'][callee.property.name='parse']", message: 'no JSON.parse in a spec: the fixtures return typed results' },
        { selector: 'TSNonNullExpression', message: 'no non-null assertion in a spec: declare the requirement so the value exists' },
      ],
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\.\\./\\.\\./fixtures/index\\.ts$)', message: 'a spec imports only fixtures/index.ts' }] }],
    },
  },
  {
    // The lab's protocol modules (status tables, routing) are larger than the suite's files.
    files: ['lab/**/*.ts'],
    rules: { 'max-lines': ['error', { max: 500, skipBlankLines: true, skipComments: true }] },
  },
  {
    files: ['tests/**/*.ts'],
    rules: { 'max-lines': ['error', { max: 600, skipBlankLines: true, skipComments: true }], 'max-lines-per-function': 'off' },
  },
);
