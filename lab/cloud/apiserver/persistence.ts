// Persistence and the initial objects: a fresh server is seeded (namespaces, the node, the
// kubernetes Service); with persist on, the store is saved to <stateDir>/store.json on close and
// loaded at start instead.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import type { AdmittedObject, StoredObject } from './json.ts';
import { grKey, typesFromCrd, type CustomResourceDefinition, type ResourceType } from './registry.ts';
import type { StoreSnapshot } from './store.ts';
import { afterCreateNamespace, createObject } from './verbs.ts';
import { SERVER_VERSION, now, type ApiContext } from './context.ts';

/** The objects a new cluster has. */
export function seed(api: ApiContext): void {
  const mk = (t: ResourceType, body: AdmittedObject) => {
    const created = createObject(api, t, body.metadata.namespace, body, { dryRun: false, validation: 'Ignore', warnings: [] });
    if (grKey(t) === '/namespaces') afterCreateNamespace(api, created);
  };
  for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) mk(api.nsType, { metadata: { name: n } });
  const nodeType = api.registry.find('', 'v1', 'nodes')!;
  mk(nodeType, nodeObject());
  const svcType = api.registry.find('', 'v1', 'services')!;
  mk(svcType, {
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: api.port }] },
  });
}

/** The one Node: this host, Ready, with the capacity the lab advertises. */
function nodeObject(): AdmittedObject {
  const resources = { cpu: '2', memory: '24Gi', pods: '110', 'ephemeral-storage': '20Gi' };
  const ts = now();
  return {
    metadata: {
      name: 'lab-cloud-node',
      labels: {
        'kubernetes.io/hostname': 'lab-cloud-node',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': 'amd64',
      },
    },
    spec: {},
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [
        { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available', lastHeartbeatTime: ts, lastTransitionTime: ts },
        { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure', lastHeartbeatTime: ts, lastTransitionTime: ts },
        { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available', lastHeartbeatTime: ts, lastTransitionTime: ts },
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: ts, lastTransitionTime: ts },
      ],
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: 'lab-cloud-node' },
      ],
      nodeInfo: {
        kubeletVersion: SERVER_VERSION.gitVersion,
        kubeProxyVersion: SERVER_VERSION.gitVersion,
        osImage: 'mlv-lab (processes on the host)',
        kernelVersion: release(),
        containerRuntimeVersion: 'mlv-lab://process',
        operatingSystem: 'linux',
        architecture: 'amd64',
        machineID: '',
        systemUUID: '',
        bootID: '',
      },
    },
  };
}

/** Load <stateDir>/store.json when persisting; false when there is none (or it is unreadable). */
export function loadSnapshot(api: ApiContext): boolean {
  if (!api.persist || !existsSync(api.snapshotFile)) return false;
  try {
    const snap = JSON.parse(readFileSync(api.snapshotFile, 'utf8')) as StoreSnapshot; // what saveSnapshot wrote
    api.store.restore(snap);
    for (const crd of api.store.list(grKey(api.crdType))) api.registry.setCustom(crd.metadata.name, typesFromCrd(crd as StoredObject & CustomResourceDefinition));
    api.log(`restored ${api.snapshotFile} at resourceVersion ${snap.rv}`);
    return true;
  } catch (e) {
    api.log(`ignoring unreadable snapshot ${api.snapshotFile}: ${(e as Error).message}`);
    return false;
  }
}

/** Write the store to <stateDir>/store.json (atomically) when persisting. */
export function saveSnapshot(api: ApiContext): void {
  if (!api.persist) return;
  writeFileSync(api.snapshotFile + '.tmp', JSON.stringify(api.store.snapshot()));
  renameSync(api.snapshotFile + '.tmp', api.snapshotFile);
}
