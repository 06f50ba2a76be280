import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { command, quote, splitWords } from '../../helpers/shell.ts';

/** Run a command line with a real bash and return its stdout (stderr must be empty, exit 0). */
function bash(script: string): string {
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8' } });
  assert.equal(r.status, 0, `bash failed (${r.status}): ${r.stderr}\nscript: ${script}`);
  assert.equal(r.stderr, '', `bash wrote to stderr for: ${script}`);
  return r.stdout;
}

/** What bash sees as the words of `line` (printed NUL-separated, then split). */
function bashWords(line: string): string[] {
  const out = bash(`set -f; printf '%s\\0' ${line}`);
  if (out === '') return [];
  return out.split('\0').slice(0, -1);
}

const HOSTILE = [
  "it's",
  "'",
  "''",
  '"double" quotes',
  '"',
  '$(touch /tmp/mlv-shell-test-pwned)',
  '`touch /tmp/mlv-shell-test-pwned`',
  '${HOME}',
  '$HOME',
  '$',
  'a; echo injected',
  ';',
  'a | cat',
  'a && b || c',
  '> /tmp/mlv-shell-test-pwned',
  '<',
  'two\nlines',
  '\n',
  'trailing newline\n',
  'tab\there',
  'with spaces',
  ' leading and trailing ',
  '',
  'ünïcödé ✓ 日本語 🚀',
  '-n',
  '-e',
  '--help',
  '-',
  '*',
  '?',
  '[a-z]',
  '~',
  '~root',
  '{a,b}',
  '!',
  '!!',
  '#not a comment',
  'back\\slash',
  '\\',
  '%s %d',
  'mixed \'single\' and "double" and $(cmd) and `cmd`',
  'a=b',
  '\r\x07\x1b[31m',
];

test('quote: every hostile value round-trips through bash unchanged', () => {
  for (const v of HOSTILE) {
    const out = bash(`printf %s ${quote(v)}`);
    assert.equal(out, v, `value ${JSON.stringify(v)} rendered as ${quote(v)}`);
  }
});

test('quote: each hostile value stays exactly one word (bash "$#" is 1)', () => {
  for (const v of HOSTILE) {
    assert.equal(bash(`set -- ${quote(v)}; printf %s "$#"`), '1', `value ${JSON.stringify(v)} rendered as ${quote(v)}`);
  }
});

test('quote: nothing is executed (no file is created by $() or backticks)', async () => {
  const { existsSync, rmSync } = await import('node:fs');
  rmSync('/tmp/mlv-shell-test-pwned', { force: true });
  for (const v of HOSTILE) bash(`printf %s ${quote(v)} >/dev/null`);
  assert.equal(existsSync('/tmp/mlv-shell-test-pwned'), false);
});

test('quote: plain safe words are left unquoted, everything else is single-quoted', () => {
  assert.equal(quote('python3'), 'python3');
  assert.equal(quote('/shared/run-1/out.txt'), '/shared/run-1/out.txt');
  assert.equal(quote('--nproc_per_node=2'), "'--nproc_per_node=2'", 'a word with = is quoted');
  assert.equal(quote('LD_PRELOAD=/x.so'), "'LD_PRELOAD=/x.so'", 'never an assignment');
  assert.equal(quote('%1'), "'%1'", 'a leading % is quoted (job control)');
  assert.equal(quote('50%'), '50%', 'a % inside a word stays bare');
  assert.equal(quote(42), '42');
  assert.equal(quote(0), '0');
  assert.equal(quote(''), "''");
  assert.equal(quote('a b'), "'a b'");
  assert.equal(quote("it's"), "'it'\\''s'");
  assert.equal(quote('$x'), "'$x'");
});

test('quote: numbers round-trip', () => {
  for (const n of [0, 7, -3, 1.5, 1e21]) assert.equal(bash(`printf %s ${quote(n)}`), String(n));
});

test('quote: a NUL byte is rejected', () => {
  assert.throws(() => quote('a\0b'), /NUL/);
  assert.throws(() => quote('\0'), /NUL/);
  assert.throws(() => command(['echo', 'x\0']), /NUL/);
});

test('command: an argv array becomes one command line that bash splits back into the same argv', () => {
  const argv = ['printf', '%s\\0', ...HOSTILE];
  const out = bash(command(argv));
  assert.deepEqual(out.split('\0').slice(0, -1), HOSTILE);
});

test('command: empty argv throws', () => {
  assert.throws(() => command([]), /empty command/);
});

