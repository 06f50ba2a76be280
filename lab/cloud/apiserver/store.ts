// In-memory object store with a global resourceVersion counter, an event history window
// (for watch resumption) and live watchers.
import type { StoredObject } from './json.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  rv: number;
  type: EventType;
  gr: string;
  obj: StoredObject;
  /** The previous state for MODIFIED events (selector transitions). */
  old?: StoredObject;
}

export interface StoreWatcher {
  gr: string;
  onEvent(ev: StoreEvent): void;
}

/** What snapshot() returns and restore() takes (the persisted store.json). */
export interface StoreSnapshot {
  rv: number;
  objects: Record<string, StoredObject[]>;
}

export const objKey = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

export class Store {
  private rv = 0;
  /** Events with rv > compactedRv are all in `history`. */
  private compactedRv = 0;
  private history: StoreEvent[] = [];
  private data = new Map<string, Map<string, StoredObject>>();
  private watchers = new Set<StoreWatcher>();

  constructor(private readonly historySize: number) {}

  currentRv(): number {
    return this.rv;
  }

  oldestResumableRv(): number {
    return this.compactedRv;
  }

  private bucket(gr: string): Map<string, StoredObject> {
    let b = this.data.get(gr);
    if (!b) {
      b = new Map();
      this.data.set(gr, b);
    }
    return b;
  }

  get(gr: string, namespace: string | undefined, name: string): StoredObject | undefined {
    const o = this.data.get(gr)?.get(objKey(namespace, name));
    return o === undefined ? undefined : structuredClone(o);
  }

  /** Objects of a group/resource, optionally in one namespace, sorted by namespace then name. */
  list(gr: string, namespace?: string): StoredObject[] {
    const b = this.data.get(gr);
    if (!b) return [];
    const out: StoredObject[] = [];
    for (const o of b.values()) {
      if (namespace !== undefined && (o.metadata?.namespace ?? '') !== namespace) continue;
      out.push(structuredClone(o));
    }
    return out.sort((a, c) => {
      const ka = objKey(a.metadata?.namespace, a.metadata?.name);
      const kc = objKey(c.metadata?.namespace, c.metadata?.name);
      return ka < kc ? -1 : ka > kc ? 1 : 0;
    });
  }

  groupResources(): string[] {
    return [...this.data.keys()];
  }

  /** Store `obj` (ADDED or MODIFIED), stamping a new resourceVersion. Returns the stored copy. */
  put(gr: string, obj: StoredObject, type: 'ADDED' | 'MODIFIED', old?: StoredObject): StoredObject {
    const rv = ++this.rv;
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(rv);
    this.bucket(gr).set(objKey(stored.metadata.namespace, stored.metadata.name), stored);
    this.emit({ rv, type, gr, obj: stored, old });
    return structuredClone(stored);
  }

  /** Remove an object; the DELETED event carries a fresh resourceVersion. */
  remove(gr: string, namespace: string | undefined, name: string): StoredObject | undefined {
    const b = this.data.get(gr);
    const key = objKey(namespace, name);
    const cur = b?.get(key);
    if (!b || cur === undefined) return undefined;
    b.delete(key);
    const rv = ++this.rv;
    const gone = structuredClone(cur);
    gone.metadata.resourceVersion = String(rv);
    this.emit({ rv, type: 'DELETED', gr, obj: gone });
    return structuredClone(gone);
  }

  private emit(ev: StoreEvent): void {
    this.history.push(ev);
    if (this.history.length > this.historySize) {
      const dropped = this.history.splice(0, this.history.length - this.historySize);
      this.compactedRv = dropped[dropped.length - 1]!.rv;
    }
    for (const w of [...this.watchers]) {
      if (w.gr !== ev.gr) continue;
      try {
        w.onEvent(ev);
      } catch {
        this.watchers.delete(w);
      }
    }
  }

  /** Events after `rv` for a group/resource, or undefined if the window no longer covers it. */
  eventsSince(gr: string, rv: number): StoreEvent[] | undefined {
    if (rv < this.compactedRv) return undefined;
    return this.history.filter((e) => e.rv > rv && e.gr === gr);
  }

  addWatcher(w: StoreWatcher): void {
    this.watchers.add(w);
  }

  removeWatcher(w: StoreWatcher): void {
    this.watchers.delete(w);
  }

  // ---- snapshot (optional persistence) ----

  snapshot(): StoreSnapshot {
    const objects: Record<string, StoredObject[]> = {};
    for (const [gr, b] of this.data) objects[gr] = [...b.values()];
    return { rv: this.rv, objects };
  }

  restore(snap: StoreSnapshot): void {
    this.data.clear();
    for (const [gr, objs] of Object.entries(snap.objects)) {
      const b = this.bucket(gr);
      for (const o of objs) b.set(objKey(o.metadata?.namespace, o.metadata?.name), o);
    }
    this.rv = snap.rv;
    this.compactedRv = snap.rv;
    this.history = [];
  }
}
