/**
 * The serving runtimes the controller selects from (./runtimes.ts): informers on the
 * ServingRuntimes (all namespaces) and the ClusterServingRuntimes. A change enqueues every
 * InferenceService, so a RuntimeNotRecognized one picks up a runtime created later.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Informer, type KObject } from './informer.ts';
import type { Kube } from './kube.ts';
import type { RuntimeCatalog } from './predictor.ts';
import { runtimeFromObject } from './runtimes.ts';

const GROUP = 'serving.kserve.io';
const VERSION = 'v1alpha1';

export class RuntimeInformers {
  private readonly ns: Informer<KObject>;
  private readonly cluster: Informer<KObject>;

  constructor(kube: Kube, onChange: () => void, log: (line: string) => void) {
    const list = (plural: string) => async () => (await kube.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as never;
    const path = (plural: string) => `/apis/${GROUP}/${VERSION}/${plural}`;
    this.ns = new Informer<KObject>({ kc: kube.kc, path: path('servingruntimes'), list: list('servingruntimes'), onEvent: onChange, log });
    this.cluster = new Informer<KObject>({ kc: kube.kc, path: path('clusterservingruntimes'), list: list('clusterservingruntimes'), onEvent: onChange, log });
  }

  /** Resolves after both have listed once. */
  async start(): Promise<void> {
    await Promise.all([this.ns.start(), this.cluster.start()]);
  }

  stop(): void {
    this.ns.stop();
    this.cluster.stop();
  }

  /** The runtimes an InferenceService in `namespace` can use. */
  catalog(namespace: string): RuntimeCatalog {
    const inNs = [...this.ns.cache.values()].filter((o) => o.metadata.namespace === namespace);
    return {
      namespaced: inNs.map((o) => runtimeFromObject({ ...o, kind: 'ServingRuntime' })),
      cluster: [...this.cluster.cache.values()].map((o) => runtimeFromObject({ ...o, kind: 'ClusterServingRuntime' })),
    };
  }
}

/** The ClusterServingRuntimes of a manifest (default: the lab's manifests/serving-runtimes.yaml), as selection input. */
export function manifestRuntimes(path = join(import.meta.dirname, '..', 'manifests', 'serving-runtimes.yaml')): RuntimeCatalog {
  const docs = parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as KObject | null);
  return { namespaced: [], cluster: docs.filter((d): d is KObject => d?.kind === 'ClusterServingRuntime').map(runtimeFromObject) };
}
