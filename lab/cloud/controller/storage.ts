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
 *   s3://<bucket>/<key>     <s3-root>/<bucket>/<key>   (needs --s3-root / LAB_S3_ROOT)
 *
 * Staging writes the storage-initializer's log (storageLogFile), as KServe's initializer logs
 * (python/storage-initializer/scripts/initializer-entrypoint, python/storage/kserve_storage/
 * kserve_storage.py): the pods' storage-initializer container reads it, so a download error
 * shows in that container's log as on a real cluster.
 */
import { existsSync, statSync } from 'node:fs';
import { appendFile, cp, mkdir, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';

export class StorageError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

interface StorageRoots {
  stateDir: string;
  s3Root?: string;
  /** for pvc://: the host folder of the volume bound to the URI's claim (./volumes.ts resolveClaim) */
  claimPath?: string;
}

function within(root: string, rel: string, uri: string): string {
  const r = resolve(root);
  const p = resolve(r, normalize(rel));
  if (p !== r && !p.startsWith(r + sep)) throw new StorageError('InvalidStorageUri', `storageUri ${uri} escapes its root ${r}`);
  return p;
}

/** Map a storageUri to a local path (not checked for existence). */
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
    case 's3': {
      if (!roots.s3Root) {
        throw new StorageError('ModelLoadFailed', `storageUri ${uri}: s3:// needs the lab object store, which this controller was not given (start it with --s3-root <dir> or LAB_S3_ROOT)`);
      }
      const [bucket, ...key] = rest.split('/');
      if (!bucket) throw new StorageError('InvalidStorageUri', `storageUri ${uri}: s3://<bucket>/<key> needs a bucket`);
      return within(join(roots.s3Root, bucket), decodeURIComponent(key.join('/')), uri);
    }
    default:
      throw new StorageError('InvalidStorageUri', `storageUri ${uri}: scheme ${scheme}:// is not supported by the lab (file://, pvc://, s3://)`);
  }
}

/** The URI's form only (KServe's webhook): throws StorageError for a URI the lab cannot resolve; a pvc:// claim is looked up when staging. */
export function checkStorageUri(uri: string, roots: StorageRoots): void {
  localPathFor(uri, roots);
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
    const reason = e instanceof StorageError ? e.reason : 'ModelLoadFailed';
    await appendFile(log, logLine('ERROR', `Storage initialization failed (${reason})`) + `RuntimeError: ${(e as Error).message}\n`);
    throw e;
  }
  await appendFile(log, logLine('INFO', `Successfully copied ${uri} to /mnt/models`));
  return dest;
}

async function copyModel(uri: string, roots: StorageRoots, dest: string): Promise<void> {
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
