/**
 * A small list+watch informer on top of @kubernetes/client-node's Watch, with
 * what client-go's reflector does and client-node 1.4's ListWatch lacks:
 * restart after errors with backoff, resume from the last resourceVersion
 * after a normal end of the watch, relist after 410 Gone or a failed watch
 * (server restarted), bounded watch duration (timeoutSeconds), bookmarks, and
 * a full-state callback after each (re)list so deletions missed while
 * disconnected are still seen.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';

export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string | Date;
    [k: string]: unknown;
  };
  /** as the API server returns them: unchecked (readers narrow what they use) */
  spec?: Record<string, unknown>;
  status?: { conditions?: { type?: string; status?: string }[]; [k: string]: unknown };
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface InformerOptions<T extends KObject> {
  kc: KubeConfig;
  /** watch path, e.g. /apis/serving.kserve.io/v1beta1/inferenceservices */
  path: string;
  /** list the same collection; must return items and metadata.resourceVersion */
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  labelSelector?: string;
  onEvent: (type: EventType, obj: T) => void;
  /** after every successful (re)list, with the complete cache */
  onSync?: (items: T[]) => void;
  log?: (line: string) => void;
  /** server-side watch timeout, seconds (default 300) */
  watchTimeoutSeconds?: number;
}

export const keyOf = (o: KObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export class Informer<T extends KObject> {
  readonly cache = new Map<string, T>();
  private rv = '';
  private stopped = false;
  private abort?: AbortController;
  private backoffMs = 500;
  private timer?: NodeJS.Timeout;
  private synced = false;
  private readonly watch: Watch;
  private readonly log: (line: string) => void;
  private firstSync!: Promise<void>;
  private resolveFirstSync!: () => void;

  constructor(private readonly opts: InformerOptions<T>) {
    this.watch = new Watch(opts.kc);
    this.log = opts.log ?? (() => {});
    this.firstSync = new Promise((r) => (this.resolveFirstSync = r));
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Starts the loop; resolves after the first successful list. */
  start(): Promise<void> {
    this.stopped = false;
    void this.loop();
    return this.firstSync;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort?.abort();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.loop(), delayMs);
  }

  private async relist(): Promise<void> {
    const list = await this.opts.list();
    const fresh = new Map<string, T>();
    for (const item of list.items ?? []) fresh.set(keyOf(item), item);
    for (const [k, old] of this.cache) {
      if (!fresh.has(k)) {
        this.cache.delete(k);
        this.opts.onEvent('DELETED', old);
      }
    }
    for (const [k, item] of fresh) {
      const old = this.cache.get(k);
      this.cache.set(k, item);
      if (!old) this.opts.onEvent('ADDED', item);
      else if (old.metadata.resourceVersion !== item.metadata.resourceVersion) this.opts.onEvent('MODIFIED', item);
    }
    this.rv = list.metadata?.resourceVersion ?? '';
    this.opts.onSync?.([...this.cache.values()]);
    if (!this.synced) {
      this.synced = true;
      this.resolveFirstSync();
    }
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    try {
      if (!this.rv) await this.relist();
    } catch (e) {
      this.log(`informer ${this.opts.path}: list failed: ${(e as Error).message}; retry in ${this.backoffMs} ms`);
      this.schedule(this.nextBackoff());
      return;
    }
    if (this.stopped) return;
    const params: Record<string, string | number | boolean> = {
      resourceVersion: this.rv,
      allowWatchBookmarks: true,
      timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300,
    };
    if (this.opts.labelSelector) params.labelSelector = this.opts.labelSelector;
    let gotEvent = false;
    try {
      this.abort = await this.watch.watch(
        this.opts.path,
        params,
        (type: string, obj: unknown) => {
          gotEvent = true;
          if (type === 'ERROR') {
            const status = obj as { code?: unknown; message?: unknown } | undefined; // a metav1.Status
            const code = status?.code;
            this.log(`informer ${this.opts.path}: watch error event ${code} ${status?.message ?? ''}`);
            if (code === 410) this.rv = '';
            this.abort?.abort();
            return;
          }
          // an object of the watched kind (a BOOKMARK carries only metadata.resourceVersion)
          const item = obj as T;
          if (item?.metadata?.resourceVersion) this.rv = item.metadata.resourceVersion;
          if (type === 'BOOKMARK') return;
          const k = keyOf(item);
          if (type === 'DELETED') {
            this.cache.delete(k);
            this.opts.onEvent('DELETED', item);
          } else if (type === 'ADDED' || type === 'MODIFIED') {
            const had = this.cache.has(k);
            this.cache.set(k, item);
            this.opts.onEvent(had ? 'MODIFIED' : 'ADDED', item);
          }
        },
        (e: unknown) => {
          if (this.stopped) return;
          const err = e as Error | null | undefined;
          if (err && err.name !== 'AbortError') {
            // After a failed watch relist rather than resume: the server may have restarted with a
            // fresh store (the lab API server without --persist), where an old resourceVersion means
            // nothing; the relist also reports objects deleted meanwhile.
            this.rv = '';
            this.log(`informer ${this.opts.path}: watch ended: ${err.message ?? err}; reconnecting`);
            this.schedule(this.nextBackoff());
          } else {
            if (gotEvent) this.backoffMs = 500;
            // normal end (server timeout or our abort after an ERROR event): resume at once
            this.schedule(gotEvent ? 0 : 200);
          }
        },
      );
    } catch (e) {
      this.rv = '';
      this.log(`informer ${this.opts.path}: watch failed: ${(e as Error).message}`);
      this.schedule(this.nextBackoff());
    }
  }

  private nextBackoff(): number {
    const d = this.backoffMs;
    this.backoffMs = Math.min(10_000, this.backoffMs * 2);
    return d;
  }
}
