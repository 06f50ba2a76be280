/**
 * Node sweep (`npx playwright test --project=hpc-sweep`): which node is bad, not whether some
 * node is. What runs: workloads/node-check/node_check.py in one job pinned to each idle node of
 * the partition (--nodelist), asking for all its GPUs, at most MLV_SWEEP_CONCURRENCY at once.
 * Pass: on every node, SLURM handed over the GPUs asked for, the runtime's Python imports torch,
 * a short training step learns, and nvidia-smi (where it exists) lists the GPUs; and no node of
 * the partition is drained or down. The matrix gets one row per node.
 */
import { expect, test } from '../../fixtures/index.ts';

test.use({ requires: { claims: ['gres-gpu'] } });

test('every node of the partition passes the node check', async ({ nodeSweep }) => {
  const verdicts = await nodeSweep.run();
  const bad = verdicts.filter((v) => v.outcome === 'fail').map((v) => `${v.node}: ${v.reason}`);
  expect(bad, `bad nodes: ${bad.map((b) => b.split(':')[0]).join(', ')}`).toEqual([]);
  expect(
    verdicts.some((v) => v.outcome === 'pass'),
    'at least one node was checked',
  ).toBe(true);
});
