/**
 * `npm run bench`: the suite's cost beyond its jobs, against a naive baseline, on the lab.
 *
 *   npm run bench [-- --runs 3] [--smoke] [--out reports/out]
 *
 * The same fixed set of jobs runs two ways, interleaved, once per run:
 *   suite:    `playwright test --project=hpc` on MLOPS-1.1 and the 2-node MLOPS-2.1 test, i.e.
 *             the preflight's GRES probe, a short 1-GPU training job and its check, and a
 *             2-node gloo job, through the SLURM fixture with their real JobSpecs;
 *   baseline: the same scripts (from a dry run of the same selection), submitted one after the
 *             other with `sbatch --wait`, one `ssh` per job.
 * For each: wall time, every job's sacct Elapsed and queue wait, overhead, slurmctld RPCs
 * (`sdiag -r` before, counts by user and type after), slurmdbd RPCs (`sacctmgr show stats`
 * difference) and the SSH connections the lab's sshd accepted. It waits for an idle queue
 * first and records foreign jobs. --smoke: the preflight's probe job only, one run (npm test
 * checks that this runs). Writes <out>/bench.json and <out>/bench.md. Needs root on the lab host
 * (sdiag -r); it is not a test, and its figures are not assertions. After the lab phases it adds the
 * scale section (scripts/bench-scale.ts); `--scale-only` runs that section alone, without a lab.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { benchTable, parseBenchJobs, parseRpcStats, rpcDelta, summarise, type PhaseResult, type PhaseSummary } from '../helpers/bench-stats.ts';
import { loadTarget } from '../helpers/config.ts';
import { quote } from '../helpers/shell.ts';
import { scaleBench, writeScale } from './bench-scale.ts';

const exec = promisify(execFile);
const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '1' }, smoke: { type: 'boolean', default: false }, 'scale-only': { type: 'boolean', default: false }, out: { type: 'string', default: 'reports/out' } },
});
const runs = args.smoke ? 1 : Number(args.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
  console.error(`--runs must be a whole number from 1 to 20 (got "${args.runs}")`);
  process.exit(2);
}
const outDir = resolve(args.out!);
const benchDir = join(outDir, 'bench');
mkdirSync(benchDir, { recursive: true });
if (args['scale-only']) {
  console.log(`${writeScale(outDir, await scaleBench())}\n\nwritten: ${join(outDir, 'bench.json')} (scale), ${join(outDir, 'bench.md')}`);
  process.exit(0);
}

const target = loadTarget();
if (target.name !== 'lab' || !target.hpc) {
  console.error(
    `the bench runs on the lab (it resets sdiag and reads the lab's sshd log); the target is "${target.name}". Fix: run it without a .env (and without MLV_ENV_FILE) after \`npm run lab -- up\`.`,
  );
  process.exit(2);
}
const hpc = target.hpc;
const user = hpc.ssh.user;
const SSHD_LOG = '/var/lib/mlops-lab/log/sshd.log';
const GREP = args.smoke ? undefined : 'MLOPS-1.1|2 ranks spread over 2 nodes';
const PROJECT = args.smoke ? 'preflight-hpc' : 'hpc';

const sh = async (cmd: string, argv: string[], env: NodeJS.ProcessEnv = {}) => (await exec(cmd, argv, { env: { ...process.env, ...env }, maxBuffer: 64 << 20 })).stdout;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const accepted = () =>
  readFileSync(SSHD_LOG, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`Accepted publickey for ${user} `)).length;
const sacctOnce = async (prefix: string, since: number) =>
  parseBenchJobs(
    await sh('sacct', ['-X', '-n', '-P', '-u', user, '-S', new Date(since * 1000).toISOString().slice(0, 19), '-o', 'JobID,JobName,State,Submit,Start,End,ElapsedRaw'], {
      SLURM_TIME_FORMAT: '%s',
      TZ: 'UTC',
    }),
    prefix,
  );
/** slurmdbd records a job's end a moment after `sbatch --wait` returns: read until `expected` jobs have ended (10 s at most). */
async function sacctJobs(prefix: string, since: number, expected: number) {
  for (let i = 0; ; i++) {
    const jobs = await sacctOnce(prefix, since);
    if ((jobs.length >= expected && jobs.every((j) => Number.isFinite(j.end))) || i === 20) return jobs;
    await sleep(500);
  }
}
/** Distinct Playwright workers in a JSON report (each opens its own SSH connection). */
const workersOf = (resultsJson: string): number => {
  const ids = new Set<number>();
  const walk = (suite: { specs?: { tests: { results: { workerIndex: number }[] }[] }[]; suites?: unknown[] }) => {
    for (const sp of suite.specs ?? []) for (const t of sp.tests) for (const r of t.results) if (r.workerIndex >= 0) ids.add(r.workerIndex);
    for (const s of (suite.suites ?? []) as (typeof suite)[]) walk(s);
  };
  for (const s of JSON.parse(readFileSync(resultsJson, 'utf8')).suites) walk(s);
  return ids.size;
};

