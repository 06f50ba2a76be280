import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate, loadReferences, referencesPath, taskReferences, threshold, ThresholdSchema } from '../../helpers/references.ts';
import { ConfigError } from '../../helpers/errors.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mlv-refs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a ConfigError, got none');
}

test('evaluate min: boundary passes, below fails', () => {
  const t = { min: 0.95, unit: '', source: 'plan: above 95%' };
  assert.equal(evaluate('test_accuracy', 0.95, t).pass, true);
  assert.equal(evaluate('test_accuracy', 0.962, t).pass, true);
  assert.equal(evaluate('test_accuracy', 1, t).pass, true);
  assert.equal(evaluate('test_accuracy', 0.9499, t).pass, false);
  assert.equal(evaluate('test_accuracy', 0, t).pass, false);
  assert.equal(evaluate('test_accuracy', -1, t).pass, false);
});

test('evaluate max: boundary passes, above fails', () => {
  const t = { max: 180, unit: 's' };
  assert.equal(evaluate('training_time_seconds', 180, t).pass, true);
  assert.equal(evaluate('training_time_seconds', 0, t).pass, true);
  assert.equal(evaluate('training_time_seconds', 180.001, t).pass, false);
  assert.equal(evaluate('training_time_seconds', 1e9, t).pass, false);
});

test('evaluate band: both ends inclusive', () => {
  const t = { min: 1.7, max: 1.9, unit: 'x' };
  for (const v of [1.7, 1.8, 1.9]) assert.equal(evaluate('speedup', v, t).pass, true, String(v));
  for (const v of [1.69, 1.91, 0, 100]) assert.equal(evaluate('speedup', v, t).pass, false, String(v));
  assert.equal(evaluate('x', 5, { min: 5, max: 5, unit: '' }).pass, true);
});

test('evaluate: NaN and infinities never pass', () => {
  for (const t of [
    { min: 0, unit: '' },
    { max: 100, unit: '' },
    { min: 0, max: 100, unit: '' },
    { min: -Infinity, unit: '' },
    { max: Infinity, unit: '' },
  ]) {
    for (const v of [NaN, Infinity, -Infinity]) assert.equal(evaluate('m', v, t).pass, false, `${v} against ${JSON.stringify(t)}`);
  }
});

test('evaluate: message text', () => {
  assert.equal(evaluate('test_accuracy', 0.962, { min: 0.95, unit: '', source: 'plan: above 95%' }).message, 'test_accuracy = 0.962, want >= 0.95 (plan: above 95%): ok (1.3% above the min)');
  assert.equal(evaluate('test_accuracy', 0.9, { min: 0.95, unit: '' }).message, 'test_accuracy = 0.9, want >= 0.95: FAILED (5.3% below the min)');
  assert.equal(evaluate('training_time_seconds', 42, { max: 180, unit: 's', source: 'plan' }).message, 'training_time_seconds = 42 s, want <= 180 s (plan): ok (77% below the max)');
  assert.equal(evaluate('speedup', 1.8333333, { min: 1.7, max: 1.9, unit: 'x' }).message, 'speedup = 1.833 x, want in [1.7, 1.9] x: ok (3.5% below the max)');
  assert.equal(evaluate('gpu_utilization_percent', 55.25, { min: 70, unit: '%' }).message, 'gpu_utilization_percent = 55.25 %, want >= 70 %: FAILED (21% below the min)');
  assert.equal(evaluate('m', NaN, { max: 1, unit: '' }).message, 'm = NaN, want <= 1: FAILED');
  assert.equal(evaluate('m', 100.04, { max: 1, unit: '' }).message, 'm = 100, want <= 1: FAILED (9900% above the max)');
  const v = evaluate('m', 3, { max: 1, unit: '' });
  assert.deepEqual({ name: v.name, value: v.value, threshold: v.threshold }, { name: 'm', value: 3, threshold: { max: 1, unit: '' } });
});

