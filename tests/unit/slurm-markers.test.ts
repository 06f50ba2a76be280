/**
 * The end marker as the signal of a job's end (clients/slurm-poller.ts): a RUNNING job is asked
 * about only at the fallback interval while a waiter on the login node reads its output file;
 * the marker makes the next tick ask for the final state. Where the waiter cannot run or the
 * file is not visible, polling is as before.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { MARKER_WAITER } from '../../clients/slurm-poller.ts';
import { parseScontrolJobs } from '../../helpers/slurm-parsers.ts';
import { Job, SlurmSession } from '../../clients/slurm.ts';
import { FakeShell, squeueLine, type Reply } from './fake-slurm.ts';

const OUT = '/shared/jobs/mlv-test/job-12.out';

function jobOn(shell: FakeShell, fallbackMs: number, firstPollMs = 50, fallbackMaxMs?: number) {
  const session = new SlurmSession(
    shell,
    { runId: 'mlv-test', partition: 'lab', runtimePrefix: [], sharedRoot: '/shared' },
    { minMs: 30, maxMs: 90, markers: { roundS: 0.2, fallbackMs, firstPollMs, fallbackMaxMs } },
  );
  const job = new Job('12', 'mlv-test-job', { name: 'job', timeLimitSeconds: 60, steps: [] }, '', '/shared/jobs/mlv-test/job.sbatch', OUT, session);
  return { session, job };
}

const sq = (state: string): Reply => ({ stdout: squeueLine('12', state, 'None', 'node1') });

test('a job is not polled while the waiter reads its markers: the start marker is the RUNNING sighting, the end marker brings the final state', async () => {
  let ended = false;
  let rounds = 0;
  const modes: string[] = [];
  const shell = new FakeShell()
    .on('squeue', () => (ended ? sq('COMPLETED') : sq('RUNNING')))
    .on('scontrol', (argv) => {
      assert.deepEqual(argv, ['scontrol', '--local', 'show', 'job', '-o', '12']);
      return { stdout: SHOW_JOB.replaceAll('361', '12') };
    })
    .on('sh', (argv) => {
      assert.deepEqual(argv.slice(3, 5), ['mlv-marker-waiter', '0.2'], 'the waiter gets its round');
      modes.push(argv[5]!);
      rounds++;
      if (rounds === 1) return { delayMs: 100, stdout: `S ${OUT} node[1-2]\n` };
      ended = rounds === 6;
      return { delayMs: 200, stdout: ended ? `E ${OUT}\n` : '' };
    });
  const { job, session } = jobOn(shell, 60_000, 5000);
  const t0 = Date.now();
  const seen: string[] = [];
  const final = await job.wait({ timeoutMs: 10_000, onTransition: (s) => void seen.push(`${s.state} ${s.nodes.join(',')}`) });
  const ms = Date.now() - t0;
  session.close();
  assert.equal(final.state, 'COMPLETED');
  assert.deepEqual(seen, ['RUNNING node1,node2', 'COMPLETED node1,node2']);
  assert.deepEqual(modes, [`S:${OUT}`, ...Array(5).fill(`E:${OUT}`)]);
  // The only question to the controller is the one the end marker asked (1.1 s at a 30-90 ms poll interval).
  assert.equal(shell.callsOf('squeue').length, 0, `squeue calls: ${shell.callsOf('squeue').length}`);
  assert.equal(shell.callsOf('scontrol').length, 1);
  assert.ok(ms < 2000, `final state ${ms} ms after the start`);
});

/** `scontrol --local show job -o 361`, recorded on the lab (slurm-wlm 22.05.8), a 2-node job just ended. */
const SHOW_JOB =
  'JobId=361 JobName=wrap UserId=mlops(1001) GroupId=mlops(1001) MCS_label=N/A Priority=4294901399 Nice=0 Account=mlops QOS=normal JobState=COMPLETED Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:01 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-12-02T22:49:32 EligibleTime=2026-12-02T22:49:32 AccrueTime=2026-12-02T22:49:32 StartTime=2026-12-02T22:49:33 EndTime=2026-12-02T22:49:34 Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-12-02T22:49:33 Scheduler=Main Partition=lab AllocNode:Sid=localhost:22851 ReqNodeList=(null) ExcNodeList=(null) NodeList=node[1-2] BatchHost=node1 NumNodes=2 NumCPUs=2 NumTasks=2 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=2,mem=1000M,node=2,billing=2 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryCPU=500M MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=(null) WorkDir=/tmp StdErr=/dev/null StdIn=/dev/null StdOut=/dev/null Power= \n';

