/**
 * The environment KServe gives the storage-initializer for an s3:// model, found the way KServe's
 * pod mutator finds it (kserve/kserve aaac4e294dae):
 *
 * - pkg/credentials/service_account_credentials.go CreateSecretVolumeAndEnv (212-232): the pod's
 *   serviceAccountName, "default" when empty; a ServiceAccount that cannot be read is only logged.
 *   The pod itself cannot be created then: kube-apiserver's ServiceAccount admission plugin refuses
 *   it (plugin/pkg/admission/serviceaccount/admission.go: `pods "<name>" is forbidden: error
 *   looking up service account <ns>/<sa>: serviceaccount "<sa>" not found`).
 * - CreateSecretVolumeAndEnvFromServiceAccount (234-270): the ServiceAccount's annotations count
 *   only with the IRSA annotation eks.amazonaws.com/role-arn (s3.BuildServiceAccountEnvs); the
 *   InferenceService annotation serving.kserve.io/storageSecretName (storageSecretNameAnnotation
 *   of the default inferenceservice-config) names the one Secret to use, else every Secret listed
 *   in the ServiceAccount's `secrets`, in order.
 * - mountSecretCredential (272-296): a listed Secret that cannot be read fails the pod mutation
 *   (the webhook denies the pod); a Secret with the data key AWS_SECRET_ACCESS_KEY (s3SecretAccessKeyName
 *   of the default config, config/configmap/inferenceservice.yaml) is an S3 one: envs merged over
 *   earlier ones (utils.MergeEnvs); any other Secret is skipped.
 * - pkg/credentials/s3/s3_secret.go BuildSecretEnvs (73-109): AWS_ACCESS_KEY_ID and
 *   AWS_SECRET_ACCESS_KEY as secretKeyRefs to the data keys AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY;
 *   pkg/credentials/s3/utils.go BuildS3EnvVars (36-116): each setting from the Secret's annotation
 *   serving.kserve.io/s3-*, else its data key, else the config (empty by default); an endpoint with
 *   http:// or https:// sets S3_USE_HTTPS itself, else s3-usehttps "0" means http and anything
 *   else https (getEndpointConfiguration, 157-187).
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { describeError, httpCode } from './kube.ts';

export const STORAGE_SECRET_ANNOTATION = 'serving.kserve.io/storageSecretName';
export const IRSA_ANNOTATION = 'eks.amazonaws.com/role-arn';
export const POD_MUTATOR = 'inferenceservice.kserve-webhook-server.pod-mutator';

/** s3_secret.go's annotations and the env names BuildS3EnvVars gives them (the data key of the same name is the fallback). */
const S3_SETTINGS: [annotation: string, env: string][] = [
  ['serving.kserve.io/s3-verifyssl', 'S3_VERIFY_SSL'],
  ['serving.kserve.io/s3-useanoncredential', 'awsAnonymousCredential'],
  ['serving.kserve.io/s3-region', 'AWS_DEFAULT_REGION'],
  ['serving.kserve.io/s3-usevirtualbucket', 'S3_USER_VIRTUAL_BUCKET'],
  ['serving.kserve.io/s3-useaccelerate', 'S3_USE_ACCELERATE'],
  ['serving.kserve.io/s3-cabundle', 'AWS_CA_BUNDLE'],
  ['serving.kserve.io/s3-cabundle-configmap', 'AWS_CA_BUNDLE_CONFIGMAP'],
];
const ENDPOINT = 'serving.kserve.io/s3-endpoint';
const USE_HTTPS = 'serving.kserve.io/s3-usehttps';

export type S3Env = Record<string, string>;

/**
 * What the storage-initializer gets: its env (`missingKey` when a secretKeyRef names a data key the
 * Secret lacks, which the kubelet refuses), or why the pod cannot be created (`forbidden`), or
 * why the lookup must be retried (`pending`).
 */
export type S3CredentialLookup = { env: S3Env; secrets: string[]; missingKey?: string } | { forbidden: string } | { pending: string };

interface Sa {
  metadata?: { annotations?: Record<string, string> };
  secrets?: { name?: string }[];
}
interface Secret {
  metadata?: { annotations?: Record<string, string> };
  data?: Record<string, string>;
}

const json = <T>(v: unknown): T => JSON.parse(JSON.stringify(v)) as T;

