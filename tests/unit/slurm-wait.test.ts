/**
 * The job wait against a scripted login-node shell: failed squeue/sacct calls end the wait
 * as INFRA naming the daemon and SLURM's message (after a short bounded streak, not at the
 * deadline); requeues, NODE_FAIL and reasons that cannot clear end it at once naming the
 * node(s), with the job cancelled; deadline messages carry only the state actually seen.
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job, notReleased, SlurmSession } from '../../clients/slurm.ts';
import { Ledger, releaseJobs } from '../../fixtures/ledger.ts';
import { FAILURE_LIMIT } from '../../clients/slurm-poller.ts';
import { InfraError, SchedulerFaultError } from '../../helpers/errors.ts';
import { FakeShell, SLURM, sacctLines, squeueLine, type Reply } from './fake-slurm.ts';

const LIMIT = { calls: 3, spanMs: 300 };
const POLL = { minMs: 20, maxMs: 60, failure: LIMIT };

function jobOn(shell: FakeShell, poll: ConstructorParameters<typeof SlurmSession>[2] = POLL) {
  const session = new SlurmSession(shell, { runId: 'mlv-test', partition: 'lab', runtimePrefix: [], sharedRoot: '/shared' }, poll);
  const job = new Job('12', 'mlv-test-job', { name: 'job', timeLimitSeconds: 60, steps: [] }, '', '/shared/jobs/mlv-test/job.sbatch', '/shared/jobs/mlv-test/job-12.out', session);
  return { session, job };
}

const sq = (state: string, reason = 'None', nodes = ''): Reply => ({ stdout: squeueLine('12', state, reason, nodes) });

async function waitFor(job: Job, timeoutMs = 20_000) {
  const t0 = Date.now();
  try {
    return { final: await job.wait({ timeoutMs }), ms: Date.now() - t0 };
  } catch (e) {
    return { error: e as Error, ms: Date.now() - t0 };
  }
}

test('normal path: PENDING -> RUNNING -> COMPLETED returns the final state with every transition', async () => {
  const shell = new FakeShell().on('squeue', sq('PENDING', 'Priority'), sq('RUNNING', 'None', 'node1'), sq('RUNNING', 'None', 'node1'), sq('COMPLETED', 'None', 'node1'));
  const { job, session } = jobOn(shell);
  const r = await waitFor(job);
  session.close();
  assert.equal(r.error, undefined);
  assert.equal(r.final?.state, 'COMPLETED');
  assert.deepEqual(
    job.history.map((h) => h.state),
    ['PENDING', 'RUNNING', 'COMPLETED'],
  );
  assert.deepEqual(shell.callsOf('scancel'), [], 'nothing cancelled');
});

test('polling stays gentle: never faster than MLV_POLL_MIN_MS, backing off to MLV_POLL_MAX_MS while nothing changes', async () => {
  const states: Reply[] = [...Array(12).fill(sq('RUNNING', 'None', 'node1')), sq('COMPLETED', 'None', 'node1')];
  const shell = new FakeShell().on('squeue', ...states);
  const { job, session } = jobOn(shell, { minMs: 30, maxMs: 90 });
  await waitFor(job);
  session.close();
  const at = shell.callsOf('squeue').length;
  assert.equal(at, 13);
  const polls = shell.calls.filter((c) => c.argv[0] === 'squeue');
  const gaps = polls.slice(1).map((c, i) => c.at - polls[i]!.at);
  assert.ok(
    gaps.every((g) => g >= 25),
    `gaps ${gaps}`,
  );
  assert.ok(Math.max(...gaps) >= 80, `backs off towards the max: ${gaps}`);
  assert.ok(Math.max(...gaps) < 150, `never past the max: ${gaps}`);
});

test('the controller dies while the job runs: INFRA naming slurmctld and SLURM message, last seen RUNNING, within the streak limit', async () => {
  const shell = new FakeShell().on('squeue', sq('RUNNING', 'None', 'node2'), SLURM.ctldDown).on('scontrol', SLURM.pingDown);
  const { job, session } = jobOn(shell);
  const r = await waitFor(job, 60_000);
  session.close();
  assert.ok(r.error instanceof InfraError, String(r.error));
  const m = r.error.message;
  assert.match(m, /^INFRA: slurmctld \(the SLURM controller\) does not answer: \d+ calls failed over \d+ s \(/);
  assert.match(m, /squeue: slurm_load_jobs error: Unable to contact slurm controller \(connect failure\)/);
  assert.match(m, /scontrol ping: Slurmctld\(primary\) at vm is DOWN/);
  assert.match(m, /Job 12 \(mlv-test-job\) was last seen RUNNING on node2 at \d\d:\d\d:\d\d UTC, \d+ s ago/);
  assert.doesNotMatch(m, /PENDING/, 'never a state it has not seen');
  assert.ok(r.ms >= LIMIT.spanMs && r.ms < 3000, `verdict after ${r.ms} ms`);
  // After the first failed squeue the cheap `scontrol ping` is asked, not squeue again.
  assert.equal(shell.callsOf('squeue').length, 2);
  assert.ok(shell.callsOf('scontrol').length >= 2);
});

test('release after the controller died: scontrol ping first, no scancel sent; sacct keeps the running job in the ledger', async () => {
  const shell = new FakeShell()
    .on('squeue', sq('RUNNING', 'None', 'node2'), SLURM.ctldDown)
    .on('scontrol', SLURM.pingDown)
    .on('scancel', SLURM.ok)
    .on('sacct', { stdout: sacctLines('12', 'RUNNING') });
  const { job, session } = jobOn(shell);
  await waitFor(job, 60_000);
  const stuck = await session.release(['12']);
  session.close();
  assert.deepEqual(shell.callsOf('scancel'), [], 'scancel would only spend ~10 s retrying');
  assert.equal(stuck.length, 1);
  assert.match(stuck[0]!.why, /^scontrol ping: Slurmctld\(primary\) at vm is DOWN; sacct does not show it ended$/);
});

test('with the default limit a dead controller is INFRA in seconds: not before 10 s of failures, and soon after', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.parse('2026-12-02T01:52:00Z') });
  try {
    const shell = new FakeShell().on('squeue', sq('RUNNING', 'None', 'node2'), SLURM.ctldDown).on('scontrol', SLURM.pingDown);
    const { job, session } = jobOn(shell, { minMs: 2000, maxMs: 30_000 });
    let error: Error | undefined;
    const done = job.wait({ timeoutMs: 7 * 60_000 }).catch((e: Error) => (error = e));
    const flush = async () => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    };
    let elapsed = 0;
    for (; elapsed < 60_000 && !error; elapsed += 500) {
      mock.timers.tick(500);
      await flush();
      if (elapsed < FAILURE_LIMIT.spanMs) assert.equal(error, undefined, `fault after only ${elapsed} ms`);
    }
    await done;
    session.close();
    assert.ok(error instanceof InfraError);
    assert.ok(elapsed >= FAILURE_LIMIT.spanMs && elapsed <= FAILURE_LIMIT.spanMs + 6000, `INFRA after ${elapsed} ms`);
    assert.match(error.message, /last seen RUNNING on node2 at 01:52:02 UTC/);
  } finally {
    mock.timers.reset();
  }
});

test('one failed squeue amid successes is tolerated: the wait completes', async () => {
  const shell = new FakeShell()
    .on('squeue', sq('RUNNING', 'None', 'node1'), SLURM.ctldDown, sq('RUNNING', 'None', 'node1'), SLURM.ctldDown, sq('COMPLETED', 'None', 'node1'))
    .on('scontrol', SLURM.pingUp);
  const { job, session } = jobOn(shell);
  const r = await waitFor(job);
  session.close();
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.final?.state, 'COMPLETED');
});

test('a hung controller (no answer) counts as a failed call', async () => {
  const hung: Reply = { reject: new InfraError('remote command timed out after 20000 ms: squeue -h') };
  const shell = new FakeShell().on('squeue', sq('PENDING', 'Priority'), hung).on('scontrol', { reject: new InfraError('remote command timed out after 20000 ms: scontrol ping') });
  const { job, session } = jobOn(shell);
  const r = await waitFor(job);
  session.close();
  assert.ok(r.error instanceof InfraError);
  assert.match(r.error.message, /slurmctld .*squeue: no answer within 20 s/);
  assert.match(r.error.message, /last seen PENDING \(Priority\)/);
});

test('accounting down once the job left squeue: INFRA naming slurmdbd and the database message', async () => {
  const shell = new FakeShell().on('squeue', sq('RUNNING', 'None', 'node1'), { stdout: '' }).on('sacct', SLURM.dbdDown);
  const { job, session } = jobOn(shell);
  const r = await waitFor(job);
  session.close();
  assert.ok(r.error instanceof InfraError);
  assert.match(r.error.message, /^INFRA: slurmdbd \(SLURM accounting\) does not answer/);
  assert.match(r.error.message, /sacct: sacct: error: .*Problem talking to the database: Connection refused/);
  assert.match(r.error.message, /last seen RUNNING on node1/);
});

test('a job purged from squeue ("Invalid job id specified") is looked up in sacct, not counted as a failure', async () => {
  const shell = new FakeShell().on('squeue', sq('RUNNING', 'None', 'node1'), SLURM.invalidJob).on('sacct', { stdout: sacctLines('12', 'COMPLETED') });
  const { job, session } = jobOn(shell);
  const r = await waitFor(job);
  session.close();
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.final?.state, 'COMPLETED');
});

const RUNS_NODE_FAIL = { stdout: '12|NODE_FAIL|node[1-2]|2026-12-02T01:50:01|2026-12-02T01:52:40\n12|PENDING|None assigned|Unknown|Unknown\n' };
const NODE2_DOWN = { stdout: 'node2|down*|Not responding|2026-12-02T01:52:38\n' };

test('a requeue (RUNNING -> PENDING) ends the wait at once, names NODE_FAIL, the node and its reason, and cancels the job', async () => {
  const shell = new FakeShell()
    .on('squeue', sq('RUNNING', 'None', 'node[1-2]'), sq('PENDING', 'BeginTime'))
    .on('sacct', RUNS_NODE_FAIL)
    .on('sinfo', { stdout: 'node1|idle|none|Unknown\nnode2|down*|Not responding|2026-12-02T01:52:38\n' })
    .on('scancel', SLURM.ok);
  const { job, session } = jobOn(shell);
  const r = await waitFor(job, 60_000);
  session.close();
  assert.ok(r.error instanceof SchedulerFaultError, String(r.error));
  assert.equal(r.error.kind, 'node-failure');
  assert.deepEqual(r.error.nodes, ['node1', 'node2']);
  const m = r.error.message;
  assert.match(m, /job 12 \(mlv-test-job\) was requeued by SLURM \(RUNNING on node1,node2 at .*, then PENDING \(BeginTime\) at/);
  assert.match(m, /sacct records NODE_FAIL on node1,node2 at 2026-12-02T01:52:40/);
  assert.match(m, /node2 is down\* \(reason: "Not responding" since 2026-12-02T01:52:38\)/);
  assert.doesNotMatch(m, /node1 is idle/, 'only the failed node is blamed');
  assert.match(m, /Job 12 was cancelled\. A node failed under the job/);
  assert.deepEqual(shell.callsOf('scancel'), [['scancel', '12']]);
  assert.deepEqual(shell.callsOf('sacct')[0], ['sacct', '-j', '12', '--duplicates', '-X', '--parsable2', '--noheader', '-o', 'JobID,State,NodeList,Start,End']);
  assert.ok(r.ms < 2000, `${r.ms} ms`);
});

test('a requeue while accounting is down still ends the wait, naming the node squeue showed', async () => {
  const shell = new FakeShell()
    .on('squeue', sq('RUNNING', 'None', 'node2'), sq('REQUEUED', 'None', 'node2'))
    .on('sacct', SLURM.dbdDown)
    .on('sinfo', NODE2_DOWN)
    .on('scancel', SLURM.ok);
  const { job, session } = jobOn(shell);
  const r = await waitFor(job);
  session.close();
  assert.ok(r.error instanceof SchedulerFaultError);
  assert.match(r.error.message, /squeue shows REQUEUED on node2; node2 is down\*/);
  assert.equal(shell.callsOf('scancel').length, 1);
});