/** Wait (up to 2 min) for an empty queue; what is still there is recorded, not hidden. */
async function idleQueue(): Promise<string[]> {
  for (let i = 0; i < 120; i++) {
    const q = (await sh('squeue', ['-h', '-o', '%i %u %T %j'])).trim();
    if (!q) return [];
    if (i === 119) return q.split('\n');
    await sleep(1000);
  }
  return [];
}

async function measured(way: PhaseResult['way'], expected: number, body: () => Promise<{ prefix: string; workers: number }>): Promise<PhaseResult & { foreign: string[] }> {
  const foreign = await idleQueue();
  const dbdBefore = parseRpcStats(await sh('sacctmgr', ['show', 'stats']));
  const sshBefore = accepted();
  await sh('sdiag', ['-r']);
  const since = Math.floor(Date.now() / 1000) - 1;
  const t0 = performance.now();
  const { prefix, workers } = await body();
  const wallSeconds = (performance.now() - t0) / 1000;
  const ctld = parseRpcStats(await sh('sdiag', []));
  const dbd = rpcDelta(parseRpcStats(await sh('sacctmgr', ['show', 'stats'])), dbdBefore);
  const sshConnections = accepted() - sshBefore;
  return { way, wallSeconds, jobs: await sacctJobs(prefix, since, expected), ctld, dbd, sshConnections, workers, user, foreign };
}

const playwright = (env: Record<string, string>) =>
  new Promise<number>((ok) => {
    const argv = ['playwright', 'test', `--project=${PROJECT}`, ...(GREP ? ['--grep', GREP] : [])];
    const p = spawn('npx', argv, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
    p.on('exit', (code) => ok(code ?? 1));
  });

const pwEnv = (tag: string, runId: string) => ({
  MLV_RUN_ID: runId,
  MLV_RESULTS_JSON: join(benchDir, `${tag}.results.json`),
  MLV_JUNIT_XML: join(benchDir, `${tag}.junit.xml`),
  MLV_ALLURE_RESULTS: join(benchDir, `${tag}.allure`),
  MLV_REPORT_OUT: join(benchDir, tag),
});
const newId = (tag: string) => `mlv-${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}-${tag}`;

/** The scripts the suite submits, in submission order, from a dry run of the same selection. */
async function dryRunScripts(): Promise<{ runId: string; scripts: { name: string; body: string }[] }> {
  const runId = newId('dry0');
  const code = await playwright({ ...pwEnv('dry-run', runId), MLV_DRY_RUN: '1' });
  if (code !== 0) throw new Error(`the dry run exited ${code}`);
  const root = join(benchDir, 'dry-run', 'dry-run');
  const order = ['preflight-probe', 'mlops-1.1-mnist', 'mlops-1.1-verify', 'mlops-2.1-ddp-2nodes'];
  const scripts = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.sbatch'))
    .map((f) => ({
      name: f
        .split('/')
        .at(-1)!
        .replace(/\.sbatch$/, ''),
      body: readFileSync(join(root, f), 'utf8'),
    }))
    .filter((s) => order.includes(s.name))
    .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  if (!scripts.length) throw new Error(`the dry run wrote no job script under ${root}`);
  return { runId, scripts };
}

const sshArgv = () => [
  '-p',
  String(hpc.ssh.port),
  '-i',
  hpc.ssh.keyPath!,
  '-o',
  `UserKnownHostsFile=${hpc.ssh.knownHostsPath}`,
  '-o',
  'StrictHostKeyChecking=yes',
  '-o',
  'BatchMode=yes',
  `${user}@${hpc.ssh.host}`,
];
const ssh = (remote: string, input?: string) =>
  new Promise<void>((ok, fail) => {
    const p = spawn('ssh', [...sshArgv(), remote], { stdio: ['pipe', 'ignore', 'inherit'] });
    p.stdin.end(input ?? '');
    p.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`ssh ${remote.slice(0, 60)}… exited ${code}`))));
  });

