/**
 * Fuzz, with a fixed seed: thousands of hostile strings through quote() and the sbatch renderer,
 * run in a real bash (a few invocations in all). Each must round-trip as exactly one word, and
 * nothing may execute: no canary file appears and the canary variable keeps its value.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../../helpers/mnist-samples.ts';
import { MARKERS } from '../../helpers/job-output.ts';
import { renderSbatch, type JobSpec, type RenderContext } from '../../helpers/sbatch.ts';
import { quote } from '../../helpers/shell.ts';

const SEED = 0x5eed1234;
const COUNT = 3000;

const dir = mkdtempSync(join(tmpdir(), 'mlv-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const CANARY_FILE = join(dir, 'canary');

const PAYLOADS = [
  `$(touch ${CANARY_FILE})`,
  `\`touch ${CANARY_FILE}\``,
  `; touch ${CANARY_FILE}`,
  `&& touch ${CANARY_FILE}`,
  `| touch ${CANARY_FILE}`,
  `\ntouch ${CANARY_FILE}\n`,
  `> ${CANARY_FILE}`,
  `$(echo x > ${CANARY_FILE})`,
  '${CANARY:=pwned}',
  '$((CANARY=7))',
  'CANARY=pwned',
  '<(touch canary)',
];
const FRAGMENTS = [
  "'",
  '"',
  '\\',
  '$',
  '`',
  ';',
  '&&',
  '||',
  '|',
  '&',
  '\n',
  '\r',
  '\t',
  ' ',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  '*',
  '?',
  '~',
  '!',
  '#',
  '%',
  '%u',
  '%x',
  '=',
  '-',
  '--',
  '\u00a0',
  '\u2003',
  '\u3000',
  '\u200b',
  '\ufeff',
  '\u0085',
  '\u001b[31m',
  'é',
  '日本',
  '🚀',
  'a',
  'Z9',
  '/tmp',
  '$HOME',
  '${PATH}',
  '$(id)',
  '<<EOF',
  '\\n',
  "'\\''",
  '\x01',
  '\x7f',
];

/** One hostile string: fragments and payloads, now and then very long. */
function hostile(rand: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const parts: string[] = [];
  const n = 1 + Math.floor(rand() * 8);
  for (let i = 0; i < n; i++) parts.push(rand() < 0.25 ? pick(PAYLOADS) : pick(FRAGMENTS));
  let s = parts.join('');
  if (rand() < 0.01) s = s.repeat(Math.ceil(5000 / Math.max(1, s.length)));
  return s;
}

const rand = mulberry32(SEED);
const STRINGS = Array.from({ length: COUNT }, () => hostile(rand));

function bash(script: string, cwd = dir): { stdout: string; stderr: string; status: number | null } {
  const path = join(cwd, `script-${Math.floor(Math.random() * 1e9)}.sh`);
  writeFileSync(path, script);
  const r = spawnSync('bash', ['--norc', '--noprofile', path], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8', CANARY: 'untouched' },
  });
  rmSync(path);
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const canaryTouched = () => existsSync(CANARY_FILE) || readdirSync(dir).some((f) => f.includes('canary'));

test(`quote: ${COUNT} hostile strings (seed ${SEED.toString(16)}) each round-trip as one word and run nothing`, () => {
  assert.ok(STRINGS.some((s) => s.length >= 5000) && STRINGS.some((s) => s.includes('\n')) && STRINGS.some((s) => s.startsWith('%')));
  // Each printf gets one quoted argument: two words would print two NUL-terminated fields.
  const lines = STRINGS.map((s) => `printf '%s\\0' ${quote(s)}`);
  // Words that would assign or run at command position, quoted: bash must look them up as commands.
  const atCommand = STRINGS.filter((s) => /^[A-Za-z_]\w*=/.test(s) || s.startsWith('%')).slice(0, 200);
  const script = ['set -u', ...lines, ...atCommand.map((s) => `${quote(s)} 2>/dev/null || :`), 'printf "CANARY=%s" "$CANARY"'].join('\n');
  const n = bash(`set -n\n${script}`);
  assert.equal(n.status, 0, `bash -n: ${n.stderr.slice(0, 500)}`);
  const r = bash(script);
  assert.equal(r.status, 0, r.stderr.slice(0, 500));
  const fields = r.stdout.split('\0');
  assert.equal(fields.at(-1), 'CANARY=untouched', 'an assignment or expansion changed $CANARY');
  assert.equal(fields.length - 1, STRINGS.length, 'a quoted value split into several words');
  for (let i = 0; i < STRINGS.length; i++) assert.equal(fields[i], STRINGS[i], `string ${i} changed`);
  assert.equal(canaryTouched(), false, 'the canary file exists: something executed');
});

