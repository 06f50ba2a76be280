/**
 * npm run cleanup -- [--older-than 2h] [--dry-run]
 *
 * Removes what earlier runs of the suite left on the target, found three ways: the local
 * ledgers, the run id on every SLURM job (--comment mlv-run=<run>) and on every namespace
 * (label mlv.io/run), and the run directories (<shared root>/jobs/mlv-*). It cancels the jobs,
 * deletes the namespaces (and with them their InferenceServices) and the directories, marks
 * the ledgers clean and prints each thing it removed. --older-than keeps what is younger
 * (SLURM submit time, directory mtime, namespace creation time). It does not know a run in
 * progress from a dead one: do not run it while the suite runs against the same target.
 * What MLV_KEEP_ON_FAILURE keeps for post-mortem goes too: asking for cleanup ends the post-mortem.
 */
import { parseArgs } from 'node:util';
import { KubeClient, RUN_LABEL } from '../clients/kube.ts';
import { slurmCall } from '../clients/slurm-poller.ts';
import { SshConnection } from '../clients/ssh.ts';
import { archiveIfClean, markRemoved, orphanLedgers, type ResourceKind } from '../fixtures/ledger.ts';
import { loadTarget } from '../helpers/config.ts';
import { DURATION_HINT, durationSeconds } from '../helpers/duration.ts';

const { values } = parseArgs({ options: { 'older-than': { type: 'string' }, 'dry-run': { type: 'boolean', default: false } } });

function seconds(spec: string | undefined): number {
  if (spec === undefined) return 0;
  const s = durationSeconds(spec);
  if (s === undefined) {
    console.error(`--older-than ${JSON.stringify(spec)}: want ${DURATION_HINT}`);
    process.exit(2);
  }
  return s;
}

const minAge = seconds(values['older-than']);
const dry = values['dry-run'];
const target = (() => {
  try {
    return loadTarget();
  } catch (e) {
    console.error((e as Error).message); // a ConfigError: one paragraph naming the field
    process.exit(2);
  }
})();
const old = (t: number) => (Date.now() - t) / 1000 >= minAge;
/** What was removed, as the ledger names it: "<kind> <id>". */
const removed = new Set<string>();
const remove = async (kind: ResourceKind, id: string, what: string, act: () => Promise<unknown>) => {
  if (!dry) await act();
  removed.add(`${kind} ${id}`);
  console.log(`${dry ? 'would remove' : 'removed'} ${what}`);
};

if (target.hpc) {
  const hpc = target.hpc;
  const conn = await SshConnection.connect(hpc.ssh);
  try {
    const jobs = (await slurmCall(conn, ['squeue', '-h', '-u', hpc.ssh.user, '-o', '%i|%k|%V']))
      .split('\n')
      .map((l) => l.split('|'))
      .filter(([id, comment, submit]) => id && comment?.startsWith('mlv-run=') && old(Date.parse(submit ?? '')));
    for (const [id, comment] of jobs) await remove('slurm-job', id!, `slurm job ${id} (${comment})`, () => slurmCall(conn, ['scancel', id!]));
    const jobsDir = `${hpc.sharedRoot}/jobs`;
    const dirs = (await conn.exec(['find', jobsDir, '-mindepth', '1', '-maxdepth', '1', '-type', 'd', '-name', 'mlv-*', '-printf', '%T@ %p\\n'])).stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => ({ mtime: Number(l.slice(0, l.indexOf(' '))) * 1000, path: l.slice(l.indexOf(' ') + 1) }))
      .filter((d) => d.path.startsWith(`${jobsDir}/mlv-`) && !d.path.includes('/..') && old(d.mtime));
    for (const d of dirs) await remove('remote-dir', d.path, `directory ${d.path}`, () => conn.run(['rm', '-rf', '--', d.path]));
  } finally {
    conn.close();
  }
}

if (target.cloud) {
  const kube = await KubeClient.create(target.cloud);
  const list = await kube.core.listNamespace({ labelSelector: RUN_LABEL });
  for (const ns of list.items.filter((n) => old(new Date(n.metadata?.creationTimestamp ?? 0).getTime()))) {
    await remove('k8s-namespace', ns.metadata!.name!, `namespace ${ns.metadata!.name} (run ${ns.metadata!.labels?.[RUN_LABEL]})`, () => kube.deleteNamespace(ns.metadata!.name!));
  }
}

// The ledgers of dead runs: what was removed above is marked removed there.
if (!dry) {
  // An InferenceService (id "<namespace>/…") went with its namespace.
  const gone = (kind: ResourceKind, id: string) => removed.has(`${kind} ${id}`) || (kind === 'k8s-object' && removed.has(`k8s-namespace ${id.split('/')[0]}`));
  for (const o of orphanLedgers('')) {
    for (const e of [...o.entries, ...o.kept]) if (gone(e.kind, e.id)) markRemoved(o.file, e);
    archiveIfClean(o.file);
  }
}
console.log(removed.size ? `${dry ? 'would remove' : 'removed'} ${removed.size} thing(s)` : 'nothing to remove');
