/**
 * The kept deployment of `npx mlv-pipeline` (scripts/mlv-pipeline.ts; how it is kept:
 * fixtures/pipeline-keep.ts): its record, its status read from the cluster and the registry, and
 * `down`, which expires its ledger entries, lets the cloud preflight's orphan sweep remove them (as
 * it removes what a killed run left), then checks that nothing of it is left.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient } from '../clients/kube.ts';
import { MlflowClient } from '../clients/mlflow/client.ts';
import { ObjectStore } from '../clients/object-store.ts';
import { Ledger } from '../fixtures/ledger.ts';
import { loadTarget, type Target } from '../helpers/config.ts';
import { describeNotReady, isReady, parseIsvcStatus } from '../helpers/isvc-status.ts';
import { parseRecord, previousVersion, serving, type DeploymentRecord } from '../helpers/pipeline-cli.ts';
import { LEDGER_DIR, newRunId } from '../helpers/run-state.ts';

export const OUT = 'reports/out/pipeline';
/** The kept deployment's record: one at a time. */
export const RECORD = join(OUT, 'deployment.json');

/** The kept deployment, undefined when none, or why its record is unreadable. */
export function keptRecord(): DeploymentRecord | { error: string } | undefined {
  return existsSync(RECORD) ? parseRecord(readFileSync(RECORD, 'utf8'), RECORD) : undefined;
}

function targetOrExit(): Target {
  try {
    return loadTarget();
  } catch (e) {
    console.error((e as Error).message); // a ConfigError: one paragraph naming the field
    process.exit(2);
  }
}

/** The deployment as the record has it and as the cluster and the registry have it now: 0, 1 where they disagree or it is not Ready, 3 unreachable. */
export async function deploymentStatus(d: DeploymentRecord): Promise<number> {
  const target = targetOrExit();
  console.log(`kept deployment ${d.name} (${d.task}, kept ${d.keptAt}): InferenceService ${d.namespace}/${d.service}, model ${d.modelName}`);
  for (const v of d.versions) console.log(`  version ${v.version}  ${v.storageUri}  sha256 ${v.sha256.slice(0, 12)}`);
  try {
    const kube = await KubeClient.create(target.cloud!);
    const isvc = await kube.getIsvc(d.service, d.namespace);
    if (!isvc) return (console.error(`InferenceService ${d.namespace}/${d.service} is gone (removed outside mlv-pipeline?). Fix: mlv-pipeline down removes the rest`), 1);
    const uri = isvc.spec.predictor.model?.storageUri;
    const live = d.versions.find((v) => v.storageUri === uri)?.version;
    const st = parseIsvcStatus(isvc.status);
    const alias = await new MlflowClient(target.mlflow!).versionByAlias(d.modelName, d.alias).then(
      (v) => v.version,
      (e: Error) => `unknown (${e.message})`,
    );
    const prev = previousVersion(d);
    console.log(`  serving: version ${live ?? `none of these (${uri})`}, ${isReady(st) ? 'Ready' : `not Ready: ${describeNotReady(st)}`}, at ${st.url ?? '?'}; alias ${d.alias} → ${alias}`);
    console.log(`  served: ${d.history.join(' → ')}; ${prev ? `mlv-pipeline rollback goes to version ${prev}` : 'nothing to roll back to'} (--to N for another); mlv-pipeline down removes it`);
    if (live !== serving(d) || alias !== live) return (console.error(`the record says version ${serving(d)} serves: the cluster or the registry disagrees`), 1);
    return isReady(st) ? 0 : 1;
  } catch (e) {
    return (console.error(`infra error: cannot read the deployment's state: ${(e as Error).message}`), 3);
  }
}

