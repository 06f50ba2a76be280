/**
 * scripts/calibrate.ts end to end, on recorded Playwright reports: each test spawns the script,
 * so this file stays out of the mutation run (a spawned process never sees a mutant).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { rawReferences } from '../../helpers/calibrate.ts';
import { loadReferences } from '../../helpers/references.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REC = join(ROOT, 'tests', 'recorded', 'calibrate');
const dir = mkdtempSync(join(tmpdir(), 'mlv-calibrate-script-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// The script itself, on recorded Playwright reports (tests/recorded/calibrate/make.ts writes them).
const calibrate = (args: string[]) => spawnSync('node', ['--import', 'tsx', 'scripts/calibrate.ts', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MLV_ENV_FILE: '/nonexistent' } });
const rec = (...names: string[]) => names.map((n) => join(REC, n)).join(',');
const recArgs = (out: string, refs = join(REC, 'references.yaml')) => ['--references', refs, '--plan', join(REC, 'plan.yaml'), '--out', out];
type Th = { min?: number; max?: number; calibrate?: string; source?: string };
const thresholdsOf = (file: string) => Object.fromEntries(Object.entries(rawReferences(readFileSync(file, 'utf8')).tasks).map(([task, t]) => [task, t.thresholds as Record<string, Th>]));

test('scripts/calibrate.ts --from two recorded runs: the table, the failed test, the proposed YAML', () => {
  const out = join(dir, 'proposed.yaml');
  const r = calibrate(['--from', rec('run-1.json', 'run-2.json'), ...recArgs(out)]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /run 1 mlv-20261201221634-rec1: 5 passed, 0 failed, 0 infra, 1 skipped or not run/);
  assert.match(r.stdout, /run 2 mlv-20261201230112-rec2: 4 passed, 1 failed, 0 infra, 1 skipped or not run/);
  assert.match(r.stdout, /\n {2}FAIL \[hpc\] MLOPS-1\.1 .*job_elapsed_seconds = 310 s, want <= 300 s .*: FAILED \(3\.3% above the max\)/);
  assert.match(r.stdout, /MLOPS-1\.1\s+job_elapsed_seconds\s+plan\s+2\s+2\s+300\s+15\s+290\s+310\s+<= 300 s\s+<= 300 s\s+max lowered to the plan's 300; 1 of 2 values fail it/);
  assert.match(r.stdout, /MLOPS-4\.1\s+prediction_accuracy \(2 criteria\)\s+plan\s+4\s+2\s+0\.96/);
  const t = thresholdsOf(out);
  const band = (task: string, key: string) => ({ min: t[task]![key]!.min, max: t[task]![key]!.max, calibrate: t[task]![key]!.calibrate });
  assert.deepEqual(band('MLOPS-1.1', 'training_time_seconds'), { min: undefined, max: 27, calibrate: 'plan' });
  assert.deepEqual(band('MLOPS-1.1', 'job_elapsed_seconds'), { min: undefined, max: 300, calibrate: 'plan' });
  assert.deepEqual(band('MLOPS-1.1', 'test_accuracy'), { min: 0.95, max: undefined, calibrate: 'plan' });
  assert.deepEqual(band('MLOPS-2.1', 'training_time_seconds'), { min: undefined, max: 58.8, calibrate: 'plan' }, 'both 2-rank tests of both runs, not the control');
  assert.deepEqual(band('MLOPS-2.1', 'test_accuracy'), { min: 0.752, max: undefined, calibrate: 'plan' });
  assert.deepEqual(band('MLOPS-2.1', 'speedup'), { min: 1.24, max: 1.86, calibrate: 'free' }, 'free of the plan, the control left out');
  assert.deepEqual(band('MLOPS-4.1', 'cold_start_seconds'), { min: undefined, max: 1.7, calibrate: 'free' });
  assert.deepEqual(band('MLOPS-4.1', 'prediction_accuracy'), { min: 0.95, max: undefined, calibrate: 'plan' });
  assert.deepEqual(band('MLOPS-4.1', 'p95_latency_ms'), { min: undefined, max: 33.9, calibrate: 'plan' });
  assert.deepEqual(band('MLOPS-4.1', 'throughput_rps'), { min: 653, max: undefined, calibrate: 'plan' });
  assert.equal(t['MLOPS-2.1']!.speedup!.source, 'lab measured: median 1.55 x, spread 0.0775 (the 5% floor), 2 runs, band median ± 4 x spread; not bounded by the plan');
  const before = thresholdsOf(join(REC, 'references.yaml'));
  for (const [task, key] of [
    ['MLOPS-4.1', 'errors'],
    ['MLOPS-4.1', 'scale_up_seconds'],
    ['MLOPS-2.1', 'gpu_utilization_percent'],
  ] as const)
    assert.deepEqual(t[task]![key], before[task]![key], `${task} ${key} unchanged`);
  const text = readFileSync(out, 'utf8');
  assert.ok(text.startsWith('# Recorded for tests/unit/calibrate.test.ts'), 'the top comment is kept');
  const orig = parseYaml(readFileSync(join(REC, 'references.yaml'), 'utf8')) as { tasks: Record<string, { workload: unknown }> };
  const got = parseYaml(text) as typeof orig & { provenance: { date: string; runs: number; machine: string; notes: string } };
  for (const task of Object.keys(orig.tasks)) assert.deepEqual(got.tasks[task]!.workload, orig.tasks[task]!.workload, `${task} workload unchanged`);
  assert.match(got.provenance.date, /^\d{4}-\d{2}-\d{2}$/);
  assert.equal(got.provenance.runs, 2);
  assert.match(got.provenance.machine, /^\S+ \S+, \d+ cores, \d+ GiB \(the machine that read the recorded results\)$/);
  assert.match(got.provenance.notes, /k = 4.*mlv-20261201230112-rec2: 4 passed, 1 failed, 0 infra/);
  assert.equal(loadReferences(out).target, 'lab', 'the proposal loads');
});

test('scripts/calibrate.ts --write overwrites the references; calibrating again from the same runs changes no threshold', () => {
  const refs = join(dir, 'lab-copy.yaml');
  copyFileSync(join(REC, 'references.yaml'), refs);
  const first = calibrate(['--from', rec('run-1.json', 'run-2.json'), ...recArgs(join(dir, 'p1.yaml'), refs), '--write']);
  assert.equal(first.status, 0, first.stderr + first.stdout);
  assert.match(first.stdout, /written: .*lab-copy\.yaml/);
  assert.equal(readFileSync(refs, 'utf8'), readFileSync(join(dir, 'p1.yaml'), 'utf8'));
  const second = calibrate(['--from', rec('run-1.json', 'run-2.json'), ...recArgs(join(dir, 'p2.yaml'), refs)]);
  assert.equal(second.status, 0, second.stderr + second.stdout);
  assert.deepEqual(thresholdsOf(join(dir, 'p2.yaml')), thresholdsOf(refs), 'the written calibrate modes decide the same way again');
});

test('scripts/calibrate.ts: a run with an infra error exits 1 and --write leaves the references alone', () => {
  const refs = join(dir, 'lab-infra.yaml');
  copyFileSync(join(REC, 'references.yaml'), refs);
  const r = calibrate(['--from', rec('run-1.json', 'run-infra.json'), ...recArgs(join(dir, 'p-infra.yaml'), refs), '--write']);
  assert.equal(r.status, 1, r.stderr + r.stdout);
  assert.match(r.stdout, /run 2 mlv-20261201233005-rec3: 0 passed, 0 failed, 1 infra, 1 skipped or not run/);
  assert.match(r.stdout, /INFRA \[preflight-hpc\] probe the HPC target.*ECONNREFUSED/);
  assert.match(r.stderr, /infra errors in run\(s\) 2: .*left as it was/);
  assert.equal(readFileSync(refs, 'utf8'), readFileSync(join(REC, 'references.yaml'), 'utf8'));
  assert.equal(loadReferences(join(dir, 'p-infra.yaml')).target, 'lab', 'the proposal is still written');
  const missing = calibrate(['--from', join(dir, 'no-such.json'), ...recArgs(join(dir, 'p-missing.yaml'))]);
  assert.equal(missing.status, 1);
  assert.match(missing.stdout, /INFRA \(the run\): no readable results in .*no-such\.json/);
});

test('scripts/calibrate.ts: usage errors exit 2', () => {
  for (const args of [[], ['--runs', '0'], ['--runs', '2', '--from', 'a.json'], ['--k', 'x', '--from', 'a.json'], ['--bogus']]) {
    const r = calibrate(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.trim(), args.join(' '));
  }
});

test('scripts/calibrate.ts --healthy: 0 with every run free of failed and infra tests, else 1 naming the runs; not with --write', () => {
  const ok = calibrate(['--from', rec('run-1.json'), ...recArgs(join(dir, 'h1.yaml')), '--healthy']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /--healthy: 1 consecutive run\(s\), 0 failed and 0 infra tests \(passed per run: 5\)/);
  const bad = calibrate(['--from', rec('run-1.json', 'run-2.json', 'run-infra.json'), ...recArgs(join(dir, 'h2.yaml')), '--healthy']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--healthy: 2 of 3 run\(s\) had failures \(runs 2, 3\)/);
  const usage = calibrate(['--runs', '2', '--healthy', '--write']);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--healthy checks the references as they are/);
});
