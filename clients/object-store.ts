/**
 * The object store the e2e path syncs models to: any S3-compatible endpoint (MinIO and the lab's
 * store path-style, AWS itself virtual-hosted), through @aws-sdk/client-s3. Uploads go through
 * @aws-sdk/lib-storage (multipart above 8 MiB, so large models stream in parts) and are verified
 * by reading the object back and comparing its sha256 with the local one. Unreachable storage is
 * an InfraError naming the endpoint; S3's own refusals keep their code.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ObjectStoreTarget } from '../helpers/config.ts';
import { InfraError } from '../helpers/errors.ts';

// The SDK warns, at each client's construction, that its releases after January 2027 need Node 22;
// the lockfile pins the release that runs here on Node 20, so the warning says nothing about this run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const PART_SIZE = 8 * 1024 * 1024;
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'TimeoutError']);

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface StoredObject {
  key: string;
  uri: string;
  size: number;
  sha256: string;
}

export class ObjectStore {
  readonly s3: S3Client;
  constructor(readonly target: ObjectStoreTarget) {
    this.s3 = new S3Client({
      region: target.region,
      endpoint: target.endpoint,
      forcePathStyle: !!target.endpoint,
      credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey, sessionToken: target.sessionToken },
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 5000, requestTimeout: 30_000 },
    });
  }

  uri(key: string): string {
    return `s3://${this.target.bucket}/${key}`;
  }

  /** The bucket exists and these credentials may use it. */
  async check(): Promise<void> {
    await this.call('HeadBucket', () => this.s3.send(new HeadBucketCommand({ Bucket: this.target.bucket })));
  }

  /** Upload (multipart when large), then read it back: the stored bytes must hash to the local sha256. */
  async putVerified(key: string, body: Buffer): Promise<StoredObject> {
    const local = sha256(body);
    await this.call(`upload ${key}`, () =>
      body.length > PART_SIZE
        ? new Upload({ client: this.s3, params: { Bucket: this.target.bucket, Key: key, Body: body, Metadata: { sha256: local } }, partSize: PART_SIZE, queueSize: 2 }).done()
        : this.s3.send(new PutObjectCommand({ Bucket: this.target.bucket, Key: key, Body: body, Metadata: { sha256: local } })),
    );
    const stored = sha256(await this.get(key));
    if (stored !== local) throw new Error(`${this.uri(key)}: the stored object's sha256 ${stored} is not the uploaded ${local}`);
    return { key, uri: this.uri(key), size: body.length, sha256: local };
  }

  async get(key: string): Promise<Buffer> {
    return this.call(`get ${key}`, async () => {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.target.bucket, Key: key }));
      const chunks: Buffer[] = [];
      for await (const c of r.Body as Readable) chunks.push(Buffer.from(c as Uint8Array));
      return Buffer.concat(chunks);
    });
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.call(`list ${prefix}`, () => this.s3.send(new ListObjectsV2Command({ Bucket: this.target.bucket, Prefix: prefix, ContinuationToken: token })));
      keys.push(...(r.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  /** Remove every object under `prefix` (which must end with "/", so a sibling prefix is never touched). */
  async deletePrefix(prefix: string): Promise<string[]> {
    if (!prefix.endsWith('/') || prefix === '/') throw new Error(`refusing to delete under ${JSON.stringify(prefix)}: a run's prefix ends with /`);
    const keys = await this.list(prefix);
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.call(`delete ${prefix}`, () => this.s3.send(new DeleteObjectsCommand({ Bucket: this.target.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })));
    }
    return keys;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const err = e as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
      const where = `s3://${this.target.bucket} at ${this.target.endpoint ?? 'AWS S3'}`;
      if (e instanceof S3ServiceException)
        throw new Error(`object store ${what} on ${where}: ${e.name} (HTTP ${e.$metadata.httpStatusCode ?? '?'})${e.message && e.message !== e.name ? `: ${e.message}` : ''}`);
      if (NETWORK.has(err.code ?? err.name))
        throw new InfraError(`object store ${where} could not be reached for ${what} (${err.code ?? err.name}). Fix: check MLV_S3_ENDPOINT and that the store is up.`);
      throw e;
    }
  }
}
