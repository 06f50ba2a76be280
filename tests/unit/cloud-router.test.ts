/**
 * The lab ingress router (lab/cloud/controller/router.ts) with certificates
 * from a throwaway CA (lab/cloud/controller/certs.ts), in front of plain HTTP
 * stand-in upstreams: Host routing, TLS verification, 404/503, activator
 * queueing, least-in-flight balancing and the concurrency sample.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CertIssuer } from '../../lab/cloud/controller/certs.ts';
import { IngressRouter } from '../../lab/cloud/controller/router.ts';

const tmp = mkdtempSync(join(tmpdir(), 'cloud-router-'));
const caCert = join(tmp, 'ca.crt');
const caKey = join(tmp, 'ca.key');

function makeCa(): void {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caCert, '-days', '2', '-subj', '/CN=test-lab-ca'], { stdio: 'ignore' });
}

/** Upstream that answers after `delayMs` with its own name. */
function upstream(name: string, delayMs = 0): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () =>
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ upstream: name, path: req.url, host: req.headers.host, body, xfp: req.headers['x-forwarded-proto'] }));
      }, delayMs),
    );
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ server, port: (server.address() as AddressInfo).port })));
}

describe('cloud ingress router', () => {
  let router: IngressRouter;
  let port: number;
  let ca: Buffer;
  const ups: { server: http.Server; port: number }[] = [];
  const agent = new https.Agent({ keepAlive: true, maxSockets: 64 });

  /** What the test upstreams echo (upstream, host, body, xfp), or the router's error. */
  type Reply = { upstream?: string; host?: string; body?: string; xfp?: string; error: string };
  function call(host: string, path = '/v1/models/m:predict', body = '{"instances":[[1]]}', servername?: string): Promise<{ status: number; body: Reply; pod?: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, path, method: 'POST', ca, agent, servername, headers: { host, 'content-type': 'application/json' } }, (res) => {
        let t = '';
        res.on('data', (c) => (t += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(t) as Reply, pod: res.headers['x-lab-pod'] as string | undefined }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  before(async () => {
    makeCa();
    ca = readFileSync(caCert);
    const issuer = new CertIssuer({ caCert, caKey, outDir: join(tmp, 'ingress') });
    const tls = await issuer.issueDefault();
    router = new IngressRouter({ activatorTimeoutMs: 1500 });
    port = (await router.listen('127.0.0.1', 0, { cert: tls.cert, key: tls.key, sni: (s) => issuer.sniContext(s) })).port;
    ups.push(await upstream('a', 30), await upstream('b', 30));
  });

  after(async () => {
    agent.destroy();
    await router.close();
    for (const u of ups) u.server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('routes <isvc>.<ns>.lab.mlv.io and <isvc>-predictor.<ns>... over TLS verified by the lab CA', async () => {
    router.setRoute('default', 'iris', [{ id: 'iris-predictor-x1', port: ups[0]!.port }]);
    const r = await call('iris.default.lab.mlv.io');
    assert.equal(r.status, 200);
    assert.equal(r.body.upstream, 'a');
    assert.equal(r.body.host, 'iris.default.lab.mlv.io', 'Host is preserved');
    assert.equal(r.body.body, '{"instances":[[1]]}');
    assert.equal(r.body.xfp, 'https');
    assert.equal(r.pod, 'iris-predictor-x1');
    assert.equal((await call('iris-predictor.default.lab.mlv.io:8443')).status, 200);
    // SNI with the virtual host name: the certificate must match it
    assert.equal((await call('iris.default.lab.mlv.io', undefined, undefined, 'iris.default.lab.mlv.io')).status, 200);
  });

  it('issues a certificate on demand for other namespaces (SNI)', async () => {
    router.setRoute('team-a', 'iris', [{ id: 'p', port: ups[0]!.port }]);
    const r = await call('iris.team-a.lab.mlv.io', undefined, undefined, 'iris.team-a.lab.mlv.io');
    assert.equal(r.status, 200);
  });

  it('404 for unknown hosts, 503 when nothing is ready', async () => {
    assert.equal((await call('nope.default.lab.mlv.io')).status, 404);
    assert.equal((await call('lab.mlv.io')).status, 404);
    router.setRoute('default', 'down', [], { unavailableReason: 'model failed to load' });
    const r = await call('down.default.lab.mlv.io');
    assert.equal(r.status, 503);
    assert.match(r.body.error, /model failed to load/);
  });

  it('activating routes queue requests until a replica is ready (and call onDemand)', async () => {
    let demanded = 0;
    router.setRoute('default', 'cold', [], { activating: true, onDemand: () => demanded++ });
    const pending = call('cold.default.lab.mlv.io');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(demanded, 1);
    assert.equal(router.stats('default', 'cold')!.inflight, 1, 'queued request counts as in-flight');
    router.setRoute('default', 'cold', [{ id: 'cold-1', port: ups[1]!.port }], { activating: false });
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(r.body.upstream, 'b');
    // and times out with 503 if nothing becomes ready
    router.setRoute('default', 'cold2', [], { activating: true });
    const t0 = Date.now();
    assert.equal((await call('cold2.default.lab.mlv.io')).status, 503);
    assert.ok(Date.now() - t0 >= 1400);
  });

  it('balances across replicas and samples time-averaged concurrency', async () => {
    router.setRoute('default', 'lb', [
      { id: 'lb-a', port: ups[0]!.port },
      { id: 'lb-b', port: ups[1]!.port },
    ]);
    router.sample('default', 'lb'); // reset
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: 40 }, () => call('lb.default.lab.mlv.io')));
    const s = router.sample('default', 'lb');
    const elapsed = performance.now() - t0;
    const byPod = new Map<string, number>();
    for (const r of results) byPod.set(r.pod!, (byPod.get(r.pod!) ?? 0) + 1);
    assert.equal(
      results.every((r) => r.status === 200),
      true,
    );
    assert.ok((byPod.get('lb-a') ?? 0) >= 10 && (byPod.get('lb-b') ?? 0) >= 10, JSON.stringify([...byPod]));
    assert.ok(s.concurrency > 1, `concurrency ${s.concurrency} over ${elapsed} ms`);
    assert.ok(Math.abs(s.rps - (40 * 1000) / s.intervalMs) < 1e-6);
    assert.equal(s.inflight, 0);
    assert.equal(router.sample('default', 'lb').concurrency, 0);
  });

  it('retries once on another replica when one refuses the connection', async () => {
    const dead = await upstream('dead');
    const deadPort = dead.port;
    await new Promise((r) => dead.server.close(r));
    router.setRoute('default', 'flaky', [
      { id: 'dead', port: deadPort },
      { id: 'alive', port: ups[0]!.port },
    ]);
    for (let i = 0; i < 4; i++) {
      const r = await call('flaky.default.lab.mlv.io');
      assert.equal(r.status, 200);
      assert.equal(r.pod, 'alive');
    }
  });

  it('removing a route 404s and fails queued requests', async () => {
    router.setRoute('default', 'gone', [], { activating: true });
    const pending = call('gone.default.lab.mlv.io');
    await new Promise((r) => setTimeout(r, 100));
    router.removeRoute('default', 'gone');
    const r = await pending;
    assert.equal(r.status, 503);
    assert.match(r.body.error, /deleted/);
    assert.equal((await call('gone.default.lab.mlv.io')).status, 404);
  });
});