/** kube-apiserver's ServiceAccount admission refusal of pod `podName` whose ServiceAccount `sa` does not exist in `namespace`. */
export const serviceAccountRefusal = (podName: string, namespace: string, sa: string): string =>
  `pods "${podName}" is forbidden: error looking up service account ${namespace}/${sa}: serviceaccount "${sa}" not found`;

/** BuildS3EnvVars: the settings from annotations, then (for a Secret) its data. */
export function buildS3EnvVars(annotations: Record<string, string>, data?: Record<string, string>): S3Env {
  const pick = (annotation: string, key: string) => annotations[annotation] ?? data?.[key] ?? '';
  const env: S3Env = {};
  const endpoint = pick(ENDPOINT, 'S3_ENDPOINT').trim();
  if (endpoint) {
    const lower = endpoint.toLowerCase();
    let https: string;
    if (lower.startsWith('https://') || lower.startsWith('http://')) {
      https = lower.startsWith('https://') ? '1' : '0';
      env.S3_ENDPOINT = endpoint.slice(https === '1' ? 8 : 7);
      env.AWS_ENDPOINT_URL = endpoint;
    } else {
      https = pick(USE_HTTPS, 'S3_USE_HTTPS');
      env.S3_ENDPOINT = endpoint;
      env.AWS_ENDPOINT_URL = `${https === '0' ? 'http' : 'https'}://${endpoint}`;
    }
    if (https) env.S3_USE_HTTPS = https;
  }
  for (const [annotation, name] of S3_SETTINGS) {
    const v = pick(annotation, name);
    if (v) env[name] = v;
  }
  return env;
}

const decode = (data: Record<string, string> = {}) => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

/**
 * The storage-initializer's S3 env for a pod of `podName` (the ReplicaSet's generateName, as the
 * admission error names it) running as `serviceAccountName` in `namespace`, with the pod's
 * annotations (the InferenceService's and its predictor's).
 */
export async function s3CredentialEnv(core: CoreV1Api, namespace: string, serviceAccountName: string | undefined, annotations: Record<string, string>, podName: string): Promise<S3CredentialLookup> {
  const saName = serviceAccountName || 'default';
  let sa: Sa;
  try {
    sa = json<Sa>(await core.readNamespacedServiceAccount({ namespace, name: saName }));
  } catch (e) {
    if (httpCode(e) === 404) return { forbidden: serviceAccountRefusal(podName, namespace, saName) };
    return { pending: `serviceaccount "${saName}": ${describeError(e)}` };
  }
  let env: S3Env = sa.metadata?.annotations?.[IRSA_ANNOTATION] ? buildS3EnvVars(sa.metadata.annotations) : {};
  const named = annotations[STORAGE_SECRET_ANNOTATION];
  const names = named ? [named] : (sa.secrets ?? []).flatMap((s) => (s.name ? [s.name] : []));
  const used: string[] = [];
  let missingKey: string | undefined;
  for (const name of names) {
    let secret: Secret;
    try {
      secret = json<Secret>(await core.readNamespacedSecret({ namespace, name }));
    } catch (e) {
      if (httpCode(e) !== 404) return { pending: `secret "${name}": ${describeError(e)}` };
      return { forbidden: `admission webhook "${POD_MUTATOR}" denied the request: secrets "${name}" not found` };
    }
    const data = decode(secret.data);
    if (!('AWS_SECRET_ACCESS_KEY' in data)) continue;
    used.push(name);
    env = { ...env, AWS_SECRET_ACCESS_KEY: data.AWS_SECRET_ACCESS_KEY!, ...buildS3EnvVars(secret.metadata?.annotations ?? {}, data) };
    // the secretKeyRefs of the last S3 Secret win (MergeEnvs); the kubelet refuses one to a missing key
    delete env.AWS_ACCESS_KEY_ID;
    if ('AWS_ACCESS_KEY_ID' in data) env.AWS_ACCESS_KEY_ID = data.AWS_ACCESS_KEY_ID!;
    missingKey = 'AWS_ACCESS_KEY_ID' in data ? undefined : `couldn't find key AWS_ACCESS_KEY_ID in Secret ${namespace}/${name}`;
  }
  return { env, secrets: used, ...(missingKey ? { missingKey } : {}) };
}
