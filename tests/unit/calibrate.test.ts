import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  measurements,
  median,
  modeOf,
  propose,
  proposeAll,
  proposedYaml,
  proposalTable,
  rawReferences,
  roundOut,
  stats,
  summarizeRun,
  thresholdKey,
  type CalibrationTest,
  type Measurement,
  type Options,
  type RawReferences,
} from '../../helpers/calibrate.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlv-calibrate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const O: Options = { k: 4, floor: 0.05, target: 'lab' };
const ms = (values: number[], key = 'm', task = 'T', runs?: number[]): Measurement[] => values.map((value, i) => ({ run: runs?.[i] ?? i + 1, task, key, criterion: key, value }));

test('thresholdKey: the full name when it is a key, else the part before " ("', () => {
  const keys = ['prediction_accuracy', 'throughput_rps', 'gpu_utilization_percent', 'errors', 'a (b)'];
  assert.equal(thresholdKey('errors', keys), 'errors');
  assert.equal(thresholdKey('prediction_accuracy (V1)', keys), 'prediction_accuracy');
  assert.equal(thresholdKey('throughput_rps (successes / wall time)', keys), 'throughput_rps');
  assert.equal(thresholdKey('gpu_utilization_percent (GPU 0)', keys), 'gpu_utilization_percent');
  assert.equal(thresholdKey('gpu_utilization_percent (pod-1 GPU 0)', keys), 'gpu_utilization_percent');
  assert.equal(thresholdKey('a (b)', keys), 'a (b)');
  assert.equal(thresholdKey('job completed', keys), undefined);
  assert.equal(thresholdKey('errors(x)', keys), undefined);
  assert.equal(thresholdKey(' (x)', keys), undefined);
});

test('median, and stats: spread = 1.4826 x MAD, at least floor x |median|', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const s = stats(ms([30, 32, 38, 40], 'm', 'T', [1, 1, 2, 2]), 0.05);
  assert.deepEqual({ n: s.n, runs: s.runs, median: s.median, mad: s.mad, min: s.min, max: s.max, floored: s.floored }, { n: 4, runs: 2, median: 35, mad: 4, min: 30, max: 40, floored: false });
  assert.ok(Math.abs(s.spread - 1.4826 * 4) < 1e-12);
  const flat = stats(ms([0.96, 0.96, 0.96]), 0.05);
  assert.equal(flat.mad, 0);
  assert.ok(Math.abs(flat.spread - 0.048) < 1e-12);
  assert.equal(flat.floored, true);
  assert.equal(stats(ms([5, 5]), 0).spread, 0);
  assert.equal(stats(ms([-10, -12]), 0.5).spread, 5.5, 'the floor is of |median|');
});

test('roundOut: 3 significant digits, away from the band', () => {
  assert.equal(roundOut(26.9304, 'up'), 27);
  assert.equal(roundOut(58.7216, 'up'), 58.8);
  assert.equal(roundOut(0.77128, 'down'), 0.771);
  assert.equal(roundOut(1.55 - 4 * 0.0775, 'down'), 1.24);
  assert.equal(roundOut(1.86, 'up'), 1.86);
  assert.equal(roundOut(653.48, 'down'), 653);
  assert.equal(roundOut(12345, 'up'), 12400);
  assert.equal(roundOut(-1.234, 'up'), -1.23);
  assert.equal(roundOut(-1.234, 'down'), -1.24);
  assert.equal(roundOut(0.000123456, 'up'), 0.000124);
  assert.equal(roundOut(0, 'up'), 0);
});

test('modeOf: the calibrate flag, else fixed for max 0 or min == max, plan for a plan (or no) source, free otherwise', () => {
  assert.equal(modeOf({ max: 0 }), 'fixed');
  assert.equal(modeOf({ min: 5, max: 5 }), 'fixed');
  assert.equal(modeOf({ max: 180, source: 'plan: under 3 minutes' }), 'plan');
  assert.equal(modeOf({ max: 300, source: 'plan matrix: 5 minutes' }), 'plan');
  assert.equal(modeOf({ min: 0.6 }), 'plan');
  assert.equal(modeOf({ min: 1, max: 2.1, source: 'lab measured 1.45-1.60' }), 'free');
  assert.equal(modeOf({ min: 0.93, source: 'lab measured 0.96', calibrate: 'plan' }), 'plan');
  assert.equal(modeOf({ max: 30, source: 'plan', calibrate: 'fixed' }), 'fixed');
  assert.equal(modeOf({ max: 0, calibrate: 'free' }), 'free');
  assert.throws(() => modeOf({ max: 1, calibrate: 'frozen' }, 'tasks.T.thresholds.m'), /tasks\.T\.thresholds\.m: calibrate is "frozen"; use fixed, plan or free/);
});

