// The lab's Kubernetes-compatible API server (HTTPS + bearer token), good enough for the real
// kubectl and @kubernetes/client-node: discovery, OpenAPI, CRUD, patch, status subresource,
// watch with resume, CRDs, namespaces with cascading delete, pod logs and Table output.
// This file wires the parts: context.ts (shared state), routes.ts (routing), admission.ts,
// verbs.ts, cascade.ts, watch.ts, logs.ts and persistence.ts.
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { ensureCa, ensureServerCert, ensureToken, statePaths, writeKubeconfig } from './pki.ts';
import { createApiContext, type ApiContext, type ApiServerOptions } from './context.ts';
import { loadSnapshot, saveSnapshot, seed } from './persistence.ts';
import { handle, sendError } from './routes.ts';

export { SERVER_VERSION, type ApiServerOptions } from './context.ts';
export { LOG_PATH_ANNOTATION } from './logs.ts';

export interface ApiServer {
  url: string;
  host: string;
  port: number;
  stateDir: string;
  kubeconfigPath: string;
  caPath: string;
  token: string;
  close(): Promise<void>;
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const stateDir = opts.stateDir;
  mkdirSync(stateDir, { recursive: true });
  ensureCa(stateDir);
  ensureServerCert(stateDir);
  const token = ensureToken(stateDir);
  const paths = statePaths(stateDir);
  const api = createApiContext(opts, token);

  const server: Server = createServer({ key: readFileSync(paths.serverKey), cert: readFileSync(paths.serverCert) }, (req, res) => {
    const started = Date.now();
    res.on('finish', () => api.log(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms`));
    handle(api, req, res).catch((e) => sendError(api, res, e));
  });
  server.keepAliveTimeout = 120_000;
  server.requestTimeout = 0;
  const sockets = new Set<Socket>();
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await listen(server, api);
  const host = api.host;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `https://${urlHost}:${api.port}`;
  if (!loadSnapshot(api)) seed(api);
  const kubeconfigPath = writeKubeconfig(stateDir, opts.kubeconfigServer ?? url, token);
  api.log(`listening on ${url} (kubeconfig ${kubeconfigPath})`);

  return {
    url,
    host: urlHost,
    port: api.port,
    stateDir,
    kubeconfigPath,
    caPath: paths.caCert,
    token,
    close: async () => {
      for (const end of [...api.activeWatches]) end();
      for (const t of api.timers) clearTimeout(t);
      api.timers.clear();
      saveSnapshot(api);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

/** Listen on api.host:api.port; api.port becomes the real port (for port 0). */
async function listen(server: Server, api: ApiContext): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(api.port, api.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr && typeof addr === 'object') api.port = addr.port;
}
