/**
 * Preflight: probe the target once, write the capability manifest every other project
 * reads, upload the workloads, and remove what crashed earlier runs left behind.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { test as setup, expect } from '../../fixtures/index.ts';
import { archiveIfClean, markRemoved, orphanLedgers } from '../../fixtures/ledger.ts';
import { describeTarget } from '../../helpers/config.ts';
import { ConfigError } from '../../helpers/errors.ts';
import type { CloudManifest, Manifest } from '../../helpers/manifest.ts';
import { KubeClient, ISVC, RUN_LABEL } from '../../clients/kube.ts';
import { PROBE_SCRIPT, parseProbe } from '../../helpers/probe.ts';
import { cloudManifestPath, manifestPath, STATE_DIR } from '../../helpers/run-state.ts';
import { parseSinfoNodes, SINFO_NODE_FORMAT } from '../../helpers/slurm-parsers.ts';

const DATASET_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
const USABLE = new Set(['idle', 'mixed', 'allocated', 'completing']);

function localFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (f === '__pycache__' || f.startsWith('.')) return [];
    return statSync(p).isDirectory() ? localFiles(p) : [p];
  });
}

setup('probe the target and write the capability manifest', async ({ target, references, slurm, runId, ledger }, testInfo) => {
  void references; // loaded (and validated) here, so a bad references file fails before any job runs
  const conn = slurm.session.conn;
  const orphansRemoved: string[] = [];

  await setup.step('remove what earlier, interrupted runs left behind', async () => {
    for (const o of orphanLedgers(runId)) {
      const jobs = o.entries.filter((e) => e.kind === 'slurm-job');
      if (jobs.length) {
        await slurm.session.cancel(jobs.map((j) => j.id));
        for (const j of jobs) {
          markRemoved(o.file, j);
          orphansRemoved.push(`slurm job ${j.id} (run ${o.runId})`);
        }
      }
      for (const d of o.entries.filter((e) => e.kind === 'remote-dir')) {
        if (d.id.startsWith(`${target.sharedRoot}/jobs/mlv-`)) {
          await conn.exec(['rm', '-rf', '--', d.id]);
          markRemoved(o.file, d);
          orphansRemoved.push(`directory ${d.id}`);
        }
      }
      archiveIfClean(o.file);
    }
  });

  const slurmVersion = await setup.step('SLURM answers', async () => (await conn.run(['sinfo', '--version'], { timeoutMs: 15000 })).trim());

  const nodes = await setup.step(`partition ${target.slurm.partition} exists and has nodes`, async () => {
    const all = parseSinfoNodes(await conn.run(['sinfo', '-N', '-h', '-o', SINFO_NODE_FORMAT], { timeoutMs: 15000 }));
    const mine = all.filter((n) => n.partition === target.slurm.partition);
    const partitions = [...new Set(all.map((n) => n.partition))];
    if (!mine.length) throw new ConfigError([`MLV_SLURM_PARTITION=${target.slurm.partition} is not a partition of this cluster. Fix: use one of: ${partitions.join(', ') || '(sinfo shows none)'}.`], target.source);
    return mine;
  });
  const usableNodes = nodes.filter((n) => USABLE.has(n.state) && !n.flags.includes('*')).map((n) => n.node);
  const gpusByNode = Object.fromEntries(nodes.filter((n) => usableNodes.includes(n.node)).map((n) => [n.node, n.gres.gpu ?? 0]));

  const runDir = slurm.session.runDir;
  const loginFile = posix.join(runDir, 'probe-from-login.txt');
  const loginWritable = await setup.step('shared filesystem is writable from the login node', async () => {
    await conn.run(['mkdir', '-p', runDir]);
    await conn.writeFile(loginFile, 'mlv-probe\n');
    return conn.exists(loginFile);
  });
  // Recorded so the cleanup project (or a later run, after a crash) removes it.
  ledger.created('remote-dir', runDir);

  const workloadsDir = posix.join(runDir, 'workloads');
  await setup.step('upload workloads to the shared filesystem', async () => {
    const files = localFiles('workloads');
    const dirs = [...new Set(files.map((f) => posix.join(workloadsDir, posix.dirname(relative('workloads', f)))))];
    await conn.run(['mkdir', '-p', ...dirs]);
    await Promise.all(files.map((f) => conn.writeFile(posix.join(workloadsDir, relative('workloads', f)), readFileSync(f), 0o644)));
  });

  const probe = await setup.step('a compute node sees the shared filesystem, Python and torch', async () => {
    const outFile = posix.join(runDir, 'probe-from-compute.txt');
    const run = await slurm.run(
      {
        name: 'preflight-probe',
        nodes: 1,
        ntasks: 1,
        cpusPerTask: 1,
        mem: '500M',
        gpus: target.inventory.gpusPerNode > 0 ? 1 : 0,
        timeLimitSeconds: 120,
        steps: [{ argv: ['bash', '-c', PROBE_SCRIPT, 'mlv-probe', loginFile, outFile, ...target.runtimePrefix, target.python], inRuntime: false }],
      },
      { timeoutMs: 180_000 },
    );
    const p = parseProbe(run.output);
    expect(run.final.state, `the probe job ended ${run.final.state}; its output is attached`).toBe('COMPLETED');
    const seenBack = await conn.exists(outFile);
    return { ...p, computeWritable: p.writable && seenBack };
  });

  const dataset = await setup.step(`dataset present in ${target.datasetDir}`, async () => {
    const r = await conn.exec(['ls', '-1', target.datasetDir]);
    const have = new Set(r.stdout.split('\n').map((s) => s.trim().replace(/\.gz$/, '')));
    const missing = DATASET_FILES.filter((f) => !have.has(f));
    return { dir: target.datasetDir, present: missing.length === 0, missing };
  });

  const problems: string[] = [];
  if (!loginWritable) problems.push(`shared filesystem ${target.sharedRoot} is not writable from the login node`);
  if (!probe.computeWritable) problems.push(`shared filesystem ${target.sharedRoot} is not writable from compute node ${probe.host}`);
  if (!probe.seesLogin) problems.push(`compute node ${probe.host} does not see a file written on the login node under ${target.sharedRoot} (not a shared filesystem?)`);
  if (!probe.torch) problems.push(`torch does not import on compute node ${probe.host} under the runtime prefix "${target.runtimePrefix.join(' ')}" with ${target.python}: ${probe.torchError ?? probe.pythonError ?? 'no output'}`);
  if (!dataset.present) problems.push(`dataset directory ${target.datasetDir} lacks ${dataset.missing.join(', ')} (MLV_DATASET_DIR)`);
  if (target.inventory.capabilities.includes('apptainer') && !probe.apptainer) problems.push('target claims apptainer but it is not on the compute node PATH');

  const manifest: Manifest = {
    runId,
    createdAt: new Date().toISOString(),
    target: describeTarget(target),
    slurmVersion,
    partition: target.slurm.partition,
    nodes,
    usableNodes,
    gpusByNode,
    sharedFs: { root: target.sharedRoot, loginWritable, computeWritable: probe.computeWritable, computeSeesLogin: probe.seesLogin, computeNode: probe.host },
    compute: { python: probe.python, torch: probe.torch, cudaAvailable: probe.cuda, cudaDeviceCount: probe.cudaCount, cudaVisibleDevices: probe.cudaVisibleDevices },
    tools: { apptainer: probe.apptainer, nvidiaSmi: probe.nvidiaSmi },
    dataset,
    workloadsDir,
    runDir,
    problems,
    orphansRemoved,
  };
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(manifestPath(runId), JSON.stringify(manifest, null, 2));
  await testInfo.attach('capability-manifest.json', { body: JSON.stringify(manifest, null, 2), contentType: 'application/json' });

  // The basics every HPC task needs: a broken one fails here, with the reason, before any workload runs.
  expect(problems, `preflight found broken capabilities:\n- ${problems.join('\n- ')}`).toEqual([]);
});

setup('probe the Kubernetes/KServe target', async ({ target, runId }, testInfo) => {
  setup.skip(!target.inventory.capabilities.includes('kserve'), `target "${target.name}" does not claim "kserve" (MLV_CAPABILITIES)`);
  const kube = await KubeClient.create(target);
  const { version, kserve } = await setup.step(`Kubernetes API ${kube.server} answers`, () => kube.probe());
  if (!kserve) throw new Error(`capability broken: target claims "kserve" but the cluster has no ${ISVC.group} API group (is KServe installed?)`);
  const nodes = (await kube.nodes()).map((n) => ({
    name: n.metadata?.name ?? '?',
    gpus: Number(n.status?.allocatable?.['nvidia.com/gpu'] ?? 0),
    cpu: n.status?.allocatable?.cpu ?? '?',
    memory: n.status?.allocatable?.memory ?? '?',
  }));
  const orphansRemoved: string[] = [];
  await setup.step('remove namespaces of earlier, interrupted runs', async () => {
    for (const o of orphanLedgers(runId)) {
      for (const n of o.entries.filter((e) => e.kind === 'k8s-namespace' || e.kind === 'k8s-object')) {
        if (n.kind === 'k8s-namespace') {
          await kube.deleteNamespace(n.id);
          orphansRemoved.push(`namespace ${n.id} (run ${o.runId})`);
        } else {
          const [ns, , name] = n.id.split('/');
          await kube.deleteIsvc(name!, ns!).catch(() => {});
          orphansRemoved.push(`InferenceService ${n.id} (run ${o.runId})`);
        }
        markRemoved(o.file, n);
      }
      archiveIfClean(o.file);
    }
  });
  const cloud: CloudManifest = { apiServer: kube.server, kubeVersion: version, kserve, nodes, orphansRemoved };
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(cloudManifestPath(runId), JSON.stringify(cloud, null, 2));
  await testInfo.attach('cloud-manifest.json', { body: JSON.stringify(cloud, null, 2), contentType: 'application/json' });
});
