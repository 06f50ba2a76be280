/**
 * The preflight's first SLURM step reaches the controller (scontrol ping) and accounting
 * (sacct), and names slurmctld or slurmdbd, with SLURM's own words, when one does not answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slurmAnswers } from '../../fixtures/probe-hpc.ts';
import { InfraError } from '../../helpers/errors.ts';
import { FakeShell, SLURM } from './fake-slurm.ts';

const VERSION = { stdout: 'slurm-wlm 22.05.8\n' };

test('controller and accounting answer: the step returns the SLURM version', async () => {
  const shell = new FakeShell().on('scontrol', SLURM.pingUp).on('sacct', SLURM.ok).on('sinfo', VERSION);
  assert.equal(await slurmAnswers(shell), 'slurm-wlm 22.05.8');
  assert.deepEqual(shell.callsOf('scontrol'), [['scontrol', 'ping']]);
});

test('slurmctld down: INFRA naming slurmctld and scontrol ping words, with a fix, before anything else is asked', async () => {
  const shell = new FakeShell().on('scontrol', SLURM.pingDown).on('sacct', SLURM.ok).on('sinfo', VERSION);
  await assert.rejects(slurmAnswers(shell), (e: Error) => {
    assert.ok(e instanceof InfraError);
    assert.match(e.message, /^INFRA: slurmctld \(the SLURM controller\) does not answer: scontrol ping: Slurmctld\(primary\) at vm is DOWN\. Fix: start or resume slurmctld/);
    return true;
  });
  assert.deepEqual(shell.callsOf('sacct'), []);
});

test('slurmctld hung: no answer within the preflight call limit is INFRA naming slurmctld', async () => {
  const shell = new FakeShell().on('scontrol', { reject: new InfraError('remote command timed out after 12000 ms: scontrol ping') });
  await assert.rejects(slurmAnswers(shell), /INFRA: slurmctld .*scontrol ping: no answer within 12 s/);
});

test('a backup controller down while the primary is up still answers', async () => {
  const shell = new FakeShell().on('scontrol', { code: 0, stdout: 'Slurmctld(primary) at ctl1 is UP\nSlurmctld(backup) at ctl2 is DOWN\n' }).on('sacct', SLURM.ok).on('sinfo', VERSION);
  assert.equal(await slurmAnswers(shell), 'slurm-wlm 22.05.8');
});

test('slurmdbd down: INFRA naming slurmdbd and sacct message', async () => {
  const shell = new FakeShell().on('scontrol', SLURM.pingUp).on('sacct', SLURM.dbdDown).on('sinfo', VERSION);
  await assert.rejects(slurmAnswers(shell), /INFRA: slurmdbd \(SLURM accounting\) does not answer: sacct: sacct: error: .*Problem talking to the database: Connection refused\. Fix: start slurmdbd/);
});
