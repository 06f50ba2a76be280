/**
 * MLOPS-2.1 Multi-GPU data-parallel training.
 * What runs: workloads/ddp/train_ddp.py (the MNIST CNN under DistributedDataParallel: NCCL
 * on GPUs, gloo on CPU), first as a 1-process baseline, then with 2 ranks: on 2 GRES GPUs of
 * one node (torchrun) and spread over 2 nodes (srun). Pass: the criteria below, against the
 * target's references; speedup is measured against the baseline of the same workload.
 */
import { posix } from 'node:path';
import { test } from '../../fixtures/index.ts';
import type { JobRun } from '../../fixtures/index.ts';
import { ddpTrainingJob, gpuUtilisation, withGpuSampler, type DdpLayout } from '../../helpers/jobs.ts';
import { DdpMetricsSchema, findErrorLines, RankReportSchema, taggedJson, type DdpMetrics, type RankReport } from '../../helpers/metrics.ts';
import { taskReferences, threshold, trainingWorkload } from '../../helpers/references.ts';
import { gpuEnv } from '../../helpers/results.ts';
import { trainingChart } from '../../helpers/training-charts.ts';

import type { Criteria, SlurmAccessor } from '../../fixtures/index.ts';
import type { Target } from '../../helpers/config.ts';
import type { Manifest } from '../../helpers/manifest.ts';
import type { References } from '../../helpers/references.ts';

type Fixtures = { target: Target; references: References; manifest: Manifest; slurm: SlurmAccessor; criteria: Criteria };

/** Run one data-parallel job and read back its ranks and rank-0 metrics. */
async function ddpRun({ target, references, manifest, slurm }: Fixtures, name: string, layout: DdpLayout, gpusPerRank: number) {
  const w = trainingWorkload(taskReferences(references, 'MLOPS-2.1'));
  const outDir = posix.join(manifest.runDir, name);
  const spec = ddpTrainingJob(name, { workloadsDir: manifest.workloadsDir, dataDir: target.datasetDir, outDir, python: target.python, ...w, layout, gpusPerRank });
  const run: JobRun = await slurm.run(spec, { timeoutMs: (w.timeLimitSeconds + 120) * 1000 });
  const ranks = taggedJson(run.output, 'MLV_RANK').flatMap((r) => {
    const p = RankReportSchema.safeParse(r);
    return p.success ? [p.data] : [];
  });
  const metrics = await slurm.readJson(posix.join(outDir, 'metrics.json'), DdpMetricsSchema);
  return { run, ranks, metrics: metrics.data, metricsIssues: metrics.issues, outDir };
}

async function commonCriteria({ criteria, references }: Fixtures, r: Awaited<ReturnType<typeof ddpRun>>, worldSize: number) {
  const ref = taskReferences(references, 'MLOPS-2.1');
  const { job } = r.run.accounting;
  await criteria.check('job completed', r.run.final.state === 'COMPLETED' && job.exitCode === 0, `job ${r.run.job.id}: ${job.stateDetail}, exit ${job.exitCode}`);
  await criteria.check(`${worldSize} GPUs allocated through GRES (sacct AllocTRES)`, job.tres.gpus === worldSize, `AllocTRES gres/gpu=${job.tres.gpus ?? 'none'} on ${job.nodes.join(',')}`);
  const ids = r.ranks.map((x) => x.rank).sort();
  await criteria.check('every rank initialised and reported', ids.join(',') === [...Array(worldSize).keys()].join(','), `ranks reporting: [${ids.join(',')}] ${r.ranks.map((x) => `${x.rank}@${x.hostname}/${x.device} ${x.samples_per_second.toFixed(0)}/s`).join('; ')}`);
  await criteria.check(`world size is ${worldSize}`, r.ranks.length > 0 && r.ranks.every((x) => x.world_size === worldSize), `world_size per rank: ${r.ranks.map((x) => x.world_size).join(',') || 'none'}`);
  const errors = findErrorLines(r.run.output, ['nccl', 'gloo', 'cuda', 'oom', 'traceback']);
  await criteria.check('no NCCL, gloo or CUDA errors in the logs', errors.length === 0, errors.length ? errors.slice(0, 5).join(' | ') : `none found (backend ${r.ranks[0]?.backend ?? '?'})`);
  await criteria.check('rank 0 wrote metrics.json', r.metricsIssues.length === 0, r.metricsIssues.join('; ') || `${r.outDir}/metrics.json`);
  if (r.metrics) {
    await criteria.threshold('test_accuracy', r.metrics.test_accuracy, threshold(ref, 'test_accuracy'));
    await criteria.threshold('training_time_seconds', r.metrics.training_time_seconds, threshold(ref, 'training_time_seconds'));
  }
}

function chart(testInfo: { attach: (n: string, o: { body: string; contentType: string }) => Promise<void> }, title: string, m?: DdpMetrics) {
  return m ? testInfo.attach('loss-accuracy.svg', { body: trainingChart(title, m), contentType: 'image/svg+xml' }) : Promise.resolve();
}

