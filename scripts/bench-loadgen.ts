/**
 * Benchmark: our closed-loop generator (clients/loadgen.ts) against `hey` and
 * `wrk` (each only if on PATH), same endpoint, concurrency and duration.
 *
 *   node --import tsx scripts/bench-loadgen.ts [--url URL] [--method M] [--body JSON]
 *        [--host H] [--ca PEM] [--insecure] [--token-env VAR] [-c 10] [-d 10]
 *        [--server thread|inline] [--tools ours,hey,wrk] [--out reports/out/bench-loadgen.json]
 *
 * Without --url it starts a trivial HTTP server on 127.0.0.1 that answers
 * instantly, to measure the generator's own ceiling on one core:
 *   --server thread (default): the server runs in a worker thread, so the
 *     generator has the main event loop to itself;
 *   --server inline: server and generator share one event loop.
 * hey runs with `-cpus 1` and wrk with `-t 1`, so every tool gets one core.
 *
 * req/s for every tool = 2xx responses / wall seconds. Latencies in ms.
 * The report's `ratio` is ours/hey req/s in this run, against the target
 * ours >= 0.8 x hey (issue 12); null when either did not run.
 * Note: hey and wrk never verify TLS certificates and cannot take a CA.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { AddressInfo } from 'node:net';
import { runLoad } from '../clients/loadgen.ts';
import { redact } from '../helpers/redact.ts';

const run = promisify(execFile);

/** Issue 12: our generator should reach at least this fraction of hey's req/s. */
const TARGET_RATIO = 0.8;
const OURS = 'ours (clients/loadgen)';

interface ToolResult {
  tool: string;
  command?: string;
  rps: number;
  successes: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  wallMs: number;
  note?: string;
}

interface Target {
  url: string;
  method: string;
  body?: string;
  host?: string;
  token?: string;
  ca?: string;
  insecure: boolean;
  concurrency: number;
  durationS: number;
}

const { values: a } = parseArgs({
  options: {
    url: { type: 'string' },
    method: { type: 'string' },
    body: { type: 'string' },
    host: { type: 'string' },
    ca: { type: 'string' },
    insecure: { type: 'boolean', default: false },
    'token-env': { type: 'string' },
    concurrency: { type: 'string', short: 'c', default: '10' },
    duration: { type: 'string', short: 'd', default: '10' },
    server: { type: 'string', default: 'thread' },
    tools: { type: 'string', default: 'ours,hey,wrk' },
    out: { type: 'string', default: 'reports/out/bench-loadgen.json' },
  },
});

async function main(): Promise<void> {
  const tools = new Set((a.tools ?? '').split(',').map((s) => s.trim()));
  let stopServer = async () => {};
  let url = a.url;
  let serverMode: string | undefined;
  if (!url) {
    serverMode = a.server === 'inline' ? 'inline' : 'thread';
    const s = serverMode === 'inline' ? await inlineServer() : await threadServer();
    url = `http://127.0.0.1:${s.port}/`;
    stopServer = s.stop;
  }
  const t: Target = {
    url,
    method: (a.method ?? (a.body ? 'POST' : 'GET')).toUpperCase(),
    body: a.body,
    host: a.host,
    token: a['token-env'] ? process.env[a['token-env']] : undefined,
    ca: a.ca,
    insecure: a.insecure ?? false,
    concurrency: positiveInt(a.concurrency, 'concurrency'),
    durationS: positiveInt(a.duration, 'duration'),
  };

  const results: ToolResult[] = [];
  try {
    if (tools.has('ours')) results.push(await ours(t));
    if (tools.has('hey') && (await onPath('hey'))) results.push(await hey(t));
    if (tools.has('wrk') && (await onPath('wrk'))) results.push(await wrk(t));
  } finally {
    await stopServer();
  }

  const ratio = ratioToHey(results);
  printTable(results);
  if (ratio) console.log(`\nours/hey = ${ratio.oursOverHey.toFixed(2)} (target >= ${TARGET_RATIO}: ${ratio.met ? 'met' : 'NOT met'})`);
  const report = {
    at: new Date().toISOString(),
    target: { url: t.url, method: t.method, host: t.host, concurrency: t.concurrency, durationS: t.durationS, server: serverMode ?? 'external' },
    machine: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, platform: `${os.platform()} ${os.release()}` },
    results,
    ratio,
  };
  if (a.out) {
    mkdirSync(dirname(a.out), { recursive: true });
    writeFileSync(a.out, JSON.stringify(report, null, 2) + '\n');
    console.log(`\nwrote ${a.out}`);
  }
}

async function ours(t: Target): Promise<ToolResult> {
  const r = await runLoad({
    url: t.url,
    method: t.method,
    body: t.body,
    headers: t.body ? { 'content-type': 'application/json' } : undefined,
    hostHeader: t.host,
    bearerToken: t.token,
    ca: t.ca ? readFileSync(t.ca) : undefined,
    insecureSkipVerify: t.insecure,
    concurrency: t.concurrency,
    durationMs: t.durationS * 1000,
  });
  return {
    tool: OURS,
    rps: r.throughputRps,
    successes: r.successes,
    errors: r.errors.total,
    p50: r.latency?.p50 ?? null,
    p95: r.latency?.p95 ?? null,
    p99: r.latency?.p99 ?? null,
    wallMs: r.wallMs,
  };
}

