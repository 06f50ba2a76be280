/** Edge cases of the small helpers, each found by mutation testing (npm run mutation). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { CapabilityError, ConfigError, InfraError, SubmitError } from '../../helpers/errors.ts';
import { gpuEnv, jobMarkers, scriptSeconds, taggedJson } from '../../helpers/job-output.ts';
import { checkHostKey } from '../../helpers/known-hosts.ts';
import { DdpMetricsSchema, ERROR_PATTERNS, RankReportSchema, TrainingMetricsSchema } from '../../helpers/metrics.ts';
import { EmptyRecorderError, LatencyRecorder } from '../../helpers/percentiles.ts';
import { parseProbe } from '../../helpers/probe.ts';
import { configured, requestedProjects, unconfiguredProjects } from '../../helpers/projects.ts';
import { parseQuantity } from '../../helpers/quantity.ts';
import { renderJob, renderSbatch, runDirOf } from '../../helpers/sbatch.ts';
import { splitWords } from '../../helpers/shell.ts';
import type { Target } from '../../helpers/config.ts';

test('errors: messages carry their marker, names are the class names, stacks have no frames', () => {
  const c = new ConfigError(['a is wrong', 'b is missing'], 'site.env');
  assert.equal(c.message, 'Invalid target configuration in site.env:\n  - a is wrong\n  - b is missing');
  assert.deepEqual(c.problems, ['a is wrong', 'b is missing']);
  const cases: [Error, string, string][] = [
    [new InfraError('ssh refused'), 'InfraError', 'INFRA: ssh refused'],
    [new CapabilityError('no GPU'), 'CapabilityError', 'capability broken: no GPU'],
    [new SubmitError('Invalid partition'), 'SubmitError', 'Invalid partition'],
    [c, 'ConfigError', c.message],
  ];
  for (const [e, name, message] of cases) {
    assert.ok(e instanceof Error);
    assert.equal(e.name, name);
    assert.equal(e.message, message);
    assert.equal(e.stack, `${name}: ${message}`);
  }
});

test('LatencyRecorder: 0 ms counts as 1 µs; min and max whatever the order; past one hour', () => {
  const r = new LatencyRecorder();
  r.record(9);
  r.record(0);
  r.record(2);
  r.record(7_200_000);
  const s = r.summary();
  assert.deepEqual([s.count, s.min, s.max], [4, 0.001, 7_200_000]);
  assert.throws(() => r.record(-0.001), { name: 'RangeError', message: 'latency must be a finite number of ms >= 0, got -0.001' });
  const last = new LatencyRecorder();
  last.record(9);
  last.record(2);
  assert.equal(last.summary().max, 9);
});

test('LatencyRecorder: percentiles 0 and 100 are the extremes; outside [0, 100] or empty throws', () => {
  const r = new LatencyRecorder();
  for (const ms of [1, 2, 3, 4, 100]) r.record(ms);
  assert.equal(r.percentile(0), 1);
  assert.equal(r.percentile(100), 100);
  for (const p of [-0.5, 100.5, NaN]) assert.throws(() => r.percentile(p), { name: 'RangeError', message: `percentile must be in [0, 100], got ${p}` });
  const empty = new LatencyRecorder();
  assert.throws(() => empty.percentile(50), EmptyRecorderError);
  assert.equal(new EmptyRecorderError().name, 'EmptyRecorderError');
  assert.equal(empty.merge(new LatencyRecorder()).count, 0);
  assert.equal(r.merge(empty).summary().count, 5);
});

test('LatencyRecorder.buckets: equal widths from min to max, each sample in its bin', () => {
  const r = new LatencyRecorder();
  for (const ms of [10, 11, 12, 19, 20, 29, 30, 40]) r.record(ms);
  assert.deepEqual(r.buckets(3), [
    { from: 10, to: 20, count: 4 },
    { from: 20, to: 30, count: 2 },
    { from: 30, to: 40, count: 2 },
  ]);
  assert.throws(() => r.buckets(0), { name: 'RangeError', message: 'bucket count must be an integer >= 1, got 0' });
  assert.throws(() => r.buckets(1.5), /bucket count must be an integer >= 1, got 1.5/);
});

const target = (sides: ('hpc' | 'cloud')[]): Target =>
  ({ name: 't', source: 't.env', capabilities: [], references: 'default', workers: 1, ...Object.fromEntries(sides.map((s) => [s, {}])) }) as Target;

test('projects: which sides each project needs', () => {
  const table: [string, boolean, boolean, boolean][] = [
    // project, hpc-only, cloud-only, both
    ['hpc', true, false, true],
    ['cloud', false, true, true],
    ['e2e', false, false, true],
    ['preflight-hpc', true, false, true],
    ['preflight-cloud', false, true, true],
    ['cleanup-hpc', true, false, true],
    ['cleanup-cloud', false, true, true],
    ['unknown', true, true, true],
  ];
  for (const [p, h, c, both] of table) {
    assert.deepEqual([configured(target(['hpc']), p), configured(target(['cloud']), p), configured(target(['hpc', 'cloud']), p)], [h, c, both], p);
  }
  assert.deepEqual(unconfiguredProjects(target(['hpc']), ['e2e', 'hpc']), [
    '--project=e2e needs the cloud side of target "t" (t.env), which is not configured. Fix: set MLV_KUBECONFIG or MLV_KUBE_CONTEXT, and "kserve" in MLV_CAPABILITIES (Kubernetes and KServe; see .env.example).',
  ]);
  assert.match(unconfiguredProjects(target(['cloud']), ['cleanup-hpc'])[0]!, /^--project=cleanup-hpc needs the HPC side of target "t"/);
  assert.deepEqual(requestedProjects(['x', '--project', 'hpc', '--project']), ['hpc']);
});

test('splitWords: a backslash escapes inside double quotes only before " \\ $ `; a trailing backslash stays', () => {
  assert.deepEqual(splitWords('"a\\$b" "c\\d" "e\\"f"'), ['a$b', 'c\\d', 'e"f']);
  assert.deepEqual(splitWords('a\\'), ['a\\']);
  assert.deepEqual(splitWords('a\\ b'), ['a b']);
});

test('known_hosts: comments, blank lines, short lines and any whitespace between fields', () => {
  const key = Buffer.from('key-blob');
  const blob = key.toString('base64');
  assert.deepEqual(checkHostKey(`#login,other ssh-ed25519 ${blob}\n`, 'other', 22, key), { ok: false, reason: 'unknown' }, 'a commented-out line does not count');
  assert.deepEqual(checkHostKey(`\n  \nlogin \t ssh-ed25519   ${blob}\n`, 'login', 22, key), { ok: true, how: 'known' });
  assert.deepEqual(checkHostKey('login ssh-ed25519\n', 'login', 22, key), { ok: false, reason: 'unknown' }, 'a line without a key is skipped');
  const emptySaltHash = createHmac('sha1', Buffer.alloc(0)).update('login').digest('base64');
  assert.deepEqual(checkHostKey(`|1||${emptySaltHash} ssh-ed25519 ${blob}\n`, 'login', 22, key), { ok: false, reason: 'unknown' }, 'a hashed entry without its salt matches nothing');
});

test('metrics: device names, both DDP backends, traceback prefixes of torchrun and srun only', () => {
  const m = { epochs: [1], loss: [0.5], accuracy: [0.9], test_accuracy: 0.9, training_time_seconds: 1, cuda_visible_devices: null };
  for (const device of ['cpu', 'cuda', 'cuda:0', 'cuda:10']) assert.ok(TrainingMetricsSchema.safeParse({ ...m, device }).success, device);
  for (const device of ['gpu', 'cuda:', 'cuda:x', 'cpu0']) assert.ok(!TrainingMetricsSchema.safeParse({ ...m, device }).success, device);
  const rank = { rank: 0, world_size: 2, local_rank: 0, device: 'cpu', hostname: 'n1', cuda_visible_devices: null, samples_per_second: 5 };
  for (const backend of ['gloo', 'nccl']) {
    assert.ok(RankReportSchema.safeParse({ ...rank, backend }).success, backend);
    assert.ok(DdpMetricsSchema.safeParse({ ...m, device: 'cpu', world_size: 2, backend, samples_per_second: 5 }).success, backend);
  }
  assert.ok(!RankReportSchema.safeParse({ ...rank, backend: 'mpi' }).success);
  const tb = ERROR_PATTERNS.traceback;
  for (const l of [
    'Traceback (most recent call last):',
    '[default0]:Traceback (most recent call last):',
    '[rank 12]:Traceback (most recent call last):',
    '12: Traceback (most recent call last):',
    'x\n3: Traceback (most recent call last):',
  ])
    assert.ok(tb.test(l), l);
  for (const l of ['rank: Traceback (most recent call last):', '[]x Traceback (most recent call last):', '  Traceback (most recent call last)']) assert.ok(!tb.test(l), l);
});

test('job output: start/end markers, script seconds, device lists, torn JSON lines', () => {
  const out = 'hello\nMLV_JOB_START 100.5 node1\nwork\n x MLV_JOB_END 1\nMLV_JOB_END 130.75\n';
  assert.deepEqual(jobMarkers(out), { start: 100.5, host: 'node1', end: 130.75 });
  assert.equal(scriptSeconds(out), 30.25);
  assert.equal(scriptSeconds('MLV_JOB_START 100 n\n'), undefined);
  assert.equal(scriptSeconds('MLV_JOB_END 100\n'), undefined);
  assert.deepEqual(jobMarkers('nothing'), { start: undefined, host: undefined, end: undefined });
  assert.deepEqual(gpuEnv('MLV_GPU_ENV CUDA_VISIBLE_DEVICES=0,,1 SLURM_JOB_GPUS=unset\n').devices, ['0', '1']);
  assert.deepEqual(gpuEnv('MLV_GPU_ENV CUDA_VISIBLE_DEVICES=2 SLURM_JOB_GPUS=2\n'), { cudaVisibleDevices: '2', slurmJobGpus: '2', devices: ['2'] });
  assert.deepEqual(taggedJson('MLV_RESULT {"a":1}\nMLV_RESULT {"a":}\n0: MLV_RESULT {"b":2}\n', 'MLV_RESULT'), [{ a: 1 }, { b: 2 }]);
});

test('parseProbe: lines are trimmed, keys must start the line', () => {
  const p = parseProbe('  host=node1  \nPATH torch=2.1\ncuda=1\ncuda_count=2\n');
  assert.equal(p.host, 'node1');
  assert.equal(p.torch, undefined);
  assert.deepEqual([p.cuda, p.cudaCount], [true, 2]);
});

test('parseQuantity: fractions without a leading digit, exponents of several digits', () => {
  assert.equal(parseQuantity('.55'), 0.55);
  assert.equal(parseQuantity('1e10'), 1e10);
  assert.equal(parseQuantity('2E-12'), 2e-12);
});

test('sbatch: counts are whole numbers within the SLURM limits; ntasks-per-node for the job and for srun; the run directory', () => {
  const ctx = { runId: 'mlv-1', partition: 'p', runtimePrefix: [], jobDir: '/j', workDir: '/w' };
  const s = renderSbatch({ name: 'a', timeLimitSeconds: 60, cpusPerTask: 1, ntasksPerNode: 2, steps: [{ argv: ['true'], srun: { ntasksPerNode: 3 } }] }, ctx);
  assert.ok(s.includes('\n#SBATCH --cpus-per-task=1\n'), s);
  assert.ok(s.includes('\n#SBATCH --ntasks-per-node=2\n'), s);
  assert.ok(s.includes('\nsrun --kill-on-bad-exit=1 --ntasks-per-node=3 true'), s);
  assert.throws(() => renderSbatch({ name: 'a', timeLimitSeconds: 60, ntasks: -1, steps: [{ argv: ['true'] }] }, ctx), {
    message: "JobSpec.ntasks must be a whole number from 1 to 2147483646 (SLURM's limit), got -1",
  });
  const layout = { runId: 'mlv-2', partition: 'gpu', account: 'acct', runtimePrefix: ['rt'], sharedRoot: '/shared/' };
  assert.equal(runDirOf(layout), '/shared/jobs/mlv-2');
  const job = renderJob({ name: 'b', timeLimitSeconds: 60, steps: [{ argv: ['x'] }] }, layout);
  for (const l of [
    '#SBATCH --partition=gpu',
    '#SBATCH --account=acct',
    '#SBATCH --output=/shared/jobs/mlv-2/%x-%j.out',
    '#SBATCH --chdir=/shared/jobs/mlv-2',
    '#SBATCH --comment=mlv-run=mlv-2',
    '\nrt x',
  ])
    assert.ok(job.includes(l), l);
});
