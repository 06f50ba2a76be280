import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { badCharacter, fileProblem, keyName, knownKey, readDotenv, show, showPath, suggestKey, unknownKeyProblems } from '../../helpers/config-checks.ts';
import { NON_TARGET_KEYS, RUNNER_VARS, TARGET_KEYS } from '../../helpers/config-schema.ts';
import { AGENT_SOCKET } from './config-agent.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlv-config-checks-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('suggestKey: case variants, a missing MLV_ prefix, near misses and appended text; nothing for a far name', () => {
  const cases: [string, string | undefined][] = [
    ['MLV_GPU_PER_NODE', 'MLV_GPUS_PER_NODE'],
    ['mlv_gpus_per_node', 'MLV_GPUS_PER_NODE'],
    ['Mlv_Ssh_Host', 'MLV_SSH_HOST'],
    ['MLV-SSH-PORT', 'MLV_SSH_PORT'],
    ['SSH_HOST', 'MLV_SSH_HOST'],
    ['MLV_SHARED_ROT', 'MLV_SHARED_ROOT'],
    ['MLV_PYTHONPATH', 'MLV_PYTHON'],
    ['MLV_SSH_HOSTKEY_CHECK', 'MLV_SSH_HOST_KEY_CHECK'],
    ['MLV_KUBE_CONTXT', 'MLV_KUBE_CONTEXT'],
    ['MLV_QUANTUM_FLUX', undefined],
    ['HOME', undefined],
  ];
  for (const [k, want] of cases) assert.equal(suggestKey(k), want, k);
});

test('unknownKeyProblems: one problem per unknown key, with where it was found; known keys pass', () => {
  assert.deepEqual(unknownKeyProblems([...TARGET_KEYS, ...NON_TARGET_KEYS].map((key) => ({ key, where: 'x' }))), []);
  assert.ok([...RUNNER_VARS].every((k) => NON_TARGET_KEYS.has(k) && knownKey(k)));
  assert.deepEqual(unknownKeyProblems([{ key: 'mlv_workers', where: 'in t.env' }]), [
    'mlv_workers (in t.env) is not a known setting: did you mean MLV_WORKERS? Setting names are upper case. Fix: rename or remove it (the settings are listed in .env.example).',
  ]);
  assert.match(
    unknownKeyProblems([{ key: 'MLV_ZZZZZZZZZZ', where: 'in the process environment' }])[0]!,
    /^MLV_ZZZZZZZZZZ \(in the process environment\) is not a known setting: it is not a setting of this suite\. Fix: /,
  );
  assert.match(unknownKeyProblems([{ key: 'MLV_\u001bX', where: 'w' }])[0]!, /^"MLV_\\u001bX" \(w\)/, 'a hostile key is escaped');
});

test('readDotenv: a key on two lines names both lines; a line swallowed by an open quote is named', () => {
  const dup = readDotenv('MLV_SSH_HOST=a\n# MLV_SSH_HOST=comment\nMLV_SSH_HOST_KEY_CHECK=strict\nexport MLV_SSH_HOST_KEY_CHECK=off\nMLV_SSH_HOST_KEY_CHECK: accept-new\n');
  assert.deepEqual(dup.problems, ['MLV_SSH_HOST_KEY_CHECK is set twice, on lines 3, 4 and 5 (dotenv would silently keep line 5). Fix: keep one of them.']);
  assert.equal(dup.vars.MLV_SSH_HOST_KEY_CHECK, 'accept-new');
  const swallowed = readDotenv('MLV_RUNTIME_PREFIX="apptainer exec\nMLV_INFERENCE_TOKEN=secret\n"\nMLV_SSH_HOST=a\n');
  assert.deepEqual(swallowed.problems, [
    'MLV_INFERENCE_TOKEN on line 2 is not read: it is swallowed into an earlier value by a quote that is not closed on its own line. Fix: close the quote on the line where it opens.',
  ]);
  assert.deepEqual(readDotenv('A=1\r\nB="x y"\r\nC=\'q\'\n').problems, [], 'CRLF and quoted values on one line are fine');
});

