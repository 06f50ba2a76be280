/**
 * Whether a spec change of an InferenceService has rolled out (pure). KServe (Knative serving mode)
 * makes a new revision per generation and moves the traffic to it once it is Ready: the rollout is
 * done when the status has observed the generation, the latest created revision is the latest ready
 * one and takes all the traffic, and Ready is True. A new revision that fails to load leaves the old
 * one serving (transitionStatus BlockedByFailedLoad); an invalid spec is InvalidSpec: both are verdicts.
 */
import { isReady, readyVerdict, type IsvcStatus } from './isvc-status.ts';

export type RolloutVerdict = { state: 'rolled'; revision: string } | { state: 'waiting'; detail: string } | { state: 'blocked'; headline: string };

export function rolloutVerdict(status: IsvcStatus, generation: number, blockedForMs = 0, graceMs?: number): RolloutVerdict {
  const seen = status.observedGeneration ?? 0;
  if (seen < generation) return { state: 'waiting', detail: `observedGeneration ${seen} < ${generation}` };
  const p = status.components?.predictor;
  const latest = p?.latestCreatedRevision;
  const traffic = (p?.traffic ?? []).filter((t) => (t.percent ?? 0) > 0);
  const allOnLatest = traffic.length === 0 || traffic.every((t) => t.revisionName === latest || (t.latestRevision === true && t.revisionName === undefined));
  if (isReady(status) && latest && p?.latestReadyRevision === latest && allOnLatest && status.modelStatus?.transitionStatus !== 'InProgress') return { state: 'rolled', revision: latest };
  const v = readyVerdict(status, blockedForMs, graceMs);
  if (v.state === 'failed') return { state: 'blocked', headline: v.headline };
  const on = traffic.map((t) => `${t.revisionName ?? 'latest'} ${t.percent}%`).join(', ') || 'none reported';
  return { state: 'waiting', detail: `latest created ${latest ?? '?'}, latest ready ${p?.latestReadyRevision ?? '?'}, traffic ${on}` };
}