test('propose: max = median + k x spread, min = median - k x spread, both for two-sided; the source tells how', () => {
  const max = propose('T', 'm', { max: 180, unit: 's', source: 'plan' }, undefined, ms([20, 22]), O);
  assert.equal(max.proposed.max, 27);
  assert.equal(max.proposed.min, undefined);
  assert.equal(max.proposed.source, 'lab measured: median 21 s, spread 1.483, 2 runs, band median + 4 x spread; no plan threshold');
  assert.deepEqual(max.notes, ['no plan threshold']);
  const min = propose('T', 'm', { min: 50, unit: 'req/s', source: 'plan' }, { min: 50 }, ms([900, 1000]), O);
  assert.equal(min.proposed.min, 653);
  assert.equal(min.proposed.calibrate, 'plan');
  assert.match(min.proposed.source!, /band median - 4 x spread; never looser than the plan \(>= 50\)$/);
  const two = propose('T', 'speedup', { min: 1, max: 2.1, unit: 'x', source: 'lab measured' }, { min: 1.7, max: 1.9 }, ms([1.5, 1.6]), O);
  assert.deepEqual({ min: two.proposed.min, max: two.proposed.max, calibrate: two.proposed.calibrate }, { min: 1.24, max: 1.86, calibrate: 'free' });
  assert.equal(two.proposed.source, 'lab measured: median 1.55 x, spread 0.0775 (the 5% floor), 2 runs, band median ± 4 x spread; not bounded by the plan');
  const k2 = propose('T', 'm', { max: 180, source: 'plan' }, undefined, ms([20, 22]), { ...O, k: 2, target: 'cluster-a' });
  assert.equal(k2.proposed.max, 24);
  assert.match(k2.proposed.source!, /^cluster-a measured: .* band median \+ 2 x spread/);
  const pooled = propose('T', 'm', { max: 900, source: 'plan' }, { max: 900 }, ms([30, 40, 32, 38], 'm', 'T', [1, 1, 2, 2]), O);
  assert.match(pooled.proposed.source!, /, 2 runs \(4 values\), /);
});

test('propose: a plan-bound band is never looser than the plan; a free one is; the notes say what happened', () => {
  const capped = propose('T', 'm', { max: 300, unit: 's', source: 'plan' }, { max: 300 }, ms([290, 310]), O);
  assert.equal(capped.proposed.max, 300);
  assert.deepEqual(capped.notes, ["max lowered to the plan's 300", '1 of 2 values fail it']);
  const raised = propose('T', 'm', { min: 0.95, source: 'plan' }, { min: 0.95 }, ms([0.9641, 0.9641]), O);
  assert.equal(raised.proposed.min, 0.95);
  assert.deepEqual(raised.notes, ["min raised to the plan's 0.95"]);
  const stricter = propose('T', 'm', { min: 0.6 }, { min: 0.6 }, ms([0.94, 0.94]), O);
  assert.equal(stricter.proposed.min, 0.752, 'a band stricter than the plan stays as measured');
  const free = propose('T', 'm', { min: 0.93, source: 'lab measured' }, { min: 0.95 }, ms([0.96, 0.96]), O);
  assert.equal(free.proposed.min, 0.768);
  assert.deepEqual(free.notes, ['free of the plan', 'looser than the current']);
  const fails = propose('T', 'm', { max: 100, unit: 'ms', source: 'plan' }, { max: 100 }, ms([150, 160]), O);
  assert.equal(fails.proposed.max, 100);
  assert.ok(fails.notes.includes('the median fails the plan (<= 100)'), fails.notes.join());
  assert.ok(fails.notes.includes('2 of 2 values fail it'), fails.notes.join());
  // Two-sided and bound: runs below the plan's band keep the plan's band.
  const outside = propose('T', 'speedup', { min: 1.7, max: 1.9, source: 'plan' }, { min: 1.7, max: 1.9 }, ms([1.2, 1.3]), O);
  assert.deepEqual({ min: outside.proposed.min, max: outside.proposed.max }, { min: 1.7, max: 1.9 });
  assert.ok(outside.notes.includes("the runs are outside the plan's band: the plan's band is kept"), outside.notes.join());
});

