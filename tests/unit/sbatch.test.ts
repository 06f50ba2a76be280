import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MARKERS } from '../../helpers/job-output.ts';
import { jobName, renderSbatch, slurmTime, type JobSpec, type RenderContext } from '../../helpers/sbatch.ts';

const ctx: RenderContext = {
  runId: 'mlv-20261128212719-w5kb',
  partition: 'lab',
  jobDir: '/shared/mlv/runs/mlv-20261128212719-w5kb/jobs',
  workDir: '/shared/mlv/runs/mlv-20261128212719-w5kb',
  runtimePrefix: [],
};

const spec = (over: Partial<JobSpec> = {}): JobSpec => ({ name: 'train', timeLimitSeconds: 600, steps: [{ argv: ['true'] }], ...over });

function directives(script: string): string[] {
  return script.split('\n').filter((l) => l.startsWith('#SBATCH'));
}

/** Run a rendered script with a real bash in a fresh temp dir; returns stdout and the dir's files afterwards. */
function execute(script: string, env: Record<string, string> = {}): { stdout: string; stderr: string; status: number | null; files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'mlv-sbatch-'));
  try {
    const path = join(dir, 'job.sbatch');
    writeFileSync(path, script);
    const r = spawnSync('bash', ['--norc', '--noprofile', path], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8', ...env },
    });
    return { stdout: r.stdout, stderr: r.stderr, status: r.status, files: readdirSync(dir).filter((f) => f !== 'job.sbatch') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The output of the steps: everything between the MLV_GPU_ENV line and the MLV_JOB_END line. */
function stepOutput(stdout: string): string {
  const lines = stdout.split('\n');
  assert.match(lines[0]!, new RegExp(`^${MARKERS.start} \\d+\\.\\d+ \\S+$`));
  assert.match(lines[1]!, new RegExp(`^${MARKERS.gpuEnv} `));
  const endAt = stdout.lastIndexOf(`\n${MARKERS.end} `);
  assert.ok(endAt > 0, 'no end marker');
  assert.match(stdout.slice(endAt + 1), new RegExp(`^${MARKERS.end} \\d+\\.\\d+ 0\\n$`));
  const startOfSteps = lines[0]!.length + 1 + lines[1]!.length + 1;
  return stdout.slice(startOfSteps, endAt + 1);
}

const HOSTILE = [
  "it's",
  '"double"',
  '$(touch pwned-dollar)',
  '`touch pwned-backtick`',
  '${PATH}',
  '$HOME',
  'a; touch pwned-semicolon',
  'a | tee pwned-pipe',
  '> pwned-redirect',
  'two\nlines',
  ' spaced  out ',
  '',
  'ünïcödé ✓ 🚀',
  '-n',
  '*',
  '~',
  '\\',
  '%s %d',
  "'; touch pwned-quote; echo '",
];

test('renderSbatch: the directives of a full spec, in order', () => {
  const s = renderSbatch(spec({ nodes: 2, ntasks: 2, ntasksPerNode: 1, cpusPerTask: 4, mem: '8G', gpus: 4, extraDirectives: ['--exclusive', '--constraint=a100'] }), { ...ctx, account: 'proj-42' });
  assert.ok(s.startsWith('#!/bin/bash\n'));
  assert.ok(s.endsWith('\n'));
  assert.deepEqual(directives(s), [
    '#SBATCH --job-name=mlv-20261128212719-w5kb-train',
    '#SBATCH --comment=mlv-run=mlv-20261128212719-w5kb',
    '#SBATCH --partition=lab',
    '#SBATCH --account=proj-42',
    '#SBATCH --output=/shared/mlv/runs/mlv-20261128212719-w5kb/jobs/%x-%j.out',
    '#SBATCH --chdir=/shared/mlv/runs/mlv-20261128212719-w5kb',
    '#SBATCH --time=00:10:00',
    '#SBATCH --nodes=2',
    '#SBATCH --ntasks=2',
    '#SBATCH --ntasks-per-node=1',
    '#SBATCH --cpus-per-task=4',
    '#SBATCH --mem=8G',
    '#SBATCH --gres=gpu:4',
    '#SBATCH --exclusive',
    '#SBATCH --constraint=a100',
  ]);
  // sbatch stops reading directives at the first command: all of them come before `set -euo pipefail`.
  const lines = s.split('\n');
  assert.equal(
    lines.findIndex((l) => !l.startsWith('#')),
    lines.indexOf('set -euo pipefail'),
  );
});

test('renderSbatch: minimal spec has no optional directives (no account, nodes, gres, ...)', () => {
  const d = directives(renderSbatch(spec(), ctx));
  assert.equal(d.length, 6);
  assert.ok(!d.some((l) => /--(account|nodes|ntasks|cpus-per-task|mem|gres)=/.test(l)));
});

test('renderSbatch: typed GRES gpu:type:N, and gpus 0 requests no GRES', () => {
  assert.ok(directives(renderSbatch(spec({ gpus: 2, gpuType: 'a100' }), ctx)).includes('#SBATCH --gres=gpu:a100:2'));
  assert.ok(directives(renderSbatch(spec({ gpus: 1 }), ctx)).includes('#SBATCH --gres=gpu:1'));
  assert.ok(!renderSbatch(spec({ gpus: 0 }), ctx).includes('--gres'));
});

test('renderSbatch: memory must look like 8G / 2000M', () => {
  for (const mem of ['8G', '2000M', '512', '1T', '64K']) assert.ok(renderSbatch(spec({ mem }), ctx).includes(`#SBATCH --mem=${mem}\n`));
  for (const mem of ['8 G', '8GB', '-1G', '8G\n#SBATCH --uid=0', '$(id)', '']) assert.throws(() => renderSbatch(spec({ mem }), ctx), /mem/, JSON.stringify(mem));
});

test('renderSbatch: counts must be whole numbers >= 0', () => {
  assert.throws(() => renderSbatch(spec({ nodes: 1.5 }), ctx), /nodes/);
  assert.throws(() => renderSbatch(spec({ ntasks: -1 }), ctx), /ntasks/);
  assert.throws(() => renderSbatch(spec({ cpusPerTask: NaN }), ctx), /cpusPerTask/);
  assert.throws(() => renderSbatch(spec({ gpus: 2.5 }), ctx), /gpus/);
  assert.throws(() => renderSbatch(spec({ gpus: -2 }), ctx), /gpus/);
});

test('renderSbatch: hostile job names throw (they would inject #SBATCH lines)', () => {
  for (const name of ['a b', "it's", 'a"b', '$(id)', '`id`', 'a;b', 'a\n#SBATCH --uid=0', 'a/b', 'a=b', 'a\tb']) {
    assert.throws(() => renderSbatch(spec({ name }), ctx), /job name/, JSON.stringify(name));
  }
  assert.throws(() => renderSbatch(spec(), { ...ctx, runId: 'run 1' }), /job name/);
  assert.throws(() => renderSbatch(spec(), { ...ctx, runId: 'run\n#SBATCH --uid=0' }), /job name/);
  assert.equal(jobName('r1', 'a.b_c-d'), 'r1-a.b_c-d');
});

test('renderSbatch: hostile partition / account / paths throw', () => {
  const bad = ['a b', "a'b", 'a"b', '$(id)', '`id`', 'a;b', 'a\n#SBATCH --uid=0', 'a|b', 'a>b', ''];
  for (const v of bad) {
    assert.throws(() => renderSbatch(spec(), { ...ctx, partition: v }), /--partition/, `partition ${JSON.stringify(v)}`);
    if (!v) continue;
    assert.throws(() => renderSbatch(spec(), { ...ctx, account: v }), /--account/, `account ${JSON.stringify(v)}`);
    assert.throws(() => renderSbatch(spec(), { ...ctx, jobDir: `/shared/${v}` }), /--output/, `jobDir ${JSON.stringify(v)}`);
    assert.throws(() => renderSbatch(spec(), { ...ctx, workDir: `/shared/${v}` }), /--chdir/, `workDir ${JSON.stringify(v)}`);
    assert.throws(() => renderSbatch(spec({ gpus: 1, gpuType: v }), ctx), /--gres/, `gpuType ${JSON.stringify(v)}`);
  }
});

test('renderSbatch: hostile extra directives throw', () => {
  const bad = [
    '--constraint=a b',
    "--constraint='a'",
    '--constraint=$(id)',
    '--constraint=a;b',
    '--constraint=a\n#SBATCH --uid=0',
    '--exclusive\n#SBATCH --uid=0',
    'constraint=a',
    '-C a100',
    '--Constraint=a',
    '--constraint a',
    '',
  ];
  for (const d of bad) assert.throws(() => renderSbatch(spec({ extraDirectives: [d] }), ctx), /directive/, JSON.stringify(d));
});

test('renderSbatch: env/argv values with newlines cannot add directives (sbatch stops reading them at the first command)', () => {
  const s = renderSbatch(spec({ env: { MLV_A: 'x\n#SBATCH --uid=0' }, steps: [{ argv: ['printf', '%s', '\n#SBATCH --uid=0'] }] }), ctx);
  const lines = s.split('\n');
  const firstCommand = lines.findIndex((l, i) => i > 0 && !l.startsWith('#'));
  assert.equal(lines[firstCommand], 'set -euo pipefail');
  assert.ok(!lines.slice(0, firstCommand).some((l) => l.includes('--uid')));
  assert.ok(s.includes("export MLV_A='x\n#SBATCH --uid=0'\n"));
});

test('renderSbatch: env names are validated', () => {
  for (const k of ['1X', 'A-B', 'X;Y', 'A B', '$(id)', '', 'X=Y']) {
    assert.throws(() => renderSbatch(spec({ env: { [k]: 'v' } }), ctx), /environment variable name/, JSON.stringify(k));
  }
  assert.ok(renderSbatch(spec({ env: { MLV_OK_1: 'v', OMP_NUM_THREADS: 4 } }), ctx).includes('export OMP_NUM_THREADS=4\n'));
});

test('renderSbatch: {env} arguments render as "${X}" and reject bad names', () => {
  const s = renderSbatch(spec({ steps: [{ argv: ['echo', { env: 'SLURM_JOB_ID' }, { env: '_x1' }] }] }), ctx);
  assert.ok(s.includes('\necho "${SLURM_JOB_ID}" "${_x1}"\n'), s);
  for (const env of ['X}', 'X-Y', '$(id)', '`id`', '1X', '', 'X Y', 'X}$(id){']) {
    assert.throws(() => renderSbatch(spec({ steps: [{ argv: ['echo', { env }] }] }), ctx), /environment variable reference/, JSON.stringify(env));
  }
});

test('executed with bash: hostile argv values print exactly and run nothing', () => {
  const steps = HOSTILE.map((v) => ({ argv: ['printf', '[%s]\\n', v] as string[] }));
  const script = renderSbatch(spec({ steps }), ctx);
  const r = execute(script);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(stepOutput(r.stdout), HOSTILE.map((v) => `[${v}]\n`).join(''));
  assert.deepEqual(r.files, [], 'the script created files: something was executed');
});

test('executed with bash: hostile env values arrive exactly through {env} args', () => {
  const env = Object.fromEntries(HOSTILE.map((v, i) => [`MLV_HOSTILE_${i}`, v]));
  const steps = HOSTILE.map((_, i) => ({ argv: ['printf', '[%s]\\n', { env: `MLV_HOSTILE_${i}` }] }));
  const r = execute(renderSbatch(spec({ env, steps }), ctx));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(stepOutput(r.stdout), HOSTILE.map((v) => `[${v}]\n`).join(''));
  assert.deepEqual(r.files, []);
});

test('executed with bash: env values are exported to child processes', () => {
  const r = execute(renderSbatch(spec({ env: { MLV_X: "a'b $(c) `d`", MLV_N: 7 }, steps: [{ argv: ['bash', '--norc', '-c', 'printf "%s|%s\\n" "$MLV_X" "$MLV_N"'] }] }), ctx));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(stepOutput(r.stdout), "a'b $(c) `d`|7\n");
});

test('executed with bash: the GPU env line prints unset values, and set ones', () => {
  const s = renderSbatch(spec(), ctx);
  const unset = execute(s).stdout.split('\n')[1];
  assert.equal(unset, `${MARKERS.gpuEnv} CUDA_VISIBLE_DEVICES=unset SLURM_JOB_GPUS=unset GPU_DEVICE_ORDINAL=unset SLURM_JOB_NODELIST=unset`);
  const set = execute(s, { CUDA_VISIBLE_DEVICES: '0,1', SLURM_JOB_GPUS: '2,3', GPU_DEVICE_ORDINAL: '0,1', SLURM_JOB_NODELIST: 'node[1-2]' }).stdout.split('\n')[1];
  assert.equal(set, `${MARKERS.gpuEnv} CUDA_VISIBLE_DEVICES=0,1 SLURM_JOB_GPUS=2,3 GPU_DEVICE_ORDINAL=0,1 SLURM_JOB_NODELIST=node[1-2]`);
});

test('executed with bash: a failing step stops the job (set -e); the end marker still comes, with the exit status', () => {
  const r = execute(renderSbatch(spec({ steps: [{ argv: ['bash', '--norc', '-c', 'exit 3'] }, { argv: ['echo', 'after'] }] }), ctx));
  assert.equal(r.status, 3);
  assert.ok(!r.stdout.includes('after'));
  assert.match(r.stdout, new RegExp(`\\n${MARKERS.end} \\d+\\.\\d+ 3\\n$`));
});

test('runtime prefix: quoted and applied to every step unless inRuntime is false', () => {
  const c = { ...ctx, runtimePrefix: ['apptainer', 'exec', '--nv', '/images/a b.sif'] };
  const s = renderSbatch(spec({ steps: [{ argv: ['mkdir', '-p', '/out'], inRuntime: false }, { argv: ['python3', 'train.py'] }, { argv: ['python3', 'x.py'], inRuntime: true }] }), c);
  assert.ok(s.includes('\nmkdir -p /out\n'));
  assert.ok(s.includes("\napptainer exec --nv '/images/a b.sif' python3 train.py\n"));
  assert.ok(s.includes("\napptainer exec --nv '/images/a b.sif' python3 x.py\n"));
});

test('executed with bash: a runtime prefix really wraps the command (env as the runtime)', () => {
  const c = { ...ctx, runtimePrefix: ['env', 'IN_RUNTIME=yes it is'] };
  const steps = [{ argv: ['bash', '--norc', '-c', 'printf "[%s]\\n" "${IN_RUNTIME-no}"'] }, { argv: ['bash', '--norc', '-c', 'printf "[%s]\\n" "${IN_RUNTIME-no}"'], inRuntime: false }];
  const r = execute(renderSbatch(spec({ steps }), c));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(stepOutput(r.stdout), '[yes it is]\n[no]\n');
});

test('srun steps: flags, then the runtime prefix, then the command', () => {
  const c = { ...ctx, runtimePrefix: ['apptainer', 'exec', '--nv', '/images/x.sif'] };
  const s = renderSbatch(spec({ steps: [{ argv: ['python3', 'ddp.py', '--epochs', 2], srun: { ntasks: 2, ntasksPerNode: 1, gpusPerTask: 1, extra: ['--cpu-bind=cores', '--label'] } }] }), c);
  assert.ok(s.includes('\nsrun --kill-on-bad-exit=1 --ntasks=2 --ntasks-per-node=1 --gpus-per-task=1 --cpu-bind=cores --label apptainer exec --nv /images/x.sif python3 ddp.py --epochs 2\n'), s);
  const bare = renderSbatch(spec({ steps: [{ argv: ['hostname'], srun: {}, inRuntime: false }] }), c);
  assert.ok(bare.includes('\nsrun --kill-on-bad-exit=1 hostname\n'));
});

test('srun steps: hostile extra flags and bad counts throw', () => {
  for (const e of ['--x=$(id)', '--x=a b', '--x;id', '--x\nid', "--x='a'", '--x=`id`', '']) {
    assert.throws(() => renderSbatch(spec({ steps: [{ argv: ['true'], srun: { extra: [e] } }] }), ctx), /srun flag/, JSON.stringify(e));
  }
  assert.throws(() => renderSbatch(spec({ steps: [{ argv: ['true'], srun: { ntasks: 1.5 } }] }), ctx), /srun\.ntasks/);
  assert.throws(() => renderSbatch(spec({ steps: [{ argv: ['true'], srun: { gpusPerTask: -1 } }] }), ctx), /srun\.gpusPerTask/);
});

test('empty steps throw', () => {
  assert.throws(() => renderSbatch(spec({ steps: [] }), ctx), /steps must not be empty/);
});

test('slurmTime: [D-]HH:MM:SS', () => {
  assert.equal(slurmTime(1), '00:00:01');
  assert.equal(slurmTime(59), '00:00:59');
  assert.equal(slurmTime(60), '00:01:00');
  assert.equal(slurmTime(61), '00:01:01');
  assert.equal(slurmTime(3599), '00:59:59');
  assert.equal(slurmTime(3600), '01:00:00');
  assert.equal(slurmTime(86399), '23:59:59');
  assert.equal(slurmTime(86400), '1-00:00:00');
  assert.equal(slurmTime(86400 + 3661), '1-01:01:01');
  assert.equal(slurmTime(10 * 86400 + 5), '10-00:00:05');
  assert.ok(renderSbatch(spec({ timeLimitSeconds: 90061 }), ctx).includes('#SBATCH --time=1-01:01:01\n'));
});

test('slurmTime: fractions round up (never a shorter limit than asked)', () => {
  assert.equal(slurmTime(0.1), '00:00:01');
  assert.equal(slurmTime(59.5), '00:01:00');
  assert.equal(slurmTime(3599.001), '01:00:00');
});

test('slurmTime: zero, negative and NaN throw', () => {
  for (const s of [0, -1, -0.5, NaN]) assert.throws(() => slurmTime(s), /time limit must be positive/, String(s));
  assert.throws(() => renderSbatch(spec({ timeLimitSeconds: 0 }), ctx), /time limit/);
});

test('slurmTime: Infinity throws instead of rendering a garbage --time', () => {
  assert.throws(() => slurmTime(Infinity), /time limit/);
  assert.throws(() => renderSbatch(spec({ timeLimitSeconds: Infinity }), ctx), /time limit/);
});

test("renderSbatch: only the allow-listed env names; never the shell's, the loader's, SLURM's or Python's code-loading ones", () => {
  const allowed = ['MLV_SEED', 'OMP_NUM_THREADS', 'CUDA_VISIBLE_DEVICES', 'NCCL_DEBUG', 'HF_HOME', 'TORCH_DISTRIBUTED_DEBUG', 'PYTORCH_CUDA_ALLOC_CONF', 'PYTHONUNBUFFERED', 'MASTER_PORT'];
  for (const k of allowed) assert.ok(renderSbatch(spec({ env: { [k]: '1' } }), ctx).includes(`\nexport ${k}=1\n`), k);
  const refused = [
    'BASH_ENV',
    'ENV',
    'LD_PRELOAD',
    'LD_LIBRARY_PATH',
    'PATH',
    'IFS',
    'PS4',
    'SHELLOPTS',
    'BASHOPTS',
    'PROMPT_COMMAND',
    'HOME',
    'SLURM_JOB_ID',
    'PYTHONPATH',
    'PYTHONHOME',
    'PYTHONSTARTUP',
    'mlv_lower',
    'MLV_',
    'OMP',
    'A',
  ];
  for (const k of refused) assert.throws(() => renderSbatch(spec({ env: { [k]: 'v' } }), ctx), /is not allowed: a job sets only MLV_\*, OMP_\*/, k);
});

test('renderSbatch: counts within SLURM limits (MAX_SLURM_NODES, parse_int below INT_MAX, MAX_TASKS_PER_NODE)', () => {
  const d = directives(renderSbatch(spec({ nodes: 65536, ntasks: 2147483646, ntasksPerNode: 512, cpusPerTask: 1, gpus: 1024 }), ctx));
  assert.deepEqual(d.slice(-5), ['#SBATCH --nodes=65536', '#SBATCH --ntasks=2147483646', '#SBATCH --ntasks-per-node=512', '#SBATCH --cpus-per-task=1', '#SBATCH --gres=gpu:1024']);
  const bad: [keyof JobSpec, unknown][] = [
    ['nodes', 0],
    ['nodes', 65537],
    ['nodes', 1e21],
    ['nodes', Infinity],
    ['ntasks', 0],
    ['ntasks', 2147483647],
    ['ntasksPerNode', 513],
    ['cpusPerTask', 0],
    ['cpusPerTask', 2 ** 31],
    ['gpus', 1025],
    ['gpus', NaN],
    ['gpus', 1e23],
    ['nodes', '2'],
  ];
  for (const [k, v] of bad) assert.throws(() => renderSbatch(spec({ [k]: v } as Partial<JobSpec>), ctx), new RegExp(`JobSpec\\.${k} must be a whole number from \\d+ to \\d+`), `${k}=${v}`);
  assert.throws(() => renderSbatch(spec({ steps: [{ argv: ['true'], srun: { ntasksPerNode: 600 } }] }), ctx), /srun\.ntasksPerNode must be a whole number from 1 to 512/);
  assert.throws(() => renderSbatch(spec({ steps: [{ argv: ['true'], srun: { gpusPerTask: 0 } }] }), ctx), /srun\.gpusPerTask/);
});

test('slurmTime: finite and at most 24855 days (time_str2secs sums seconds in a C int)', () => {
  assert.equal(slurmTime(24855 * 86400), '24855-00:00:00');
  for (const s of [24855 * 86400 + 1, 1e303, Number.MAX_VALUE]) assert.throws(() => slurmTime(s), /time limit must be at most 2147472000 s/, String(s));
  assert.throws(() => renderSbatch(spec({ timeLimitSeconds: 2.08e303 }), ctx), /time limit/);
});

test('renderSbatch: no % in directive paths or values (sbatch expands %u, %x, %j); memory has at most 12 digits', () => {
  assert.ok(renderSbatch(spec(), ctx).includes(`\n#SBATCH --output=${ctx.jobDir}/%x-%j.out\n`));
  assert.throws(() => renderSbatch(spec(), { ...ctx, jobDir: '/shared/%u/jobs' }), /--output.*no %/);
  assert.throws(() => renderSbatch(spec(), { ...ctx, workDir: '/shared/%j' }), /--chdir/);
  assert.throws(() => renderSbatch(spec(), { ...ctx, account: 'a%x' }), /--account/);
  assert.throws(() => renderSbatch(spec({ extraDirectives: ['--error=/x/%j.err'] }), ctx), /--error/);
  assert.ok(renderSbatch(spec({ mem: '999999999999M' }), ctx).includes('--mem=999999999999M'));
  assert.throws(() => renderSbatch(spec({ mem: '1000000000000M' }), ctx), /JobSpec\.mem/);
});