/** What of `d` is still on the target: its namespace (unless the site's own), service, registered model, experiments, objects. */
async function leftOf(target: Target, d: DeploymentRecord): Promise<string[]> {
  const kube = await KubeClient.create(target.cloud!);
  const mlflow = new MlflowClient(target.mlflow!);
  const store = new ObjectStore(target.objectStore!);
  const ns =
    d.namespace !== target.cloud!.namespace &&
    (await kube.core.readNamespace({ name: d.namespace }).then(
      () => true,
      () => false,
    ));
  return [
    ...(ns ? [`namespace ${d.namespace}`] : []),
    ...((await kube.getIsvc(d.service, d.namespace).catch(() => undefined)) ? [`InferenceService ${d.namespace}/${d.service}`] : []),
    ...((await mlflow.getRegisteredModel(d.modelName)) ? [`registered model ${d.modelName}`] : []),
    ...(await mlflow.searchExperiments(`tags.\`mlv.run_id\` = '${d.runId}'`)).map((e) => `experiment ${e.name}`),
    ...(await store.list(`${target.objectStore!.prefix}/${d.runId}/`)).map((k) => `object ${k}`),
  ];
}

/** What the ledgers keep as a deployment (by its name, or any when the record is unreadable), per run. */
function deploymentEntries(name?: string) {
  const runs = existsSync(LEDGER_DIR) ? readdirSync(LEDGER_DIR).filter((f) => f.endsWith('.jsonl')) : [];
  return runs.flatMap((f) => {
    const ledger = new Ledger(f.replace(/\.jsonl$/, ''), 0);
    return ledger.keptEntries().flatMap((e) => (e.deployment && (!name || e.deployment === name) ? [{ ledger, e }] : []));
  });
}

/** mlv-pipeline down: 0 when nothing of the deployment is left, 1 when something is, 3 when the sweep could not run. */
export async function down(record: DeploymentRecord | { error: string } | undefined, usage: (msg: string) => never): Promise<number> {
  const d = record && !('error' in record) ? record : undefined;
  const entries = deploymentEntries(d?.name);
  if (!d && !entries.length) usage('nothing kept to take down. Fix: none needed (mlv-pipeline status shows what is kept)');
  if (!d) console.log(`${RECORD} is unreadable or gone: down removes what the ledgers keep as a deployment`);
  const target = targetOrExit();
  // expired now: the next orphan sweep removes them, this one or, if it is interrupted, any later one
  for (const { ledger, e } of entries) ledger.kept(e.kind, e.id, Date.now() - 1000);
  const name = d?.name ?? [...new Set(entries.map((x) => x.e.deployment))].join(', ');
  console.log(`down ${name}: ${entries.length} ledger entries expired; the cloud preflight's orphan sweep removes them`);
  const runId = newRunId();
  const dir = join(OUT, runId);
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, MLV_RUN_ID: runId, MLV_RESULTS_JSON: join(dir, 'results.json'), MLV_JUNIT_XML: join(dir, 'junit.xml') };
  const t0 = Date.now();
  const pw = spawnSync('node_modules/.bin/playwright', ['test', '--project=preflight-cloud'], { env, encoding: 'utf8', timeout: 5 * 60_000 });
  writeFileSync(join(dir, 'output.log'), `${pw.stdout}${pw.stderr}`);
  const key = (e: { kind: string; id: string }) => `${e.kind} ${e.id}`;
  const remaining = new Set(entries.flatMap(({ ledger }) => [...ledger.outstanding(), ...ledger.keptEntries()].map(key)));
  const still = new Set(entries.map(({ e }) => key(e)).filter((k) => remaining.has(k)));
  for (const { e } of entries) console.log(`  ${still.has(key(e)) ? 'NOT REMOVED' : 'removed    '} ${key(e)}`);
  console.log(`sweep ${((Date.now() - t0) / 1000).toFixed(1)} s, exit ${pw.status}; logs: ${dir}`);
  let left: string[];
  try {
    left = d ? await leftOf(target, d) : [];
  } catch (e) {
    return (console.error(`infra error: cannot check what is left of ${name}: ${(e as Error).message}; the ledger keeps the rest for the next sweep`), 3);
  }
  if (left.length || still.size) {
    console.error(`left of ${name}: ${[...left, ...still].join(', ')}. Fix: see ${join(dir, 'output.log')}, then mlv-pipeline down again`);
    return pw.status === 0 ? 1 : 3;
  }
  rmSync(RECORD, { force: true });
  console.log(`deployment ${name} removed: nothing left${d ? ` (namespace, InferenceService, model versions ${d.versions.map((v) => v.version).join(', ')}, experiments, objects)` : ''}`);
  return 0;
}
