/**
 * The lab's S3-compatible object store: s3rver (objects on disk, the S3 REST API, multipart
 * uploads) behind ./sigv4.ts, which refuses what S3 refuses before s3rver sees it: unsigned
 * requests, unknown keys, bad signatures, another region, skewed clocks; aws-chunked bodies are
 * decoded first (./chunked.ts).
 *
 *   node --import tsx lab/s3/server.ts --listen 127.0.0.1:9000 --data-dir /var/lib/mlops-lab/s3 \
 *        --credentials /var/lib/mlops-lab/secrets/s3.env [--region us-east-1] [--bucket mlv-e2e]...
 *
 * In-process (tests): startS3Server({ directory, port: 0, keys, buckets }). See lab/s3/README.md.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import S3rver from 's3rver';
import { decodeAwsChunked, isAwsChunked } from './chunked.ts';
import { verifySigV4, type S3Key, type S3Refusal } from './sigv4.ts';

export interface S3ServerOptions {
  directory: string;
  address?: string;
  /** 0 = ephemeral */
  port?: number;
  keys: S3Key[];
  region?: string;
  buckets?: string[];
  /** buckets anyone may read without signing (GET/HEAD), as a public-read bucket policy allows */
  publicBuckets?: string[];
  log?: (line: string) => void;
}

export interface S3Server {
  url: string;
  port: number;
  region: string;
  close(): Promise<void>;
}

interface Account {
  createKeyPair(id: string, secret: string): void;
  revokeAccessKey(id: string): void;
}

/** s3rver's account registry: its V4 path accepts any signature for a registered key, so ours are the only ones registered. */
function registerKeys(keys: S3Key[]): void {
  const { DUMMY_ACCOUNT } = createRequire(import.meta.url)('s3rver/lib/models/account') as { DUMMY_ACCOUNT: Account };
  DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
  for (const k of keys) DUMMY_ACCOUNT.createKeyPair(k.accessKeyId, k.secretAccessKey);
}

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

function refuse(req: IncomingMessage, res: ServerResponse, r: S3Refusal): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${r.code}</Code><Message>${xmlEscape(r.message)}</Message><Resource>${xmlEscape(req.url ?? '/')}</Resource></Error>`;
  res.writeHead(r.status, { 'Content-Type': 'application/xml', 'Content-Length': req.method === 'HEAD' ? 0 : Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const bucketOf = (req: IncomingMessage) => decodeURIComponent((req.url ?? '/').split('?')[0]!.split('/')[1] ?? '');

export async function startS3Server(o: S3ServerOptions): Promise<S3Server> {
  const region = o.region ?? 'us-east-1';
  if (!o.keys.length) throw new Error('the object store needs at least one access key');
  registerKeys(o.keys);
  const s3 = new S3rver({ directory: o.directory, silent: true, vhostBuckets: false, configureBuckets: (o.buckets ?? []).map((name) => ({ name, configs: [] })) });
  await s3.configureBuckets();
  const handle = s3.callback();
  const pub = new Set(o.publicBuckets ?? []);
  const server: Server = createServer((req, res) => {
    const anonymousOk = (req.method === 'GET' || req.method === 'HEAD') && pub.has(bucketOf(req));
    const refused = verifySigV4(req, o.keys, region, anonymousOk);
    res.on('finish', () => o.log?.(`${new Date().toISOString()} ${req.method} ${req.url} ${res.statusCode}${refused ? ` ${refused.code}` : ''}`));
    if (refused) return refuse(req, res, refused);
    handle(isAwsChunked(req) ? decodeAwsChunked(req) : req, res);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(o.port ?? 9000, o.address ?? '127.0.0.1', resolve));
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    port,
    region,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** KEY=VALUE lines (the secrets file up.sh writes). */
export function readEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      listen: { type: 'string', default: '127.0.0.1:9000' },
      'data-dir': { type: 'string', default: '/var/lib/mlops-lab/s3' },
      credentials: { type: 'string', default: '/var/lib/mlops-lab/secrets/s3.env' },
      region: { type: 'string', default: 'us-east-1' },
      bucket: { type: 'string', multiple: true, default: ['mlv-e2e'] },
    },
    strict: true,
  });
  const m = /^(.*):(\d+)$/.exec(values.listen);
  if (!m) throw new Error('--listen must be HOST:PORT');
  const env = readEnvFile(values.credentials);
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) throw new Error(`${values.credentials} has no AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY`);
  const srv = await startS3Server({
    directory: values['data-dir'],
    address: m[1],
    port: Number(m[2]),
    region: values.region,
    keys: [{ accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY }],
    buckets: values.bucket,
    log: (l) => process.stdout.write(`${l}\n`),
  });
  process.stdout.write(`${new Date().toISOString()} object store on ${srv.url} (region ${srv.region}, buckets ${values.bucket.join(', ')}, data ${values['data-dir']})\n`);
  const stop = () => void srv.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    process.stderr.write(`FATAL: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
