/**
 * Orphans: runtime processes a previous controller left running. At start
 * their pid and meta files are read; a process whose InferenceService (same
 * uid) and generation still exist is adopted into the new revision, the
 * others are killed. Staged models of InferenceServices deleted meanwhile
 * are removed, and so are predictor Pods that no replica backs.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { KObject } from './informer.ts';
import { COMPONENT } from './kube.ts';
import { filesFor, isRuntimeProcess, type ReplicaMeta } from './replica.ts';
import type { ControllerHost, IsvcState } from './types.ts';

/** SIGTERM, then SIGKILL after 3 s if it is still a runtime process. */
function killOrphan(pid: number, why: string, log: (line: string) => void): void {
  log(`killing orphan runtime pid ${pid} (${why})`);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  setTimeout(() => {
    if (isRuntimeProcess(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }, 3000).unref();
}

function removeFiles(runDir: string, m: ReplicaMeta): void {
  for (const p of Object.values(filesFor(runDir, m.namespace, m.isvc, m.ordinal))) rmSync(p, { force: true });
}

/** Fill c.pendingAdoption from the run dir's meta files; clean up files of dead processes and pid files without meta. */
export function scanPidFiles(c: ControllerHost): void {
  if (!existsSync(c.runDir)) return;
  for (const f of readdirSync(c.runDir)) {
    if (!/^runtime-.*\.json$/.test(f)) continue;
    const path = join(c.runDir, f);
    let meta: ReplicaMeta;
    try {
      meta = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      continue;
    }
    if (!isRuntimeProcess(meta.pid)) {
      removeFiles(c.runDir, meta);
      continue;
    }
    const key = `${meta.namespace}/${meta.isvc}`;
    const list = c.pendingAdoption.get(key) ?? [];
    list.push(meta);
    c.pendingAdoption.set(key, list);
  }
  // stale pid files without meta (e.g. from another tool): runtime processes only
  for (const f of readdirSync(c.runDir)) {
    if (!/^runtime-.*\.pid$/.test(f) || existsSync(join(c.runDir, f.replace(/\.pid$/, '.json')))) continue;
    const pid = Number(readFileSync(join(c.runDir, f), 'utf8').trim());
    if (pid && isRuntimeProcess(pid)) killOrphan(pid, `pid file ${f} without metadata`, c.log);
    rmSync(join(c.runDir, f), { force: true });
  }
}

/** After the first InferenceService listing: kill the orphans whose InferenceService (by uid) is gone or being deleted. */
export function dropOrphansOfDeleted(c: ControllerHost, live: Map<string, KObject>): void {
  for (const [key, metas] of c.pendingAdoption) {
    const obj = live.get(key);
    const keep = metas.filter((m) => obj && obj.metadata.uid === m.uid && !obj.metadata.deletionTimestamp);
    for (const m of metas) {
      if (!keep.includes(m)) {
        killOrphan(m.pid, `InferenceService ${key} (uid ${m.uid}) no longer exists`, c.log);
        removeFiles(c.runDir, m);
      }
    }
    if (keep.length) c.pendingAdoption.set(key, keep);
    else c.pendingAdoption.delete(key);
  }
}

/** Staged models of InferenceServices deleted while no controller ran. */
export function removeStaleModelDirs(c: ControllerHost, live: Map<string, KObject>): void {
  const root = join(c.opts.stateDir, 'models');
  if (!existsSync(root)) return;
  for (const ns of readdirSync(root)) {
    for (const name of readdirSync(join(root, ns))) {
      if (!live.has(`${ns}/${name}`)) {
        c.log(`removing staged models of deleted InferenceService ${ns}/${name}`);
        rmSync(join(root, ns, name), { recursive: true, force: true });
      }
    }
  }
}

/**
 * The orphans of st to adopt into its new revision of generation `gen`
 * (same uid and generation, model dir still there). When there are none,
 * st's other orphans are killed. Either way st has no pending orphans after.
 */
export function claimOrphans(c: ControllerHost, st: IsvcState, gen: number): ReplicaMeta[] {
  const pending = c.pendingAdoption.get(st.key) ?? [];
  const adoptable = pending.filter((m) => m.generation === gen && m.uid === st.uid && existsSync(m.modelDir));
  if (!adoptable.length) {
    for (const m of pending) {
      killOrphan(m.pid, `revision generation ${m.generation} of ${st.key} is not current`, c.log);
      removeFiles(c.runDir, m);
    }
  }
  c.pendingAdoption.delete(st.key);
  return adoptable;
}

const ISVC_LABEL = 'serving.kserve.io/inferenceservice';
const ownsPod = (st: IsvcState, podName: string): boolean => [...st.revisions.values()].some((r) => r.replicas.has(podName));
const managedByUs = (pod: KObject): boolean => pod.metadata.labels?.['app.kubernetes.io/managed-by'] === COMPONENT;

function deletePod(c: ControllerHost, ns: string, name: string): void {
  c.log(`deleting stale pod ${ns}/${name}`);
  void c.kube.deletePod(ns, name).catch(() => {});
}

/** Pods of ours that are not backed by a replica (left by an earlier run), once no adoption is pending for them. */
export function deleteUnbackedPods(c: ControllerHost, pods: Iterable<KObject>, states: Map<string, IsvcState>): void {
  for (const pod of pods) {
    const ns = pod.metadata.namespace ?? '';
    const isvc = pod.metadata.labels?.[ISVC_LABEL];
    const st = isvc ? states.get(`${ns}/${isvc}`) : undefined;
    const owned = st && ownsPod(st, pod.metadata.name);
    if (!owned && managedByUs(pod) && (!st || st.adopted) && !c.pendingAdoption.has(`${ns}/${isvc}`)) deletePod(c, ns, pod.metadata.name);
  }
}

/** st's pods of ours that no replica backs and that are older than 10 s (none while st has orphans pending). */
export function deleteStalePodsOf(c: ControllerHost, st: IsvcState, pods: Iterable<KObject>): void {
  if (c.pendingAdoption.has(st.key)) return;
  for (const pod of pods) {
    if (pod.metadata.namespace !== st.namespace || pod.metadata.labels?.[ISVC_LABEL] !== st.name) continue;
    const recent = Date.now() - Date.parse(String(pod.metadata.creationTimestamp ?? 0)) < 10_000;
    if (!ownsPod(st, pod.metadata.name) && !recent && managedByUs(pod)) deletePod(c, st.namespace, pod.metadata.name);
  }
}
