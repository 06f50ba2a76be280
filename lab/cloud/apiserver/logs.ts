// Pod logs (GET .../pods/<name>/log): the file named by the pod's lab.mlv.io/log-path
// annotation, with container selection, tailLines, limitBytes and follow.
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest, notFound } from './errors.ts';
import type { StoredObject } from './json.ts';
import type { ResourceType } from './registry.ts';
import { gr, type ApiContext } from './context.ts';

export const LOG_PATH_ANNOTATION = 'lab.mlv.io/log-path';

/** A Pod as its log reads it: container names and annotations. */
interface Pod extends StoredObject {
  spec?: { containers?: { name?: string }[]; initContainers?: { name?: string }[] };
}

export function podLog(api: ApiContext, req: IncomingMessage, res: ServerResponse, t: ResourceType, ns: string, name: string, q: URLSearchParams): void {
  const pod = api.store.get('/pods', ns, name);
  if (!pod) throw notFound(gr(t), name);
  const container = pickContainer(pod, name, q);
  if (q.get('previous') === 'true') throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
  const file = logFile(pod, name, container);
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch {
    throw new ApiError(404, 'NotFound', `log file for container "${container}" in pod "${name}" not found (${file})`, { name, kind: 'pods' });
  }
  const text = tailLines(content.toString('utf8'), q.get('tailLines'));
  const limit = q.get('limitBytes');
  let out = Buffer.from(text, 'utf8');
  if (limit !== null && Number(limit) > 0) out = out.subarray(0, Number(limit));
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
  if (q.get('follow') !== 'true') {
    res.end(out);
    return;
  }
  res.flushHeaders();
  if (out.length) res.write(out);
  follow(api, req, res, ns, name, file, content.length);
}

/**
 * ?container=, else the only app container, else 400 as kube-apiserver answers
 * (pkg/registry/core/pod/strategy.go LogLocation: init containers are never picked by default;
 * kubectl's default-container annotation is a client-side choice, not the server's).
 */
function pickContainer(pod: Pod, name: string, q: URLSearchParams): string {
  const names = (list: { name?: string }[] | undefined) => (list ?? []).map((c) => c?.name).filter((n): n is string => Boolean(n));
  const app = names(pod.spec?.containers);
  const init = names(pod.spec?.initContainers);
  const container = q.get('container') ?? '';
  if (container) {
    if (!app.includes(container) && !init.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
    return container;
  }
  if (app.length === 1) return app[0]!;
  if (app.length === 0) throw badRequest(`a container name must be specified for pod ${name}`);
  throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${app.join(' ')}]${init.length ? ` or one of the init containers: [${init.join(' ')}]` : ''}`);
}

/** lab.mlv.io/log-path.<container>, else lab.mlv.io/log-path. */
function logFile(pod: Pod, name: string, container: string): string {
  const ann = pod.metadata?.annotations ?? {};
  const file: string | undefined = ann[`${LOG_PATH_ANNOTATION}.${container}`] ?? ann[LOG_PATH_ANNOTATION];
  if (!file) {
    throw badRequest(`container "${container}" in pod "${name}" is waiting to start: no log available (annotation ${LOG_PATH_ANNOTATION} is not set)`);
  }
  return file;
}

/** The last `tail` lines of `text` (all of it when tail is null). */
function tailLines(text: string, tail: string | null): string {
  if (tail === null) return text;
  const n = Number(tail);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid tailLines "${tail}"`);
  const lines = text.split('\n');
  const trailing = lines[lines.length - 1] === '';
  if (trailing) lines.pop();
  return n === 0 ? '' : lines.slice(-n).join('\n') + (trailing && lines.length ? '\n' : '');
}

/** ?follow=true: stream what is appended to the file until the client leaves or the pod goes. */
function follow(api: ApiContext, req: IncomingMessage, res: ServerResponse, ns: string, name: string, file: string, from: number): void {
  let offset = from;
  let closed = false;
  const poll = setInterval(() => {
    if (!api.store.get('/pods', ns, name)) return end();
    try {
      const size = statSync(file).size;
      if (size < offset) offset = 0;
      if (size > offset) {
        const fd = openSync(file, 'r');
        const buf = Buffer.alloc(size - offset);
        readSync(fd, buf, 0, buf.length, offset);
        closeSync(fd);
        offset = size;
        res.write(buf);
      }
    } catch {
      /* file may be rotated or gone */
    }
  }, 250);
  const end = () => {
    if (closed) return;
    closed = true;
    clearInterval(poll);
    api.activeWatches.delete(end);
    res.end();
  };
  api.activeWatches.add(end);
  req.on('close', end);
}
