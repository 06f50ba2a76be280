/**
 * A recording proxy for MLflow's REST API: every exchange between a client and the server
 * behind it, in order (method, path with query, status, content type, body: JSON parsed,
 * anything else as its length), and a replay server that answers a client from a recording.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Exchange {
  method: string;
  path: string;
  request?: unknown;
  status: number;
  contentType: string;
  body: unknown;
}

const parse = (buf: Buffer, type: string) => {
  if (type.includes('json')) {
    try {
      return JSON.parse(buf.toString('utf8'));
    } catch {
      /* fall through */
    }
  }
  return { bytes: buf.length };
};

const read = (s: http.IncomingMessage) =>
  new Promise<Buffer>((res, rej) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => res(Buffer.concat(chunks)));
    s.on('error', rej);
  });

const listen = (server: http.Server) => new Promise<string>((res) => server.listen(0, '127.0.0.1', () => res(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));

/** A proxy to `target` that appends every exchange to `log`. */
export async function recordingProxy(target: string, log: Exchange[]): Promise<{ url: string; close: () => void }> {
  const server = http.createServer(async (req, res) => {
    const body = await read(req);
    const up = await fetch(new URL(req.url ?? '/', target), {
      method: req.method,
      headers: { ...(req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {}) },
      body: body.length ? new Uint8Array(body) : undefined,
    });
    const out = Buffer.from(await up.arrayBuffer());
    const type = up.headers.get('content-type') ?? '';
    const reqType = String(req.headers['content-type'] ?? '');
    log.push({ method: req.method ?? '', path: req.url ?? '', request: body.length ? parse(body, reqType) : undefined, status: up.status, contentType: type.split(';')[0]!, body: parse(out, type) });
    res.writeHead(up.status, { 'content-type': type });
    res.end(out);
  });
  const url = await listen(server);
  return { url, close: () => server.close() };
}

/** Answer request i with recorded exchange i (bodies of artifacts as that many zero bytes); a different request is a 599 naming both. */
export async function replayServer(exchanges: Exchange[]): Promise<{ url: string; close: () => void; mismatches: string[] }> {
  let i = 0;
  const mismatches: string[] = [];
  const server = http.createServer(async (req, res) => {
    await read(req);
    const e = exchanges[i++];
    if (!e || e.method !== req.method || e.path.split('?')[0] !== (req.url ?? '').split('?')[0]) {
      mismatches.push(`request ${i}: ${req.method} ${req.url}, recorded ${e ? `${e.method} ${e.path}` : 'nothing'}`);
      res.writeHead(599).end();
      return;
    }
    const body = e.contentType.includes('json') ? JSON.stringify(e.body) : Buffer.alloc((e.body as { bytes: number }).bytes);
    res.writeHead(e.status, { 'content-type': e.contentType }).end(body);
  });
  const url = await listen(server);
  return { url, close: () => server.close(), mismatches };
}
