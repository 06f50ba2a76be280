/**
 * The storageUri schemes KServe's storage initializer understands. One list serves the
 * target's config check and the InferenceService builder.
 */
export const STORAGE_SCHEMES = ['s3', 'gs', 'pvc', 'http', 'https', 'hf', 'oci', 'hdfs', 'webhdfs'] as const;

function storageScheme(uri: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\//.exec(uri)?.[1];
}

export function isStorageUri(uri: string): boolean {
  const scheme = storageScheme(uri);
  return !!scheme && (STORAGE_SCHEMES as readonly string[]).includes(scheme) && /^\S+$/.test(uri) && uri.length > scheme.length + 3;
}

export const STORAGE_URI_HINT = `a KServe storageUri (${STORAGE_SCHEMES.map((s) => `${s}://`).join(', ')})`;