test('quote: a NUL byte is refused, never passed on cut short', () => {
  for (const s of STRINGS.slice(0, 50)) assert.throws(() => quote(`${s}\0${s}`), /NUL/);
});

const ctx: RenderContext = { runId: 'mlv-fuzz', partition: 'lab', jobDir: '/shared/jobs/mlv-fuzz', workDir: dir, runtimePrefix: [] };
const DIRECTIVES = 8; // job-name, comment, partition, output, chdir, time, and the two below

test(`renderSbatch: ${COUNT} hostile argv, env and runtime-prefix words arrive exactly; no directive added; nothing runs`, () => {
  const steps: JobSpec['steps'] = [];
  const env: Record<string, string> = {};
  const expected: string[] = [];
  for (let i = 0; i < STRINGS.length; i += 10) {
    const group = STRINGS.slice(i, i + 10);
    env[`MLV_FUZZ_${i}`] = group[0]!;
    steps.push({ argv: ['printf', '%s\\0', { env: `MLV_FUZZ_${i}` }, ...group.slice(1, 5)], inRuntime: false });
    steps.push({ argv: group.slice(8) }); // after the runtime prefix, which holds group[5..7]
    expected.push(...group.slice(0, 5), ...group.slice(5, 10));
  }
  // The runtime prefix is per context: render one script per group of prefix words.
  const scripts: string[] = [];
  for (let g = 0; g < steps.length / 2; g++) {
    const group = STRINGS.slice(g * 10, g * 10 + 10);
    const spec: JobSpec = { name: `f${g}`, timeLimitSeconds: 60, nodes: 1, ntasks: 1, env: { [`MLV_FUZZ_${g * 10}`]: env[`MLV_FUZZ_${g * 10}`]! }, steps: steps.slice(2 * g, 2 * g + 2) };
    const script = renderSbatch(spec, { ...ctx, runtimePrefix: ['printf', '%s\\0', ...group.slice(5, 8)] });
    const head = script.split('\n').slice(0, script.split('\n').indexOf('set -euo pipefail'));
    assert.equal(head.filter((l) => l.startsWith('#SBATCH')).length, DIRECTIVES, `script ${g} gained or lost a directive`);
    scripts.push(`(\n${script}\n)`);
  }
  const all = scripts.join('\n');
  assert.equal(bash(`set -n\n${all}`).status, 0, 'bash -n');
  const r = bash(`${all}\nprintf "CANARY=%s" "$CANARY"`);
  assert.equal(r.status, 0, r.stderr.slice(0, 500));
  assert.equal(canaryTouched(), false, 'the canary file exists: something executed');
  // Marker lines start after a newline or a value's NUL; the values are NUL-terminated and may hold newlines.
  const markers = new RegExp(`(?<=^|\\n|\\0)(?:${MARKERS.start}|${MARKERS.gpuEnv}|${MARKERS.end}) [^\\n]*\\n`, 'g');
  const fields = r.stdout.replace(markers, '').split('\0');
  assert.equal(fields.pop(), 'CANARY=untouched', 'an assignment or expansion changed $CANARY');
  assert.equal(fields.length, expected.length, 'a value split into several words or vanished');
  for (let i = 0; i < expected.length; i++) assert.equal(fields[i], expected[i], `value ${i}`);
});

test('renderSbatch: hostile strings as names, partitions, accounts, paths, GPU types and extra directives are refused or render only safe characters', () => {
  const safe = /^#SBATCH --[a-z-]+(=[A-Za-z0-9_.:=,/+@-]+)?(\/%x-%j\.out)?$/;
  let refused = 0;
  for (const s of STRINGS.slice(0, 1000)) {
    const variants: [Partial<JobSpec>, Partial<RenderContext>][] = [
      [{ name: s }, {}],
      [{}, { partition: s }],
      [{}, { account: s }],
      [{}, { jobDir: s }],
      [{}, { workDir: s }],
      [{ gpus: 1, gpuType: s }, {}],
      [{ extraDirectives: [s] }, {}],
      [{ env: { [s]: 'v' } }, {}],
    ];
    for (const [over, c] of variants) {
      let script: string;
      try {
        script = renderSbatch({ name: 'x', timeLimitSeconds: 60, steps: [{ argv: ['true'] }], ...over }, { ...ctx, ...c });
      } catch {
        refused++;
        continue;
      }
      const head = script.split('\n').slice(1, script.split('\n').indexOf('set -euo pipefail'));
      for (const l of head) assert.match(l, safe, `unsafe directive from ${JSON.stringify(s)}`);
    }
  }
  assert.ok(refused > 7000, `only ${refused} refused`);
});
