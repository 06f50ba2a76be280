/**
 * Lineage of a model trained by the suite: where and from what it was made, as MLflow tags on
 * its run and its model version. MLflow's own keys where MLflow has one (mlflow.source.*,
 * mlflow.runName), `mlv.*` for the rest.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface Lineage {
  jobId: string;
  cluster: string;
  partition: string;
  nodes: string[];
  workloadCommit: string;
  workloadSha256: string;
  datasetSha256: string;
  modelSha256: string;
}

/** The repository's commit, with "-dirty" when the workloads differ from it; "unknown" outside a git checkout. */
export function workloadCommit(dir = 'workloads'): string {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** sha256 over the workload tree that is uploaded to the cluster (relative path, then bytes; caches skipped). */
export function treeSha256(root = 'workloads'): string {
  const h = createHash('sha256');
  const walk = (dir: string): string[] =>
    readdirSync(dir)
      .filter((n) => n !== '__pycache__' && !n.endsWith('.pyc'))
      .sort()
      .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
  for (const f of walk(root)) h.update(`${relative(root, f)}\0`).update(readFileSync(f));
  return h.digest('hex');
}

export function lineageTags(l: Lineage): Record<string, string> {
  return {
    'mlflow.source.type': 'JOB',
    'mlflow.source.name': 'mlops-validation workloads/mnist/train.py',
    'mlflow.source.git.commit': l.workloadCommit,
    'mlv.slurm.job_id': l.jobId,
    'mlv.slurm.cluster': l.cluster,
    'mlv.slurm.partition': l.partition,
    'mlv.slurm.nodes': l.nodes.join(','),
    'mlv.workload.sha256': l.workloadSha256,
    'mlv.dataset.sha256': l.datasetSha256,
    'mlv.model.sha256': l.modelSha256,
  };
}

/** The lineage tags missing from `tags`, or holding another value. */
export function lineageProblems(expected: Record<string, string>, tags: { key: string; value?: string | null }[] | null | undefined): string[] {
  const got = new Map((tags ?? []).map((t) => [t.key, t.value ?? '']));
  return Object.entries(expected).flatMap(([k, v]) => (!got.has(k) ? [`${k} missing`] : got.get(k) !== v ? [`${k} = ${JSON.stringify(got.get(k))}, expected ${JSON.stringify(v)}`] : []));
}
