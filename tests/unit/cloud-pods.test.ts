/**
 * The lab's predictor pods look like real ones (lab/cloud/controller/pods.ts): kserve-container and
 * queue-proxy, init container storage-initializer, a log per container; staging writes the
 * storage-initializer's log (storage.ts); a failed staging gives a pod whose storage-initializer
 * terminated with Error and the log tail as its message (init-failure.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { PodStatusWriter, podObject } from '../../lab/cloud/controller/pods.ts';
import { failedStoragePod } from '../../lab/cloud/controller/init-failure.ts';
import { Replica } from '../../lab/cloud/controller/replica.ts';
import { stageModel, storageLogFile } from '../../lab/cloud/controller/storage.ts';
import type { IsvcState, Revision } from '../../lab/cloud/controller/types.ts';
import type { Kube } from '../../lab/cloud/controller/kube.ts';

const tmp = mkdtempSync(join(tmpdir(), 'cloud-pods-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const roots = { stateDir: join(tmp, 'state') };
const st = { name: 'm', namespace: 'ns', uid: 'u1' } as IsvcState;
const rev = { name: 'm-predictor-00001', generation: 1, storageUri: 'pvc://c/m', resources: {} } as Revision;
const modelDir = join(tmp, 'models', 'ns', 'm', rev.name);
const replica = () =>
  new Replica({
    namespace: 'ns',
    isvc: 'm',
    uid: 'u1',
    revision: rev.name,
    generation: 1,
    ordinal: 0,
    podName: 'm-predictor-abcde',
    modelName: 'm',
    modelDir,
    threads: 1,
    slowdown: 1,
    runtime: 'python',
    logPath: join(tmp, 'logs', 'ns', 'm-predictor-abcde.log'),
    runDir: join(tmp, 'run'),
  });
type Pod = {
  metadata: { annotations: Record<string, string> };
  spec: { initContainers: { name: string; args: string[]; terminationMessagePolicy: string }[]; containers: { name: string }[] };
};
type Status = {
  phase: string;
  initContainerStatuses: { name: string; state: { terminated?: { exitCode: number; reason: string; message?: string; startedAt?: string } } }[];
  containerStatuses: { name: string; ready: boolean; state: Record<string, unknown> }[];
};

test("a replica's pod: kserve-container and queue-proxy, init storage-initializer, each with its own log", () => {
  const r = replica();
  const pod = podObject(st, rev, r) as unknown as Pod;
  assert.deepEqual(
    pod.spec.containers.map((c) => c.name),
    ['kserve-container', 'queue-proxy'],
  );
  assert.deepEqual(
    pod.spec.initContainers.map((c) => [c.name, c.args, c.terminationMessagePolicy]),
    [['storage-initializer', ['pvc://c/m', '/mnt/models'], 'FallbackToLogsOnError']],
  );
  const a = pod.metadata.annotations;
  assert.equal(a['lab.mlv.io/log-path.kserve-container'], r.spec.logPath);
  assert.equal(a['lab.mlv.io/log-path.storage-initializer'], `${modelDir}.storage-initializer.log`);
  assert.equal(a['lab.mlv.io/log-path.queue-proxy'], join(tmp, 'logs', 'ns', 'm-predictor-abcde.queue-proxy.log'));
  assert.match(readFileSync(a['lab.mlv.io/log-path.queue-proxy']!, 'utf8'), /"message":"lab stand-in: the lab ingress router/);
});

test('its status: storage-initializer Completed, queue-proxy running and ready with the model server', () => {
  const r = replica();
  const writer = new PodStatusWriter({} as Kube, () => {});
  const waiting = writer.status(r) as unknown as Status;
  assert.deepEqual(waiting.initContainerStatuses[0]!.state.terminated, {
    exitCode: 0,
    reason: 'Completed',
    startedAt: waiting.initContainerStatuses[0]!.state.terminated!.startedAt,
    finishedAt: waiting.initContainerStatuses[0]!.state.terminated!.startedAt,
  });
  assert.deepEqual(
    waiting.containerStatuses.map((c) => [c.name, c.ready, Object.keys(c.state)[0]]),
    [
      ['kserve-container', false, 'waiting'],
      ['queue-proxy', false, 'waiting'],
    ],
  );
  r.status = { ...r.status, state: 'running', ready: true, started: true, startedAt: '2026-01-01T00:00:00Z' };
  const running = writer.status(r) as unknown as Status;
  assert.deepEqual(running.containerStatuses[1], {
    name: 'queue-proxy',
    image: 'lab.mlv.io/queue-proxy:local',
    imageID: '',
    ready: true,
    started: true,
    restartCount: 0,
    state: { running: { startedAt: '2026-01-01T00:00:00Z' } },
    lastState: {},
  });
});

test('staging writes the storage-initializer log: KServe-like lines, the error last when it fails', async () => {
  mkdirSync(join(roots.stateDir, 'pvc', 'c', 'm'), { recursive: true });
  writeFileSync(join(roots.stateDir, 'pvc', 'c', 'm', 'model.onnx'), 'x');
  const ok = join(tmp, 'stage-ok');
  await stageModel('pvc://c/m', roots, ok);
  const lines = readFileSync(storageLogFile(ok), 'utf8').trim().split('\n');
  assert.deepEqual(
    lines.map((l) => l.replace(/^\S+ \S+ /, '')),
    [
      "kserve.storage INFO Initializing, args: (src_uri, dest_path): [('pvc://c/m', '/mnt/models')]",
      'kserve.storage INFO Copying contents of pvc://c/m to local',
      'kserve.storage INFO Successfully copied pvc://c/m to /mnt/models',
    ],
  );
  const bad = join(tmp, 'stage-bad');
  await assert.rejects(stageModel('pvc://c/none', roots, bad), /does not exist/);
  const badLog = readFileSync(storageLogFile(bad), 'utf8').trim().split('\n');
  assert.equal(badLog.length, 4);
  assert.match(badLog[2]!, / kserve.storage ERROR Storage initialization failed \(ModelLoadFailed\)$/);
  assert.equal(badLog[3], `RuntimeError: storageUri pvc://c/none: ${join(roots.stateDir, 'pvc', 'c', 'none')} does not exist`);
  // a second staging into the same place starts a fresh log
  await stageModel('pvc://c/m', roots, bad);
  assert.doesNotMatch(readFileSync(storageLogFile(bad), 'utf8'), /RuntimeError/);
});

test('a failed staging: Pending pod, storage-initializer terminated Error with the log tail (80 lines, 2048 bytes) as message', () => {
  const dest = join(tmp, 'failed');
  writeFileSync(storageLogFile(dest), Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\nRuntimeError: gone\n');
  const { pod, status } = failedStoragePod(st, rev, dest) as unknown as { pod: Pod & { metadata: { name: string; labels: Record<string, string> } }; status: Status };
  assert.equal(pod.metadata.name, 'm-predictor-00001-deployment-storage');
  assert.equal(pod.metadata.labels['app.kubernetes.io/managed-by'], undefined, 'no replica backs it: the stale-pod sweep must leave it');
  assert.equal(pod.metadata.labels['serving.kserve.io/inferenceservice'], 'm');
  assert.equal(status.phase, 'Pending');
  const t = status.initContainerStatuses[0]!.state.terminated!;
  assert.deepEqual([t.exitCode, t.reason], [1, 'Error']);
  const msg = t.message!.split('\n');
  assert.equal(msg[0], 'line 21');
  assert.equal(msg.at(-2), 'RuntimeError: gone');
  assert.equal(msg.length, 81);
  assert.deepEqual(
    status.containerStatuses.map((c) => [c.name, c.state]),
    [
      ['kserve-container', { waiting: { reason: 'PodInitializing' } }],
      ['queue-proxy', { waiting: { reason: 'PodInitializing' } }],
    ],
  );
  writeFileSync(storageLogFile(dest), 'y'.repeat(5000));
  assert.equal((failedStoragePod(st, rev, dest).status as unknown as Status).initContainerStatuses[0]!.state.terminated!.message!.length, 2048);
});