test('badCharacter: controls, DEL, C1, Unicode spaces and invisible format characters', () => {
  const cases: [string, string | undefined][] = [
    ['plain value, with spaces and ü', undefined],
    ['a\nb', 'a newline'],
    ['a\rb', 'a carriage return'],
    ['a\tb', 'a tab'],
    ['a\0b', 'a NUL byte'],
    ['\u001b[31m', 'an escape (ANSI) character'],
    ['a\u007fb', 'the invisible character U+007F'],
    ['a\u0085b', 'the invisible character U+0085'],
    ['a\u00a0b', 'the invisible character U+00A0'],
    ['a\u2003b', 'the invisible character U+2003'],
    ['a\u200bb', 'the invisible character U+200B'],
    ['a\u202eb', 'the invisible character U+202E'],
    ['\ufeffa', 'the invisible character U+FEFF'],
    ['a\u3000b', 'the invisible character U+3000'],
  ];
  for (const [v, want] of cases) assert.equal(badCharacter(v), want, JSON.stringify(v));
});

test('show: escaped JSON-style, redacted, cut to about 80 characters with the length', () => {
  assert.equal(show('four'), '"four"');
  assert.equal(show('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(show('\u001b[2Jx\r\n'), '"\\u001b[2Jx\\r\\n"');
  assert.equal(show('a\u00a0b\u202e'), '"a\\u00a0b\\u202e"');
  assert.equal(show('https://u:pw@h/?token=t'), '"https://***@h/?token=***"');
  assert.equal(show('has my-known-secret inside', ['my-known-secret']), '"has *** inside"');
  const cut = show('y'.repeat(5000));
  assert.equal(cut, `"${'y'.repeat(77)}..." (5000 characters)`);
  assert.ok(!show(`${'y'.repeat(70)}\u001b\u001b\u001b\u001b`).includes('\\u00..'), 'an escape is never cut in half');
  assert.equal(showPath('/var/lib/x.key'), '/var/lib/x.key');
  assert.equal(showPath('/a b'), '"/a b"');
  assert.equal(keyName('MLV_X'), 'MLV_X');
  assert.equal(keyName('a b'), '"a b"');
});

test('fileProblem: file, directory, socket, missing, and no raw Node error', () => {
  const f = join(dir, 'f');
  writeFileSync(f, 'x');
  assert.equal(fileProblem(f, 'file'), undefined);
  assert.equal(fileProblem(dir, 'file'), 'which is a directory, not a file');
  assert.equal(fileProblem(join(dir, 'none'), 'file'), 'which does not exist or is not readable');
  assert.equal(fileProblem(join(f, 'below-a-file'), 'file'), 'which does not exist or is not readable');
  assert.equal(fileProblem(AGENT_SOCKET, 'socket'), undefined);
  assert.equal(fileProblem(AGENT_SOCKET, 'file'), 'which is not a regular file');
  assert.equal(fileProblem(f, 'socket'), 'which is not a socket');
  assert.equal(fileProblem(dir, 'socket'), 'which is a directory, not a socket');
  assert.match(fileProblem(`${'x'.repeat(5000)}/y`, 'file') ?? '', /^which (does not exist or is not readable|cannot be read \(ENAMETOOLONG\))$/);
});

test('.env.example: every key, set or commented out, is a known setting, none set twice', () => {
  const text = readFileSync('.env.example', 'utf8');
  const { vars, problems } = readDotenv(text);
  assert.deepEqual(problems, []);
  const commented = [...text.matchAll(/^# (MLV_[A-Z0-9_]+)=/gm)].map((m) => m[1]!);
  assert.ok(commented.length > 5 && Object.keys(vars).length > 10);
  assert.deepEqual(unknownKeyProblems([...Object.keys(vars), ...commented].map((key) => ({ key, where: '.env.example' }))), []);
});