test.describe('MLOPS-2.1 multi-GPU data-parallel training', () => {
  // One after another in one worker: concurrent DDP jobs would distort each other's timings.
  test.describe.configure({ mode: 'default' });
  test('2 ranks on 2 GRES GPUs of one node, with speedup over 1 GPU @multi-gpu @gpu', async ({ target, references, manifest, slurm, criteria, capabilities }, testInfo) => {
    const f = { target, references, manifest, slurm, criteria, capabilities };
    f.capabilities.require({ gpusPerNode: 2, claims: ['gres-gpu', 'multi-gpu'] });
    const ref = taskReferences(f.references, 'MLOPS-2.1');
    // Sequential on purpose: the baseline and the 2-rank run must not compete with each other.
    // (On the lab the two nodes share the machine's cores with every other job: its speedup band is measured there.)
    const baseline = await test.step('1-process baseline of the same workload', () => ddpRun(f, 'mlops-2.1-baseline', { kind: 'torchrun', procs: 1 }, 1));
    await f.criteria.check('baseline completed', baseline.run.final.state === 'COMPLETED' && !!baseline.metrics, `job ${baseline.run.job.id} ${baseline.run.final.state}; ${baseline.metricsIssues.join('; ') || 'metrics ok'}`);
    const ddp = await test.step('2 ranks with torchrun', () => ddpRun(f, 'mlops-2.1-ddp-1node', { kind: 'torchrun', procs: 2 }, 1));
    await commonCriteria(f, ddp, 2);
    const env = gpuEnv(ddp.run.output);
    await f.criteria.check('2 devices in CUDA_VISIBLE_DEVICES', env.devices.length === 2, `CUDA_VISIBLE_DEVICES=${env.cudaVisibleDevices ?? 'unset'}`);
    if (baseline.metrics && ddp.metrics) {
      const speedup = baseline.metrics.training_time_seconds / ddp.metrics.training_time_seconds;
      await f.criteria.threshold('speedup', speedup, threshold(ref, 'speedup'));
      await testInfo.attach('speedup.json', {
        body: JSON.stringify({ baseline: { seconds: baseline.metrics.training_time_seconds, samplesPerSecond: baseline.metrics.samples_per_second }, ddp: { seconds: ddp.metrics.training_time_seconds, samplesPerSecond: ddp.metrics.samples_per_second }, speedup }, null, 2),
        contentType: 'application/json',
      });
    }
    await chart(testInfo, `MLOPS-2.1 2 ranks, 1 node (${f.target.name})`, ddp.metrics);
  });

  test('2 ranks spread over 2 nodes @multi-gpu @multi-node @gpu', async ({ target, references, manifest, slurm, criteria, capabilities }, testInfo) => {
    const f = { target, references, manifest, slurm, criteria, capabilities };
    f.capabilities.require({ gpusPerNode: 1, nodes: 2, claims: ['gres-gpu', 'multi-node'] });
    const ddp = await ddpRun(f, 'mlops-2.1-ddp-2nodes', { kind: 'srun', nodes: 2 }, 1);
    await commonCriteria(f, ddp, 2);
    const hosts = new Set(ddp.ranks.map((r: RankReport) => r.hostname));
    await f.criteria.check('ranks ran on 2 different nodes', hosts.size === 2 && ddp.run.accounting.job.nodes.length === 2, `rank hosts: ${[...hosts].join(',')}; sacct NodeList ${ddp.run.accounting.job.nodes.join(',')}`);
    await chart(testInfo, `MLOPS-2.1 2 ranks, 2 nodes (${f.target.name})`, ddp.metrics);
  });

  test('GPU utilisation on both GPUs @multi-gpu @gpu', async ({ target, references, manifest, slurm, criteria, capabilities }) => {
    const f = { target, references, manifest, slurm, criteria, capabilities };
    f.capabilities.require({ gpusPerNode: 2, claims: ['gres-gpu', 'multi-gpu'], tools: ['nvidia-smi'], cuda: true });
    const ref = taskReferences(f.references, 'MLOPS-2.1');
    const w = trainingWorkload(ref);
    const outDir = posix.join(f.manifest.runDir, 'mlops-2.1-util');
    const samples = posix.join(outDir, 'gpu-util.csv');
    const spec = withGpuSampler(
      ddpTrainingJob('mlops-2.1-util', { workloadsDir: f.manifest.workloadsDir, dataDir: f.target.datasetDir, outDir, python: f.target.python, ...w, layout: { kind: 'torchrun', procs: 2 }, gpusPerRank: 1 }),
      samples,
      f.target.runtimePrefix,
    );
    const run = await f.slurm.run(spec, { timeoutMs: (w.timeLimitSeconds + 120) * 1000 });
    await f.criteria.check('job completed', run.final.state === 'COMPLETED', `job ${run.job.id} ${run.final.state}`);
    const util = gpuUtilisation((await f.slurm.readFile(samples).catch(() => Buffer.from(''))).toString());
    await f.criteria.check('samples for 2 GPUs', Object.keys(util).length === 2, `GPUs sampled: ${JSON.stringify(util)}`);
    for (const [gpu, pct] of Object.entries(util)) await f.criteria.threshold(`gpu_utilization_percent (GPU ${gpu})`, pct, threshold(ref, 'gpu_utilization_percent'));
  });
});
