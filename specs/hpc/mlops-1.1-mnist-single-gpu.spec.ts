/**
 * MLOPS-1.1 Single-GPU MNIST training (CRITICAL).
 * What runs: workloads/mnist/train.py (SimpleCNN, Adam 1e-3, batch 128) in one SLURM job
 * with one GPU requested through GRES. Where: the target's partition, under its runtime
 * prefix. Pass: every criterion below, against the target's references.
 */
import { posix } from 'node:path';
import { test } from '../../fixtures/index.ts';
import { mnistTrainingJob, verifyModelJob } from '../../helpers/jobs.ts';
import { findErrorLines, taggedJson, TrainingMetricsSchema } from '../../helpers/metrics.ts';
import { taskReferences, threshold, trainingWorkload } from '../../helpers/references.ts';
import { gpuEnv } from '../../helpers/results.ts';
import { trainingChart } from '../../helpers/training-charts.ts';

test('MLOPS-1.1 trains the MNIST CNN on one GRES GPU @critical @gpu', async ({ target, references, manifest, capabilities, slurm, criteria }, testInfo) => {
  capabilities.require({ gpusPerNode: 1, claims: ['gres-gpu'] });
  const ref = taskReferences(references, 'MLOPS-1.1');
  const w = trainingWorkload(ref);
  const outDir = posix.join(manifest.runDir, 'mlops-1.1');
  const params = { workloadsDir: manifest.workloadsDir, dataDir: target.datasetDir, outDir, python: target.python, ...w };

  const run = await slurm.run(mnistTrainingJob('mlops-1.1-mnist', { ...params, gpus: 1 }), { timeoutMs: (w.timeLimitSeconds + 120) * 1000 });
  const { job } = run.accounting;
  const env = gpuEnv(run.output);

  await criteria.check('job accepted and completed', run.final.state === 'COMPLETED' && job.exitCode === 0, `job ${run.job.id}: ${job.stateDetail}, exit ${job.exitCode}:${job.signal}`);
  await criteria.check('one GPU allocated through GRES (sacct AllocTRES)', job.tres.gpus === 1, `AllocTRES gres/gpu=${job.tres.gpus ?? 'none'} on ${job.nodes.join(',')}`);
  await criteria.check('exactly one device in CUDA_VISIBLE_DEVICES', env.devices.length === 1, `CUDA_VISIBLE_DEVICES=${env.cudaVisibleDevices ?? 'unset'} (SLURM_JOB_GPUS=${env.slurmJobGpus ?? 'unset'})`);

  const { data: metrics, issues } = await slurm.readJson(posix.join(outDir, 'metrics.json'), TrainingMetricsSchema);
  await criteria.check('metrics.json has epochs, loss, accuracy, training_time_seconds', issues.length === 0, issues.length ? issues.join('; ') : `${metrics!.epochs.length} epochs on ${metrics!.device}`);
  if (metrics) {
    await criteria.threshold('training_time_seconds', metrics.training_time_seconds, threshold(ref, 'training_time_seconds'));
    await criteria.threshold('test_accuracy', metrics.test_accuracy, threshold(ref, 'test_accuracy'));
    await criteria.check('the workload saw the allocated GPU', metrics.cuda_visible_devices === env.cudaVisibleDevices, `metrics.cuda_visible_devices=${metrics.cuda_visible_devices}, job env=${env.cudaVisibleDevices}`);
    await testInfo.attach('loss-accuracy.svg', { body: trainingChart(`MLOPS-1.1 on ${target.name} (${metrics.device})`, metrics), contentType: 'image/svg+xml' });
  }
  await criteria.threshold('job_elapsed_seconds', job.elapsedSeconds, threshold(ref, 'job_elapsed_seconds'));
  const cudaErrors = findErrorLines(run.output, ['cuda', 'oom', 'traceback']);
  await criteria.check('no CUDA errors in the job log', cudaErrors.length === 0, cudaErrors.length ? cudaErrors.slice(0, 5).join(' | ') : 'none found');

  // The saved model must load on a compute node and reproduce its accuracy.
  const modelPath = posix.join(outDir, 'model.pt');
  await criteria.check('model file exists on the shared filesystem', await slurm.exists(modelPath), modelPath);
  const verify = await slurm.run(verifyModelJob('mlops-1.1-verify', { ...params, modelPath }), { timeoutMs: 300_000 });
  const loaded = taggedJson(verify.output, 'MLV_VERIFY')[0] as { loaded?: boolean; test_accuracy?: number } | undefined;
  await criteria.check(
    'model loads and reproduces its accuracy',
    verify.final.state === 'COMPLETED' && loaded?.loaded === true && Math.abs((loaded.test_accuracy ?? -1) - (metrics?.test_accuracy ?? -2)) < 0.01,
    `verify job ${verify.job.id} ${verify.final.state}; loaded=${loaded?.loaded}, accuracy ${loaded?.test_accuracy} vs trained ${metrics?.test_accuracy}`,
  );
});
