/**
 * The storage-initializer's s3:// download, as KServe's does it (kserve/kserve aaac4e294dae,
 * python/storage/kserve_storage/kserve_storage.py), from the env ./s3-credentials.ts builds:
 *
 * - the client (get_S3_config, _get_s3_client_kwargs): AWS_ENDPOINT_URL, AWS_DEFAULT_REGION,
 *   S3_VERIFY_SSL ("0"/"false" turn verification off), AWS_CA_BUNDLE (a missing file is
 *   "Failed to find ca bundle file(<path>)."), awsAnonymousCredential "true" (unsigned requests),
 *   S3_USER_VIRTUAL_BUCKET "true" (virtual-hosted addressing, else path style); 3 attempts, 15 s
 *   connect and 30 s read timeouts. No keys and no anonymous access: boto3's NoCredentialsError
 *   (the lab never falls back to the controller's own AWS settings).
 * - _download_s3: head_bucket, then every object of ListObjects(Prefix=<key>) (a plain string
 *   prefix), skipping keys that end in "/" and empty objects; the object whose key is the prefix
 *   itself is that file alone (its basename), else each lands at its key less the prefix and
 *   leading "/"; none is "Failed to fetch model. No model found in <key>."; up to 4 at once
 *   (S3_MAX_FILE_CONCURRENCY); a single .tar/.tgz/.zip is unpacked (_unpack_archive_file).
 * - errors of head_bucket and the listing go through storage_errors.py get_storage_error_message;
 *   others (connection, TLS) are the entrypoint's "Unexpected error".
 */
import { execFile } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { Agent } from 'node:https';
import { dirname, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { S3Env } from './s3-credentials.ts';

/** A failure of the download: the Python exception it stands for, and its message. */
export class InitializerError extends Error {
  constructor(
    readonly exception: string,
    message: string,
  ) {
    super(message);
  }
}

export type InitializerLog = (level: 'INFO' | 'ERROR', message: string) => Promise<void>;

const MAX_FILE_CONCURRENCY = 4;
const truthy = (v: string | undefined) => (v ?? 'false').toLowerCase() === 'true';

/** The S3 client KServe's storage-initializer makes from its env. */
export function s3ClientFor(env: S3Env): S3Client {
  const verify = env.S3_VERIFY_SSL ? !['0', 'false'].includes(env.S3_VERIFY_SSL.toLowerCase()) : true;
  let ca: Buffer | undefined;
  if (verify && env.AWS_CA_BUNDLE) {
    if (!existsSync(env.AWS_CA_BUNDLE)) throw new InitializerError('RuntimeError', `Failed to find ca bundle file(${env.AWS_CA_BUNDLE}).`);
    ca = readFileSync(env.AWS_CA_BUNDLE);
  }
  const anonymous = truthy(env.awsAnonymousCredential);
  return new S3Client({
    region: env.AWS_DEFAULT_REGION || 'us-east-1',
    endpoint: env.AWS_ENDPOINT_URL || undefined,
    forcePathStyle: !truthy(env.S3_USER_VIRTUAL_BUCKET),
    useAccelerateEndpoint: truthy(env.S3_USE_ACCELERATE),
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' },
    // botocore's UNSIGNED: the request goes out without an Authorization header
    ...(anonymous ? { signer: { sign: async (r) => r } } : {}),
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 15_000, requestTimeout: 30_000, httpsAgent: new Agent({ rejectUnauthorized: verify, ca }) },
  });
}

/** botocore's ClientError text; a bodiless (HEAD) error's code is the HTTP status and its message the reason phrase. */
function clientErrorText(op: string, e: S3ServiceException): { code: string; message: string; text: string } {
  const status = e.$metadata.httpStatusCode ?? 0;
  const bodiless = op.startsWith('Head');
  const code = bodiless ? String(status) : e.name;
  const message = bodiless ? (STATUS_CODES[status] ?? '') : e.message;
  return { code, message, text: `An error occurred (${code}) when calling the ${op} operation: ${message}` };
}