test('NODE_FAIL as a final state (a job that is not requeued) fails naming the node; nothing to cancel', async () => {
  const shell = new FakeShell()
    .on('squeue', sq('RUNNING', 'None', 'node2'), sq('NODE_FAIL', 'NodeDown', 'node2'))
    .on('sacct', { stdout: '12|NODE_FAIL|node2|2026-12-02T01:50:01|2026-12-02T01:52:40\n' })
    .on('sinfo', NODE2_DOWN);
  const { job, session } = jobOn(shell);
  const r = await waitFor(job);
  session.close();
  assert.ok(r.error instanceof SchedulerFaultError);
  assert.match(r.error.message, /ended NODE_FAIL \(NodeDown\) on node2: sacct records NODE_FAIL on node2/);
  assert.deepEqual(shell.callsOf('scancel'), []);
});

test('NODE_FAIL found in sacct for a job already purged from squeue ends the wait', async () => {
  const shell = new FakeShell()
    .on('squeue', sq('RUNNING', 'None', 'node2'), { stdout: '' })
    .on('sacct', (argv) => (argv.includes('--duplicates') ? { stdout: '12|NODE_FAIL|node2|2026-12-02T01:50:01|2026-12-02T01:52:40\n' } : { stdout: sacctLines('12', 'NODE_FAIL', 'node2', '0:0') }))
    .on('sinfo', NODE2_DOWN);
  const { job, session } = jobOn(shell);
  const r = await waitFor(job);
  session.close();
  assert.ok(r.error instanceof SchedulerFaultError);
  assert.match(r.error.message, /NODE_FAIL on node2/);
});

