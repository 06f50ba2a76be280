/**
 * Scale in simulation (issue 12, section 4): recorded squeue, sacct and `scontrol show job -o`
 * output for 1,000 jobs on 100 nodes (tests/fixtures/scale), parsed by the suite's own parsers,
 * and one tick of the real poller with 1,000 waiters against a shell that answers from it.
 * Correctness only: the timings are in the bench (`npm run bench -- --scale-only`).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { JobPoller, type JobState, type PollEvent } from '../../clients/slurm-poller.ts';
import { expandHostlist, parseSacct, parseScontrolJobs, parseSqueue, pendingKind, SACCT_FIELDS, SQUEUE_FORMAT } from '../../helpers/slurm-parsers.ts';
import { compressNodes, FILES, recordedAnswers, scaleRecording, SCALE_JOBS, type ScaleJob, type ScaleRecording } from '../fixtures/scale/generate.ts';
import { FakeShell } from './fake-slurm.ts';

const file = (name: string) => readFileSync(new URL(`../fixtures/scale/${name}`, import.meta.url), 'utf8');
const REC: ScaleRecording = { jobs: scaleRecording().jobs, squeue: file(FILES.squeue), sacct: file(FILES.sacct), scontrol: file(FILES.scontrol) };
const TRUTH = new Map(REC.jobs.map((j) => [j.id, j]));
const names = (j: ScaleJob) => j.nodes.map((n) => `node${String(n).padStart(3, '0')}`);
const count = (xs: readonly string[]) => Object.fromEntries([...new Set(xs)].sort().map((x) => [x, xs.filter((y) => y === x).length]));

test('the committed recording is the generator’s output (deterministic), 1,000 jobs on node[001-100]', () => {
  const again = scaleRecording();
  assert.equal(REC.squeue, again.squeue);
  assert.equal(REC.sacct, again.sacct);
  assert.equal(REC.scontrol, again.scontrol);
  assert.equal(REC.jobs.length, SCALE_JOBS);
  const used = new Set(REC.jobs.flatMap((j) => j.nodes));
  assert.ok(used.size > 90 && Math.min(...used) >= 1 && Math.max(...used) <= 100, `nodes used: ${used.size}`);
  assert.equal(compressNodes([17, 1, 2, 3, 4]), 'node[001-004,017]');
  assert.equal(compressNodes([42]), 'node042');
});

test('squeue (1,000 jobs, 825 still held by slurmctld): counts per state, and every row is the job it was recorded for', () => {
  const rows = parseSqueue(REC.squeue);
  assert.equal(rows.length, 825);
  assert.deepEqual(count(rows.map((r) => r.state)), { COMPLETED: 97, FAILED: 35, PENDING: 300, RUNNING: 350, TIMEOUT: 43 });
  for (const r of rows) {
    const j = TRUTH.get(r.jobId)!;
    assert.deepEqual([r.name, r.state, r.reason, r.nodes, r.comment], [j.name, j.state, j.reason === 'None' ? '' : j.reason, names(j), 'mlv-run=mlv-20261204090000-scal'], r.jobId);
  }
  const byId = new Map(rows.map((r) => [r.jobId, r]));
  // A 5-node job whose compressed node list has a range and a single node.
  assert.ok(REC.squeue.includes('20248|mlv-20261204090000-scal-llm-5nodes|RUNNING|None|node[016-019,067]|'));
  assert.deepEqual(byId.get('20248')!.nodes, ['node016', 'node017', 'node018', 'node019', 'node067']);
  assert.deepEqual(byId.get('20034')!, {
    jobId: '20034',
    name: 'mlv-20261204090000-scal-ddp-4nodes',
    state: 'FAILED',
    reason: 'NonZeroExitCode',
    nodes: ['node021', 'node022', 'node023', 'node024'],
    comment: 'mlv-run=mlv-20261204090000-scal',
  });
  // A pending reason with a comma, a space and a node list: the fault check asks sinfo about those nodes.
  assert.equal(byId.get('20968')!.reason, 'ReqNodeNotAvail, UnavailableNodes:node[070,078,089]');
  assert.deepEqual(pendingKind(byId.get('20968')!.reason), { kind: 'nodes', nodes: ['node070', 'node078', 'node089'] });
  assert.deepEqual(count(rows.filter((r) => r.state === 'PENDING').map((r) => pendingKind(r.reason).kind)), { nodes: 6, queue: 294 });
  assert.ok(rows.filter((r) => r.state === 'PENDING').every((r) => r.nodes.length === 0));
});

test('sacct (1,000 jobs): allocations per state, batch and srun steps, the TIMEOUT job’s cancelled steps, pending jobs with no nodes', () => {
  const rows = parseSacct(REC.sacct);
  const allocs = rows.filter((r) => !r.step);
  assert.equal(allocs.length, 1000);
  assert.deepEqual(count(allocs.map((r) => r.state)), { COMPLETED: 200, FAILED: 80, PENDING: 300, RUNNING: 350, TIMEOUT: 70 });
  assert.deepEqual(count(rows.filter((r) => r.step).map((r) => r.step!)), { '0': 218, batch: 700 });
  for (const a of allocs) {
    const j = TRUTH.get(a.jobId)!;
    assert.deepEqual([a.state, a.nodes, a.tres.nodes ?? 0], [j.state, names(j), j.nodes.length], a.jobId);
  }
  const job = (id: string) => rows.filter((r) => r.jobId === id);
  // 20001 timed out and is gone from squeue: only sacct knows its end.
  assert.ok(!REC.squeue.includes('\n20001|'));
  assert.deepEqual(
    job('20001').map((r) => [r.step, r.state, r.exitCode, r.signal, r.elapsedSeconds, r.nodes.join(',')]),
    [
      [undefined, 'TIMEOUT', 0, 0, 3635, 'node092,node093'],
      ['batch', 'CANCELLED', 0, 15, 3635, 'node092'],
      ['0', 'CANCELLED', 0, 15, 3635, 'node092,node093'],
    ],
  );
  const failed = job('20034')[0]!;
  assert.deepEqual([failed.exitCode, failed.tres.gpus, failed.tres.cpu, failed.tres.memMB, failed.elapsedSeconds], [2, 16, 32, 128 * 1024, 5808]);
  const pending = allocs.find((r) => r.state === 'PENDING')!;
  assert.deepEqual([pending.nodes, pending.tres.raw, pending.elapsedSeconds], [[], {}, 0]);
});

test('scontrol show job -o (825 jobs): the same state and nodes as squeue; ReqNodeList is not NodeList; state_desc reasons with _ for spaces', () => {
  const rows = parseScontrolJobs(REC.scontrol);
  const squeue = new Map(parseSqueue(REC.squeue).map((r) => [r.jobId, r]));
  assert.equal(rows.length, squeue.size);
  for (const r of rows) {
    const q = squeue.get(r.jobId)!;
    assert.deepEqual([r.state, r.nodes, r.reason], [q.state, q.nodes, q.reason.replaceAll(' ', '_')], r.jobId);
  }
  const sweep = rows.find((r) => r.jobId === '20584')!;
  assert.ok(REC.scontrol.includes('JobId=20584 ') && /JobId=20584 .* ReqNodeList=node084 .* NodeList= SchedNodeList=node084 /.test(REC.scontrol));
  assert.deepEqual(sweep, { jobId: '20584', state: 'PENDING', reason: 'Resources', nodes: [] });
  assert.equal(rows.find((r) => r.jobId === '20653')!.reason, 'ReqNodeNotAvail,_UnavailableNodes:node[086-087]');
  assert.deepEqual(expandHostlist('node[086-087]'), ['node086', 'node087']);
});

test('one poll tick for 1,000 waiters: one squeue for all of them, one sacct for the 175 purged, and every waiter gets its job’s state', async () => {
  const answer = recordedAnswers(REC);
  const shell = new FakeShell().on('squeue', answer).on('sacct', answer).on('scontrol', answer);
  const poller = new JobPoller(shell, 10, 1000);
  const got = new Map<string, JobState[]>();
  const all = REC.jobs.map((j) => j.id);
  let waiting = all.length;
  let done!: () => void;
  const everyone = new Promise<void>((ok) => (done = ok));
  for (const id of all) {
    got.set(id, []);
    poller.watch(id, (e: PollEvent) => {
      assert.equal(e.kind, 'state', JSON.stringify(e));
      if (e.kind !== 'state') return;
      if (got.get(id)!.push(e.state) === 1 && --waiting === 0) done();
    });
  }
  await everyone;
  poller.stop();

  assert.equal(shell.calls.length, 2, shell.calls.map((c) => c.argv[0]).join(', '));
  const [squeue, sacct] = [shell.callsOf('squeue')[0]!, shell.callsOf('sacct')[0]!];
  assert.deepEqual(squeue, ['squeue', '--local', '-h', '--states=all', '--me', '-j', all.join(','), '-o', SQUEUE_FORMAT]);
  const purged = REC.jobs.filter((j) => !j.inSqueue).map((j) => j.id);
  assert.equal(purged.length, 175);
  assert.deepEqual(sacct, ['sacct', '-j', purged.join(','), '--parsable2', '--noheader', '-o', SACCT_FIELDS.join(',')]);
  for (const j of REC.jobs) {
    const states = got.get(j.id)!;
    assert.equal(states.length, 1, j.id);
    const reason = !j.inSqueue || j.reason === 'None' ? '' : j.reason;
    assert.deepEqual({ ...states[0]!, at: 0 }, { state: j.state, reason, nodes: names(j), at: 0 }, j.id);
    assert.equal(poller.sighting(j.id), undefined, 'stopped: nothing watched');
  }
  assert.deepEqual(count(REC.jobs.map((j) => got.get(j.id)![0]!.state)), { COMPLETED: 200, FAILED: 80, PENDING: 300, RUNNING: 350, TIMEOUT: 70 });
});

test('the recorded shell answers like the clients: one purged id alone is "Invalid job id specified"; scontrol for one job gives its line', () => {
  const answer = recordedAnswers(REC);
  assert.deepEqual(answer(['squeue', '--local', '-h', '--states=all', '-j', '20001', '-o', SQUEUE_FORMAT]), {
    code: 1,
    stdout: '',
    stderr: 'slurm_load_jobs error: Invalid job id specified\n',
  });
  const one = answer(['scontrol', '--local', 'show', 'job', '-o', '20248']);
  assert.deepEqual(parseScontrolJobs(one.stdout), [{ jobId: '20248', state: 'RUNNING', reason: '', nodes: ['node016', 'node017', 'node018', 'node019', 'node067'] }]);
  assert.equal(
    answer(['sacct', '-j', '20001,20002', '--parsable2', '--noheader', '-o', SACCT_FIELDS.join(',')])
      .stdout.split('\n')
      .filter(Boolean).length,
    3 + parseSacct(REC.sacct).filter((r) => r.jobId === '20002').length,
  );
});
