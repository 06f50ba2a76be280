/**
 * The lab's HTTP plumbing, shared by the API server, the ingress router and
 * the model server: read a request body under a size limit, send JSON, listen.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listen on host:port (0: a free port); rejects when the port cannot be taken. */
export function listenOn(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Collect the request body. Past `limit` bytes the promise rejects with
 * `tooLarge(limit)` and the request is destroyed.
 */
export function readBody(req: IncomingMessage, limit: number, tooLarge: (limit: number) => Error): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(tooLarge(limit));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface SendOptions {
  /** added to the content type (and length) headers; these win */
  headers?: Record<string, string>;
  /** indent the JSON by two spaces */
  pretty?: boolean;
  /**
   * The API server's framing: the JSON ends with a newline and goes out
   * without Content-Length (chunked), as kube-apiserver sends it.
   */
  apiFraming?: boolean;
}

/**
 * Send `body` as JSON with status `status` and end the response. (Header
 * names keep the case each server has always sent: canonical from the API
 * server, lower-case from the router and the model server.)
 */
export function send(res: ServerResponse, status: number, body: unknown, opts: SendOptions = {}): void {
  const json = JSON.stringify(body, null, opts.pretty ? 2 : undefined);
  if (opts.apiFraming) {
    res.writeHead(status, { 'Content-Type': 'application/json', ...opts.headers });
    res.end(json + '\n');
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), ...opts.headers });
  res.end(json);
}
