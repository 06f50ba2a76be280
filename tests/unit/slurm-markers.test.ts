/**
 * The end marker as the signal of a job's end (clients/slurm-poller.ts): a RUNNING job is asked
 * about only at the fallback interval while a waiter on the login node reads its output file;
 * the marker makes the next tick ask for the final state. Where the waiter cannot run or the
 * file is not visible, polling is as before.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { Job, SlurmSession } from '../../clients/slurm.ts';
import { FakeShell, squeueLine, type Reply } from './fake-slurm.ts';

const OUT = '/shared/jobs/mlv-test/job-12.out';

function jobOn(shell: FakeShell, fallbackMs: number) {
  const session = new SlurmSession(shell, { runId: 'mlv-test', partition: 'lab', runtimePrefix: [], sharedRoot: '/shared' }, { minMs: 30, maxMs: 90, markers: { roundS: 0.2, fallbackMs } });
  const job = new Job('12', 'mlv-test-job', { name: 'job', timeLimitSeconds: 60, steps: [] }, '', '/shared/jobs/mlv-test/job.sbatch', OUT, session);
  return { session, job };
}

const sq = (state: string): Reply => ({ stdout: squeueLine('12', state, 'None', 'node1') });

test('a RUNNING job is not polled while its waiter reads the output; the end marker brings the final state at once', async () => {
  let ended = false;
  let rounds = 0;
  const shell = new FakeShell()
    .on('squeue', () => (ended ? sq('COMPLETED') : sq('RUNNING')))
    .on('sh', (argv) => {
      assert.deepEqual(argv.slice(3), ['mlv-marker-waiter', '0.2', OUT], 'the waiter gets its round and the output file');
      ended = ++rounds === 6;
      return { delayMs: 200, stdout: ended ? `${OUT}\n` : '' };
    });
  const { job, session } = jobOn(shell, 60_000);
  const t0 = Date.now();
  const final = await job.wait({ timeoutMs: 10_000 });
  const ms = Date.now() - t0;
  session.close();
  assert.equal(final.state, 'COMPLETED');
  assert.equal(rounds, 6);
  // One poll saw RUNNING, the marker's poll saw COMPLETED: none while it ran (1.2 s at a 30-90 ms poll interval).
  assert.equal(shell.callsOf('squeue').length, 2, `squeue calls: ${shell.callsOf('squeue').length}`);
  assert.ok(ms < 2000, `final state ${ms} ms after the start`);
  assert.ok(
    shell.callsOf('squeue').every((a) => a.includes('--local')),
    'no federation lookup',
  );
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

test('where the waiter cannot run (no sh), or the output file is not visible, every tick polls as before', async () => {
  for (const waiter of [
    { code: 127, stderr: 'sh: not found' },
    { delayMs: 50, stdout: `?${OUT}\n` },
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
