/**
 * Where the lab's Prometheus finds the predictor pods: a file_sd_configs targets file
 * (<state-dir>/prometheus/targets/pods.json; lab/cloud/prometheus.sh points Prometheus at it),
 * rewritten atomically whenever the set of running replicas or their ports change, emptied when
 * the controller stops. Prometheus watches the file (inotify) and re-reads it at once.
 *
 * Each pod's labels are what a real cluster gives it through kubernetes_sd_configs (role: pod) and
 * the usual relabeling, so the same query works on both: `namespace`, `pod` and `container` (the
 * Prometheus Operator's PodMonitor targets; also a kubernetes-pods job's source labels), and the
 * pod's labels through `labelmap: __meta_kubernetes_pod_label_(.+)` (prometheus/prometheus
 * documentation/examples/prometheus-kubernetes.yml), sanitized as Prometheus sanitizes label names:
 * serving.kserve.io/inferenceservice becomes serving_kserve_io_inferenceservice. The path is the
 * runtime's: Triton's metrics port (KServe's kserve-tritonserver: prometheus.kserve.io/port 8002,
 * here the replica's own loopback port), KServe's Python server's REST port; both /metrics. The
 * Hugging Face-like runtime (lab/cloud/runtime-hf) publishes no metrics and is not listed.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { replicaPodLabels } from './pods.ts';
import type { IsvcState, RuntimeFlavor } from './types.ts';

/** One entry of a file_sd targets file. */
export interface FileSdGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** What the targets file needs to know of a replica. */
export interface ScrapeReplica {
  namespace: string;
  podName: string;
  runtime: RuntimeFlavor;
  /** the pod's labels (./pods.ts podLabels) */
  podLabels: Record<string, string>;
  /** the inference port, and the metrics listener's where the runtime has one */
  port?: number;
  metricsPort?: number;
}

/** Every running replica of `states` (pods are scraped whether ready or not, as kubernetes_sd lists them). */
export function scrapeReplicas(states: Iterable<IsvcState>): ScrapeReplica[] {
  const out: ScrapeReplica[] = [];
  for (const st of states)
    for (const rev of st.revisions.values())
      for (const r of rev.replicas.values()) {
        if (r.status.state !== 'running' || r.isStopping) continue;
        out.push({ namespace: st.namespace, podName: r.spec.podName, runtime: r.spec.runtime, podLabels: replicaPodLabels(st, rev), port: r.status.port, metricsPort: r.status.metricsPort });
      }
  return out;
}

export const targetsFile = (stateDir: string): string => join(stateDir, 'prometheus', 'targets', 'pods.json');

/** Prometheus's label-name sanitizing (strutil.SanitizeLabelName): anything but [a-zA-Z0-9_] becomes _. */
export const sanitizeLabelName = (name: string): string => name.replace(/[^a-zA-Z0-9_]/g, '_');

/** The scrape address of a replica, or undefined when it publishes nothing (yet). */
function address(r: ScrapeReplica): string | undefined {
  if (r.runtime === 'triton') return r.metricsPort ? `127.0.0.1:${r.metricsPort}` : undefined;
  if (r.runtime === 'python') return r.port ? `127.0.0.1:${r.port}` : undefined;
  return undefined;
}

/** The targets file's groups, one per scrapeable replica, in a stable order. */
export function renderTargets(replicas: readonly ScrapeReplica[]): FileSdGroup[] {
  const groups: FileSdGroup[] = [];
  for (const r of replicas) {
    const target = address(r);
    if (!target) continue;
    const mapped = Object.fromEntries(Object.entries(r.podLabels).map(([k, v]) => [sanitizeLabelName(k), v]));
    groups.push({ targets: [target], labels: { ...mapped, namespace: r.namespace, pod: r.podName, container: 'kserve-container', __metrics_path__: '/metrics' } });
  }
  return groups.sort((a, b) => `${a.labels.namespace}/${a.labels.pod}`.localeCompare(`${b.labels.namespace}/${b.labels.pod}`));
}

/** Writes the targets file when its content changes (tmp + rename, so Prometheus never reads half a file). */
export class ScrapeTargetsWriter {
  private last?: string;

  constructor(
    readonly path: string,
    private readonly log: (line: string) => void = () => {},
  ) {}

  update(replicas: readonly ScrapeReplica[]): void {
    const groups = renderTargets(replicas);
    const text = JSON.stringify(groups, null, 2) + '\n';
    if (text === this.last) return;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.tmp.${process.pid}`;
      writeFileSync(tmp, text);
      renameSync(tmp, this.path);
      this.last = text;
      this.log(`scrape targets: ${groups.length ? groups.map((g) => `${g.labels.namespace}/${g.labels.pod}@${g.targets[0]}`).join(', ') : 'none'}`);
    } catch (e) {
      this.log(`scrape targets: could not write ${this.path}: ${(e as Error).message}`);
    }
  }
}