test('splitWords: a typical runtime prefix', () => {
  assert.deepEqual(splitWords('apptainer exec --nv /shared/containers/pytorch.sif'), ['apptainer', 'exec', '--nv', '/shared/containers/pytorch.sif']);
  assert.deepEqual(splitWords('  apptainer\texec   --nv  '), ['apptainer', 'exec', '--nv']);
  assert.deepEqual(splitWords(''), []);
  assert.deepEqual(splitWords('   '), []);
});

test('splitWords: single quotes, double quotes and backslash escapes', () => {
  assert.deepEqual(splitWords(`apptainer exec "/images/a b.sif"`), ['apptainer', 'exec', '/images/a b.sif']);
  assert.deepEqual(splitWords(`apptainer exec '/images/a b.sif'`), ['apptainer', 'exec', '/images/a b.sif']);
  assert.deepEqual(splitWords('apptainer exec /images/a\\ b.sif'), ['apptainer', 'exec', '/images/a b.sif']);
  assert.deepEqual(splitWords(`a"b c"d`), ['ab cd']);
  assert.deepEqual(splitWords(`'' ""`), ['', '']);
  assert.deepEqual(splitWords(`'a;b|c$d\`e\`>f'`), ['a;b|c$d`e`>f']);
  assert.deepEqual(splitWords(`"it's"`), ["it's"]);
  assert.deepEqual(splitWords(`'say "hi"'`), ['say "hi"']);
  assert.deepEqual(splitWords(`"a \\"q\\" \\\\ \\$HOME"`), ['a "q" \\ $HOME']);
  assert.deepEqual(splitWords(`"keep \\n backslash"`), ['keep \\n backslash']);
  assert.deepEqual(splitWords('a\\;b'), ['a;b']);
});

test('splitWords agrees with bash on every input it accepts', () => {
  const inputs = [
    'apptainer exec --nv /shared/containers/pytorch.sif',
    `apptainer exec "/images/a b.sif"`,
    `apptainer exec '/images/a b.sif'`,
    'apptainer exec /images/a\\ b.sif',
    `a"b c"d`,
    `'' ""`,
    `'a;b|c$d\`e\`>f'`,
    `"it's" 'say "hi"'`,
    `"a \\"q\\" \\\\ \\$HOME"`,
    `"keep \\n backslash"`,
    'a\\;b \\$x \\"',
    'env FOO=bar --opt=1,2 x@y%z+',
    '\ttabs\tand  spaces ',
  ];
  for (const input of inputs) assert.deepEqual(splitWords(input), bashWords(input), `input ${JSON.stringify(input)}`);
});

test('splitWords: shell metacharacters outside quotes are rejected', () => {
  const bad = [
    'apptainer exec x.sif; rm -rf /',
    'a|b',
    'a || b',
    'a && b',
    'a & b',
    'echo $HOME',
    'echo ${HOME}',
    'echo $(id)',
    'echo `id`',
    'a > /etc/passwd',
    'a < /etc/passwd',
    'a 2>&1',
    '(subshell)',
    '{ a; }',
    'ls *',
    'ls ?',
    'ls [ab]',
    '!history',
    'a #comment',
    '~/x.sif',
  ];
  for (const input of bad) assert.throws(() => splitWords(input), /not allowed/, `input ${JSON.stringify(input)}`);
});

test('splitWords: $ and backticks are rejected inside double quotes too', () => {
  assert.throws(() => splitWords('"$HOME"'), /not allowed/);
  assert.throws(() => splitWords('"$(id)"'), /not allowed/);
  assert.throws(() => splitWords('"`id`"'), /not allowed/);
  assert.throws(() => splitWords('exec "/images/${IMG}.sif"'), /not allowed/);
});

test('splitWords: unterminated quotes are rejected', () => {
  assert.throws(() => splitWords(`apptainer exec "/images/a b.sif`), /unterminated quote/);
  assert.throws(() => splitWords(`apptainer exec '/images/a b.sif`), /unterminated quote/);
  assert.throws(() => splitWords(`"`), /unterminated quote/);
  assert.throws(() => splitWords(`'it'"s`), /unterminated quote/);
  assert.throws(() => splitWords(`"a \\"`), /unterminated quote/);
});

test('splitWords output re-quoted with quote() reproduces the words in bash', () => {
  const words = splitWords(`apptainer exec --bind '/data/a b:/data' "/images/it's.sif" x\\;y`);
  assert.deepEqual(words, ['apptainer', 'exec', '--bind', '/data/a b:/data', "/images/it's.sif", 'x;y']);
  assert.deepEqual(bashWords(words.map(quote).join(' ')), words);
});
