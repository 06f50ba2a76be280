/**
 * Failure details of an InferenceService, as text: its full status, its pods' init and app
 * container states, its events and each container's log tail. Pure formatting (kube.ts reads).
 *
 * Real predictor pods have several containers (kserve-container, queue-proxy in Knative mode, the
 * storage-initializer init container), and a log read without a container name gets HTTP 400 from
 * the API server, so logs are read per container, init containers first (download errors show there).
 */
import type * as K8s from '@kubernetes/client-node';
import { stringify } from 'yaml';

/** A container of a pod whose log is worth reading, and whether its previous instance holds the error. */
export interface LogTarget {
  pod: string;
  container: string;
  init: boolean;
  previous: boolean;
}

const indent = (text: string, by = '  ') =>
  text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => `${by}${l}`);

/** client-node gives times as Date objects; text as ISO 8601. */
const iso = (v: Date | string | undefined) => (v instanceof Date ? v.toISOString().replace(/\.000Z$/, 'Z') : (v ?? ''));

function stateOf(s: K8s.V1ContainerState | undefined): string {
  if (s?.running) return `running since ${iso(s.running.startedAt) || '?'}`;
  if (s?.waiting) return `waiting (${s.waiting.reason ?? '?'}${s.waiting.message ? `: ${s.waiting.message}` : ''})`;
  const t = s?.terminated;
  if (t) return `terminated (${t.reason ?? '?'}, exit code ${t.exitCode}${t.signal ? `, signal ${t.signal}` : ''}${t.message ? `: ${t.message.trim().replace(/\n/g, ' | ')}` : ''})`;
  return 'no state yet';
}

function containerLine(c: K8s.V1ContainerStatus, init: boolean): string {
  const last = c.lastState?.terminated ? `; last: ${stateOf(c.lastState)}` : '';
  return `${init ? 'init ' : ''}${c.name}: ${stateOf(c.state)}, ready=${c.ready}, restarts=${c.restartCount}${last}`;
}

/** Phase, non-True conditions and every container's state (init containers first) of each pod. */
export function describePods(pods: K8s.V1Pod[]): string[] {
  const out = [`pods (${pods.length}):`];
  for (const p of pods) {
    const st = p.status;
    const conds = (st?.conditions ?? []).filter((c) => c.status !== 'True').map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`);
    out.push(
      `  ${p.metadata?.name ?? '?'} phase=${st?.phase ?? '?'}${st?.reason ? ` reason=${st.reason}` : ''}${st?.message ? ` message=${st.message}` : ''}${conds.length ? ` [${conds.join('; ')}]` : ''}`,
    );
    const statuses = [...(st?.initContainerStatuses ?? []).map((c) => containerLine(c, true)), ...(st?.containerStatuses ?? []).map((c) => containerLine(c, false))];
    // containers without a status yet (the pod is not scheduled or not initialized)
    const named = new Set([...(st?.initContainerStatuses ?? []), ...(st?.containerStatuses ?? [])].map((c) => c.name));
    for (const c of [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])]) if (!named.has(c.name)) statuses.push(`${c.name}: no status yet`);
    out.push(...statuses.map((l) => `    ${l}`));
  }
  return out;
}

/** The events of the InferenceService and of its objects (<name>-...), oldest first, at most `max`. */
export function describeEvents(events: K8s.CoreV1Event[], name: string, max = 20): string[] {
  const time = (e: K8s.CoreV1Event) => iso(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp);
  const mine = events.filter((e) => e.involvedObject?.name === name || (e.involvedObject?.name ?? '').startsWith(`${name}-`)).sort((a, b) => time(a).localeCompare(time(b)));
  const shown = mine.slice(-max);
  const out = [`events (${shown.length}${mine.length > shown.length ? ` of ${mine.length}` : ''}):`];
  for (const e of shown) out.push(`  ${time(e)} ${e.type} ${e.reason} ${e.involvedObject?.kind}/${e.involvedObject?.name}${e.count && e.count > 1 ? ` (x${e.count})` : ''}: ${e.message}`);
  return out;
}

/** The status as YAML, every field (conditions, modelStatus with lastFailureInfo, components). */
export function describeStatus(status: unknown): string[] {
  if (status === undefined || status === null) return ['InferenceService status: (none)'];
  return ['InferenceService status:', ...indent(stringify(status))];
}

/**
 * Which containers' logs to read: every container (init first) of each pod that is not Ready, at most
 * `maxPods` pods. A container waiting after a crash (CrashLoopBackOff) is read from its previous instance.
 */
export function logTargets(pods: K8s.V1Pod[], maxPods = 3): LogTarget[] {
  const notReady = pods.filter((p) => !(p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')).slice(0, maxPods);
  const out: LogTarget[] = [];
  for (const p of notReady) {
    const statuses = new Map([...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])].map((c) => [c.name, c]));
    const add = (c: K8s.V1Container, init: boolean) => {
      const s = statuses.get(c.name);
      out.push({ pod: p.metadata?.name ?? '?', container: c.name, init, previous: !!(s?.state?.waiting && s.lastState?.terminated) });
    };
    for (const c of p.spec?.initContainers ?? []) add(c, true);
    for (const c of p.spec?.containers ?? []) add(c, false);
  }
  return out;
}

/** A log tail (or why there is none) under its heading. */
export function describeLog(t: LogTarget, log: string | { error: string }): string[] {
  const head = `log tail of ${t.pod}/${t.container}${t.init ? ' (init container)' : ''}${t.previous ? ' (previous instance)' : ''}:`;
  if (typeof log !== 'string') return [head, `  (no log: ${log.error})`];
  return log.trim() ? [head, ...indent(log)] : [head, '  (empty)'];
}
