import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evenShards, ncclOnGpus, openedAllocatedDevice, ranksInSync, ranOnGpu, type RankFacts, type Verdict } from '../../helpers/verdicts.ts';

const env = (cvd?: string) => ({ cudaVisibleDevices: cvd, devices: cvd ? cvd.split(',') : [] });
const passed = (v: Verdict) => {
  assert.ok(!('notApplicable' in v), `expected a verdict, got N/A: ${JSON.stringify(v)}`);
  return v.pass;
};
const rank = (r: number, over: Partial<RankFacts> = {}): RankFacts => ({ rank: r, device: 'cpu', backend: 'gloo', steps: 4, samples: 512, param_checksum: -69.9081117317909, ...over });

test('real GPUs: a CPU fallback fails with "training ran on CPU", naming what torch reported', () => {
  const v = ranOnGpu('nvidia', 'site', { device: 'cpu', cuda_available: false, cuda_device_count: 0 }, 1);
  assert.equal(passed(v), false);
  assert.ok(!('notApplicable' in v) && /^GPU allocated, but training ran on CPU: torch reported device=cpu, cuda_available=false, 0 CUDA device\(s\) for 1 allocated/.test(v.detail));
  assert.equal(passed(ranOnGpu('nvidia', 'site', { device: 'cuda:0', cuda_available: true, cuda_device_count: 1 }, 1)), true);
  assert.equal(passed(ranOnGpu('nvidia', 'site', { device: 'cuda:0', cuda_available: true, cuda_device_count: 2 }, 1)), false, 'more CUDA devices visible than allocated');
});

test('stand-in GPUs: the CUDA checks are N/A with the reason', () => {
  const v = ranOnGpu('fake', 'lab', { device: 'cpu' }, 1);
  assert.ok('notApplicable' in v && /target "lab" declares stand-in GPUs \(MLV_GPU_KIND=fake\)/.test(v.notApplicable));
  assert.ok('notApplicable' in openedAllocatedDevice('fake', 'lab', { device: 'cpu' }, env('0')));
  assert.ok('notApplicable' in ncclOnGpus('fake', 'lab', [rank(0)]));
});

test('the opened device must be one of the allocated ones', () => {
  assert.equal(passed(openedAllocatedDevice('nvidia', 's', { device: 'cuda:1' }, env('3,5'))), true);
  assert.equal(passed(openedAllocatedDevice('nvidia', 's', { device: 'cuda:2' }, env('3,5'))), false);
  assert.equal(passed(openedAllocatedDevice('nvidia', 's', { device: 'cpu' }, env('3'))), false);
  assert.equal(passed(openedAllocatedDevice('nvidia', 's', { device: 'cuda:0' }, env())), false, 'nothing allocated');
});

test('NCCL on CUDA on every rank, and at least one rank', () => {
  assert.equal(passed(ncclOnGpus('nvidia', 's', [rank(0, { backend: 'nccl', device: 'cuda:0' }), rank(1, { backend: 'nccl', device: 'cuda:1' })])), true);
  assert.equal(passed(ncclOnGpus('nvidia', 's', [rank(0, { backend: 'nccl', device: 'cuda:0' }), rank(1, { backend: 'gloo', device: 'cuda:1' })])), false);
  assert.equal(passed(ncclOnGpus('nvidia', 's', [])), false);
});

test('ranks in sync: identical checksums pass, diverged ones fail, a missing rank is N/A (its own criterion)', () => {
  assert.equal(passed(ranksInSync([rank(0), rank(1)], 2)), true);
  const d = ranksInSync([rank(0, { param_checksum: -112.53 }), rank(1, { param_checksum: -210.41 })], 2);
  assert.equal(passed(d), false);
  assert.ok(!('notApplicable' in d) && d.detail.startsWith('DIVERGED'));
  assert.equal(passed(ranksInSync([rank(0), rank(1, { param_checksum: -69.9081117317909 * (1 + 1e-12) })], 2)), true, 'float noise below 1e-9');
  assert.equal(passed(ranksInSync([rank(0), rank(1, { param_checksum: undefined })], 2)), false);
  assert.ok('notApplicable' in ranksInSync([rank(0)], 2));
});

test('even shards: equal steps covering the training set; unequal steps or missing samples fail', () => {
  assert.equal(passed(evenShards([rank(0), rank(1)], 2, 1024, 1)), true);
  assert.equal(passed(evenShards([rank(0), rank(1, { steps: 3, samples: 384 })], 2, 1024, 1)), false);
  assert.equal(passed(evenShards([rank(0), rank(1)], 2, 1024, 2)), false, 'half the epochs of samples');
  assert.ok('notApplicable' in evenShards([rank(0)], 2, 1024, 1));
});