async function baseline(dry: Awaited<ReturnType<typeof dryRunScripts>>) {
  const runId = newId('base');
  const dir = `${hpc.sharedRoot}/jobs/${runId}`;
  // Not timed: the workloads, as the suite's preflight uploads them.
  const tar = await exec('tar', ['-C', 'workloads', '-czf', '-', '.'], { encoding: 'buffer', maxBuffer: 256 << 20 });
  await new Promise<void>((ok, fail) => {
    const p = spawn('ssh', [...sshArgv(), `mkdir -p ${quote(dir)}/workloads && tar -xzf - -C ${quote(dir)}/workloads`], { stdio: ['pipe', 'ignore', 'inherit'] });
    p.stdin.end(tar.stdout);
    p.on('exit', (c) => (c === 0 ? ok() : fail(new Error(`workload upload exited ${c}`))));
  });
  try {
    return await measured('baseline', dry.scripts.length, async () => {
      for (const s of dry.scripts) {
        const path = `${dir}/${s.name}.sbatch`;
        await ssh(`cat > ${quote(path)} && sbatch --wait --quiet ${quote(path)}`, s.body.replaceAll(dry.runId, runId));
      }
      return { prefix: runId, workers: 0 };
    });
  } finally {
    await ssh(`rm -rf -- ${quote(dir)}`).catch((e) => console.error(`could not remove ${dir}: ${(e as Error).message}`));
  }
}

async function suite(expected: number) {
  const runId = newId('suite');
  const env = pwEnv(`suite-${runId}`, runId);
  return measured('suite', expected, async () => {
    const code = await playwright(env);
    if (code !== 0) console.error(`the suite run exited ${code}: its figures are recorded, but it did not pass`);
    return { prefix: runId, workers: workersOf(env.MLV_RESULTS_JSON) };
  });
}

const dry = await dryRunScripts();
console.log(`bench: ${runs} run(s); jobs: ${dry.scripts.map((s) => s.name).join(', ')}`);
const results: { suite: PhaseResult & { foreign: string[] }; baseline: PhaseResult & { foreign: string[] } }[] = [];
for (let i = 0; i < runs; i++) {
  console.log(`\n== run ${i + 1} of ${runs}: suite`);
  const s = await suite(dry.scripts.length);
  console.log(`== run ${i + 1} of ${runs}: baseline`);
  const b = await baseline(dry);
  results.push({ suite: s, baseline: b });
}
const summaries: { suite: PhaseSummary; baseline: PhaseSummary }[] = results.map((r) => ({ suite: summarise(r.suite), baseline: summarise(r.baseline) }));
const table = benchTable(summaries);
const slurmVersion = (await sh('sinfo', ['--version'])).trim();
writeFileSync(join(outDir, 'bench.json'), JSON.stringify({ when: new Date().toISOString(), slurmVersion, smoke: args.smoke, poll: hpc.poll, runs: results, summaries }, null, 2));
writeFileSync(join(outDir, 'bench.md'), `# Bench (${new Date().toISOString()}, ${slurmVersion}, ${runs} run(s)${args.smoke ? ', smoke' : ''})\n\n${table}\n`);
console.log(`\n${table}\n\n${writeScale(outDir, await scaleBench())}\n\nwritten: ${join(outDir, 'bench.json')}, ${join(outDir, 'bench.md')}`);
for (const r of results) for (const p of [r.suite, r.baseline]) if (p.foreign.length) console.log(`note: ${p.way} ran beside foreign jobs: ${p.foreign.join('; ')}`);
const broken = results.flatMap((r) => [r.suite, r.baseline]).filter((p) => !p.jobs.length || p.jobs.some((j) => j.state !== 'COMPLETED'));
if (broken.length) {
  console.error(`bench: ${broken.map((p) => `${p.way}: ${p.jobs.map((j) => `${j.name} ${j.state}`).join(', ') || 'no job found in sacct'}`).join('; ')}`);
  process.exit(1);
}
