/**
 * runLoad on its undici transport (clients/loadgen-transport.ts), against real
 * local servers: TLS with a CA and an explicit SNI name, the bearer token and
 * its redaction, timeouts and recovery, connections closed by the server,
 * response validation and requests undici refuses.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { runLoad } from '../../clients/loadgen.ts';
import { hasOpenssl, selfSignedCert } from './tls-cert.ts';

async function listen<S extends net.Server>(server: S): Promise<{ server: S; port: number; close: () => Promise<void> }> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    (server as unknown as http.Server).closeAllConnections?.();
    await new Promise((r) => server.close(r));
  };
  return { server, port, close };
}

const dir = mkdtempSync(join(tmpdir(), 'loadgen-transport-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('https with a private CA: SNI from `servername`, Host header sent as given, token header sent', { skip: !hasOpenssl() }, async () => {
  const { key, cert } = selfSignedCert(dir);
  const seen: { host?: string; auth?: string; sni?: string }[] = [];
  const s = await listen(
    https.createServer({ key: key, cert }, (req, res) => {
      seen.push({ host: req.headers.host, auth: req.headers.authorization, sni: (req.socket as import('node:tls').TLSSocket).servername || undefined });
      res.end('{"ok":true}');
    }),
  );
  try {
    const url = `https://127.0.0.1:${s.port}/v1/models/m:predict`;
    const r = await runLoad({ url, ca: cert, servername: 'model.example.com', hostHeader: 'gateway.internal:8443', bearerToken: 'tok-123456', concurrency: 2, totalRequests: 6 });
    assert.equal(r.successes, 6, JSON.stringify(r.errors));
    assert.deepEqual(seen[0], { host: 'gateway.internal:8443', auth: 'Bearer tok-123456', sni: 'model.example.com' });
    // The CA as a string works too; a CA that does not match fails every request as `other`.
    const asString = await runLoad({ url, ca: cert.toString(), hostHeader: 'model.example.com', concurrency: 1, totalRequests: 2 });
    assert.equal(asString.successes, 2);
    const wrongSni = await runLoad({ url, ca: cert, servername: 'other.example.com', concurrency: 1, totalRequests: 2 });
    assert.equal(wrongSni.errors.other, 2);
    assert.match(wrongSni.errors.samples[0] ?? '', /ERR_TLS_CERT_ALTNAME_INVALID|altnames/i);
  } finally {
    await s.close();
  }
});

test('the bearer token never appears in error samples', async () => {
  const s = await listen(http.createServer((req, res) => res.end(req.headers.authorization ?? '')));
  try {
    const r = await runLoad({
      url: `http://127.0.0.1:${s.port}/`,
      bearerToken: 'sekrit-token-42',
      concurrency: 1,
      totalRequests: 3,
      validate: (body) => `server echoed ${body}`,
    });
    assert.equal(r.errors.invalid, 3);
    assert.equal(r.errors.samples.length, 1);
    assert.ok(!r.errors.samples[0]!.includes('sekrit-token-42'), r.errors.samples[0]);
    assert.match(r.errors.samples[0]!, /^invalid: server echoed/);
  } finally {
    await s.close();
  }
});

test('a timed-out request does not poison its connection: the next ones succeed', async () => {
  let n = 0;
  const s = await listen(
    http.createServer((_req, res) => {
      if (++n === 1) return; // the first request never gets an answer
      res.end('ok');
    }),
  );
  try {
    const t0 = Date.now();
    const r = await runLoad({ url: `http://127.0.0.1:${s.port}/`, concurrency: 1, totalRequests: 5, timeoutMs: 100 });
    assert.equal(r.errors.timeout, 1);
    assert.equal(r.successes, 4);
    assert.deepEqual(r.errors.samples, ['timeout: request timed out after 100 ms']);
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
  } finally {
    await s.close();
  }
});

test('the timeout covers a connection that is accepted but never answered, and the run ends on time', async () => {
  const sockets: net.Socket[] = [];
  const s = await listen(net.createServer((c) => void sockets.push(c)));
  try {
    const t0 = Date.now();
    const r = await runLoad({ url: `http://127.0.0.1:${s.port}/`, concurrency: 3, durationMs: 50, timeoutMs: 150 });
    assert.equal(r.errors.timeout, 3);
    assert.equal(r.requests, 3);
    assert.ok(Date.now() - t0 < 600, `took ${Date.now() - t0} ms`);
  } finally {
    for (const c of sockets) c.destroy();
    await s.close();
  }
});

test('a connection closed by the server mid-response is a connection error; Connection: close answers still succeed', async () => {
  let n = 0;
  const s = await listen(
    http.createServer((req, res) => {
      if (req.url === '/close') return void res.writeHead(200, { connection: 'close' }).end('bye');
      if (++n % 2 === 0) {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial');
        return void res.socket?.destroy();
      }
      res.end('ok');
    }),
  );
  try {
    const cut = await runLoad({ url: `http://127.0.0.1:${s.port}/`, concurrency: 1, totalRequests: 6 });
    assert.equal(cut.successes, 3);
    assert.equal(cut.errors.connection, 3, JSON.stringify(cut.errors));
    const closing = await runLoad({ url: `http://127.0.0.1:${s.port}/close`, concurrency: 2, totalRequests: 10 });
    assert.equal(closing.successes, 10, JSON.stringify(closing.errors));
  } finally {
    await s.close();
  }
});

test('validation: a validator that throws or returns false is invalid; the full body is given; non-2xx bodies are not validated', async () => {
  const big = 'x'.repeat(200_000);
  const s = await listen(
    http.createServer((req, res) => {
      if (req.url === '/404') return void res.writeHead(404).end('nope');
      res.write(big.slice(0, 100_000));
      setTimeout(() => res.end(big.slice(100_000)), 5);
    }),
  );
  try {
    const base = `http://127.0.0.1:${s.port}`;
    const lengths: number[] = [];
    const full = await runLoad({ url: `${base}/`, concurrency: 1, totalRequests: 2, validate: (b) => void lengths.push(b.length) });
    assert.equal(full.successes, 2);
    assert.deepEqual(lengths, [200_000, 200_000]);
    const threw = await runLoad({
      url: `${base}/`,
      concurrency: 1,
      totalRequests: 2,
      validate: () => {
        throw new Error('bad shape');
      },
    });
    assert.deepEqual([threw.errors.invalid, threw.errors.samples], [2, ['invalid: bad shape']]);
    const no = await runLoad({ url: `${base}/`, concurrency: 1, totalRequests: 1, validate: () => false });
    assert.deepEqual(no.errors.samples, ['invalid: response rejected by validator']);
    let called = 0;
    const notFound = await runLoad({ url: `${base}/404`, concurrency: 1, totalRequests: 2, validate: () => void called++ });
    assert.deepEqual([notFound.errors.byStatus, called], [{ 404: 2 }, 0]);
  } finally {
    await s.close();
  }
});

test('refused connections on every worker; a request undici refuses (bad header) rejects the run', async () => {
  const s = await listen(http.createServer((_req, res) => res.end('ok')));
  const port = s.port;
  await s.close();
  const r = await runLoad({ url: `http://127.0.0.1:${port}/`, concurrency: 4, durationMs: 100, timeoutMs: 1000 });
  assert.equal(r.successes, 0);
  assert.equal(r.errors.connection, r.requests);
  assert.ok(r.requests >= 4);
  await assert.rejects(runLoad({ url: `http://127.0.0.1:${port}/`, headers: { 'x-bad': 'a\nb' }, concurrency: 2, totalRequests: 2 }), /header/i);
});
