// The lab API server (lab/cloud/apiserver) driven by the REAL kubectl: started in-process on an
// ephemeral port with a throwaway state dir; kubectl runs with the kubeconfig it writes and with
// client-side validation left on (the default --validate=strict).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiServer, type ApiServer } from '../../lab/cloud/apiserver/server.ts';

const CRDS = fileURLToPath(new URL('../../lab/cloud/manifests/kserve-crds.yaml', import.meta.url));

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const skip = hasKubectl() ? false : 'kubectl is not installed';

let dir: string;
let srv: ApiServer;
let env: NodeJS.ProcessEnv;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run kubectl asynchronously (the server lives in this process, so never block the event loop). */
function kubectl(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile('kubectl', args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

async function fails(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} should have failed: ${r.stdout}`);
  return r.stderr;
}

/** The fields of API replies these tests read: a Status, or a list. */
type Reply = { kind?: string; reason?: string; code?: number; items: { metadata: { name: string } }[] };

/** A raw API request with the lab token (for things kubectl cannot do, e.g. set status). */
function api(method: string, path: string, body?: unknown, contentType = 'application/json', token = srv.token): Promise<{ status: number; json: Reply | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(`${srv.url}${path}`, { method, ca: readFileSync(srv.caPath), headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode!, json: text ? (JSON.parse(text) as Reply) : undefined });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

const ISVC = (name: string, labels: Record<string, string>) => `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: ${name}
  labels:
${Object.entries(labels)
  .map(([k, v]) => `    ${k}: ${v}`)
  .join('\n')}
spec:
  predictor:
    minReplicas: 1
    maxReplicas: 3
    model:
      modelFormat:
        name: onnx
      storageUri: file:///srv/models/mnist
      resources:
        requests: {cpu: "1", memory: 2Gi}
        limits: {cpu: "2", memory: 4Gi}
`;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'apiserver-kubectl-'));
  srv = await startApiServer({ stateDir: join(dir, 'state'), port: 0 });
  mkdirSync(join(dir, 'home'));
  env = { PATH: process.env.PATH, HOME: join(dir, 'home'), KUBECONFIG: srv.kubeconfigPath, KUBECACHEDIR: join(dir, 'cache') };
});

after(async () => {
  await srv?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('discovery: version, api-resources with short names', { skip }, async () => {
  assert.match(await ok(['version']), /Server Version: v1\.32\./);
  const res = await ok(['api-resources']);
  assert.match(res, /^namespaces\s+ns\s+v1\s+false\s+Namespace$/m);
  assert.match(res, /^pods\s+po\s+v1\s+true\s+Pod$/m);
  assert.match(res, /^customresourcedefinitions\s+crd,crds\s+apiextensions\.k8s\.io\/v1\s+false/m);
  assert.match(await ok(['get', 'nodes']), /lab-cloud-node\s+Ready/);
});

test('apply the KServe CRDs and an InferenceService with validation on', { skip }, async () => {
  const out = await ok(['apply', '-f', CRDS]);
  assert.match(out, /customresourcedefinition.apiextensions.k8s.io\/inferenceservices.serving.kserve.io created/);
  await ok(['wait', '--for', 'condition=established', '--timeout=10s', 'crd/inferenceservices.serving.kserve.io']);
  assert.match(await ok(['api-resources', '--api-group=serving.kserve.io']), /^inferenceservices\s+isvc\s+serving\.kserve\.io\/v1beta1\s+true\s+InferenceService$/m);
  assert.match(await ok(['apply', '-f', '-'], ISVC('mnist', { team: 'ml' })), /inferenceservice.serving.kserve.io\/mnist created/);
  assert.match(await ok(['apply', '-f', '-'], ISVC('mnist', { team: 'ml' })), /inferenceservice.serving.kserve.io\/mnist unchanged/);
  // client-side validation is delegated to the server (fieldValidation=Strict): unknown fields fail
  const bad = await fails(['apply', '-f', '-'], ISVC('typo', { team: 'ml' }).replace('  predictor:', '  predictr: {}\n  predictor:'));
  assert.match(bad, /strict decoding error: unknown field "spec.predictr"/);
});

test('get isvc -A shows the KServe printer columns; jsonpath and -o yaml work', { skip }, async () => {
  const table = await ok(['get', 'isvc', '-A']);
  assert.match(table, /^NAMESPACE\s+NAME\s+URL\s+READY\s+AGE$/m);
  assert.match(table, /^default\s+mnist\s+\d+s$/m);
  assert.equal(await ok(['get', 'isvc', 'mnist', '-o', 'jsonpath={.spec.predictor.model.modelFormat.name}']), 'onnx');
  assert.match(await ok(['get', 'inferenceservice', 'mnist', '-o', 'yaml']), /^kind: InferenceService$/m);
  assert.match(await ok(['get', 'isvc', '-o', 'wide']), /PREVROLLEDOUTREVISION\s+LATESTREADYREVISION\s+AGE/);
});

test('create namespace (protobuf body), label selectors, merge patch', { skip }, async () => {
  assert.match(await ok(['create', 'namespace', 'team-a']), /namespace\/team-a created/);
  await ok(['apply', '-n', 'team-a', '-f', '-'], ISVC('iris', { team: 'other', tier: 'gold' }));
  const names = async (sel: string) => (await ok(['get', 'isvc', '-A', '-l', sel, '-o', 'name'])).trim().split('\n').filter(Boolean).sort();
  assert.deepEqual(await names('team=ml'), ['inferenceservice.serving.kserve.io/mnist']);
  assert.deepEqual(await names('team!=ml'), ['inferenceservice.serving.kserve.io/iris']);
  assert.equal((await names('team in (ml,other)')).length, 2);
  assert.deepEqual(await names('tier'), ['inferenceservice.serving.kserve.io/iris']);
  assert.deepEqual(await names('!tier'), ['inferenceservice.serving.kserve.io/mnist']);
  assert.deepEqual(await names('team notin (ml)'), ['inferenceservice.serving.kserve.io/iris']);

  assert.match(await ok(['patch', 'isvc', 'iris', '-n', 'team-a', '--type', 'merge', '-p', '{"spec":{"predictor":{"maxReplicas":5}}}']), /patched/);
  assert.equal(await ok(['get', 'isvc', 'iris', '-n', 'team-a', '-o', 'jsonpath={.spec.predictor.maxReplicas}/{.spec.predictor.minReplicas}/{.metadata.generation}']), '5/1/2');
  assert.match(await ok(['label', 'isvc', 'iris', '-n', 'team-a', 'stage=canary']), /labeled/);
  assert.deepEqual(await names('stage=canary'), ['inferenceservice.serving.kserve.io/iris']);
});

test('kubectl wait --for=condition=Ready after the status subresource is set', { skip }, async () => {
  const waiting = kubectl(['wait', '--for=condition=Ready', '--timeout=15s', 'isvc/mnist']);
  await new Promise((r) => setTimeout(r, 400));
  const r = await api(
    'PATCH',
    '/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/mnist/status',
    {
      status: {
        url: 'https://mnist.default.lab.mlv.io',
        conditions: [
          { type: 'PredictorReady', status: 'True' },
          { type: 'Ready', status: 'True' },
        ],
      },
    },
    'application/merge-patch+json',
  );
  assert.equal(r.status, 200);
  const w = await waiting;
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stdout, /inferenceservice.serving.kserve.io\/mnist condition met/);
  assert.match(await ok(['get', 'isvc', 'mnist']), /^mnist\s+https:\/\/mnist\.default\.lab\.mlv\.io\s+True\s+\d+s$/m);
  assert.equal(await ok(['get', 'isvc', 'mnist', '-o', "jsonpath={.status.conditions[?(@.type=='Ready')].status}"]), 'True');
});

test('kubectl get -w streams changes', { skip }, async () => {
  const child = spawn('kubectl', ['get', 'isvc', 'iris', '-n', 'team-a', '-w', '-o', 'jsonpath={.metadata.labels.stage}{"\\n"}'], { env });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  try {
    const deadline = Date.now() + 10_000;
    while (!out.includes('canary') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await ok(['label', '--overwrite', 'isvc', 'iris', '-n', 'team-a', 'stage=prod']);
    while (!out.includes('prod') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(out.trim().split('\n'), ['canary', 'prod']);
  } finally {
    child.kill();
  }
});

test('kubectl logs reads the file named by lab.mlv.io/log-path', { skip }, async () => {
  const logFile = join(dir, 'predictor.log');
  writeFileSync(logFile, 'starting\nloaded model mnist\nlistening on 8080\n');
  const pod = `apiVersion: v1
kind: Pod
metadata:
  name: mnist-predictor-0
  namespace: team-a
  annotations:
    lab.mlv.io/log-path: ${logFile}
spec:
  containers:
  - name: kserve-container
    image: lab.mlv.io/onnxruntime-node-server:local
`;
  await ok(['apply', '-f', '-'], pod);
  assert.equal(await ok(['logs', 'mnist-predictor-0', '-n', 'team-a']), 'starting\nloaded model mnist\nlistening on 8080\n');
  assert.equal(await ok(['logs', 'mnist-predictor-0', '-n', 'team-a', '--tail=1']), 'listening on 8080\n');
  assert.equal(await ok(['logs', 'mnist-predictor-0', '-n', 'team-a', '-c', 'kserve-container', '--tail=2']), 'loaded model mnist\nlistening on 8080\n');
  assert.match(await ok(['get', 'pods', '-n', 'team-a']), /^mnist-predictor-0\s+0\/1\s+Pending\s+0\s+\d+s$/m);
});

test('errors: NotFound, AlreadyExists, Invalid, Unauthorized', { skip }, async () => {
  assert.match(await fails(['get', 'isvc', 'nope']), /Error from server \(NotFound\): inferenceservices.serving.kserve.io "nope" not found/);
  assert.match(await fails(['create', '-f', '-'], ISVC('mnist', { team: 'ml' })), /Error from server \(AlreadyExists\).*inferenceservices.serving.kserve.io "mnist" already exists/);
  assert.match(await fails(['create', 'namespace', 'team-a']), /Error from server \(AlreadyExists\): namespaces "team-a" already exists/);
  assert.match(await fails(['create', 'namespace', 'Bad_Name']), /The Namespace "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"/);
  assert.match(await fails(['get', 'namespace', 'missing']), /Error from server \(NotFound\): namespaces "missing" not found/);
  const unauth = await api('GET', '/api/v1/namespaces', undefined, 'application/json', 'wrong-token');
  assert.equal(unauth.status, 401);
  assert.deepEqual([unauth.json?.kind, unauth.json?.reason, unauth.json?.code], ['Status', 'Unauthorized', 401]);
});

test('delete namespace cascades to everything in it', { skip }, async () => {
  assert.match(await ok(['delete', 'namespace', 'team-a', '--timeout=20s']), /namespace "team-a" deleted/);
  assert.match(await fails(['get', 'namespace', 'team-a']), /NotFound/);
  const left = await api('GET', '/apis/serving.kserve.io/v1beta1/inferenceservices');
  assert.deepEqual(
    left.json?.items.map((i) => i.metadata.name),
    ['mnist'],
  );
  const pods = await api('GET', '/api/v1/pods?fieldSelector=metadata.namespace%3Dteam-a');
  assert.equal(pods.json?.items.length, 0);
  assert.match(await ok(['delete', 'isvc', 'mnist']), /inferenceservice.serving.kserve.io "mnist" deleted/);
  assert.match((await kubectl(['get', 'isvc', '-A'])).stderr, /No resources found/);
});
