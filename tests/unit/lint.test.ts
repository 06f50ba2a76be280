/**
 * The linter and formatter that `npm test` runs reject what they are there to reject: a spec
 * that polls, parses, asserts non-null or imports past fixtures/index.ts, and unformatted code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const eslint = (file: string, text: string) => spawnSync('node_modules/.bin/eslint', ['--stdin', '--stdin-filename', file, '-f', 'json'], { input: text, encoding: 'utf8' });

test('a spec that polls, parses JSON, asserts non-null and imports a client fails the linter, naming each rule', () => {
  const bad = [
    "import { test } from '../../fixtures/index.ts';",
    "import { KubeClient } from '../../clients/kube.ts';",
    "test('x', async () => {",
    '  const v = JSON.parse(\'{"a":1}\') as { a?: number };',
    '  while (v.a! < 2) v.a = 2;',
    '  setInterval(() => {}, 1000);',
    '  void KubeClient;',
    '});',
    '',
  ].join('\n');
  const r = eslint('specs/hpc/mlops-9.9-bad.spec.ts', bad);
  assert.notEqual(r.status, 0, 'eslint accepted a bad spec');
  const messages = (JSON.parse(r.stdout) as { messages: { ruleId: string; message: string }[] }[]).flatMap((f) => f.messages);
  const text = messages.map((m) => m.message).join('\n');
  for (const want of [/no while loops/, /no setInterval/, /no JSON\.parse/, /no non-null assertion/, /imports only fixtures\/index\.ts/]) assert.match(text, want);
});

test('a good spec passes the linter', () => {
  const good = "import { test } from '../../fixtures/index.ts';\n\ntest('x', async ({ criteria }) => {\n  await criteria.check('ok', true, 'fine');\n});\n";
  const r = eslint('specs/hpc/mlops-9.9-good.spec.ts', good);
  assert.equal(r.status, 0, r.stdout);
});

test('explicit any and over-long functions fail the linter in suite code', () => {
  const body = Array.from({ length: 90 }, (_, i) => `  x += ${i};`).join('\n');
  const r = eslint('helpers/bad.ts', `export function f(a: any): number {\n  let x = 0;\n${body}\n  return x + a;\n}\n`);
  assert.notEqual(r.status, 0);
  assert.match(r.stdout, /no-explicit-any/);
  assert.match(r.stdout, /max-lines-per-function/);
});

test('unformatted code fails the formatter check', () => {
  const r = spawnSync('node_modules/.bin/prettier', ['--stdin-filepath', 'helpers/x.ts'], { input: 'const a = {b:1,c:"d"}\n', encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "const a = { b: 1, c: 'd' };\n", 'prettier would rewrite it, so --check fails on it');
});
