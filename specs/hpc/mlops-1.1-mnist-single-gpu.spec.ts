/**
 * MLOPS-1.1 Single-GPU MNIST training (CRITICAL).
 * What runs: workloads/mnist/train.py (SimpleCNN, Adam 1e-3, batch 128) in one SLURM job
 * with one GPU requested through GRES, then a job that loads the saved model on a compute
 * node. Where: the target's partition, under its runtime prefix. Needs: one GRES GPU.
 * Pass: every criterion below, against the target's references.
 */
import { test } from '../../fixtures/index.ts';

test.use({ requires: { gpusPerNode: 1, claims: ['gres-gpu'] } });

test('MLOPS-1.1 trains the MNIST CNN on one GRES GPU @critical @gpu', async ({ training, criteria, slurm }) => {
  const train = training.mnist('mlops-1.1-mnist');
  const verify = training.verify('mlops-1.1-verify', train);

  const run = await train.run();
  await criteria.jobCompleted(run.job);
  await criteria.gresAllocated(run.job, 1);
  await criteria.check(
    'exactly one device in CUDA_VISIBLE_DEVICES',
    run.gpu.devices.length === 1,
    `CUDA_VISIBLE_DEVICES=${run.gpu.cudaVisibleDevices ?? 'unset'} (SLURM_JOB_GPUS=${run.gpu.slurmJobGpus ?? 'unset'})`,
  );
  const m = run.metrics;
  await criteria.check('metrics.json has epochs, loss, accuracy, training_time_seconds', !!m, m ? `${m.epochs.length} epochs on ${m.device}` : run.metricsIssues.join('; '));
  if (m) {
    await criteria.threshold('training_time_seconds', m.training_time_seconds);
    await criteria.threshold('test_accuracy', m.test_accuracy);
  }
  await criteria.gpuUsed(run, 1);
  await criteria.threshold('job_elapsed_seconds', run.run.accounting.job.elapsedSeconds);
  await criteria.noErrorLines(run.job, ['cuda', 'oom', 'traceback'], 'no CUDA errors in the job log');

  // The saved model must load on a compute node and reproduce its accuracy.
  await criteria.check('model file exists on the shared filesystem', await slurm.exists(run.modelPath), run.modelPath);
  const v = await verify.run();
  const same = v.accuracy !== undefined && m !== undefined && Math.abs(v.accuracy - m.test_accuracy) < 0.01;
  await criteria.check(
    'model loads and reproduces its accuracy',
    v.job.state === 'COMPLETED' && v.loaded && same,
    `verify job ${v.job.jobId} ${v.job.state}; loaded=${v.loaded}, accuracy ${v.accuracy} vs trained ${m?.test_accuracy}`,
  );
});