test('BOOT_FAIL is a node failure too', async () => {
  const shell = new FakeShell()
    .on('squeue', sq('BOOT_FAIL', 'None', 'node2'))
    .on('sacct', { stdout: '12|BOOT_FAIL|node2|2026-12-02T01:50:01|2026-12-02T01:50:31\n' })
    .on('sinfo', NODE2_DOWN);
  const { job, session } = jobOn(shell);
  const r = await waitFor(job);
  session.close();
  assert.ok(r.error instanceof SchedulerFaultError);
  assert.match(r.error.message, /BOOT_FAIL on node2/);
});

for (const reason of ['PartitionDown', 'PartitionInactive', 'BadConstraints', 'NodeDown']) {
  test(`PENDING (${reason}) cannot clear by itself: cancelled and reported at once, not at the deadline`, async () => {
    const shell = new FakeShell().on('squeue', sq('PENDING', reason)).on('scancel', SLURM.ok);
    const { job, session } = jobOn(shell);
    const r = await waitFor(job, 60_000);
    session.close();
    assert.ok(r.error instanceof SchedulerFaultError, String(r.error));
    assert.equal(r.error.kind, 'unrunnable');
    assert.match(r.error.message, new RegExp(`job 12 \\(mlv-test-job\\) cannot start: PENDING \\(${reason}\\)\\. This reason does not clear by itself\\. Job 12 was cancelled`));
    assert.deepEqual(shell.callsOf('scancel'), [['scancel', '12']]);
    assert.ok(r.ms < 2000);
  });
}