test('scontrol show job -o: state, reason and the node list (not ReqNodeList), as squeue gives them', () => {
  assert.deepEqual(parseScontrolJobs(SHOW_JOB), [{ jobId: '361', state: 'COMPLETED', reason: '', nodes: ['node1', 'node2'] }]);
  const pending = 'JobId=7 JobName=x JobState=PENDING Reason=ReqNodeNotAvail,_UnavailableNodes:node2 ReqNodeList=node2 NodeList=(null)\n';
  assert.deepEqual(parseScontrolJobs(pending), [{ jobId: '7', state: 'PENDING', reason: 'ReqNodeNotAvail,_UnavailableNodes:node2', nodes: [] }]);
  assert.throws(() => parseScontrolJobs('slurm_load_jobs error\n'), /unexpected scontrol show job line/);
});

test('the waiter, run by sh on real files: start with the node list, end, a missing file, and nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlv-markers-'));
  try {
    const started = join(dir, 'a b.out');
    const done = join(dir, 'done.out');
    writeFileSync(started, 'MLV_JOB_START 1.5 node1\nMLV_GPU_ENV CUDA_VISIBLE_DEVICES=0 SLURM_JOB_NODELIST=node[1-2]\nworking\n');
    writeFileSync(done, 'MLV_JOB_START 1.5 node1\nMLV_GPU_ENV CUDA_VISIBLE_DEVICES=0 SLURM_JOB_NODELIST=node1\nMLV_JOB_END 9.5 0\n');
    const run = (...args: string[]) => execFileSync('sh', ['-c', MARKER_WAITER, 'w', '1', ...args], { encoding: 'utf8' });
    assert.equal(run(`S:${started}`), `S ${started} node[1-2]\n`);
    assert.equal(run(`S:${done}`), `S ${done} node1\nE ${done}\n`);
    assert.equal(run(`E:${started}`, `E:${done}`), `E ${done}\n`);
    assert.equal(run(`E:${join(dir, 'gone.out')}`), `? ${join(dir, 'gone.out')}\n`);
    assert.equal(run(`S:${join(dir, 'pending.out')}`, `E:${started}`), '', 'nothing within the round');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a job that dies without writing its end marker is found by the fallback poll', async () => {
  let polls = 0;
  const shell = new FakeShell().on('squeue', () => (++polls < 4 ? sq('RUNNING') : sq('FAILED'))).on('sh', { delayMs: 200, stdout: '' });
  const { job, session } = jobOn(shell, 300);
  const t0 = Date.now();
  const final = await job.wait({ timeoutMs: 10_000 });
  session.close();
  assert.equal(final.state, 'FAILED');
  const gaps = shell.calls.filter((c) => c.argv[0] === 'squeue').map((c, i, a) => (i ? c.at - a[i - 1]!.at : 0));
  assert.ok(
    gaps.slice(2).every((g) => g >= 280),
    `while RUNNING, polls only at the fallback interval: gaps ${gaps}`,
  );
  assert.ok(Date.now() - t0 < 3000);
});

test('while a job keeps RUNNING the fallback gap doubles, up to its cap', async () => {
  let polls = 0;
  const shell = new FakeShell().on('squeue', () => (++polls < 7 ? sq('RUNNING') : sq('FAILED'))).on('sh', { delayMs: 200, stdout: '' });
  const { job, session } = jobOn(shell, 100, 50, 400);
  const final = await job.wait({ timeoutMs: 10_000 });
  session.close();
  assert.equal(final.state, 'FAILED');
  const at = shell.calls.filter((c) => c.argv[0] === 'squeue').map((c) => c.at);
  const gaps = at.slice(1).map((t, i) => t - at[i]!);
  // the first sighting, then gaps of 100, 200 and 400 ms thereafter (each at least its step; the ticks add up to 90 ms)
  const want = [100, 200, 400, 400, 400, 400];
  assert.equal(gaps.length, want.length, `gaps ${gaps}`);
  gaps.forEach((g, i) => assert.ok(g >= want[i]! - 5 && g < want[i]! + 300, `gap ${i}: ${g} ms, want ~${want[i]} (gaps ${gaps})`));
});

test('where the waiter cannot run (no sh), or the output file is not visible, every tick polls as before', async () => {
  for (const waiter of [
    { code: 127, stderr: 'sh: not found' },
    { delayMs: 50, stdout: `? ${OUT}\n` },
  ] as Reply[]) {
    let polls = 0;
    const shell = new FakeShell().on('squeue', () => (++polls < 12 ? sq('RUNNING') : sq('COMPLETED'))).on('sh', waiter);
    const { job, session } = jobOn(shell, 60_000);
    const final = await job.wait({ timeoutMs: 10_000 });
    session.close();
    assert.equal(final.state, 'COMPLETED', JSON.stringify(waiter));
    assert.equal(polls, 12);
  }
});
