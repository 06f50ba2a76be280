// What follows the removal of an object: CRD teardown (its resources and types go), owner-reference
// garbage collection, and the finalization of a Terminating namespace.
import { asObject, type StoredObject } from './json.ts';
import { grKey, type ResourceType } from './registry.ts';
import { later, now, present, type ApiContext } from './context.ts';

/** Remove an object from the store and run what follows its removal; returns it (presented when `t` is given). */
export function removeAndCollect(api: ApiContext, t: ResourceType | undefined, key: string, namespace: string | undefined, name: string): StoredObject | undefined {
  const gone = api.store.remove(key, namespace, name);
  if (gone) {
    onRemoved(api, key, gone);
    if (t) return present(t, gone);
  }
  return gone;
}

/** After an object is really gone: CRD teardown and owner-reference garbage collection. */
export function onRemoved(api: ApiContext, key: string, gone: StoredObject): void {
  if (key === grKey(api.crdType)) teardownCrd(api, gone);
  const uid = gone.metadata?.uid;
  if (!uid) return;
  later(api, () => collectGarbage(api, uid, gone.metadata?.namespace), 0);
}

export function collectGarbage(api: ApiContext, ownerUid: string, ownerNs: string | undefined): void {
  for (const key of api.store.groupResources()) {
    for (const o of api.store.list(key)) {
      const refs = o.metadata?.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === ownerUid)) continue;
      if (ownerNs && o.metadata?.namespace && o.metadata.namespace !== ownerNs) continue;
      const others = refs.filter((r) => r.uid !== ownerUid);
      const otherAlive = others.some((r) => ownerExists(api, r.uid));
      if (otherAlive) {
        const upd = structuredClone(o);
        upd.metadata.ownerReferences = others;
        api.store.put(key, upd, 'MODIFIED', o);
      } else {
        removeAndCollect(api, undefined, key, o.metadata?.namespace, o.metadata?.name);
      }
    }
  }
}

export function ownerExists(api: ApiContext, uid: string | undefined): boolean {
  for (const key of api.store.groupResources()) for (const o of api.store.list(key)) if (o.metadata?.uid === uid) return true;
  return false;
}

export function teardownCrd(api: ApiContext, crd: StoredObject): void {
  const spec = asObject(crd.spec);
  const key = `${spec.group}/${asObject(spec.names).plural}`;
  for (const o of api.store.list(key)) removeAndCollect(api, undefined, key, o.metadata?.namespace, o.metadata?.name);
  api.registry.removeCustom(crd.metadata?.name);
  api.log(`unregistered ${key}`);
}

/** Delete the contents of a Terminating namespace (waiting up to nsFinalizeTimeout for finalizers), then the namespace. */
export function finalizeNamespace(api: ApiContext, ns: string, started: number): void {
  const nsObj = api.store.get('/namespaces', undefined, ns);
  if (!nsObj || asObject(nsObj.status).phase !== 'Terminating') return;
  const force = Date.now() - started > api.nsFinalizeTimeout;
  let pending = 0;
  for (const key of api.store.groupResources()) {
    if (key === '/namespaces') continue;
    for (const o of api.store.list(key, ns)) {
      if (!force && (o.metadata?.finalizers ?? []).length) {
        pending++;
        if (!o.metadata.deletionTimestamp) {
          const next = structuredClone(o);
          next.metadata.deletionTimestamp = now();
          api.store.put(key, next, 'MODIFIED', o);
        }
        continue;
      }
      removeAndCollect(api, undefined, key, ns, o.metadata.name);
    }
  }
  if (pending) {
    later(api, () => finalizeNamespace(api, ns, started), 100);
    return;
  }
  removeAndCollect(api, api.nsType, '/namespaces', undefined, ns);
  api.log(`namespace ${ns} deleted`);
}