test('ReqNodeNotAvail naming a drained node: cancelled, naming the node and its drain reason', async () => {
  const shell = new FakeShell()
    .on('squeue', sq('PENDING', 'ReqNodeNotAvail, UnavailableNodes:node2'))
    .on('sinfo', { stdout: 'node2|drained|disk replacement|2026-12-02T01:00:00\n' })
    .on('scancel', SLURM.ok);
  const { job, session } = jobOn(shell);
  const r = await waitFor(job, 60_000);
  session.close();
  assert.ok(r.error instanceof SchedulerFaultError);
  assert.deepEqual(r.error.nodes, ['node2']);
  assert.match(r.error.message, /PENDING \(ReqNodeNotAvail, UnavailableNodes:node2\): node2 is drained \(reason: "disk replacement" since 2026-12-02T01:00:00\)/);
  assert.deepEqual(shell.callsOf('sinfo')[0], ['sinfo', '-h', '-N', '-n', 'node2', '-o', '%N|%T|%E|%H']);
});

test('ReqNodeNotAvail whose nodes sinfo shows up again is waited on; the deadline names the last state seen', async () => {
  const shell = new FakeShell().on('squeue', sq('PENDING', 'ReqNodeNotAvail, UnavailableNodes:node2')).on('sinfo', { stdout: 'node2|idle|none|Unknown\n' });
  const { job, session } = jobOn(shell);
  const r = await waitFor(job, 400);
  session.close();
  assert.ok(!(r.error instanceof SchedulerFaultError) && !(r.error instanceof InfraError), String(r.error));
  assert.match(r.error!.message, /^job 12 \(mlv-test-job\) not started after 0 s \(last seen PENDING \(ReqNodeNotAvail, UnavailableNodes:node2\) at .* UTC, 0 s ago\)\. The scheduler cannot place/);
  assert.deepEqual(shell.callsOf('scancel'), []);
});