test('evaluate: the message ends with the distance to the edge of the band', () => {
  const msg = (value: number, t: { min?: number; max?: number; unit: string }) => evaluate('m', value, t).message.replace(/^.*: (ok|FAILED)/, '$1');
  assert.equal(msg(62, { max: 100, unit: 'ms' }), 'ok (38% below the max)');
  assert.equal(msg(112, { max: 100, unit: 'ms' }), 'FAILED (12% above the max)');
  assert.equal(msg(100, { max: 100, unit: 'ms' }), 'ok (at the max)');
  assert.equal(msg(1.052, { min: 1, unit: '' }), 'ok (5.2% above the min)');
  assert.equal(msg(0.5, { min: 1, unit: '' }), 'FAILED (50% below the min)');
  // Two-sided: the nearer edge inside the band, the crossed edge outside it.
  assert.equal(msg(1.72, { min: 1.7, max: 1.9, unit: 'x' }), 'ok (1.2% above the min)');
  assert.equal(msg(1.88, { min: 1.7, max: 1.9, unit: 'x' }), 'ok (1.1% below the max)');
  assert.equal(msg(1.6, { min: 1.7, max: 1.9, unit: 'x' }), 'FAILED (5.9% below the min)');
  assert.equal(msg(2.0, { min: 1.7, max: 1.9, unit: 'x' }), 'FAILED (5.3% above the max)');
  assert.equal(msg(5, { min: 5, max: 5, unit: '' }), 'ok (at the min)');
  // An edge of 0 (errors <= 0): the distance in the unit, not in percent.
  assert.equal(msg(0, { max: 0, unit: '' }), 'ok (at the max)');
  assert.equal(msg(3, { max: 0, unit: '' }), 'FAILED (3 above the max)');
  assert.equal(msg(2.5, { max: 0, unit: 's' }), 'FAILED (2.5 s above the max)');
  assert.equal(msg(-2, { min: -4, unit: '' }), 'ok (50% above the min)');
  // No distance for a value or an edge that is not finite.
  for (const v of [NaN, Infinity, -Infinity]) assert.equal(msg(v, { max: 1, unit: '' }), 'FAILED');
  assert.equal(msg(3, { min: -Infinity, unit: '' }), 'ok');
});

test('evaluate: the message shows a non-integer value >= 1000 correctly', () => {
  assert.match(evaluate('job_elapsed_seconds', 1500.2, { max: 300, unit: 's' }).message, /^job_elapsed_seconds = 1500(\.2)? s, want <= 300 s: FAILED \(400% above the max\)$/);
  assert.match(evaluate('m', 1000.4, { max: 1, unit: '' }).message, /^m = 1000(\.4)?,/);
  assert.match(evaluate('m', 5, { min: 2000.3, unit: '' }).message, /want >= 2000(\.3)?:/);
});

test('ThresholdSchema: needs min or max, min <= max', () => {
  assert.equal(ThresholdSchema.safeParse({ min: 1 }).success, true);
  assert.equal(ThresholdSchema.safeParse({ min: 1, max: 1 }).success, true);
  assert.equal(ThresholdSchema.safeParse({}).success, false);
  assert.equal(ThresholdSchema.safeParse({ unit: 's' }).success, false);
  assert.equal(ThresholdSchema.safeParse({ min: 2, max: 1 }).success, false);
  assert.equal(ThresholdSchema.safeParse({ min: '1' }).success, false);
});

test('references/default.yaml validates and has the plan numbers', () => {
  const r = loadReferences('default', ROOT);
  assert.equal(r.target, 'default');
  const t11 = taskReferences(r, 'MLOPS-1.1');
  assert.equal(threshold(t11, 'test_accuracy').min, 0.95);
  assert.equal(threshold(t11, 'training_time_seconds').max, 180);
  assert.equal(t11.workload?.epochs, 5);
  assert.equal(t11.workload?.mem, '8G');
  const t21 = taskReferences(r, 'MLOPS-2.1');
  assert.deepEqual({ min: threshold(t21, 'speedup').min, max: threshold(t21, 'speedup').max }, { min: 1.7, max: 1.9 });
  assert.equal(threshold(t21, 'gpu_utilization_percent').unit, '%');
  assert.throws(() => threshold(t21, 'nope'), /no threshold named nope; known: .*speedup/);
});

test('references/lab.yaml validates', () => {
  const r = loadReferences('lab', ROOT);
  assert.equal(r.target, 'lab');
  for (const task of ['MLOPS-1.1', 'MLOPS-2.1']) {
    const t = taskReferences(r, task);
    assert.ok(t.workload, `${task} has a workload`);
    assert.ok(Object.keys(t.thresholds).length > 0);
    for (const [name, th] of Object.entries(t.thresholds)) assert.ok(th.min !== undefined || th.max !== undefined, name);
  }
  assert.ok(r.provenance?.date);
});

test('taskReferences: a task without an entry is a ConfigError', () => {
  const r = loadReferences('default', ROOT);
  const e = configError(() => taskReferences(r, 'MLOPS-9.9'));
  assert.match(e.message, /no entry for MLOPS-9\.9.*Fix: add tasks\.MLOPS-9\.9/);
});