async function hey(t: Target): Promise<ToolResult> {
  const args = ['-z', `${t.durationS}s`, '-c', String(t.concurrency), '-cpus', '1', '-m', t.method];
  if (t.body) args.push('-T', 'application/json', '-d', t.body);
  if (t.host) args.push('-host', t.host);
  if (t.token) args.push('-H', `Authorization: Bearer ${t.token}`);
  args.push(t.url);
  const { stdout } = await run('hey', args, { maxBuffer: 64 << 20, timeout: (t.durationS + 60) * 1000 });
  const totalS = num(/Total:\s+([\d.]+) secs/.exec(stdout)?.[1]);
  const pct = (p: string) => {
    const v = new RegExp(`\\s${p}% in ([\\d.]+) secs`).exec(stdout)?.[1];
    return v === undefined ? null : num(v) * 1000;
  };
  let ok = 0;
  let bad = 0;
  for (const m of stdout.matchAll(/\[(\d{3})\]\s+(\d+) responses/g)) {
    const code = Number(m[1]);
    if (code >= 200 && code < 300) ok += Number(m[2]);
    else bad += Number(m[2]);
  }
  for (const m of stdout.matchAll(/^\s+\[(\d+)\]\s+(?!\d+ responses)/gm)) bad += Number(m[1]);
  return {
    tool: 'hey',
    command: redact(`hey ${args.join(' ')}`, [t.token]),
    rps: totalS > 0 ? ok / totalS : 0,
    successes: ok,
    errors: bad,
    p50: pct('50'),
    p95: pct('95'),
    p99: pct('99'),
    wallMs: totalS * 1000,
    note: `hey's own Requests/sec: ${/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? '?'}`,
  };
}

async function wrk(t: Target): Promise<ToolResult> {
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-wrk-'));
  const script = join(dir, 'bench.lua');
  const lua = [
    `wrk.method = ${luaString(t.method)}`,
    t.body ? `wrk.body = ${luaString(t.body)}` : '',
    t.body ? `wrk.headers["Content-Type"] = "application/json"` : '',
    t.host ? `wrk.headers["Host"] = ${luaString(t.host)}` : '',
    t.token ? `wrk.headers["Authorization"] = ${luaString(`Bearer ${t.token}`)}` : '',
    'done = function(s, lat, req)',
    '  local e = s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout + s.errors.status',
    '  io.write(string.format("BENCH %d %d %d %d %d %d\\n", s.requests, s.duration, e, lat:percentile(50), lat:percentile(95), lat:percentile(99)))',
    'end',
  ].join('\n');
  writeFileSync(script, lua);
  const args = ['-t', '1', '-c', String(t.concurrency), '-d', `${t.durationS}s`, '-s', script, t.url];
  try {
    const { stdout } = await run('wrk', args, { maxBuffer: 16 << 20, timeout: (t.durationS + 60) * 1000 });
    const m = /BENCH (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(stdout);
    if (!m) throw new Error(`could not parse wrk output:\n${stdout}`);
    const [requests, durUs, errs, p50, p95, p99] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    const ok = requests - errs;
    return {
      tool: 'wrk',
      command: `wrk ${args.join(' ')}`,
      rps: durUs > 0 ? ok / (durUs / 1e6) : 0,
      successes: ok,
      errors: errs,
      p50: p50 / 1000,
      p95: p95 / 1000,
      p99: p99 / 1000,
      wallMs: durUs / 1000,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Trivial server on this event loop. */
async function inlineServer(): Promise<{ port: number; stop: () => Promise<void> }> {
  const s = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  s.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: (s.address() as AddressInfo).port,
    stop: async () => {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    },
  };
}

/** Same trivial server in a worker thread (own event loop, own core). */
async function threadServer(): Promise<{ port: number; stop: () => Promise<void> }> {
  const code = `
    const http = require("node:http");
    const { parentPort } = require("node:worker_threads");
    const s = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}'));
    });
    s.keepAliveTimeout = 60000;
    s.listen(0, "127.0.0.1", () => parentPort.postMessage(s.address().port));`;
  const w = new Worker(code, { eval: true });
  const port = await new Promise<number>((resolve, reject) => {
    w.once('message', (p: number) => resolve(p));
    w.once('error', reject);
  });
  return { port, stop: async () => void (await w.terminate()) };
}

/** ours/hey req/s and whether it meets TARGET_RATIO; null unless both ran. */
function ratioToHey(rows: ToolResult[]): { oursOverHey: number; target: number; met: boolean } | null {
  const ours = rows.find((r) => r.tool === OURS);
  const hey = rows.find((r) => r.tool === 'hey');
  if (!ours || !hey || !(hey.rps > 0)) return null;
  const oursOverHey = ours.rps / hey.rps;
  return { oursOverHey, target: TARGET_RATIO, met: oursOverHey >= TARGET_RATIO };
}

function printTable(rows: ToolResult[]): void {
  const f = (v: number | null, d = 2) => (v === null ? '-' : v.toFixed(d));
  const heyRps = rows.find((r) => r.tool === 'hey')?.rps;
  const vsHey = (r: ToolResult) => (heyRps ? f(r.rps / heyRps, 2) : '-');
  const lines = [
    ['tool', 'req/s', 'x hey', 'p50 ms', 'p95 ms', 'p99 ms', 'ok', 'errors'],
    ...rows.map((r) => [r.tool, f(r.rps, 0), vsHey(r), f(r.p50, 3), f(r.p95, 3), f(r.p99, 3), String(r.successes), String(r.errors)]),
  ];
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const l of lines) console.log(l.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  for (const r of rows) if (r.note) console.log(`  ${r.tool}: ${r.note}`);
}

async function onPath(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    console.log(`(${cmd} not on PATH: skipped)`);
    return false;
  }
}

function luaString(s: string): string {
  let eq = '';
  while (s.includes(`]${eq}]`)) eq += '=';
  return `[${eq}[${s}]${eq}]`;
}

function positiveInt(v: string | undefined, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${what} must be a positive integer, got ${v}`);
  return n;
}

function num(v: string | undefined): number {
  return v === undefined ? 0 : Number(v);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
