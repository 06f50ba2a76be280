/**
 * What a namespace needs for KServe to fetch an s3:// storageUri: a Secret with the
 * credentials and KServe's serving.kserve.io/s3-* annotations (read by KServe's credential
 * builder, pkg/credentials/s3/s3_secret.go, into the storage-initializer's environment), and a
 * ServiceAccount listing it, named by the predictor's serviceAccountName.
 */
import type { ObjectStoreTarget } from './config.ts';

export const S3_ANNOTATIONS = {
  endpoint: 'serving.kserve.io/s3-endpoint',
  useHttps: 'serving.kserve.io/s3-usehttps',
  region: 'serving.kserve.io/s3-region',
  verifySsl: 'serving.kserve.io/s3-verifyssl',
} as const;

export interface S3Credentials {
  secret: {
    apiVersion: 'v1';
    kind: 'Secret';
    metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
    type: 'Opaque';
    stringData: Record<string, string>;
  };
  serviceAccount: { apiVersion: 'v1'; kind: 'ServiceAccount'; metadata: { name: string; namespace: string; labels: Record<string, string> }; secrets: { name: string }[] };
}

/** KServe's s3-endpoint is host[:port], the scheme goes to s3-usehttps; AWS itself needs neither. */
export function s3Credentials(store: ObjectStoreTarget, namespace: string, name: string, labels: Record<string, string>): S3Credentials {
  const annotations: Record<string, string> = { [S3_ANNOTATIONS.region]: store.region };
  if (store.clusterEndpoint) {
    const u = new URL(store.clusterEndpoint);
    annotations[S3_ANNOTATIONS.endpoint] = u.host;
    annotations[S3_ANNOTATIONS.useHttps] = u.protocol === 'https:' ? '1' : '0';
  }
  const stringData: Record<string, string> = { AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey };
  return {
    secret: { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels, annotations }, type: 'Opaque', stringData },
    serviceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, labels }, secrets: [{ name }] },
  };
}
