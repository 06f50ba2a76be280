/** The exact verdicts and detail lines of helpers/verdicts.ts, branch by branch (found by mutation testing). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evenShards, ncclOnGpus, openedAllocatedDevice, ranksInSync, ranOnGpu, type RankFacts } from '../../helpers/verdicts.ts';

const rank = (r: number, over: Partial<RankFacts> = {}): RankFacts => ({ rank: r, device: `cuda:${r}`, backend: 'nccl', steps: 10, samples: 50, param_checksum: 123.5, ...over });

test('ranOnGpu: CUDA with as many devices as allocated, the detail naming what torch saw', () => {
  assert.deepEqual(ranOnGpu('nvidia', 's', { device: 'cuda:0', cuda_available: true, cuda_device_count: 2 }, 2), {
    pass: true,
    detail: 'torch reported device=cuda:0, cuda_available=true, 2 CUDA device(s) for 2 allocated',
  });
  assert.deepEqual(ranOnGpu('nvidia', 's', { device: 'cuda', cuda_device_count: 1 }, 2), {
    pass: false,
    detail: 'training ran on CUDA but torch reported device=cuda, cuda_available=?, 1 CUDA device(s) for 2 allocated',
  });
  assert.deepEqual(ranOnGpu('nvidia', 's', { device: 'cuda:0', cuda_available: false }, 1), {
    pass: false,
    detail: 'training ran on CUDA but torch reported device=cuda:0, cuda_available=false, 0 CUDA device(s) for 1 allocated',
  });
  assert.deepEqual(ranOnGpu('nvidia', 's', { device: 'cpu', cuda_available: false, cuda_device_count: 0 }, 0), {
    pass: false,
    detail: 'GPU allocated, but training ran on CPU: torch reported device=cpu, cuda_available=false, 0 CUDA device(s) for 0 allocated',
  });
  assert.deepEqual(ranOnGpu('fake', 'lab', { device: 'cpu' }, 1), {
    notApplicable: 'target "lab" declares stand-in GPUs (MLV_GPU_KIND=fake): training runs on the CPU, so CUDA use cannot be checked',
  });
});

test('openedAllocatedDevice: cuda:K maps to the K-th allocated device; anything else fails', () => {
  const env = { cudaVisibleDevices: '4,5,6,7,8,9,10,11,12,13,14', slurmJobGpus: undefined, devices: ['4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14'] };
  assert.deepEqual(openedAllocatedDevice('nvidia', 's', { device: 'cuda:1' }, env), { pass: true, detail: 'cuda:1 is CUDA_VISIBLE_DEVICES[1] = GPU 5 (allocated: 4,5,6,7,8,9,10,11,12,13,14)' });
  assert.deepEqual(openedAllocatedDevice('nvidia', 's', { device: 'cuda:10' }, env), { pass: true, detail: 'cuda:10 is CUDA_VISIBLE_DEVICES[10] = GPU 14 (allocated: 4,5,6,7,8,9,10,11,12,13,14)' });
  for (const device of ['cuda', 'cpu', 'cuda:11', 'xcuda:1', 'cuda:1x', 'cuda:-1']) {
    assert.deepEqual(
      openedAllocatedDevice('nvidia', 's', { device }, env),
      { pass: false, detail: `the workload opened ${device}, which is not one of CUDA_VISIBLE_DEVICES=4,5,6,7,8,9,10,11,12,13,14` },
      device,
    );
  }
  assert.deepEqual(openedAllocatedDevice('nvidia', 's', { device: 'cuda:0' }, { devices: [] }), { pass: false, detail: 'the workload opened cuda:0, which is not one of CUDA_VISIBLE_DEVICES=unset' });
  assert.ok('notApplicable' in openedAllocatedDevice('fake', 's', { device: 'cpu' }, { devices: [] }));
});

test('ncclOnGpus: every rank NCCL on CUDA; the failing ones are named', () => {
  assert.deepEqual(ncclOnGpus('nvidia', 's', [rank(0), rank(1)]), { pass: true, detail: '0:nccl/cuda:0, 1:nccl/cuda:1' });
  assert.deepEqual(ncclOnGpus('nvidia', 's', [rank(0), rank(1, { backend: 'gloo' }), rank(2, { device: 'cpu' })]), { pass: false, detail: 'not NCCL on CUDA: rank 1 gloo/cuda:1, rank 2 nccl/cpu' });
  assert.deepEqual(ncclOnGpus('nvidia', 's', []), { pass: false, detail: 'no rank reported' });
  assert.deepEqual(ncclOnGpus('fake', 'lab', [rank(0)]), { notApplicable: 'target "lab" declares stand-in GPUs (MLV_GPU_KIND=fake): the ranks use gloo on the CPU' });
});

test('ranksInSync: equal to a relative 1e-9; a missing checksum fails; fewer ranks than the world is N/A', () => {
  assert.deepEqual(ranksInSync([rank(0), rank(1)], 2), { pass: true, detail: 'identical parameter checksums per rank: 0:123.5, 1:123.5' });
  assert.deepEqual(
    ranksInSync([rank(0, { param_checksum: 1e6 }), rank(1, { param_checksum: 1e6 + 5e-4 })], 2),
    { pass: true, detail: 'identical parameter checksums per rank: 0:1000000, 1:1000000.0005' },
    'within 1e-9 of 1e6',
  );
  assert.equal((ranksInSync([rank(0, { param_checksum: 1e6 }), rank(1, { param_checksum: 1e6 + 1e-2 })], 2) as { pass: boolean }).pass, false);
  assert.equal((ranksInSync([rank(0, { param_checksum: 0.25 }), rank(1, { param_checksum: 0.25 + 8e-10 })], 2) as { pass: boolean }).pass, true, 'below 1 the tolerance is absolute 1e-9');
  assert.equal((ranksInSync([rank(0, { param_checksum: 0 }), rank(1, { param_checksum: 1e-9 })], 2) as { pass: boolean }).pass, true, 'the tolerance itself is in sync');
  assert.equal((ranksInSync([rank(0, { param_checksum: 0.5 }), rank(1, { param_checksum: 0.5 + 3e-9 })], 2) as { pass: boolean }).pass, false);
  assert.deepEqual(ranksInSync([rank(0, { param_checksum: 1 }), rank(1, { param_checksum: 2 })], 2), { pass: false, detail: 'DIVERGED parameter checksums per rank: 0:1, 1:2' });
  assert.deepEqual(ranksInSync([rank(0), rank(1, { param_checksum: undefined })], 2), { pass: false, detail: 'a rank reported no parameter checksum: 0:123.5, 1:none' });
  assert.deepEqual(ranksInSync([rank(0, { param_checksum: undefined }), rank(1)], 2), { pass: false, detail: 'a rank reported no parameter checksum: 0:none, 1:123.5' });
  assert.deepEqual(ranksInSync([rank(0)], 2), { notApplicable: 'only 1 of 2 rank(s) reported (see "every rank initialised and reported")' });
  assert.deepEqual(ranksInSync([rank(0)], 1), { notApplicable: 'only 1 of 1 rank(s) reported (see "every rank initialised and reported")' }, 'one rank has nothing to be in sync with');
  assert.equal((ranksInSync([rank(0), rank(1), rank(2)], 2) as { pass: boolean }).pass, true);
});

test('evenShards: equal steps on every rank and the samples covering the epochs', () => {
  assert.deepEqual(evenShards([rank(0), rank(1)], 2, 50, 2), { pass: true, detail: 'steps per rank: 0:10, 1:10; 100 samples over 2 epoch(s) of 50' });
  assert.deepEqual(evenShards([rank(0), rank(1)], 2, 51, 2), { pass: false, detail: 'uneven or incomplete shards: steps per rank: 0:10, 1:10; 100 samples over 2 epoch(s) of 51' });
  assert.deepEqual(evenShards([rank(0), rank(1, { steps: 11 })], 2, 10, 1), { pass: false, detail: 'uneven or incomplete shards: steps per rank: 0:10, 1:11; 100 samples over 1 epoch(s) of 10' });
  assert.deepEqual(evenShards([rank(0, { steps: undefined }), rank(1, { steps: undefined, samples: undefined })], 2, 10, 1), {
    pass: false,
    detail: 'uneven or incomplete shards: steps per rank: 0:none, 1:none; 50 samples over 1 epoch(s) of 10',
  });
  assert.equal((evenShards([rank(0, { steps: 10 }), rank(1, { steps: undefined })], 2, 10, 1) as { pass: boolean }).pass, false);
  assert.deepEqual(evenShards([rank(0)], 2, 10, 1), { notApplicable: 'only 1 of 2 rank(s) reported (see "every rank initialised and reported")' });
  assert.equal((evenShards([rank(0)], 1, 50, 1) as { pass: boolean }).pass, true);
});
