/**
 * MLOPS-3.1 Oumi custom cluster (CRITICAL): Oumi's launcher drives the target from this machine.
 * What runs: `oumi launch up -c job.yaml --cluster user@host` (OUMI_SLURM_CONNECTIONS, ssh from a
 * dedicated HOME) of MLOPS-1.2's SFT on one GRES GPU, followed to its end; then a second, long job
 * (`up --detach`) that `oumi launch cancel` ends. Pass: every criterion below; the ControlMaster
 * is closed and no job is left.
 */
import { test } from '../../fixtures/index.ts';

test.use({ requires: { gpusPerNode: 1, claims: ['gres-gpu'], oumi: ['compute', 'runner'] } });

test('MLOPS-3.1 Oumi launcher submits, follows and cancels SLURM jobs from this machine @critical @oumi @gpu', async ({ oumiLauncher: oumi, criteria, ref }) => {
  const t = await test.step('oumi launch up: the 1.2 SFT, followed to its end', () => oumi.train('mlops-3.1-train'));
  await criteria.check('the job was submitted through oumi launch up (ssh connected)', !!t.jobId, `job ${t.jobId ?? 'none'} on ${oumi.cluster} in ${t.seconds.toFixed(1)} s`);
  const row = await oumi.inSlurm(t.name);
  await criteria.check(
    'SLURM ran it: sacct finds the job by its name',
    !!row && row.jobId === t.jobId,
    row ? `${row.name}: job ${row.jobId} ${row.stateDetail} on ${row.nodes.join(',')}` : `no job named ${t.name}`,
  );
  await criteria.check('it completed, with gres/gpu=1', row?.state === 'COMPLETED' && row.tres.gpus === 1, `${row?.stateDetail ?? 'not found'}, gres/gpu=${row?.tres.gpus ?? 'none'}`);
  const status = t.jobId ? await oumi.status(t.jobId) : undefined;
  await criteria.check(
    'oumi launch status reports the job, in the state sacct gives',
    !!status && status.status === row?.state,
    `oumi: ${status?.status ?? 'not listed'}; sacct: ${row?.state}; up said: ${t.finalStatus ?? '-'}`,
  );
  await criteria.check(
    'the artifacts are on the shared filesystem (the saved model)',
    !!t.model && t.model.problems.length === 0,
    t.model?.problems.join('; ') || Object.keys(t.model?.files ?? {}).join(', '),
  );
  await criteria.check('the job log came back through the launcher', !!t.log && /'loss'/.test(t.log), t.log ? `${t.log.length} bytes, ${t.log.split('\n').length} lines` : 'no log file');

  const long = await test.step('a second, long job: up --detach, then oumi launch cancel', async () => {
    const l = await oumi.sleeper('mlops-3.1-cancel', ref.oumi.cancelJobSeconds);
    const running = await oumi.until(l.name, ['RUNNING'], 120);
    if (l.jobId) await oumi.cancel(l.jobId);
    return { ...l, running, after: await oumi.until(l.name, ['CANCELLED'], 60) };
  });
  await criteria.check(
    'oumi launch cancel ends the long job: it leaves the queue CANCELLED',
    long.after?.startsWith('CANCELLED') === true,
    `job ${long.jobId}: ${long.running ?? '?'} -> ${long.after ?? '?'}`,
  );
  const left = await oumi.close();
  await criteria.check('the ssh ControlMaster is closed: no ssh process of the launcher is left', left.length === 0, left.join(' | ') || 'none left');
});