/** storage_errors.py get_storage_error_message for protocol S3. */
export function storageErrorMessage(type: string, text: string, code: string | undefined, message: string | undefined, resource: string): string {
  const s = text.toLowerCase();
  if (type === 'NoCredentialsError' || s.includes('credential') || s.includes('auth'))
    return 'S3 authentication failed. Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or use awsAnonymousCredential=true.';
  if (type === 'NotFound' || s.includes('not found') || s.includes('does not exist')) return resource ? `S3 resource '${resource}' not found.` : 'S3 resource not found.';
  if (type === 'Forbidden' || type === 'AccessDenied' || s.includes('access denied') || s.includes('permission')) {
    return resource ? `Access denied to S3 resource '${resource}'. Verify permissions.` : 'Access denied. Verify S3 permissions.';
  }
  if (type === 'ConnectionError' || s.includes('connection') || s.includes('timeout')) return resource ? `Failed to connect to S3 endpoint '${resource}'.` : 'Failed to connect to S3 endpoint.';
  if (code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch') return 'Invalid AWS credentials. Verify AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.';
  if (code === 'NoSuchBucket') return `S3 bucket '${resource}' does not exist.`;
  if (code) return `S3 error [${code}]: ${message ?? ''}`;
  return `S3 error: ${text}`;
}

/** A request error that is not S3's answer: botocore's SSLError or EndpointConnectionError, which the entrypoint reports as unexpected. */
function transportError(e: unknown, url: string): InitializerError {
  const err = e as Error & { code?: string };
  if (/SSL|TLS|EPROTO|CERT|certificate/i.test(`${err.code ?? ''} ${err.message}`)) {
    // OpenSSL's reason, as Python's ssl module prints it ("[SSL: WRONG_VERSION_NUMBER] wrong version number")
    const reason = /SSL routines:[^:]*:([^:]+)/.exec(err.message)?.[1];
    return new InitializerError('SSLError', `SSL validation failed for ${url} ${reason ? `[SSL: ${reason.toUpperCase().replace(/ /g, '_')}] ${reason}` : err.message}`);
  }
  return new InitializerError('EndpointConnectionError', `Could not connect to the endpoint URL: "${url}"`);
}

/** Run `op` as a call whose S3 errors raise_storage_error turns into the user-facing message. */
async function guarded<T>(op: string, t: Target, log: InitializerLog, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (!(e instanceof S3ServiceException)) throw transportError(e, t.url);
    const ce = clientErrorText(op, e);
    await log('ERROR', `S3 error for ${t.uri}: ${ce.text}`);
    throw new InitializerError('RuntimeError', storageErrorMessage('ClientError', ce.text, ce.code, ce.message, t.bucket));
  }
}

interface Target {
  uri: string;
  bucket: string;
  prefix: string;
  /** the bucket's URL, as botocore names it in a connection error */
  url: string;
}

interface Task {
  key: string;
  size: number;
  file: string;
  rel: string;
}

/** Where each object lands: the exact key as its basename (alone), else the key less the prefix. */
async function listTasks(s3: S3Client, t: Target, dest: string, log: InitializerLog): Promise<Task[]> {
  const tasks: Task[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await guarded('ListObjects', t, log, () => s3.send(new ListObjectsCommand({ Bucket: t.bucket, Prefix: t.prefix, Marker: marker })));
    for (const o of page.Contents ?? []) {
      const key = o.Key ?? '';
      if (key.endsWith('/') || !o.Size) continue;
      await log('INFO', `Found S3 object: ${key} (${o.Size} bytes)`);
      const exact = key === t.prefix;
      const rel = exact ? key.slice(key.lastIndexOf('/') + 1) : key.slice(t.prefix.length).replace(/^\/+/, '');
      const file = resolve(dest, rel);
      if (!file.startsWith(resolve(dest) + sep)) throw new InitializerError('RuntimeError', `S3 object ${key} would be written outside /mnt/models`);
      tasks.push({ key, size: o.Size, file, rel });
      if (exact) return tasks;
    }
    if (!page.IsTruncated) return tasks;
    marker = page.NextMarker ?? page.Contents?.at(-1)?.Key;
  }
}

