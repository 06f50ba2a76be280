/**
 * Whether a revision's pods can be created, and what KServe's pod mutator gives their
 * storage-initializer. On a cluster the revision's ReplicaSet creates each pod through
 * kube-apiserver's admission: the ServiceAccount plugin refuses a pod whose serviceAccountName does
 * not exist, and KServe's pod mutator refuses one whose ServiceAccount lists a Secret that does not
 * exist (./s3-credentials.ts). Then no pod exists: the ReplicaSet reports FailedCreate ("Error
 * creating: <error>"), the Deployment's ReplicaFailure condition carries the error, Knative marks
 * the revision's ResourcesAvailable False with it and the Configuration RevisionFailed (status.ts),
 * and the ReplicaSet keeps retrying, so the revision recovers once the object exists.
 */
import { createHash } from 'node:crypto';
import { describeError, httpCode } from './kube.ts';
import { s3CredentialEnv, serviceAccountRefusal, type S3Env } from './s3-credentials.ts';
import type { ControllerHost, IsvcState, Revision } from './types.ts';

/** How often a revision whose pods are refused tries again (the ReplicaSet controller's back-off starts in milliseconds). */
export const ADMISSION_RETRY_MS = 2000;

export type Admission = { s3Env?: S3Env; missingKey?: string } | { pending: string } | { forbidden: string };

/** The ReplicaSet's pod generateName, `<revision>-deployment-<pod-template-hash>-`, as the admission error names the pod. */
export function podGenerateName(rev: Revision): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const hash = [...createHash('sha256').update(rev.name).digest()].slice(0, 10).map((b) => alphabet[b % alphabet.length]);
  return `${rev.name}-deployment-${hash.join('')}-`;
}

/** Admit the revision's pods: the ServiceAccount (every scheme) and, for s3://, the credential Secrets. */
export async function admitPods(c: ControllerHost, st: IsvcState, rev: Revision): Promise<Admission> {
  const podName = podGenerateName(rev);
  if (rev.storageUri.startsWith('s3://')) {
    const r = await s3CredentialEnv(c.kube.core, st.namespace, rev.serviceAccountName, rev.podAnnotations ?? {}, podName);
    return 'env' in r ? { s3Env: r.env, missingKey: r.missingKey } : r;
  }
  const sa = rev.serviceAccountName || 'default';
  try {
    await c.kube.core.readNamespacedServiceAccount({ namespace: st.namespace, name: sa });
    return {};
  } catch (e) {
    if (httpCode(e) === 404) return { forbidden: serviceAccountRefusal(podName, st.namespace, sa) };
    return { pending: `serviceaccount "${sa}": ${describeError(e)}` };
  }
}

/** Record that the revision's pods are refused (a Warning FailedCreate when the error changes), or that they are not any more. */
export function setPodForbidden(c: ControllerHost, st: IsvcState, rev: Revision, message: string | undefined): void {
  if (rev.podForbidden === message) return;
  rev.podForbidden = message;
  if (message) void c.event(st, 'Warning', 'FailedCreate', `Error creating: ${message}`);
  c.enqueue(st.key);
}
