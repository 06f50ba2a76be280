/**
 * What `oumi launch up` and `oumi launch status` print (src/oumi/cli/launch.py), parsed (pure):
 * "Job 3 queued on cluster mlops@host.", "Job 3 finished with status COMPLETED", and the status
 * table, one box per cluster ("Cluster: user@host") with a `│ <id> │ <status> │` row per job.
 * Oumi's status is SLURM's state word (COMPLETED, RUNNING, CANCELLED, FAILED, ...).
 */

export interface LaunchUp {
  jobId?: string;
  cluster?: string;
  /** Only when `up` followed the job to its end (not --detach). */
  finalStatus?: string;
}

export function parseLaunchUp(stdout: string): LaunchUp {
  const q = /Job (\S+) queued on cluster (\S+?)\.?$/m.exec(stdout);
  const f = /Job (\S+) finished with status (\S+)/.exec(stdout);
  return { jobId: q?.[1] ?? f?.[1], cluster: q?.[2], finalStatus: f?.[2] };
}

export interface LaunchStatusRow {
  cluster: string;
  id: string;
  status: string;
}

export function parseLaunchStatus(stdout: string): LaunchStatusRow[] {
  const rows: LaunchStatusRow[] = [];
  let cluster = '';
  for (const line of stdout.split('\n')) {
    const c = /Cluster: (\S+)/.exec(line);
    if (c) cluster = c[1]!;
    const r = /^[│|\s]*[│|]\s*(\d[\w.+-]*)\s*[│|]\s*([A-Z_]+)\b/.exec(line);
    if (r && cluster) rows.push({ cluster, id: r[1]!, status: r[2]! });
  }
  return rows;
}

/** SLURM's state as sacct prints it ("CANCELLED by 1001") reduced to the word Oumi shows. */
export const slurmStateWord = (state: string) => state.trim().split(/\s+/)[0] ?? '';

/** The launcher's copies of working_dir on the cluster, relative to the remote home: `oumi_launcher/<time>` from its rsync lines. */
export function launcherCopies(stdout: string): string[] {
  return [...new Set([...stdout.matchAll(/:~\/(oumi_launcher\/[0-9_]+)(?=[\s/]|$)/g)].map((m) => m[1]!))];
}
