/**
 * npm run kill-runs -- [--runs 10] [--seed 1] [--max-delay 60]
 *
 * Nothing leaks, whatever kills a run: each of N runs (alternately MLOPS-1.1 on the hpc project
 * and MLOPS-4.1 on the cloud project) is killed with SIGINT or SIGKILL, sent to its whole
 * process group as a terminal would, at a random moment; then the next run's preflights run,
 * and the script looks for anything of the killed run still there: a SLURM job with its comment,
 * a namespace with its label, its directory on the shared filesystem, an outstanding ledger
 * entry. It prints one line per run and exits 1 if anything was left. On the lab by default.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { RUN_LABEL } from '../clients/kube.ts';
import { loadTarget } from '../helpers/config.ts';
import { mulberry32 } from '../helpers/mnist-samples.ts';
import { LEDGER_DIR, newRunId } from '../helpers/run-state.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' }, seed: { type: 'string', default: '1' }, 'max-delay': { type: 'string', default: '60' } } });
const runs = Number(values.runs);
const maxDelay = Number(values['max-delay']);
const random = mulberry32(Number(values.seed));
const target = loadTarget();
const PLAYWRIGHT = 'node_modules/.bin/playwright';

function playwright(args: string[], env: Record<string, string>, killAfterMs?: number, signal?: NodeJS.Signals): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(PLAYWRIGHT, ['test', ...args], { detached: true, env: { ...process.env, ...env }, stdio: 'ignore' });
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => process.kill(-child.pid!, signal!), killAfterMs);
    // A SIGINT run gets 90 s to tear down, as a user would wait, then the hard way.
    const hard = killAfterMs === undefined ? undefined : setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), killAfterMs + 90_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(hard);
      resolve(code);
    });
  });
}

function jobsLeft(runId: string): string[] {
  const r = spawnSync('squeue', ['-h', '-o', '%i|%k'], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .filter((l) => l.endsWith(`mlv-run=${runId}`))
    .map((l) => `job ${l.split('|')[0]}`);
}

async function namespacesLeft(runId: string): Promise<string[]> {
  if (!target.cloud) return [];
  const kc = new KubeConfig();
  if (target.cloud.kubeconfig) kc.loadFromFile(target.cloud.kubeconfig);
  else kc.loadFromDefault();
  const list = await kc.makeApiClient(CoreV1Api).listNamespace({ labelSelector: `${RUN_LABEL}=${runId}` });
  return list.items.filter((n) => n.status?.phase !== 'Terminating').map((n) => `namespace ${n.metadata?.name}`);
}

function ledgerLeft(runId: string): string[] {
  const file = join(LEDGER_DIR, `${runId}.jsonl`);
  if (!existsSync(file)) return [];
  const open = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const e = JSON.parse(line) as { op: string; kind: string; id: string };
    if (e.op === 'created') open.set(`${e.kind} ${e.id}`, e.kind);
    else open.delete(`${e.kind} ${e.id}`);
  }
  return [...open.keys()].map((k) => `ledger: ${k}`);
}

// The run's directory is looked for where the shared filesystem is mounted here (the lab).
const dirLeft = (runId: string) => (target.hpc && existsSync(join(target.hpc.sharedRoot, 'jobs', runId)) ? [`directory ${join(target.hpc.sharedRoot, 'jobs', runId)}`] : []);

let leaks = 0;
for (let i = 1; i <= runs; i++) {
  const cloud = i % 2 === 0;
  const signal: NodeJS.Signals = random() < 0.5 ? 'SIGINT' : 'SIGKILL';
  const delay = Math.round((2 + random() * (maxDelay - 2)) * 10) / 10;
  const runId = `${newRunId()}-kill${i}`;
  await playwright(cloud ? ['--project=cloud', '--grep', 'MLOPS-4.1'] : ['--project=hpc', '--grep', 'MLOPS-1.1'], { MLV_RUN_ID: runId }, delay * 1000, signal);
  const next = await playwright(['--project=preflight-hpc', '--project=preflight-cloud'], {});
  const left = [...jobsLeft(runId), ...(await namespacesLeft(runId)), ...dirLeft(runId), ...ledgerLeft(runId)];
  leaks += left.length;
  console.log(`run ${i} ${runId} ${cloud ? 'cloud 4.1' : 'hpc 1.1  '} ${signal.padEnd(7)} after ${delay.toFixed(1).padStart(4)} s; next preflight exit ${next}; left: ${left.join(', ') || 'nothing'}`);
}
console.log(leaks ? `FAIL: ${leaks} thing(s) left behind` : `PASS: ${runs} killed runs, nothing left behind`);
process.exit(leaks ? 1 : 0);
