/** The node sweep's per-node job and verdicts (helpers/node-check.ts), on recorded job outputs. */
import assert from 'node:assert/strict';
import test from 'node:test';
import { nodeCheckJob, nodeVerdict, notIdle } from '../../helpers/node-check.ts';
import { renderSbatch } from '../../helpers/sbatch.ts';

const P = { gpusPerNode: 4, gpuKind: 'fake' as const };
const report = (over: Record<string, unknown> = {}) =>
  `MLV_JOB_START 1.0 node1\nMLV_NVIDIA_SMI none\nMLV_NODE_CHECK ${JSON.stringify({ host: 'node1', python: '3.11.2', cuda_visible_devices: '0,1,2,3', torch: '1.13.0', cuda_available: false, cuda_device_count: 0, train: { device: 'cpu', first_loss: 1.18, last_loss: 0.92, seconds: 0.01 }, ...over })}\nMLV_JOB_END 2.0 0\n`;
const job = (output: string, state = 'COMPLETED') => ({ id: '7', state, output });

test('the job is pinned to its node, asks for all its GPUs, and runs the check under the runtime', () => {
  const spec = nodeCheckJob('gpu-a07', { workloadsDir: '/shared/w', python: '/usr/bin/python3', ...P });
  const script = renderSbatch(spec, { runId: 'mlv-x', partition: 'gpu', jobDir: '/shared/j', workDir: '/shared/j', runtimePrefix: ['apptainer', 'exec', '--nv', 'img.sif'] });
  assert.match(script, /^#SBATCH --nodelist=gpu-a07$/m);
  assert.match(script, /^#SBATCH --gres=gpu:4$/m);
  assert.match(script, /^apptainer exec --nv img\.sif \/usr\/bin\/python3 \/shared\/w\/node-check\/node_check\.py$/m);
  assert.doesNotMatch(script, /apptainer exec --nv img\.sif sh -c/, 'nvidia-smi is asked on the node, outside the runtime');
});

test('a healthy node passes, naming what was checked', () => {
  const v = nodeVerdict('node1', job(report()), P);
  assert.equal(v.outcome, 'pass');
  assert.match(v.reason, /GPUs 0,1,2,3, Python 3\.11\.2, torch 1\.13\.0, training step on cpu \(loss 1\.180 → 0\.920\)/);
});

test('each broken condition fails the node and says which', () => {
  const cases: [string, string, RegExp][] = [
    ['broken Python', 'python3: error while loading shared libraries: libpython3.11.so.1.0\n', /Python did not report \(job FAILED\): python3: error while loading shared libraries/],
    ['fewer GPUs handed over', report({ cuda_visible_devices: '0' }), /CUDA_VISIBLE_DEVICES=0: 1 GPU\(s\) where 4 were allocated/],
    ['torch import fails', report({ torch: undefined, train: undefined, error: "ModuleNotFoundError: No module named 'torch'" }), /torch failed: ModuleNotFoundError/],
    ['training does not learn', report({ train: { device: 'cpu', first_loss: 1, last_loss: 1, seconds: 0 } }), /did not learn: loss 1 → 1/],
    ['ran elsewhere', report({ host: 'node9' }), /ran on node9, not on node1/],
  ];
  for (const [what, out, re] of cases) {
    const v = nodeVerdict('node1', job(out, what === 'broken Python' ? 'FAILED' : 'COMPLETED'), P);
    assert.equal(v.outcome, 'fail', what);
    assert.match(v.reason, re, what);
  }
  assert.equal(nodeVerdict('node1', job(report(), 'TIMEOUT'), P).reason, 'the job ended TIMEOUT');
});

test('real GPUs: torch and nvidia-smi must see what SLURM allocated', () => {
  const nv = { gpusPerNode: 4, gpuKind: 'nvidia' as const };
  const out = report({ cuda_available: true, cuda_device_count: 2 }).replace('MLV_NVIDIA_SMI none', 'MLV_NVIDIA_SMI 3');
  const v = nodeVerdict('node1', job(out), nv);
  assert.match(v.reason, /torch sees 2 CUDA device\(s\) where 4 were allocated/);
  assert.match(v.reason, /nvidia-smi lists 3 GPU\(s\) where 4 were allocated/);
  assert.equal(nodeVerdict('node1', job(report({ cuda_available: true, cuda_device_count: 4 }).replace('none', '4')), nv).outcome, 'pass');
});

test('nodes that are not idle: drained or down fail with the reason, busy ones are skipped', () => {
  const v = notIdle([
    { node: 'n1', state: 'idle', reason: 'none', since: '' },
    { node: 'n2', state: 'drained', reason: 'gres/gpu count reported lower than configured (1 < 4)', since: '' },
    { node: 'n3', state: 'down*', reason: 'Not responding', since: '' },
    { node: 'n4', state: 'allocated', reason: 'none', since: '' },
  ]);
  assert.deepEqual(
    v.map((x) => [x.node, x.outcome]),
    [
      ['n2', 'fail'],
      ['n3', 'fail'],
      ['n4', 'skip'],
    ],
  );
  assert.equal(v[0]!.reason, 'not idle: drained (reason: "gres/gpu count reported lower than configured (1 < 4)")');
});
