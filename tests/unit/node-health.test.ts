import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gresProblems, nodeWithReason, withReasons } from '../../helpers/node-health.ts';
import type { SinfoNode } from '../../helpers/slurm-parsers.ts';

const node = (name: string, gpus: number | undefined, state = 'idle', reason?: string): SinfoNode => ({
  node: name,
  partition: 'lab',
  state,
  flags: '',
  cpus: 2,
  memoryMB: 4000,
  gres: gpus === undefined ? {} : { gpu: gpus },
  ...(reason ? { reason } : {}),
});

test('gresProblems: slurmctld’s "count reported lower" reason gives the real count, naming the node, state and reason', () => {
  const lost = node('node2', 4, 'inval', 'gres/gpu count reported lower than configured (1 < 4)');
  const [p, ...rest] = gresProblems([node('node1', 4), lost], 4);
  assert.deepEqual(rest, []);
  assert.equal(
    p,
    'node node2 has 1 GPU(s) where the target declares 4 per node (MLV_GPUS_PER_NODE=4); SLURM set it inval: "gres/gpu count reported lower than configured (1 < 4)". Fix: check the GPUs on node2 (nvidia-smi, the driver, gres.conf), then resume it (scontrol update nodename=node2 state=resume); or lower MLV_GPUS_PER_NODE to what every node has',
  );
});

test('gresProblems: a node configured with fewer GPUs than declared, or none; enough GPUs or none declared is no problem', () => {
  const ps = gresProblems([node('a', 2), node('b', undefined), node('c', 8), node('d', 4)], 4);
  assert.equal(ps.length, 2);
  assert.match(ps[0]!, /^node a has 2 GPU\(s\) where the target declares 4 per node \(MLV_GPUS_PER_NODE=4\)\. Fix: check the GPUs on a /);
  assert.match(ps[1]!, /^node b has 0 GPU\(s\) /);
  assert.deepEqual(gresProblems([node('a', 0)], 0), []);
  assert.deepEqual(gresProblems([node('a', 3, 'drained', 'gres/gpu count reported lower than configured (3 < 4)')], 3), [], 'enough for what is declared');
  assert.deepEqual(gresProblems([node('a', 4, 'drained', 'maintenance')], 4), [], 'another drain reason is not a GPU problem');
});

test('nodeWithReason and withReasons: SLURM’s reason next to the state, none when it has none', () => {
  const nodes = withReasons(
    [node('node1', 4), node('node2', 4, 'drained'), node('node3', 4, 'down')],
    [
      { node: 'node1', state: 'idle', reason: 'none', since: 'Unknown' },
      { node: 'node2', state: 'drained', reason: 'lab fault: node-drained', since: '2026-12-02T04:40:00' },
    ],
  );
  assert.deepEqual(nodes.map(nodeWithReason), ['node1=idle', 'node2=drained (reason: "lab fault: node-drained")', 'node3=down']);
  assert.equal(nodes[0]!.reason, undefined);
  assert.equal(nodeWithReason({ ...node('n', 1, 'down'), flags: '*', reason: 'Not responding' }), 'n=down* (reason: "Not responding")');
});
