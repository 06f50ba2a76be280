/**
 * The target's e2e settings: the MLflow tracking server (MLflow's own MLFLOW_TRACKING_* names)
 * and the S3-compatible object store the registered models are synced to. Either is absent
 * when none of its settings is given; a half-given one is a problem naming what is missing.
 */
import { FIXES, type Raw } from './config-schema.ts';

export interface MlflowTarget {
  uri: string;
  token?: string;
  username?: string;
  password?: string;
  /** MLFLOW_TRACKING_INSECURE_TLS=true: TLS is not verified (reported in the run's metadata). */
  insecureTls: boolean;
}

export interface ObjectStoreTarget {
  /** The endpoint as the runner reaches it; undefined for AWS S3 itself. */
  endpoint?: string;
  /** The endpoint as the cluster's pods reach it (the Secret's serving.kserve.io/s3-endpoint). */
  clusterEndpoint?: string;
  bucket: string;
  region: string;
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export function parseMlflow(raw: Raw, problems: string[]): MlflowTarget | undefined {
  const given = raw.MLFLOW_TRACKING_URI ?? raw.MLFLOW_TRACKING_TOKEN ?? raw.MLFLOW_TRACKING_USERNAME ?? raw.MLFLOW_TRACKING_PASSWORD;
  if (!given) return undefined;
  if (!raw.MLFLOW_TRACKING_URI) problems.push(`MLFLOW_TRACKING_URI is required once an MLflow setting is given (it is missing). Fix: ${FIXES.MLFLOW_TRACKING_URI}.`);
  if (!!raw.MLFLOW_TRACKING_USERNAME !== !!raw.MLFLOW_TRACKING_PASSWORD) {
    const missing = raw.MLFLOW_TRACKING_USERNAME ? 'MLFLOW_TRACKING_PASSWORD' : 'MLFLOW_TRACKING_USERNAME';
    problems.push(`${missing} is required with ${missing === 'MLFLOW_TRACKING_PASSWORD' ? 'MLFLOW_TRACKING_USERNAME' : 'MLFLOW_TRACKING_PASSWORD'} (it is missing). Fix: ${FIXES[missing]}.`);
  }
  if (raw.MLFLOW_TRACKING_TOKEN && raw.MLFLOW_TRACKING_USERNAME)
    problems.push('MLFLOW_TRACKING_TOKEN and MLFLOW_TRACKING_USERNAME are both set (MLflow would send the token). Fix: keep one of bearer token or basic auth.');
  const uri = (raw.MLFLOW_TRACKING_URI ?? '').replace(/\/+$/, '');
  if ((raw.MLFLOW_TRACKING_TOKEN || raw.MLFLOW_TRACKING_PASSWORD) && uri.startsWith('http://') && !/^http:\/\/(127\.|localhost[:/]|\[::1\])/.test(uri + '/'))
    problems.push('MLFLOW_TRACKING_URI is plain http, and MLflow credentials would cross the network in clear. Fix: use https, or drop the credentials.');
  return { uri, token: raw.MLFLOW_TRACKING_TOKEN, username: raw.MLFLOW_TRACKING_USERNAME, password: raw.MLFLOW_TRACKING_PASSWORD, insecureTls: raw.MLFLOW_TRACKING_INSECURE_TLS === 'true' };
}

export function parseObjectStore(raw: Raw, problems: string[]): ObjectStoreTarget | undefined {
  if (!raw.MLV_S3_BUCKET && !raw.MLV_S3_ENDPOINT && !raw.MLV_S3_CLUSTER_ENDPOINT && !raw.MLV_S3_PREFIX) return undefined;
  for (const k of ['MLV_S3_BUCKET', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const)
    if (!raw[k]) problems.push(`${k} is required once the object store is configured (it is missing). Fix: ${FIXES[k]}.`);
  return {
    endpoint: raw.MLV_S3_ENDPOINT?.replace(/\/+$/, ''),
    clusterEndpoint: (raw.MLV_S3_CLUSTER_ENDPOINT ?? raw.MLV_S3_ENDPOINT)?.replace(/\/+$/, ''),
    bucket: raw.MLV_S3_BUCKET ?? '',
    region: raw.MLV_S3_REGION ?? 'us-east-1',
    prefix: (raw.MLV_S3_PREFIX ?? 'mlops-validation').replace(/\/+$/, ''),
    accessKeyId: raw.AWS_ACCESS_KEY_ID ?? '',
    secretAccessKey: raw.AWS_SECRET_ACCESS_KEY ?? '',
    sessionToken: raw.AWS_SESSION_TOKEN,
  };
}
