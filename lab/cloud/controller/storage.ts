/**
 * Lab stand-in for KServe's storage initializer: resolves an InferenceService's
 * storageUri to a local path and copies it into the revision's model
 * directory (like the init container that fills /mnt/models), so a running
 * revision keeps serving the model it started with.
 *
 *   file:///abs/path        the path itself (file or directory)
 *   pvc://<claim>/<path>    <claim's volume>/<path>: the hostPath of the volume bound to the claim of
 *                           that name in the InferenceService's namespace (./volumes.ts resolveClaim;
 *                           a missing or unbound claim keeps the pod Pending, it is never looked up elsewhere)
 *   s3://<bucket>/<key>     downloaded from the object store KServe's credentials name (./s3-download.ts),
 *                           with the env ./s3-credentials.ts builds from the predictor's ServiceAccount
 *
 * Staging writes the storage-initializer's log (storageLogFile), as KServe's initializer logs
 * (python/storage-initializer/scripts/initializer-entrypoint, python/storage/kserve_storage/
 * kserve_storage.py): the pods' storage-initializer container reads it, so a download error
 * shows in that container's log as on a real cluster.
 */
import { existsSync, statSync } from 'node:fs';
import { appendFile, cp, mkdir, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import type { S3Env } from './s3-credentials.ts';
import { downloadS3, InitializerError } from './s3-download.ts';

export class StorageError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    /** the Python exception the storage-initializer's log ends with */
    readonly exception = 'RuntimeError',
  ) {
    super(message);
  }
}

interface StorageRoots {
  stateDir: string;
  /** for pvc://: the host folder of the volume bound to the URI's claim (./volumes.ts resolveClaim) */
  claimPath?: string;
  /** for s3://: the storage-initializer's env (./s3-credentials.ts); none = no credentials */
  s3Env?: S3Env;
}

const isS3 = (uri: string) => uri.startsWith('s3://');

function within(root: string, rel: string, uri: string): string {
  const r = resolve(root);
  const p = resolve(r, normalize(rel));
  if (p !== r && !p.startsWith(r + sep)) throw new StorageError('InvalidStorageUri', `storageUri ${uri} escapes its root ${r}`);
  return p;
}

/** Map a file:// or pvc:// storageUri to a local path (not checked for existence); s3:// is downloaded, not mapped. */
export function localPathFor(uri: string, roots: StorageRoots): string {
  const m = /^([a-z0-9]+):\/\/(.*)$/i.exec(uri);
  if (!m) throw new StorageError('InvalidStorageUri', `storageUri ${JSON.stringify(uri)} is not a URI; use file:///abs/path, pvc://<claim>/<path> or s3://<bucket>/<key>`);
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  switch (scheme) {
    case 'file': {
      const p = decodeURIComponent(rest.startsWith('localhost/') ? rest.slice('localhost'.length) : rest);
      if (!isAbsolute(p)) throw new StorageError('InvalidStorageUri', `storageUri ${uri}: file:// needs an absolute path (file:///abs/path)`);
      return normalize(p);
    }
    case 'pvc': {
      const [claim, ...path] = rest.split('/');
      if (!claim) throw new StorageError('InvalidStorageUri', `storageUri ${uri}: pvc://<claim>/<path> needs a claim name`);
      // the controller always passes the claim's volume (./claims.ts); <stateDir>/pvc/<claim> is only the
      // default for direct callers (unit tests), the layout of the hostPath volume lab/cloud/up.sh provisions
      return within(roots.claimPath ?? join(roots.stateDir, 'pvc', claim), decodeURIComponent(path.join('/')), uri);
    }
    case 's3':
      // s3:// itself is downloaded (stageModel); KServe's prefixes are case-sensitive (IsPrefixSupported)
      throw new StorageError('InvalidStorageUri', `storageUri ${uri}: ${isS3(uri) ? 'an s3:// model is downloaded, it has no local path' : `scheme ${m[1]}:// is not supported (s3:// is)`}`);
    default:
      throw new StorageError('InvalidStorageUri', `storageUri ${uri}: scheme ${scheme}:// is not supported by the lab (file://, pvc://, s3://)`);
  }
}

/**
 * The URI's form only (KServe's webhook): throws StorageError for a URI the lab cannot resolve; a
 * pvc:// claim is looked up when staging. Any s3:// URI passes, as utils.ValidateStorageURI lets it:
 * what is wrong with it is the storage-initializer's error.
 */
export function checkStorageUri(uri: string, roots: StorageRoots): void {
  if (!isS3(uri)) localPathFor(uri, roots);
}

/** Resolve and check that the model exists. */
export function resolveStorage(uri: string, roots: StorageRoots): { path: string; isFile: boolean } {
  const path = localPathFor(uri, roots);
  if (!existsSync(path)) throw new StorageError('ModelLoadFailed', `storageUri ${uri}: ${path} does not exist`);
  return { path, isFile: statSync(path).isFile() };
}

/** The storage-initializer log of the revision staged into `dest` (next to it, removed with the model). */
export function storageLogFile(dest: string): string {
  return `${dest}.storage-initializer.log`;
}

/** KServe's initializer logs "<time> <logger> <level> <message>" lines (kserve.logging). */
function logLine(level: 'INFO' | 'ERROR', message: string): string {
  return `${new Date().toISOString().replace('T', ' ').replace('Z', '')} kserve.storage ${level} ${message}\n`;
}

/**
 * Copy the model into `dest` (created fresh), logging as the storage-initializer does into
 * storageLogFile(dest). A file URI becomes dest/<file>, a directory's contents are copied into
 * dest. Returns dest; on failure the log ends with the error (`RuntimeError: <message>`).
 */
export async function stageModel(uri: string, roots: StorageRoots, dest: string): Promise<string> {
  const log = storageLogFile(dest);
  await mkdir(dirname(log), { recursive: true });
  await rm(log, { force: true });
  await appendFile(log, logLine('INFO', `Initializing, args: (src_uri, dest_path): [('${uri}', '/mnt/models')]`) + logLine('INFO', `Copying contents of ${uri} to local`));
  try {
    await copyModel(uri, roots, dest);
  } catch (e) {
    const err = e instanceof StorageError ? e : new StorageError('ModelLoadFailed', (e as Error).message, e instanceof InitializerError ? e.exception : 'RuntimeError');
    await appendFile(log, logLine('ERROR', `Storage initialization failed (${err.reason})`) + `${err.exception}: ${err.message}\n`);
    throw err;
  }
  await appendFile(log, logLine('INFO', `Successfully copied ${uri} to /mnt/models`));
  return dest;
}

async function copyModel(uri: string, roots: StorageRoots, dest: string): Promise<void> {
  if (isS3(uri)) {
    await rm(dest, { recursive: true, force: true });
    await mkdir(dest, { recursive: true });
    return downloadS3(uri, roots.s3Env ?? {}, dest, (level, message) => appendFile(storageLogFile(dest), logLine(level, message)));
  }
  const { path, isFile } = resolveStorage(uri, roots);
  await rm(dest, { recursive: true, force: true });
  await mkdir(dest, { recursive: true });
  try {
    if (isFile) await cp(path, join(dest, basename(path)));
    else await cp(path, dest, { recursive: true, dereference: true });
  } catch (e) {
    throw new StorageError('ModelLoadFailed', `storageUri ${uri}: copying ${path} failed: ${(e as Error).message}`);
  }
}
