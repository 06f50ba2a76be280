import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { runLoad } from '../../clients/loadgen.ts';
import { hasOpenssl, selfSignedCert } from './tls-cert.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Seen {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * Test server on 127.0.0.1. Query: `sleep=<ms>` delays the answer; `fail=<n>`
 * answers 500 on every n-th request; `json=alt` alternates {ok:true}/{ok:false}.
 */
async function startServer(kind: 'http' | 'https' = 'http', tls?: { key: Buffer; cert: Buffer }) {
  let n = 0;
  const seen: Seen[] = [];
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const i = ++n;
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      const delay = Number(q.get('sleep') ?? 0);
      const fail = Number(q.get('fail') ?? 0);
      setTimeout(() => {
        if (fail > 0 && i % fail === 0) {
          res.writeHead(500).end('boom');
        } else if (q.get('json') === 'alt') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: i % 2 === 1 }));
        } else {
          res.writeHead(200).end('ok');
        }
      }, delay);
    });
  };
  const server = kind === 'https' ? https.createServer({ ...tls }, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  return { server, seen, base: `${kind}://127.0.0.1:${port}`, close };
}

const srv = await startServer();
after(() => srv.close());

test('100 requests with 10 workers: counts and wall-clock throughput', async () => {
  const r = await runLoad({ url: `${srv.base}/?sleep=20`, concurrency: 10, totalRequests: 100 });
  assert.equal(r.successes, 100);
  assert.equal(r.requests, 100);
  assert.equal(r.errors.total, 0);
  assert.ok(r.wallMs >= 180, `10 rounds of 20 ms cannot take ${r.wallMs} ms`);
  assert.equal(r.throughputRps, r.successes / (r.wallMs / 1000));
  // Ideal is 10 workers / 20 ms = 500 req/s; sum-of-latencies math would give ~50.
  assert.ok(r.throughputRps > 150 && r.throughputRps <= 560, `throughput ${r.throughputRps}`);
  assert.ok(r.latency, 'latency summary present');
  assert.ok(r.latency.p50 >= 19 && r.latency.p50 < 100, `p50 ${r.latency.p50}`);
  assert.equal(r.latency.count, 100);
  assert.equal(
    r.histogram.reduce((s, b) => s + b.count, 0),
    100,
  );
});

test('stops at the duration, with a per-interval timeline', async () => {
  const r = await runLoad({ url: `${srv.base}/?sleep=50`, concurrency: 4, durationMs: 600, tickMs: 200 });
  assert.ok(r.wallMs >= 600 && r.wallMs < 600 + 50 + 200, `wall ${r.wallMs}`);
  // 4 workers × 600 ms / ~50 ms ≈ 48 requests; allow for scheduling slack.
  assert.ok(r.successes >= 28 && r.successes <= 52, `successes ${r.successes}`);
  assert.ok(r.timeline.length >= 3 && r.timeline.length <= 5, `timeline ${JSON.stringify(r.timeline)}`);
  assert.equal(
    r.timeline.reduce((s, p) => s + p.completed, 0),
    r.successes,
  );
  for (const p of r.timeline.slice(0, 2)) assert.equal(p.inFlight, 4);
});

test('500s are counted by status and excluded from latency', async () => {
  const r = await runLoad({ url: `${srv.base}/?fail=2`, concurrency: 1, totalRequests: 20 });
  assert.equal(r.successes, 10);
  assert.deepEqual(r.errors.byStatus, { 500: 10 });
  assert.equal(r.errors.total, 10);
  assert.equal(r.latency?.count, 10);
  assert.deepEqual(r.errors.samples, ['HTTP 500']);
});

test('per-request timeouts are counted as timeout; latency is null with no success', async () => {
  const t0 = Date.now();
  const r = await runLoad({ url: `${srv.base}/?sleep=400`, concurrency: 2, totalRequests: 4, timeoutMs: 80 });
  assert.equal(r.errors.timeout, 4);
  assert.equal(r.successes, 0);
  assert.equal(r.latency, null);
  assert.equal(r.throughputRps, 0);
  assert.deepEqual(r.histogram, []);
  assert.ok(Date.now() - t0 < 400, 'did not wait for the slow server');
});