test('propose: limits bound the band in every mode but fixed, and are written back', () => {
  const lim = { min: 1 };
  const noisy = propose('T', 'speedup', { min: 1, unit: 'x', source: 'lab', limits: lim }, undefined, ms([1.05, 1.5, 1.6, 1.1]), O);
  assert.equal(noisy.mode, 'free');
  assert.equal(noisy.proposed.min, 1);
  assert.deepEqual(noisy.proposed.limits, lim);
  assert.ok(noisy.notes.includes('min raised to its limit 1'), noisy.notes.join());
  const quiet = propose('T', 'speedup', { min: 1, unit: 'x', source: 'lab', limits: lim }, undefined, ms([1.6, 1.6, 1.62]), O);
  assert.equal(quiet.proposed.min, 1.28, 'a band inside its limits is as measured');
  assert.ok(!quiet.notes.some((n) => n.includes('limit')), quiet.notes.join());
  const capped = propose('T', 'm', { max: 50, source: 'lab', calibrate: 'plan', limits: { max: 30 } }, { max: 100 }, ms([20, 30]), O);
  assert.equal(capped.proposed.max, 30);
  assert.ok(capped.notes.includes('max lowered to its limit 30'), capped.notes.join());
  const fixed = propose('T', 'm', { max: 0, limits: { max: -1 } }, undefined, ms([0, 0]), O);
  assert.equal(fixed.proposed.max, 0);
});

test("propose: a threshold's own floor replaces the run's, is named in the source and written back", () => {
  const acc = propose('T', 'acc', { min: 0.6, source: 'lab', floor: 0.02 }, undefined, ms([0.9435, 0.9435]), { ...O, floor: 0.15 });
  assert.equal(acc.stats?.spread, 0.9435 * 0.02);
  assert.equal(acc.proposed.min, 0.868);
  assert.equal(acc.proposed.floor, 0.02);
  assert.match(acc.proposed.source!, /spread 0\.01887 \(the 2% floor\)/);
  const run = propose('T', 'acc', { min: 0.6, source: 'lab' }, undefined, ms([0.9435, 0.9435]), { ...O, floor: 0.15 });
  assert.equal(run.proposed.min, 0.377);
  assert.throws(() => propose('T', 'acc', { min: 0.6, floor: -1 }, undefined, ms([1]), O), /floor is -1; use a fraction >= 0/);
});

test('propose: fixed thresholds and thresholds without measurements stay as they are', () => {
  const errors = { max: 0 };
  const f = propose('T', 'errors', errors, { max: 0 }, ms([0, 3]), O);
  assert.equal(f.proposed, errors);
  assert.equal(f.mode, 'fixed');
  assert.equal(f.stats?.n, 2);
  const flagged = { max: 30, unit: 's', source: 'lab measured', calibrate: 'fixed' };
  assert.equal(propose('T', 'm', flagged, undefined, ms([3, 6]), O).proposed, flagged);
  const none = { min: 70, unit: '%', source: 'plan' };
  const n = propose('T', 'gpu', none, { min: 70 }, [], O);
  assert.equal(n.proposed, none);
  assert.deepEqual(n.notes, ['no measurement: unchanged']);
  assert.equal(n.stats, undefined);
});

const crit = (name: string, value: number | null | undefined, threshold = true) => ({ name, status: 'pass', detail: '', value, ...(threshold ? { threshold: { max: 1 } } : {}) });
const outcome = (over: Partial<CalibrationTest>): CalibrationTest => ({ project: 'hpc', title: 't', task: 'MLOPS-4.1', outcome: 'pass', reason: '', criteria: [], ...over });

test('measurements: numeric criteria of passed and failed tests, under their threshold keys; never controls', () => {
  const keys = ['prediction_accuracy', 'errors', 'cold_start_seconds'];
  const tests = [
    outcome({ criteria: [crit('prediction_accuracy (V1)', 0.96), crit('prediction_accuracy (V2)', 0.95), crit('V1 and V2 agree', undefined, false), crit('errors', 0)] }),
    outcome({ outcome: 'fail', criteria: [crit('cold_start_seconds', 40)] }),
    outcome({ criteria: [crit('cold_start_seconds', null), crit('unknown_metric', 3), crit('errors', 1, false)] }),
    outcome({ outcome: 'infra', criteria: [crit('errors', 9)] }),
    outcome({ outcome: 'skip', criteria: [crit('errors', 9)] }),
    outcome({ project: 'controls', criteria: [crit('errors', 9)] }),
    outcome({ task: undefined, criteria: [crit('errors', 9)] }),
  ];
  const got = measurements(tests, 3, () => keys);
  assert.deepEqual(
    got.map((m) => [m.run, m.task, m.key, m.criterion, m.value]),
    [
      [3, 'MLOPS-4.1', 'prediction_accuracy', 'prediction_accuracy (V1)', 0.96],
      [3, 'MLOPS-4.1', 'prediction_accuracy', 'prediction_accuracy (V2)', 0.95],
      [3, 'MLOPS-4.1', 'errors', 'errors', 0],
      [3, 'MLOPS-4.1', 'cold_start_seconds', 'cold_start_seconds', 40],
    ],
  );
});

