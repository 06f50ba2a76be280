/**
 * Thin layer over @kubernetes/client-node 1.4 for the lab controller: the
 * calls it makes, with merge-patch content types and an event recorder that
 * aggregates repeats (count/lastTimestamp) like client-go's.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KObject } from './informer.ts';

const GROUP = 'serving.kserve.io';
const VERSION = 'v1beta1';
const PLURAL = 'inferenceservices';
export const ISVC_API_VERSION = `${GROUP}/${VERSION}`;

/** The controller owner reference of an object the InferenceService owns (garbage-collected with it). */
export function isvcOwnerReference(isvc: { name: string; uid: string }): Record<string, unknown> {
  return { apiVersion: ISVC_API_VERSION, kind: 'InferenceService', name: isvc.name, uid: isvc.uid, controller: true, blockOwnerDeletion: true };
}
export const COMPONENT = 'lab-kserve-controller';

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function httpCode(e: unknown): number | undefined {
  const err = e as { code?: unknown; statusCode?: unknown };
  return typeof err?.code === 'number' ? err.code : typeof err?.statusCode === 'number' ? err.statusCode : undefined;
}

export function describeError(e: unknown): string {
  const err = e as { code?: number; body?: unknown; message?: string };
  let body = err?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // keep text
    }
  }
  const msg = (body as { message?: string })?.message;
  return `${err?.code ?? ''} ${msg ?? err?.message ?? String(e)}`.trim();
}

export class Kube {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;

  constructor(kubeconfigPath: string) {
    this.kc = new KubeConfig();
    this.kc.loadFromFile(kubeconfigPath);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.custom = this.kc.makeApiClient(CustomObjectsApi);
  }

  async listIsvcs(): Promise<{ items: KObject[]; metadata?: { resourceVersion?: string } }> {
    return (await this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as never;
  }

  async getIsvc(namespace: string, name: string): Promise<KObject | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name })) as KObject;
    } catch (e) {
      if (httpCode(e) === 404) return undefined;
      throw e;
    }
  }

  async patchIsvcStatus(namespace: string, name: string, status: unknown): Promise<void> {
    await this.custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { status } }, MERGE);
  }

  async listPods(labelSelector: string): Promise<{ items: KObject[]; metadata?: { resourceVersion?: string } }> {
    // raw JSON (the typed client would turn timestamps into Date objects)
    const list = await this.core.listPodForAllNamespaces({ labelSelector });
    return JSON.parse(JSON.stringify(list)) as never;
  }

  async createPod(namespace: string, pod: unknown): Promise<KObject> {
    return JSON.parse(JSON.stringify(await this.core.createNamespacedPod({ namespace, body: pod as never })));
  }

  async patchPodStatus(namespace: string, name: string, status: unknown): Promise<void> {
    await this.core.patchNamespacedPodStatus({ namespace, name, body: { status } }, MERGE);
  }

  async patchPodMetadata(namespace: string, name: string, metadata: unknown): Promise<void> {
    await this.core.patchNamespacedPod({ namespace, name, body: { metadata } }, MERGE);
  }

  /** Delete; 404 is fine. */
  async deletePod(namespace: string, name: string): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
    } catch (e) {
      if (httpCode(e) !== 404) throw e;
    }
  }
}

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
}

/** core/v1 Events with client-go-style aggregation of identical repeats. */
export class EventRecorder {
  private seen = new Map<string, { name: string; count: number; first: string }>();

  constructor(
    private readonly kube: Kube,
    private readonly log: (line: string) => void,
  ) {}

  async record(obj: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const ts = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const key = `${obj.namespace}/${obj.kind}/${obj.name}/${obj.uid}/${type}/${reason}/${message}`;
    const prev = this.seen.get(key);
    this.log(`event ${type} ${reason} ${obj.kind} ${obj.namespace}/${obj.name}: ${message}`);
    try {
      if (prev) {
        prev.count++;
        await this.kube.core.patchNamespacedEvent({ namespace: obj.namespace, name: prev.name, body: { count: prev.count, lastTimestamp: ts } }, MERGE);
        return;
      }
    } catch {
      // fall through and create a new one (the old one may have been deleted)
    }
    const name = `${obj.name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`;
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: obj.namespace },
      involvedObject: obj,
      reason,
      message,
      type,
      source: { component: COMPONENT, host: 'lab-cloud-node' },
      reportingComponent: COMPONENT,
      reportingInstance: `${COMPONENT}-${process.pid}`,
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    };
    try {
      await this.kube.core.createNamespacedEvent({ namespace: obj.namespace, body: body as never });
      this.seen.set(key, { name, count: 1, first: ts });
      if (this.seen.size > 5000) this.seen.delete(this.seen.keys().next().value!);
    } catch (e) {
      this.log(`event create failed (${reason} ${obj.namespace}/${obj.name}): ${describeError(e)}`);
    }
  }

  forget(namespace: string, name: string): void {
    for (const k of this.seen.keys()) if (k.startsWith(`${namespace}/`) && k.includes(`/${name}/`)) this.seen.delete(k);
  }
}
