import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAKE_GPU_LABEL, GPU_NODE_NAME, Scheduler, gpuNodeObject, gpuRequest } from '../../lab/cloud/controller/nodes.ts';

const nodes = () => {
  const s = new Scheduler();
  s.setNodes([
    { name: 'lab-cloud-node', gpus: 0 },
    { name: GPU_NODE_NAME, gpus: 4 },
  ]);
  return s;
};
const MSG = '0/2 nodes are available: 2 Insufficient nvidia.com/gpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.';

test('gpuRequest: requests, else limits (an extended resource request defaults to its limit); none or malformed = 0', () => {
  assert.equal(gpuRequest({ limits: { 'nvidia.com/gpu': '1' } }), 1);
  assert.equal(gpuRequest({ requests: { 'nvidia.com/gpu': 2 }, limits: { 'nvidia.com/gpu': '2' } }), 2);
  assert.equal(gpuRequest({ requests: { cpu: '1' }, limits: { memory: '2Gi' } }), 0);
  assert.equal(gpuRequest({ limits: { 'nvidia.com/gpu': 'lots' } }), 0);
});

test('no GPU asked: lab-cloud-node; a GPU: the stand-in node, until its GPUs are held; then the scheduler message', () => {
  const s = nodes();
  assert.deepEqual(s.place('ns/cpu', 0), { node: 'lab-cloud-node' });
  for (let i = 0; i < 4; i++) assert.deepEqual(s.place(`ns/p${i}`, 1), { node: GPU_NODE_NAME });
  assert.deepEqual(s.place('ns/p4', 1), { message: MSG });
  assert.deepEqual(s.place('ns/p0', 1), { node: GPU_NODE_NAME }, 'a placed pod keeps its node');
  s.release('ns/p0');
  assert.deepEqual(s.place('ns/p4', 1), { node: GPU_NODE_NAME }, 'a released GPU is free again');
});

test('an over-ask fits no node whatever is free', () => {
  assert.deepEqual(nodes().place('ns/big', 8), { message: MSG });
  assert.deepEqual(nodes().place('ns/four', 4), { node: GPU_NODE_NAME });
});

test('the stand-in node says it is one: the label, the note, nvidia.com/gpu allocatable', () => {
  const n = gpuNodeObject('2026-01-01T00:00:00Z') as { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; status: { allocatable: Record<string, string> } };
  assert.equal(n.metadata.labels[FAKE_GPU_LABEL], 'true');
  assert.match(n.metadata.annotations['lab.mlv.io/note']!, /no GPU, no driver, no DCGM/);
  assert.equal(n.status.allocatable['nvidia.com/gpu'], '4');
});