test('summarizeRun: passed, failed, infra and skipped, controls left out; an error of the run counts as infra', () => {
  const tests = [
    outcome({}),
    outcome({ outcome: 'fail', title: 'f', reason: 'why' }),
    outcome({ outcome: 'skip' }),
    outcome({ outcome: 'not run' }),
    outcome({ project: 'controls', outcome: 'fail' }),
  ];
  const s = summarizeRun(tests, 1, 'mlv-x', 'r.json');
  assert.deepEqual({ passed: s.passed, failed: s.failed, infra: s.infra, skipped: s.skipped }, { passed: 1, failed: [{ title: '[hpc] f', reason: 'why' }], infra: [], skipped: 2 });
  assert.deepEqual(summarizeRun([], 2, '?', 'r.json', 'no readable results').infra, [{ title: '(the run)', reason: 'no readable results' }]);
});

const REFS_TEXT = `# top comment\ntarget: lab\nprovenance:\n  date: "2020-01-01"\n  notes: >-\n    old\ntasks:\n  T:\n    workload: { epochs: 2, mem: 2G }\n    thresholds:\n      # kept comment\n      m: { max: 180, unit: s, source: "plan: 3 minutes" }\n      errors: { max: 0 }\n      gpu: { min: 70, unit: "%" }\n`;

test('proposedYaml: calibrated thresholds and provenance replaced, comments, workloads and the rest kept', () => {
  const current = rawReferences(REFS_TEXT);
  assert.deepEqual(current.tasks.T!.thresholds.errors, { max: 0 });
  const plan: RawReferences = { target: 'default', tasks: { T: { thresholds: { m: { max: 180 } } } } };
  const proposals = proposeAll(current, plan, [...ms([20, 22], 'm'), ...ms([0, 0], 'errors')], O);
  assert.deepEqual(
    proposals.map((p) => [p.key, p.mode]),
    [
      ['m', 'plan'],
      ['errors', 'fixed'],
      ['gpu', 'plan'],
    ],
  );
  const out = proposedYaml(REFS_TEXT, proposals, { date: '2026-12-01', runs: 2, machine: 'Linux 6.1, 2 cores, 24 GiB', notes: 'k = 4' });
  const lines = out.split('\n');
  assert.equal(lines[0], '# top comment');
  for (const kept of ['    workload: { epochs: 2, mem: 2G }', '      # kept comment', '      errors: { max: 0 }', '      gpu: { min: 70, unit: "%" }', '  date: "2026-12-01"'])
    assert.ok(lines.includes(kept), `${kept} in\n${out}`);
  assert.ok(
    lines.includes('      m: { max: 27, unit: s, source: "lab measured: median 21 s, spread 1.483, 2 runs, band median + 4 x spread; never looser than the plan (<= 180)", calibrate: plan }'),
    out,
  );
  const data = parseYaml(out) as { provenance: Record<string, unknown> };
  assert.deepEqual(data.provenance, { date: '2026-12-01', runs: 2, machine: 'Linux 6.1, 2 cores, 24 GiB', notes: 'k = 4' });
  const table = proposalTable(proposals);
  assert.match(table.split('\n')[0]!, /^task\s+threshold\s+mode\s+n\s+runs\s+median\s+spread\s+min\s+max\s+current\s+proposed\s+notes$/);
  assert.match(table, /\nT\s+m\s+plan\s+2\s+2\s+21\s+1\.483\s+20\s+22\s+<= 180 s\s+<= 27 s\s*\n/);
  assert.match(table, /\nT\s+errors\s+fixed\s+2\s+2\s+0\s+0\s+0\s+0\s+<= 0\s+<= 0\s+fixed: unchanged\n/);
});