test('deadline: a job never listed by squeue or sacct is INFRA "never seen", not "still PENDING"', async () => {
  const shell = new FakeShell().on('squeue', { stdout: '' }).on('sacct', { stdout: '' });
  const { job, session } = jobOn(shell);
  const r = await waitFor(job, 300);
  session.close();
  assert.ok(r.error instanceof InfraError);
  assert.match(r.error.message, /job 12 \(mlv-test-job\): no state observed after 0 s: never seen in squeue or sacct/);
  assert.doesNotMatch(r.error.message, /PENDING/);
});

test('deadline: busy-queue PENDING is INFRA with the last sighting; RUNNING is a plain error with the node', async () => {
  const busy = new FakeShell().on('squeue', sq('PENDING', 'Resources'));
  const a = jobOn(busy);
  const r1 = await waitFor(a.job, 300);
  a.session.close();
  assert.ok(r1.error instanceof InfraError);
  assert.match(r1.error.message, /not started after 0 s \(last seen PENDING \(Resources\) at .*\): the cluster is busy/);
  const running = new FakeShell().on('squeue', sq('RUNNING', 'None', 'node1'));
  const b = jobOn(running);
  const r2 = await waitFor(b.job, 300);
  b.session.close();
  assert.ok(!(r2.error instanceof InfraError));
  assert.match(r2.error!.message, /job 12 \(mlv-test-job\) not finished after 0 s \(last seen RUNNING on node1 at \d\d:\d\d:\d\d UTC, 0 s ago\)/);
});

test('release: scancel ok marks gone; scancel failing but sacct showing the end marks gone; both failing keeps the job, with both messages', async () => {
  const ok = jobOn(new FakeShell().on('scancel', SLURM.ok));
  const gone: string[] = [];
  assert.deepEqual(await ok.session.release(['12', '13'], (id) => gone.push(id)), []);
  assert.deepEqual(gone, ['12', '13']);

  const ended = jobOn(new FakeShell().on('scancel', SLURM.scancelDown('12')).on('sacct', { stdout: sacctLines('12', 'COMPLETED') + sacctLines('13', 'RUNNING') }));
  const gone2: string[] = [];
  const stuck = await ended.session.release(['12', '13'], (id) => gone2.push(id));
  assert.deepEqual(gone2, ['12']);
  assert.deepEqual(
    stuck.map((s) => s.id),
    ['13'],
  );
  assert.match(stuck[0]!.why, /scancel: scancel: error: Kill job error on job id 12: Unable to contact slurm controller \(connect failure\); sacct does not show it ended/);

  const down = jobOn(new FakeShell().on('scancel', SLURM.scancelDown('12')).on('sacct', SLURM.dbdDown));
  await assert.rejects(down.session.cancel(['12']), (e: Error) => {
    assert.ok(e instanceof InfraError);
    assert.match(
      e.message,
      /job\(s\) 12 could not be confirmed cancelled or ended \(scancel: .*connect failure\); sacct: .*Problem talking to the database: Connection refused\)\. They stay in the ledger/,
    );
    return true;
  });
});