/** s3transfer's download_file: HeadObject, then GetObject into the file. */
async function fetchObject(s3: S3Client, bucket: string, task: Task): Promise<void> {
  const op = async <T>(name: string, f: () => Promise<T>): Promise<T> =>
    f().catch((e: unknown) => {
      throw new Error(e instanceof S3ServiceException ? clientErrorText(name, e).text : (e as Error).message);
    });
  await op('HeadObject', () => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: task.key })));
  const got = await op('GetObject', () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: task.key })));
  await mkdir(dirname(task.file), { recursive: true });
  await pipeline(got.Body as Readable, createWriteStream(task.file));
}

/** mimetypes.guess_type's archive types: application/x-tar (.tar, .tgz, .tar.gz, .tar.bz2, .tar.xz, ...) or application/zip. */
function archiveType(name: string): 'tar' | 'zip' | undefined {
  let n = name
    .toLowerCase()
    .replace(/\.(tgz|taz|tz)$/, '.tar.gz')
    .replace(/\.tbz2$/, '.tar.bz2')
    .replace(/\.txz$/, '.tar.xz');
  n = n.replace(/\.(gz|z|bz2|xz|br)$/, '');
  return n.endsWith('.tar') ? 'tar' : name.toLowerCase().endsWith('.zip') ? 'zip' : undefined;
}

async function unpack(task: Task, dest: string, kind: 'tar' | 'zip', log: InitializerLog): Promise<void> {
  await log('INFO', `Unpacking: /mnt/models/${task.rel}`);
  const run = promisify(execFile);
  try {
    if (kind === 'tar') await run('tar', ['-xf', task.file, '-C', dest]);
    else await run('unzip', ['-q', '-o', task.file, '-d', dest]);
  } catch {
    throw new InitializerError('RuntimeError', 'Failed to unpack archive file. The file format is not valid.');
  }
  await rm(task.file, { force: true });
}

/** Download s3://<bucket>/<key> into `dest` (which exists and is empty), as the storage-initializer does. */
export async function downloadS3(uri: string, env: S3Env, dest: string, log: InitializerLog): Promise<void> {
  const rest = uri.slice('s3://'.length);
  const bucket = rest.split('/')[0]!;
  const prefix = rest.slice(bucket.length).replace(/^\/+/, '');
  const endpoint = (env.AWS_ENDPOINT_URL || 'https://s3.amazonaws.com').replace(/\/+$/, '');
  const t: Target = { uri, bucket, prefix, url: `${endpoint}/${bucket}` };
  if (!bucket) throw new InitializerError('ParamValidationError', `Parameter validation failed:\nInvalid bucket name "${bucket}"`);
  if (!truthy(env.awsAnonymousCredential) && !(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY)) {
    await log('ERROR', `S3 error for ${uri}: Unable to locate credentials`);
    throw new InitializerError('RuntimeError', storageErrorMessage('NoCredentialsError', 'Unable to locate credentials', undefined, undefined, bucket));
  }
  const s3 = s3ClientFor(env);
  try {
    await guarded('HeadBucket', t, log, () => s3.send(new HeadBucketCommand({ Bucket: bucket })));
    const tasks = await listTasks(s3, t, dest, log);
    if (!tasks.length) throw new InitializerError('RuntimeError', `Failed to fetch model. No model found in ${prefix}.`);
    const failed: string[] = [];
    const queue = [...tasks];
    const worker = async () => {
      for (let task = queue.shift(); task; task = queue.shift()) {
        try {
          await fetchObject(s3, bucket, task);
          await log('INFO', `Downloaded object ${task.key}`);
        } catch (e) {
          failed.push(`${task.key}: ${(e as Error).message}`);
          await log('ERROR', `Failed to download object ${task.key}: ${(e as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(MAX_FILE_CONCURRENCY, tasks.length) }, worker));
    if (failed.length) throw new InitializerError('RuntimeError', `Failed to download ${failed.length} files: ${failed.join('; ')}`);
    const kind = tasks.length === 1 ? archiveType(tasks[0]!.file) : undefined;
    if (kind) await unpack(tasks[0]!, dest, kind, log);
  } finally {
    s3.destroy();
  }
}
