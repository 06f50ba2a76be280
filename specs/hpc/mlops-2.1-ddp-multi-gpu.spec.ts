/**
 * MLOPS-2.1 Multi-GPU data-parallel training.
 * What runs: workloads/ddp/train_ddp.py (the MNIST CNN under DistributedDataParallel: NCCL
 * on GPUs, gloo on CPU), first as a 1-process baseline, then with 2 ranks: on 2 GRES GPUs of
 * one node (torchrun) and spread over 2 nodes (srun). Pass: the criteria below, against the
 * target's references; speedup is measured against the baseline of the same workload.
 */
import { needs, test } from '../../fixtures/index.ts';

test.describe('MLOPS-2.1 multi-GPU data-parallel training', () => {
  // One after another in one worker: concurrent DDP jobs would distort each other's timings.
  test.describe.configure({ mode: 'default' });

  needs({ gpusPerNode: 2, claims: ['gres-gpu', 'multi-gpu'] }, () => {
    test('2 ranks on 2 GRES GPUs of one node, with speedup over 1 GPU @multi-gpu @gpu', async ({ training, criteria }) => {
      const baseline = training.ddp('mlops-2.1-baseline', { ranks: 1 });
      const ddp = training.ddp('mlops-2.1-ddp-1node');
      // Sequential on purpose: the baseline and the 2-rank run must not compete with each other.
      const b = await test.step('1-process baseline of the same workload', () => baseline.run());
      await criteria.check('baseline completed', b.job.state === 'COMPLETED' && !!b.metrics, `job ${b.job.jobId} ${b.job.state}; ${b.metricsIssues.join('; ') || 'metrics ok'}`);
      const r = await test.step('2 ranks with torchrun', () => ddp.run());
      await criteria.dataParallel(r, 2);
      await criteria.check('2 devices in CUDA_VISIBLE_DEVICES', r.gpu.devices.length === 2, `CUDA_VISIBLE_DEVICES=${r.gpu.cudaVisibleDevices ?? 'unset'}`);
      const speedup = await training.speedup(b, r);
      if (speedup !== undefined) await criteria.threshold('speedup', speedup);
    });
  });

  needs({ gpusPerNode: 1, nodes: 2, claims: ['gres-gpu', 'multi-node'] }, () => {
    test('2 ranks spread over 2 nodes @multi-gpu @multi-node @gpu', async ({ training, criteria }) => {
      const r = await training.ddp('mlops-2.1-ddp-2nodes', { launcher: 'srun' }).run();
      await criteria.dataParallel(r, 2);
      const hosts = new Set(r.ranks.map((x) => x.hostname));
      await criteria.check('ranks ran on 2 different nodes', hosts.size === 2 && r.job.nodes.length === 2, `rank hosts: ${[...hosts].join(',')}; sacct NodeList ${r.job.nodes.join(',')}`);
    });
  });

  needs({ gpusPerNode: 2, claims: ['gres-gpu', 'multi-gpu'], tools: ['nvidia-smi'], cuda: true }, () => {
    test('GPU utilisation on both GPUs @multi-gpu @gpu', async ({ training, criteria }) => {
      const r = await training.ddp('mlops-2.1-util', { sampleGpus: true }).run();
      await criteria.jobCompleted(r.job);
      const util = Object.entries(r.gpuUtil ?? {});
      await criteria.check('samples for 2 GPUs', util.length === 2, `GPUs sampled: ${JSON.stringify(r.gpuUtil)}`);
      for (const [gpu, pct] of util) await criteria.threshold(`gpu_utilization_percent (GPU ${gpu})`, pct, 'gpu_utilization_percent');
    });
  });
});