test('referencesPath: names resolve under references/, paths as given', () => {
  assert.equal(referencesPath('lab', ROOT), join(ROOT, 'references', 'lab.yaml'));
  assert.equal(referencesPath('nope', ROOT), join(ROOT, 'references', 'nope.yaml'));
  assert.equal(referencesPath('/abs/x.yaml', ROOT), '/abs/x.yaml');
  assert.equal(referencesPath('my/refs.yaml', ROOT), join(ROOT, 'my', 'refs.yaml'));
  assert.equal(referencesPath('refs.json', ROOT), join(ROOT, 'refs.json'));
});

const good = (thresholds: string) => `target: t\ntasks:\n  MLOPS-1.1:\n    thresholds:\n${thresholds}\n`;

test('a temp file with min > max: ConfigError naming the path and the threshold', () => {
  const p = join(dir, 'min-max.yaml');
  writeFileSync(p, good('      speedup: { min: 2, max: 1 }'));
  const e = configError(() => loadReferences(p));
  assert.ok(e.message.includes(p), e.message);
  assert.ok(
    e.problems.some((x) => x.includes('tasks.MLOPS-1.1.thresholds.speedup') && x.includes('min must not exceed max')),
    e.message,
  );
});

test('a temp file with neither min nor max: ConfigError naming the path', () => {
  const p = join(dir, 'no-bounds.yaml');
  writeFileSync(p, good('      speedup: { unit: x }'));
  const e = configError(() => loadReferences(p));
  assert.ok(e.message.includes(p));
  assert.ok(
    e.problems.some((x) => x.includes('tasks.MLOPS-1.1.thresholds.speedup') && x.includes('needs min or max')),
    e.message,
  );
});

test('bad YAML and bad JSON: ConfigError naming the path', () => {
  const y = join(dir, 'bad.yaml');
  writeFileSync(y, 'target: t\ntasks: { MLOPS-1.1: [unclosed\n');
  const ey = configError(() => loadReferences(y));
  assert.ok(ey.message.includes(y));
  assert.match(ey.message, /not valid YAML\/JSON/);
  const j = join(dir, 'bad.json');
  writeFileSync(j, '{"target": "t", ');
  const ej = configError(() => loadReferences(j));
  assert.ok(ej.message.includes(j));
  assert.match(ej.message, /not valid YAML\/JSON/);
});

test('wrong shapes: ConfigError listing each problem with its path', () => {
  const p = join(dir, 'shape.yaml');
  writeFileSync(p, 'target: 5\ntasks:\n  MLOPS-1.1:\n    workload: { epochs: 0, timeLimitSeconds: 60 }\n    thresholds:\n      a: { min: "high" }\n');
  const e = configError(() => loadReferences(p));
  assert.ok(e.message.includes(p));
  assert.ok(
    e.problems.some((x) => x.startsWith('target:')),
    e.message,
  );
  assert.ok(
    e.problems.some((x) => x.startsWith('tasks.MLOPS-1.1.workload.epochs:')),
    e.message,
  );
  assert.ok(
    e.problems.some((x) => x.startsWith('tasks.MLOPS-1.1.thresholds.a.min:')),
    e.message,
  );
  const empty = join(dir, 'empty.yaml');
  writeFileSync(empty, '');
  assert.ok(configError(() => loadReferences(empty)).message.includes(empty));
});

test('a missing references file: ConfigError naming the path', () => {
  const e = configError(() => loadReferences('no-such-refs', dir));
  assert.ok(e.message.includes(join(dir, 'references', 'no-such-refs.yaml')));
  assert.match(e.message, /Fix: /);
});

test('a JSON references file and a .yml under references/ load', () => {
  const root = join(dir, 'root');
  mkdirSync(join(root, 'references'), { recursive: true });
  writeFileSync(join(root, 'references', 'mine.yml'), good('      test_accuracy: { min: 0.5 }'));
  assert.equal(threshold(taskReferences(loadReferences('mine', root), 'MLOPS-1.1'), 'test_accuracy').min, 0.5);
  const j = join(dir, 'refs.json');
  writeFileSync(j, JSON.stringify({ target: 'j', tasks: { 'MLOPS-1.1': { thresholds: { test_accuracy: { max: 1 } } } } }));
  const r = loadReferences(j);
  assert.equal(r.target, 'j');
  assert.equal(threshold(taskReferences(r, 'MLOPS-1.1'), 'test_accuracy').unit, '', 'unit defaults to ""');
});