test('cancelRun: a controller that does not answer is INFRA, not "nothing to cancel"', async () => {
  const { session } = jobOn(new FakeShell().on('squeue', SLURM.ctldDown));
  await assert.rejects(session.cancelRun(), /INFRA: cannot list the run's jobs: slurmctld does not answer \(squeue: slurm_load_jobs error: Unable to contact slurm controller/);
  const live = new FakeShell().on('squeue', { stdout: squeueLine('12', 'RUNNING', 'None', 'node1') + squeueLine('13', 'RUNNING', 'None', 'node1', 'mlv-run=other') }).on('scancel', SLURM.ok);
  const b = jobOn(live);
  assert.deepEqual(await b.session.cancelRun(), ['12']);
  assert.deepEqual(live.callsOf('scancel'), [['scancel', '12']]);
});

test('accounting: sacct failing past the limit is INFRA naming slurmdbd; a passing blip is retried', async () => {
  const down = jobOn(new FakeShell().on('sacct', SLURM.dbdDown));
  await assert.rejects(down.job.accounting(), /INFRA: slurmdbd \(SLURM accounting\) does not answer: \d+ sacct calls failed \(.*Problem talking to the database: Connection refused\)/);
  const blip = jobOn(new FakeShell().on('sacct', SLURM.dbdDown, { stdout: sacctLines('12', 'COMPLETED') }));
  const a = await blip.job.accounting();
  assert.equal(a.job.state, 'COMPLETED');
  assert.equal(a.steps.length, 1);
});

test('cleanup by ledger: a job not confirmed gone stays outstanding for the next sweep; confirmed ones are marked removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlv-ledger-'));
  try {
    const ledger = new Ledger('mlv-test', process.pid, dir);
    for (const id of ['11', '12', '13']) ledger.created('slurm-job', id);
    const shell = new FakeShell().on('scancel', SLURM.scancelDown('12')).on('sacct', SLURM.dbdDown);
    const { session } = jobOn(shell);
    const stuck = await releaseJobs(ledger, session, [
      { id: '11', active: false },
      { id: '12', active: true },
      { id: '13', active: true },
    ]);
    assert.deepEqual(
      stuck.map((s) => s.id),
      ['12', '13'],
    );
    assert.match(notReleased(stuck).message, /^INFRA: job\(s\) 12, 13 could not be confirmed cancelled or ended .* They stay in the ledger/);
    assert.deepEqual(
      ledger.outstanding().map((e) => e.id),
      ['12', '13'],
      'only the job seen ended is marked removed',
    );
    const back = jobOn(new FakeShell().on('scancel', SLURM.ok));
    assert.deepEqual(
      await releaseJobs(ledger, back.session, [
        { id: '12', active: true },
        { id: '13', active: true },
      ]),
      [],
    );
    assert.deepEqual(ledger.outstanding(), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a requeue with no failed node (scontrol requeue) says so and names the RUNNING state it left, not a node failure', async () => {
  const shell = new FakeShell()
    .on('squeue', sq('RUNNING', 'None', 'node1'), sq('COMPLETING', 'None', 'node1'), sq('PENDING', 'BeginTime'))
    .on('sacct', { stdout: '12|REQUEUED|node1|2026-12-02T01:38:50|2026-12-02T01:38:54\n12|PENDING|None assigned|Unknown|Unknown\n' })
    .on('sinfo', { stdout: 'node1|idle|none|Unknown\n' })
    .on('scancel', SLURM.ok);
  const { job, session } = jobOn(shell);
  const r = await waitFor(job);
  session.close();
  assert.ok(r.error instanceof SchedulerFaultError);
  assert.match(
    r.error.message,
    /was requeued by SLURM \(RUNNING on node1 at .*, then PENDING \(BeginTime\) at .*\): sacct records REQUEUED on node1 at 2026-12-02T01:38:54; node1 is idle\. Job 12 was cancelled\. SLURM requeued the job \(scontrol requeue, or a failed prolog\/launch\)\. Fix: look for job 12 in slurmctld's log/,
  );
  assert.doesNotMatch(r.error.message, /A node failed/);
});
