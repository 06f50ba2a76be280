// Watch: a chunked stream of JSON events (ADDED/MODIFIED/DELETED/BOOKMARK) for a resource,
// resumable from a resourceVersion within the store's history, as Tables when asked.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, expired } from './errors.ts';
import type { StoredObject } from './json.ts';
import { apiVersionOf, grKey, type ResourceType } from './registry.ts';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import type { StoreEvent } from './store.ts';
import { columnsFor, toTable } from './tables.ts';
import { present, type Accept, type ApiContext } from './context.ts';

interface WatchStream {
  closed: boolean;
  emit(type: string, raw: StoredObject): void;
  bookmark(annotations?: Record<string, string>): void;
}

export function startWatch(api: ApiContext, req: IncomingMessage, res: ServerResponse, t: ResourceType, ns: string | undefined, q: URLSearchParams, accept: Accept): void {
  const matches = matcher(ns, q);
  const key = grKey(t);
  const sendInitial = q.get('sendInitialEvents') === 'true';
  const bookmarks = q.get('allowWatchBookmarks') === 'true';
  const timeoutS = Number(q.get('timeoutSeconds') ?? api.defaultWatchTimeout);
  const replay = replayEvents(api, key, q);
  const out = watchStream(api, res, t, q, accept);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders(); // clients (client-go) block on the response headers until they arrive
  res.socket?.setNoDelay(true);
  const dispatch = (ev: StoreEvent) => {
    if (ev.type === 'MODIFIED') {
      const now = matches(ev.obj);
      const before = ev.old ? matches(ev.old) : now;
      if (now && before) out.emit('MODIFIED', ev.obj);
      else if (now) out.emit('ADDED', ev.obj);
      else if (before) out.emit('DELETED', ev.obj);
    } else if (matches(ev.obj)) out.emit(ev.type, ev.obj);
  };

  if (replay) for (const ev of replay) dispatch(ev);
  else {
    for (const o of api.store.list(key, t.namespaced ? ns : undefined)) if (matches(o)) out.emit('ADDED', o);
    if (sendInitial && bookmarks) out.bookmark({ 'k8s.io/initial-events-end': 'true' });
  }
  const watcher = { gr: key, onEvent: dispatch };
  api.store.addWatcher(watcher);
  const bmTimer = bookmarks ? setInterval(() => out.bookmark(), api.bookmarkMs) : undefined;
  const end = () => {
    if (out.closed) return;
    out.closed = true;
    api.store.removeWatcher(watcher);
    if (bmTimer) clearInterval(bmTimer);
    clearTimeout(toTimer);
    api.activeWatches.delete(end);
    res.end();
  };
  const toTimer = setTimeout(end, Math.max(0, timeoutS) * 1000);
  api.activeWatches.add(end);
  req.on('close', end);
  res.on('close', end);
  res.on('error', end);
}

/** The namespace, label and field selector filter of a watch. */
function matcher(ns: string | undefined, q: URLSearchParams): (o: StoredObject) => boolean {
  const labels = parseLabelSelector(q.get('labelSelector'));
  const fields = parseFieldSelector(q.get('fieldSelector'));
  return (o: StoredObject): boolean => (ns === undefined || (o.metadata?.namespace ?? '') === ns) && matchLabels(labels, o.metadata?.labels) && matchFields(fields, o);
}

/**
 * The events after ?resourceVersion=N (410 Expired when N is older than the history), or
 * undefined when the watch starts from the current objects (no version, "0", or sendInitialEvents).
 */
function replayEvents(api: ApiContext, key: string, q: URLSearchParams): StoreEvent[] | undefined {
  const rvParam = q.get('resourceVersion') ?? '';
  if (rvParam === '' || rvParam === '0' || q.get('sendInitialEvents') === 'true') return undefined;
  const rv = Number(rvParam);
  if (!Number.isInteger(rv) || rv < 0) throw badRequest(`invalid resource version "${rvParam}"`);
  const evs = api.store.eventsSince(key, rv);
  if (!evs) throw expired(`too old resource version: ${rv} (${api.store.oldestResumableRv() + 1})`);
  return evs;
}

/** Writes watch events, as objects or as one-row Tables; silent once closed. */
function watchStream(api: ApiContext, res: ServerResponse, t: ResourceType, q: URLSearchParams, accept: Accept): WatchStream {
  const columns = accept.table ? columnsFor(grKey(t), t.printerColumns) : undefined;
  const includeObject = q.get('includeObject') ?? 'Metadata';
  const write = (type: string, object: unknown) => {
    if (stream.closed) return;
    res.write(JSON.stringify({ type, object }) + '\n');
  };
  const stream: WatchStream = {
    closed: false,
    emit(type, raw) {
      const o = present(t, raw);
      if (columns) {
        const table = toTable([o], columns, includeObject, { resourceVersion: o.metadata.resourceVersion });
        table.apiVersion = `meta.k8s.io/${accept.tableVersion}`;
        write(type, table);
      } else write(type, o);
    },
    bookmark(annotations) {
      const metadata: { resourceVersion: string; annotations?: Record<string, string> } = { resourceVersion: String(api.store.currentRv()) };
      if (annotations) metadata.annotations = annotations;
      if (columns) write('BOOKMARK', { kind: 'Table', apiVersion: `meta.k8s.io/${accept.tableVersion}`, metadata, columnDefinitions: [], rows: [] });
      else write('BOOKMARK', { kind: t.kind, apiVersion: apiVersionOf(t), metadata });
    },
  };
  return stream;
}
