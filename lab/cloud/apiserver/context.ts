// What every part of the lab API server shares: the store, the type registry, the settings,
// and the open watches and timers that close() ends. Bottom of the server's import graph.
import { join } from 'node:path';
import type { KubeObject } from './json.ts';
import { Registry, apiVersionOf, type ResourceType } from './registry.ts';
import { Store } from './store.ts';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-mlv-lab',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export interface ApiServerOptions {
  /** Where the CA, server cert, token and kubeconfig live (created if missing). */
  stateDir: string;
  host?: string;
  /** 0 picks an ephemeral port. Default 6443. */
  port?: number;
  /** Number of events kept for watch resumption; older resourceVersions get 410 Expired. */
  watchHistorySize?: number;
  /** Interval between BOOKMARK events on watches that allow them. */
  bookmarkIntervalMs?: number;
  /** Default watch duration when the client gives no timeoutSeconds. */
  defaultWatchTimeoutSeconds?: number;
  /** How long namespace deletion waits for objects with finalizers before removing them anyway. */
  namespaceFinalizeTimeoutMs?: number;
  /** Save the store to <stateDir>/store.json on close and load it at start. */
  persist?: boolean;
  /** Server URL written into the kubeconfig (default https://<host>:<port>). */
  kubeconfigServer?: string;
  log?: (line: string) => void;
}

/** The server's state, passed explicitly to the admission, verb, watch, log and routing code. */
export interface ApiContext {
  readonly registry: Registry;
  readonly store: Store;
  readonly log: (line: string) => void;
  /** the address the server binds (as given; discovery reports it) */
  readonly host: string;
  /** the listening port; set once the server listens */
  port: number;
  /** the bearer token clients must present */
  readonly token: Buffer;
  readonly bookmarkMs: number;
  readonly defaultWatchTimeout: number;
  readonly nsFinalizeTimeout: number;
  readonly persist: boolean;
  readonly snapshotFile: string;
  /** enders of open watches and followed logs; close() calls them all */
  readonly activeWatches: Set<() => void>;
  /** pending later() timers; close() clears them */
  readonly timers: Set<NodeJS.Timeout>;
  /** next candidate for a Service clusterIP (10.96.x.y) */
  nextServiceIp: number;
  readonly nsType: ResourceType;
  readonly crdType: ResourceType;
}

/** Per-request write options: ?dryRun=All, ?fieldValidation=, and the warnings collected for the Warning header. */
export interface WriteCtx {
  dryRun: boolean;
  validation: string;
  warnings: string[];
}

/** How the client wants objects back (from the Accept header): as Tables, as metadata only, or as they are. */
export interface Accept {
  table: boolean;
  tableVersion: string;
  partialMeta: boolean;
}

export function createApiContext(opts: ApiServerOptions, token: string): ApiContext {
  const registry = new Registry();
  return {
    registry,
    store: new Store(opts.watchHistorySize ?? 10_000),
    log: opts.log ?? (() => {}),
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 6443,
    token: Buffer.from(token),
    bookmarkMs: opts.bookmarkIntervalMs ?? 30_000,
    defaultWatchTimeout: opts.defaultWatchTimeoutSeconds ?? 1800,
    nsFinalizeTimeout: opts.namespaceFinalizeTimeoutMs ?? 10_000,
    persist: !!opts.persist,
    snapshotFile: join(opts.stateDir, 'store.json'),
    activeWatches: new Set(),
    timers: new Set(),
    nextServiceIp: 10,
    nsType: registry.find('', 'v1', 'namespaces')!,
    crdType: registry.find('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!,
  };
}

/** Run `fn` after `ms` unless the server closes first. */
export function later(api: ApiContext, fn: () => void, ms: number): void {
  const t = setTimeout(() => {
    api.timers.delete(t);
    fn();
  }, ms);
  api.timers.add(t);
}

export const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A stored object as served: a copy with apiVersion and kind set. */
export const present = <T extends KubeObject>(t: ResourceType, obj: T): T => {
  const o = structuredClone(obj);
  o.apiVersion = apiVersionOf(t);
  o.kind = t.kind;
  return o;
};

export const gr = (t: ResourceType) => ({ group: t.group, resource: t.plural });