test('refused connections are counted as connection errors', async () => {
  const dead = http.createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const port = (dead.address() as AddressInfo).port;
  await new Promise((r) => dead.close(r));
  const r = await runLoad({ url: `http://127.0.0.1:${port}/`, concurrency: 2, totalRequests: 6 });
  assert.equal(r.errors.connection, 6);
  assert.equal(r.successes, 0);
  assert.match(r.errors.samples[0] ?? '', /ECONNREFUSED/);
});

test('validator failures count as invalid', async () => {
  const r = await runLoad({
    url: `${srv.base}/?json=alt`,
    concurrency: 1,
    totalRequests: 10,
    validate: (body) => (JSON.parse(body) as { ok: boolean }).ok || 'ok was false',
  });
  assert.equal(r.successes, 5);
  assert.equal(r.errors.invalid, 5);
  assert.deepEqual(r.errors.samples, ['invalid: ok was false']);
});

test('sends JSON body, Host override and bearer token', async () => {
  srv.seen.length = 0;
  const r = await runLoad({
    url: `${srv.base}/v1/models/m:predict`,
    body: { instances: [[1, 2]] },
    hostHeader: 'm.default.example.com',
    bearerToken: 's3cret',
    concurrency: 1,
    totalRequests: 2,
  });
  assert.equal(r.successes, 2);
  const s = srv.seen[0];
  assert.ok(s);
  assert.equal(s.method, 'POST');
  assert.equal(s.url, '/v1/models/m:predict');
  assert.equal(s.headers.host, 'm.default.example.com');
  assert.equal(s.headers.authorization, 'Bearer s3cret');
  assert.equal(s.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(s.body), { instances: [[1, 2]] });
});

test('keep-alive reuses sockets and the agent is destroyed at the end', async () => {
  const s = await startServer();
  let connections = 0;
  s.server.on('connection', () => connections++);
  const r = await runLoad({ url: `${s.base}/`, concurrency: 3, totalRequests: 60 });
  assert.equal(r.successes, 60);
  assert.ok(connections <= 3, `expected at most 3 sockets, saw ${connections}`);
  await sleep(50);
  const open = await new Promise<number>((res, rej) => s.server.getConnections((e, c) => (e ? rej(e) : res(c))));
  assert.equal(open, 0, 'client sockets closed after the run');
  await s.close();
});

test('rejects invalid options', async () => {
  await assert.rejects(runLoad({ url: srv.base, concurrency: 0, totalRequests: 1 }), /concurrency/);
  await assert.rejects(runLoad({ url: srv.base, concurrency: 1 }), /durationMs and\/or totalRequests/);
  await assert.rejects(runLoad({ url: 'ftp://x/', concurrency: 1, totalRequests: 1 }), /protocol/);
});

test('https: verification is on by default; a custom CA and Host/SNI override work', { skip: !hasOpenssl() }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loadgen-tls-'));
  try {
    const { key, cert } = selfSignedCert(dir);
    const s = await startServer('https', { key: key, cert });
    try {
      const untrusted = await runLoad({ url: `${s.base}/`, concurrency: 1, totalRequests: 2 });
      assert.equal(untrusted.errors.other, 2);
      assert.match(untrusted.errors.samples[0] ?? '', /self[- ]signed|certificate/i);
      const wrongName = await runLoad({ url: `${s.base}/`, ca: cert, concurrency: 1, totalRequests: 1 });
      assert.equal(wrongName.errors.other, 1, '127.0.0.1 is not in the certificate');
      const ok = await runLoad({ url: `${s.base}/`, ca: cert, hostHeader: 'model.example.com', concurrency: 2, totalRequests: 4 });
      assert.equal(ok.successes, 4);
      const insecure = await runLoad({ url: `${s.base}/`, insecureSkipVerify: true, concurrency: 1, totalRequests: 1 });
      assert.equal(insecure.successes, 1);
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
