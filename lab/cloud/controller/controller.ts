/**
 * The lab's InferenceService controller: KServe "serverless" mode in
 * miniature. Watches serving.kserve.io/v1beta1 InferenceServices through the
 * Kubernetes API (only via @kubernetes/client-node), and for each one:
 *   - stages the model (storage-initializer stand-in, ./storage.ts),
 *   - runs predictor replicas as local runtime processes (./replica.ts) and
 *     mirrors each as a Pod object with real container state,
 *   - routes https://<isvc>.<ns>.lab.mlv.io through the ingress (./router.ts),
 *   - autoscales KPA-style on in-flight requests (./autoscaler.ts),
 *   - writes KServe-shaped status (conditions, modelStatus, components) and Events.
 * A spec change (metadata.generation) creates a new revision; traffic moves
 * to it once its replicas are ready, then the old revision is stopped. A
 * failed new revision leaves the old one serving (BlockedByFailedLoad).
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { existsSync, readdirSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseQuantity } from '../../../helpers/quantity.ts';
import { Autoscaler, configFromIsvc, type ScalerConfig, type ScalerDefaults } from './autoscaler.ts';
import { CertIssuer } from './certs.ts';
import { Informer, keyOf, type KObject } from './informer.ts';
import { COMPONENT, EventRecorder, ISVC_API_VERSION, Kube, describeError, httpCode, type InvolvedObject } from './kube.ts';
import { Replica, filesFor, isRuntimeProcess, REPO_ROOT, RUNTIME_MAIN, type ReplicaMeta, type ReplicaStatus, type Termination } from './replica.ts';
import { IngressRouter } from './router.ts';
import { StorageError, resolveStorage, stageModel } from './storage.ts';

export const NODE_NAME = 'lab-cloud-node';
export const LOG_PATH_ANNOTATION = 'lab.mlv.io/log-path';
export const IMAGE = 'lab.mlv.io/onnxruntime-node-server:local';

export interface ControllerOptions {
  kubeconfig: string;
  stateDir: string;
  /** pid files; default <dirname(stateDir)>/run */
  runDir?: string;
  ingressHost?: string;
  /** default 8443; 0 = ephemeral */
  ingressPort?: number;
  scaleDownDelayMs?: number;
  stableWindowMs?: number;
  replicaCap?: number;
  s3Root?: string;
  tickMs?: number;
  resyncMs?: number;
  activatorTimeoutMs?: number;
  caCert?: string;
  caKey?: string;
  log?: (line: string) => void;
}

interface Failure {
  reason: string;
  message: string;
  location?: string;
  exitCode?: number;
  time: string;
}

interface Revision {
  name: string;
  generation: number;
  storageUri: string;
  modelDir?: string;
  staging: boolean;
  replicas: Map<string, Replica>;
  desired: number;
  initialScale: number;
  failure?: Failure;
  resources: Record<string, unknown>;
  threads: number;
  memoryLimitBytes?: number;
}

interface PredictorSpec {
  storageUri: string;
  format: string;
  resources: Record<string, unknown>;
}

interface IsvcState {
  key: string;
  namespace: string;
  name: string;
  uid: string;
  obj: KObject;
  revisions: Map<number, Revision>;
  active?: number;
  latest?: number;
  /** spec/storage problem of the current generation (no revision made) */
  specFailure?: Failure & { generation: number };
  lastFailure?: Failure;
  scaler: ScalerConfig;
  warnedGeneration?: number;
  nextOrdinal: number;
  lastStatusJson?: string;
  conditionTimes: Map<string, { status: string; reason?: string; time: string }>;
  readyAnnounced: boolean;
  lastScale?: string;
  adopted: boolean;
}

const ts = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const pad5 = (n: number) => String(n).padStart(5, '0');

/** A resource amount (cpu cores, memory bytes) from a Kubernetes quantity; undefined when absent, malformed or negative. */
function resourceAmount(q: unknown): number | undefined {
  if (q === undefined || q === null) return undefined;
  const n = parseQuantity(String(q));
  return n === null || n < 0 ? undefined : n;
}

const parseCpu = resourceAmount;

export function parseMemory(q: unknown): number | undefined {
  return resourceAmount(q);
}

const LEGACY_FRAMEWORKS = ['onnx', 'sklearn', 'xgboost', 'lightgbm', 'tensorflow', 'pytorch', 'triton', 'pmml', 'paddle', 'huggingface'];

/** Read the predictor: the `model` form (modelFormat + storageUri) or the older per-framework form. */
export function predictorSpec(isvc: KObject): PredictorSpec | Failure {
  const p = isvc.spec?.predictor;
  const fail = (reason: string, message: string): Failure => ({ reason, message, time: ts() });
  if (!p || typeof p !== 'object') return fail('InvalidPredictorSpec', 'spec.predictor is required');
  let format: string | undefined;
  let impl: any;
  if (p.model) {
    impl = p.model;
    format = impl.modelFormat?.name;
    if (!format) return fail('InvalidPredictorSpec', 'spec.predictor.model.modelFormat.name is required');
  } else {
    const fw = LEGACY_FRAMEWORKS.find((f) => p[f]);
    if (!fw) return fail('InvalidPredictorSpec', 'spec.predictor needs model (modelFormat + storageUri) or a framework such as onnx');
    impl = p[fw];
    format = fw;
  }
  if (String(format).toLowerCase() !== 'onnx') {
    return fail('UnsupportedModelFormat', `model format "${format}" is not supported: the lab's model server runs ONNX models only (modelFormat.name: onnx); export the model to ONNX`);
  }
  const storageUri = impl.storageUri;
  if (typeof storageUri !== 'string' || !storageUri) return fail('InvalidPredictorSpec', 'storageUri is required (spec.predictor.model.storageUri)');
  const resources = (impl.resources ?? p.resources ?? {}) as Record<string, unknown>;
  return { storageUri, format: 'onnx', resources };
}

export class Controller {
  readonly router: IngressRouter;
  readonly kube: Kube;
  readonly recorder: EventRecorder;
  readonly runDir: string;
  ingressPort = 0;
  private informer!: Informer<KObject>;
  private podInformer!: Informer<KObject>;
  private readonly states = new Map<string, IsvcState>();
  private readonly autoscaler = new Autoscaler();
  private readonly queue = new Map<string, { running: boolean; dirty: boolean; done: Promise<void> }>();
  private pendingAdoption = new Map<string, ReplicaMeta[]>();
  private tickTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private stopping = false;
  private readonly log: (line: string) => void;
  private readonly defaults: ScalerDefaults;
  private readonly podSync = new Map<string, { busy: boolean; next?: () => Promise<void> }>();

  constructor(private readonly opts: ControllerOptions) {
    this.log = opts.log ?? ((l) => process.stdout.write(`${new Date().toISOString()} ${l}\n`));
    this.kube = new Kube(opts.kubeconfig);
    this.recorder = new EventRecorder(this.kube, this.log);
    this.router = new IngressRouter({ activatorTimeoutMs: opts.activatorTimeoutMs ?? 30_000, log: this.log });
    this.runDir = opts.runDir ?? join(dirname(opts.stateDir), 'run');
    this.defaults = {
      stableWindowMs: opts.stableWindowMs ?? 6000,
      scaleDownDelayMs: opts.scaleDownDelayMs ?? 15_000,
      replicaCap: opts.replicaCap ?? 5,
    };
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    const { stateDir } = this.opts;
    mkdirSync(this.runDir, { recursive: true });
    const issuer = new CertIssuer({ caCert: this.opts.caCert ?? join(stateDir, 'ca.crt'), caKey: this.opts.caKey ?? join(stateDir, 'ca.key'), outDir: join(stateDir, 'ingress') });
    const tls = await issuer.issueDefault();
    const host = this.opts.ingressHost ?? '127.0.0.1';
    const addr = await this.router.listen(host, this.opts.ingressPort ?? 8443, { cert: tls.cert, key: tls.key, sni: (s) => issuer.sniContext(s) });
    this.ingressPort = addr.port;
    writeFileSync(
      join(stateDir, 'ingress.json'),
      JSON.stringify(
        { url: `https://${host}:${addr.port}`, host, port: addr.port, domain: this.router.domain, hostTemplate: `{name}.{namespace}.${this.router.domain}`, caFile: this.opts.caCert ?? join(stateDir, 'ca.crt'), certFile: tls.certFile, controllerPid: process.pid },
        null,
        2,
      ) + '\n',
    );
    this.log(`ingress listening on https://${host}:${addr.port} (Host: <isvc>.<namespace>.${this.router.domain})`);

    this.scanPidFiles();

    this.podInformer = new Informer<KObject>({
      kc: this.kube.kc,
      path: '/api/v1/pods',
      labelSelector: 'component=predictor,serving.kserve.io/inferenceservice',
      list: () => this.kube.listPods('component=predictor,serving.kserve.io/inferenceservice'),
      onEvent: (type, pod) => this.onPodEvent(type, pod),
      log: this.log,
    });
    this.informer = new Informer<KObject>({
      kc: this.kube.kc,
      path: `/apis/${ISVC_API_VERSION}/inferenceservices`,
      list: () => this.kube.listIsvcs(),
      onEvent: (_type, obj) => this.enqueue(keyOf(obj)),
      onSync: (items) => this.onIsvcSync(items),
      log: this.log,
    });
    await this.podInformer.start();
    await this.informer.start();
    this.tickTimer = setInterval(() => this.tick(), this.opts.tickMs ?? 1000);
    this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncMs ?? 30_000);
    this.log(`controller started (state ${stateDir}, run ${this.runDir}, window ${this.defaults.stableWindowMs} ms, scale-down delay ${this.defaults.scaleDownDelayMs} ms)`);
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.tickTimer);
    clearInterval(this.resyncTimer);
    this.informer?.stop();
    this.podInformer?.stop();
    const all: Promise<void>[] = [];
    for (const st of this.states.values()) for (const rev of st.revisions.values()) for (const r of rev.replicas.values()) all.push(r.stop(5000));
    await Promise.all(all);
    // best effort: tell the API the predictors are gone
    const updates: Promise<unknown>[] = [];
    for (const st of this.states.values()) {
      for (const rev of st.revisions.values()) for (const podName of rev.replicas.keys()) updates.push(this.kube.deletePod(st.namespace, podName).catch(() => {}));
      updates.push(
        this.kube
          .patchIsvcStatus(st.namespace, st.name, {
            conditions: ['IngressReady', 'PredictorReady', 'Ready'].map((type) => ({ type, status: 'False', reason: 'ControllerStopped', message: 'the lab InferenceService controller stopped; predictor processes were stopped', lastTransitionTime: ts() })),
          })
          .catch(() => {}),
      );
    }
    await Promise.race([Promise.all(updates), new Promise((r) => setTimeout(r, 3000))]);
    await this.router.close();
    this.log('controller stopped');
  }

  // ---------------------------------------------------------------- orphan handling

  private scanPidFiles(): void {
    if (!existsSync(this.runDir)) return;
    for (const f of readdirSync(this.runDir)) {
      if (!/^runtime-.*\.json$/.test(f)) continue;
      const path = join(this.runDir, f);
      let meta: ReplicaMeta;
      try {
        meta = JSON.parse(readFileSync(path, 'utf8'));
      } catch {
        continue;
      }
      const files = filesFor(this.runDir, meta.namespace, meta.isvc, meta.ordinal);
      if (!isRuntimeProcess(meta.pid)) {
        for (const p of Object.values(files)) rmSync(p, { force: true });
        continue;
      }
      const key = `${meta.namespace}/${meta.isvc}`;
      const list = this.pendingAdoption.get(key) ?? [];
      list.push(meta);
      this.pendingAdoption.set(key, list);
    }
    // stale pid files without meta (e.g. from another tool): runtime processes only
    for (const f of readdirSync(this.runDir)) {
      if (!/^runtime-.*\.pid$/.test(f) || existsSync(join(this.runDir, f.replace(/\.pid$/, '.json')))) continue;
      const pid = Number(readFileSync(join(this.runDir, f), 'utf8').trim());
      if (pid && isRuntimeProcess(pid)) this.killOrphan(pid, `pid file ${f} without metadata`);
      rmSync(join(this.runDir, f), { force: true });
    }
  }

  private killOrphan(pid: number, why: string): void {
    this.log(`killing orphan runtime pid ${pid} (${why})`);
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

  private onIsvcSync(items: KObject[]): void {
    const live = new Map(items.map((o) => [keyOf(o), o]));
    for (const [key, metas] of this.pendingAdoption) {
      const obj = live.get(key);
      const keep = metas.filter((m) => obj && obj.metadata.uid === m.uid && !obj.metadata.deletionTimestamp);
      for (const m of metas) {
        if (!keep.includes(m)) {
          this.killOrphan(m.pid, `InferenceService ${key} (uid ${m.uid}) no longer exists`);
          for (const p of Object.values(filesFor(this.runDir, m.namespace, m.isvc, m.ordinal))) rmSync(p, { force: true });
        }
      }
      if (keep.length) this.pendingAdoption.set(key, keep);
      else this.pendingAdoption.delete(key);
    }
    // states whose object vanished while we were disconnected are handled by DELETED events from the relist
    if (!this.cleanedModels) {
      this.cleanedModels = true;
      this.removeStaleModelDirs(live);
    }
  }

  private cleanedModels = false;

  /** Staged models of InferenceServices deleted while no controller ran. */
  private removeStaleModelDirs(live: Map<string, KObject>): void {
    const root = join(this.opts.stateDir, 'models');
    if (!existsSync(root)) return;
    for (const ns of readdirSync(root)) {
      for (const name of readdirSync(join(root, ns))) {
        if (!live.has(`${ns}/${name}`)) {
          this.log(`removing staged models of deleted InferenceService ${ns}/${name}`);
          rmSync(join(root, ns, name), { recursive: true, force: true });
        }
      }
    }
  }

  private onPodEvent(type: string, pod: KObject): void {
    if (type !== 'DELETED' || this.stopping) return;
    const ns = pod.metadata.namespace ?? '';
    const isvc = pod.metadata.labels?.['serving.kserve.io/inferenceservice'];
    if (!isvc) return;
    const st = this.states.get(`${ns}/${isvc}`);
    if (!st) return;
    for (const rev of st.revisions.values()) {
      const r = rev.replicas.get(pod.metadata.name);
      if (r && !r.isStopping) {
        this.log(`pod ${ns}/${pod.metadata.name} was deleted externally; replacing its replica`);
        rev.replicas.delete(pod.metadata.name);
        void r.stop(5000).then(() => this.enqueue(st.key));
        this.updateRoute(st);
      }
    }
  }

  // ---------------------------------------------------------------- work queue

  enqueue(key: string): void {
    if (this.stopping) return;
    const q = this.queue.get(key);
    if (q?.running) {
      q.dirty = true;
      return;
    }
    const entry = { running: true, dirty: false, done: Promise.resolve() };
    this.queue.set(key, entry);
    entry.done = (async () => {
      do {
        entry.dirty = false;
        try {
          await this.reconcile(key);
        } catch (e) {
          this.log(`reconcile ${key} failed: ${(e as Error).stack ?? e}`);
          setTimeout(() => this.enqueue(key), 2000).unref();
        }
      } while (entry.dirty && !this.stopping);
      entry.running = false;
      this.queue.delete(key);
    })();
  }

  /** Resolves when no reconcile is pending (tests). */
  async idle(): Promise<void> {
    while (this.queue.size) await Promise.all([...this.queue.values()].map((q) => q.done));
  }

  private resync(): void {
    for (const key of this.informer.cache.keys()) this.enqueue(key);
    for (const key of this.states.keys()) if (!this.informer.cache.has(key)) this.enqueue(key);
    // pods of ours that are not backed by a replica (left by an earlier run)
    for (const pod of this.podInformer.cache.values()) {
      const ns = pod.metadata.namespace ?? '';
      const isvc = pod.metadata.labels?.['serving.kserve.io/inferenceservice'];
      const st = isvc ? this.states.get(`${ns}/${isvc}`) : undefined;
      const owned = st && [...st.revisions.values()].some((r) => r.replicas.has(pod.metadata.name));
      const managed = pod.metadata.labels?.['app.kubernetes.io/managed-by'] === COMPONENT;
      if (!owned && managed && (!st || st.adopted) && !this.pendingAdoption.has(`${ns}/${isvc}`)) {
        this.log(`deleting stale pod ${ns}/${pod.metadata.name}`);
        void this.kube.deletePod(ns, pod.metadata.name).catch(() => {});
      }
    }
  }

  // ---------------------------------------------------------------- reconcile

  private async reconcile(key: string): Promise<void> {
    if (this.stopping) return;
    const obj = this.informer.cache.get(key);
    let st = this.states.get(key);
    if (!obj || obj.metadata.deletionTimestamp) {
      if (st) await this.teardown(st);
      return;
    }
    if (st && st.uid !== obj.metadata.uid) {
      await this.teardown(st);
      st = undefined;
    }
    if (!st) {
      st = {
        key,
        namespace: obj.metadata.namespace ?? 'default',
        name: obj.metadata.name,
        uid: obj.metadata.uid ?? '',
        obj,
        revisions: new Map(),
        scaler: configFromIsvc(obj, this.defaults).config,
        nextOrdinal: 0,
        conditionTimes: new Map(),
        // a controller restart should not announce an already-Ready service again
        readyAnnounced: (obj.status?.conditions ?? []).some((c: { type?: string; status?: string }) => c.type === 'Ready' && c.status === 'True'),
        adopted: false,
      };
      this.states.set(key, st);
      this.updateRoute(st);
    }
    st.obj = obj;
    const gen = obj.metadata.generation ?? 1;
    const { config, warnings } = configFromIsvc(obj, this.defaults);
    st.scaler = config;
    if (warnings.length && st.warnedGeneration !== gen) {
      st.warnedGeneration = gen;
      void this.event(st, 'Warning', 'InvalidAutoscalingConfig', warnings.join('; '));
    }

    const spec = predictorSpec(obj);
    if ('reason' in spec) {
      this.setSpecFailure(st, gen, spec);
    } else if (st.latest === undefined || gen > st.latest) {
      try {
        resolveStorage(spec.storageUri, { stateDir: this.opts.stateDir, s3Root: this.opts.s3Root });
        if (st.specFailure) st.specFailure = undefined;
        this.createRevision(st, gen, spec);
      } catch (e) {
        if (!(e instanceof StorageError)) throw e;
        this.setSpecFailure(st, gen, { reason: e.reason, message: e.message, time: ts() });
      }
    } else if (st.specFailure && st.specFailure.generation <= (st.latest ?? 0)) {
      st.specFailure = undefined;
    }

    // replicas per revision
    for (const rev of st.revisions.values()) {
      if (rev.staging || !rev.modelDir) continue;
      const target = rev.generation === st.active || st.active === undefined ? rev.desired : rev.initialScale;
      await this.ensureReplicas(st, rev, target);
    }

    // traffic: move to the latest revision once it is ready
    const latest = st.latest !== undefined ? st.revisions.get(st.latest) : undefined;
    if (latest && st.active !== latest.generation) {
      const ready = this.readyCount(latest);
      const needed = st.active === undefined ? 1 : Math.max(1, latest.initialScale);
      if (ready >= needed) {
        const prev = st.active !== undefined ? st.revisions.get(st.active) : undefined;
        st.active = latest.generation;
        latest.desired = Math.max(latest.desired, latest.initialScale);
        this.autoscaler.reset(st.key);
        if (prev) void this.event(st, 'Normal', 'RolloutComplete', `revision ${latest.name} is ready and now receives 100% of traffic (was ${prev.name})`);
      }
    }
    // stop revisions that are neither serving nor the latest
    for (const rev of [...st.revisions.values()]) {
      if (rev.generation !== st.active && rev.generation !== st.latest) await this.teardownRevision(st, rev);
    }
    this.updateRoute(st);
    await this.writeStatus(st);
    this.cleanupPods(st);
  }

  private setSpecFailure(st: IsvcState, gen: number, f: Failure): void {
    const prev = st.specFailure;
    st.specFailure = { ...f, generation: gen };
    st.lastFailure = f;
    if (!prev || prev.generation !== gen || prev.message !== f.message) void this.event(st, 'Warning', f.reason, f.message);
  }

  private createRevision(st: IsvcState, gen: number, spec: PredictorSpec): void {
    const name = `${st.name}-predictor-${pad5(gen)}`;
    const active = st.active !== undefined ? st.revisions.get(st.active) : undefined;
    const cfg = st.scaler;
    const initial = Math.min(Math.max(cfg.minReplicas, 1, active ? active.desired : 0), cfg.maxReplicas);
    const res = spec.resources as { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
    const cpu = parseCpu(res.requests?.cpu) ?? parseCpu(res.limits?.cpu) ?? 1;
    const threads = Math.max(1, Math.min(cpus().length, Math.floor(cpu)));
    const memoryLimitBytes = parseMemory(res.limits?.memory);
    const rev: Revision = {
      name,
      generation: gen,
      storageUri: spec.storageUri,
      staging: true,
      replicas: new Map(),
      desired: initial,
      initialScale: initial,
      resources: spec.resources,
      threads,
      memoryLimitBytes,
    };
    st.revisions.set(gen, rev);
    st.latest = gen;
    const adoptable = (this.pendingAdoption.get(st.key) ?? []).filter((m) => m.generation === gen && m.uid === st.uid && existsSync(m.modelDir));
    if (adoptable.length) {
      this.pendingAdoption.delete(st.key);
      rev.modelDir = adoptable[0]!.modelDir;
      rev.staging = false;
      for (const m of adoptable) {
        const r = this.newReplica(st, rev, m.podName, m.ordinal);
        r.adopt(m.pid, m.startedAt);
        st.nextOrdinal = Math.max(st.nextOrdinal, m.ordinal + 1);
        if (!this.podInformer.cache.has(`${st.namespace}/${m.podName}`)) void this.createPodObject(st, rev, r);
      }
      rev.desired = Math.max(rev.desired, adoptable.length);
      st.adopted = true;
      this.log(`adopted ${adoptable.length} running replica(s) of ${st.key} revision ${name}`);
      this.enqueue(st.key);
      return;
    }
    for (const m of this.pendingAdoption.get(st.key) ?? []) {
      this.killOrphan(m.pid, `revision generation ${m.generation} of ${st.key} is not current`);
      for (const p of Object.values(filesFor(this.runDir, m.namespace, m.isvc, m.ordinal))) rmSync(p, { force: true });
    }
    this.pendingAdoption.delete(st.key);
    st.adopted = true;
    const dest = join(this.opts.stateDir, 'models', st.namespace, st.name, name);
    void this.event(st, 'Normal', 'RevisionCreated', `created revision ${name} (generation ${gen}) with ${initial} replica(s) for the onnx model at ${spec.storageUri}`);
    stageModel(spec.storageUri, { stateDir: this.opts.stateDir, s3Root: this.opts.s3Root }, dest).then(
      (dir) => {
        rev.modelDir = dir;
        rev.staging = false;
        this.enqueue(st.key);
      },
      (e) => {
        rev.staging = false;
        rev.failure = { reason: e instanceof StorageError ? e.reason : 'ModelLoadFailed', message: (e as Error).message, time: ts() };
        st.lastFailure = rev.failure;
        void this.event(st, 'Warning', rev.failure.reason, rev.failure.message);
        this.enqueue(st.key);
      },
    );
  }

  private readyCount(rev: Revision): number {
    let n = 0;
    for (const r of rev.replicas.values()) if (r.status.ready && !r.isStopping) n++;
    return n;
  }

  private newReplica(st: IsvcState, rev: Revision, podName: string, ordinal: number): Replica {
    const r = new Replica(
      {
        namespace: st.namespace,
        isvc: st.name,
        uid: st.uid,
        revision: rev.name,
        generation: rev.generation,
        ordinal,
        podName,
        modelName: st.name,
        modelDir: rev.modelDir!,
        threads: rev.threads,
        memoryLimitBytes: rev.memoryLimitBytes,
        logPath: join(this.opts.stateDir, 'logs', st.namespace, `${podName}.log`),
        runDir: this.runDir,
      },
      this.log,
    );
    rev.replicas.set(podName, r);
    let wasReady = false;
    let lastState = '';
    r.on('change', () => {
      this.syncPod(st, rev, r);
      if (r.status.ready && !wasReady) {
        wasReady = true;
        if (rev.failure) rev.failure = undefined;
        if (r.status.port) void this.kube.patchPodMetadata(st.namespace, podName, { annotations: { 'lab.mlv.io/port': String(r.status.port) } }).catch(() => {});
      }
      if (!r.status.ready) wasReady = false;
      const state = `${r.status.state}/${r.status.restartCount}`;
      if (state !== lastState) {
        lastState = state;
        if (r.status.state === 'running' && !r.isStopping && !r.adopted) void this.podEvent(st, podName, 'Normal', 'Started', `Started container kserve-container (pid ${r.pid})`);
      }
      this.updateRoute(st);
      this.enqueue(st.key);
    });
    r.on('exit', (_r: Replica, term: Termination) => {
      const before = r.status.failedBeforeReady && !r.status.everReady;
      const reason = term.reason === 'OOMKilled' ? 'OOMKilled' : before ? 'ModelLoadFailed' : 'RuntimeUnhealthy';
      const what = before ? `failed to load the model (exit code ${term.exitCode})` : `exited with code ${term.exitCode} (${term.reason})`;
      const f: Failure = { reason, message: `predictor pod ${podName} of revision ${rev.name} ${what}${term.message ? `: ${term.message}` : ''}`, location: podName, exitCode: term.exitCode, time: ts() };
      if (before) rev.failure = f;
      st.lastFailure = f;
      void this.event(st, 'Warning', reason, f.message);
      void this.podEvent(st, podName, 'Warning', 'BackOff', `Back-off restarting failed container kserve-container in pod ${podName}_${st.namespace}`);
    });
    return r;
  }

  private podObject(st: IsvcState, rev: Revision, r: Replica): Record<string, unknown> {
    const s = r.spec;
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: s.podName,
        namespace: st.namespace,
        labels: {
          'serving.kserve.io/inferenceservice': st.name,
          component: 'predictor',
          app: rev.name,
          'serving.knative.dev/service': `${st.name}-predictor`,
          'serving.knative.dev/configuration': `${st.name}-predictor`,
          'serving.knative.dev/revision': rev.name,
          'serving.knative.dev/configurationGeneration': String(rev.generation),
          'app.kubernetes.io/managed-by': COMPONENT,
        },
        annotations: {
          [LOG_PATH_ANNOTATION]: s.logPath,
          'lab.mlv.io/pid-file': r.files.pid,
          'lab.mlv.io/model-dir': s.modelDir,
          'internal.serving.kserve.io/storage-initializer-sourceuri': rev.storageUri,
          'lab.mlv.io/note': 'lab stand-in: this pod is a local onnxruntime-node process managed by lab/cloud/controller; the image is not pulled',
        },
        ownerReferences: [{ apiVersion: ISVC_API_VERSION, kind: 'InferenceService', name: st.name, uid: st.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        nodeName: NODE_NAME,
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 5,
        containers: [
          {
            name: 'kserve-container',
            image: IMAGE,
            command: [process.execPath, '--import', 'tsx', RUNTIME_MAIN],
            args: ['--model-name', s.modelName, '--model-dir', s.modelDir, '--listen', '127.0.0.1:0', '--ready-file', r.files.port, '--threads', String(s.threads)],
            workingDir: REPO_ROOT,
            env: [
              { name: 'STORAGE_URI', value: rev.storageUri },
              { name: 'K_REVISION', value: rev.name },
            ],
            resources: rev.resources,
            readinessProbe: { httpGet: { path: '/v2/health/ready', port: 0 }, periodSeconds: 1, failureThreshold: 3 },
          },
        ],
      },
    };
  }

  private async createPodObject(st: IsvcState, rev: Revision, r: Replica): Promise<boolean> {
    try {
      await this.kube.createPod(st.namespace, this.podObject(st, rev, r));
      return true;
    } catch (e) {
      if (httpCode(e) === 409) return true;
      this.log(`create pod ${st.namespace}/${r.spec.podName} failed: ${describeError(e)}`);
      return false;
    }
  }

  private async ensureReplicas(st: IsvcState, rev: Revision, target: number): Promise<void> {
    const live = [...rev.replicas.values()].filter((r) => !r.isStopping);
    if (live.length < target) {
      for (let i = live.length; i < target; i++) {
        const podName = `${st.name}-predictor-${randomBytes(4).toString('hex').slice(0, 5)}`;
        const r = this.newReplica(st, rev, podName, st.nextOrdinal++);
        if (!(await this.createPodObject(st, rev, r))) {
          rev.replicas.delete(podName);
          setTimeout(() => this.enqueue(st.key), 2000).unref();
          return;
        }
        r.start();
      }
    } else if (live.length > target) {
      // not-ready first, then the least busy
      const victims = live
        .sort((a, b) => Number(a.status.ready) - Number(b.status.ready) || this.router.upstreamInflight(st.namespace, st.name, a.spec.podName) - this.router.upstreamInflight(st.namespace, st.name, b.spec.podName))
        .slice(0, live.length - target);
      for (const v of victims) void this.stopReplica(st, rev, v);
    }
  }

  /** Drain (router first), stop the process, delete the pod. */
  private async stopReplica(st: IsvcState, rev: Revision, r: Replica): Promise<void> {
    if (r.isStopping) return;
    const stopP = (async () => {
      // take it out of the route, let in-flight requests finish
      r.draining = true;
      this.updateRoute(st);
      const deadline = Date.now() + 5000;
      while (this.router.upstreamInflight(st.namespace, st.name, r.spec.podName) > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      void this.podEvent(st, r.spec.podName, 'Normal', 'Killing', 'Stopping container kserve-container');
      await r.stop(5000);
    })();
    await stopP;
    rev.replicas.delete(r.spec.podName);
    this.podSync.delete(`${st.namespace}/${r.spec.podName}`);
    await this.kube.deletePod(st.namespace, r.spec.podName).catch((e) => this.log(`delete pod ${r.spec.podName}: ${describeError(e)}`));
    this.enqueue(st.key);
  }

  private async teardownRevision(st: IsvcState, rev: Revision): Promise<void> {
    st.revisions.delete(rev.generation);
    await Promise.all([...rev.replicas.values()].map((r) => this.stopReplica(st, rev, r)));
    if (rev.modelDir && rev.modelDir.startsWith(join(this.opts.stateDir, 'models'))) await rm(rev.modelDir, { recursive: true, force: true });
  }

  private async teardown(st: IsvcState): Promise<void> {
    this.log(`tearing down ${st.key}`);
    this.states.delete(st.key);
    this.router.removeRoute(st.namespace, st.name);
    this.autoscaler.reset(st.key);
    await Promise.all([...st.revisions.values()].map((rev) => this.teardownRevision(st, rev)));
    await rm(join(this.opts.stateDir, 'models', st.namespace, st.name), { recursive: true, force: true });
    this.recorder.forget(st.namespace, st.name);
  }

  private cleanupPods(st: IsvcState): void {
    if (!this.podInformer.hasSynced || this.pendingAdoption.has(st.key)) return;
    for (const pod of this.podInformer.cache.values()) {
      if (pod.metadata.namespace !== st.namespace || pod.metadata.labels?.['serving.kserve.io/inferenceservice'] !== st.name) continue;
      const owned = [...st.revisions.values()].some((r) => r.replicas.has(pod.metadata.name));
      const recent = Date.now() - Date.parse(String(pod.metadata.creationTimestamp ?? 0)) < 10_000;
      if (!owned && !recent && pod.metadata.labels?.['app.kubernetes.io/managed-by'] === COMPONENT) {
        this.log(`deleting stale pod ${st.namespace}/${pod.metadata.name}`);
        void this.kube.deletePod(st.namespace, pod.metadata.name).catch(() => {});
      }
    }
  }

  // ---------------------------------------------------------------- routing

  private updateRoute(st: IsvcState): void {
    if (!this.states.has(st.key)) return;
    const active = st.active !== undefined ? st.revisions.get(st.active) : undefined;
    const latest = st.latest !== undefined ? st.revisions.get(st.latest) : undefined;
    const serving = active ?? latest;
    const ups = serving
      ? [...serving.replicas.values()].filter((r) => r.status.ready && !r.isStopping && !r.draining && r.status.port).map((r) => ({ id: r.spec.podName, port: r.status.port! }))
      : [];
    const starting = serving ? [...serving.replicas.values()].some((r) => !r.isStopping && !r.status.ready && !r.status.failedBeforeReady) || serving.staging : false;
    const scaledToZero = !!active && active.desired === 0;
    const failure = serving?.failure ?? st.specFailure;
    this.router.setRoute(st.namespace, st.name, ups, {
      activating: !failure && (starting || scaledToZero || (!!active && this.readyCount(active) === 0 && active.desired > 0)),
      unavailableReason: failure ? `${failure.reason}: ${failure.message}` : undefined,
      onDemand: () => this.scaleFromZero(st),
    });
  }

  private scaleFromZero(st: IsvcState): void {
    const active = st.active !== undefined ? st.revisions.get(st.active) : undefined;
    if (!active || active.desired > 0) return;
    active.desired = Math.max(1, st.scaler.minReplicas);
    st.lastScale = `${ts()} 0->${active.desired} (request while scaled to zero)`;
    void this.event(st, 'Normal', 'ScaledUp', `scaled predictor revision ${active.name} from 0 to ${active.desired} replica(s): request arrived while scaled to zero`);
    this.enqueue(st.key);
  }

  // ---------------------------------------------------------------- autoscaling tick

  private tick(): void {
    if (this.stopping) return;
    const now = Date.now();
    for (const st of this.states.values()) {
      for (const rev of st.revisions.values()) for (const r of rev.replicas.values()) void r.probe();
      const rev = st.active !== undefined ? st.revisions.get(st.active) : undefined;
      if (!rev) {
        this.router.sample(st.namespace, st.name);
        continue;
      }
      const s = this.router.sample(st.namespace, st.name);
      const value = st.scaler.metric === 'rps' ? s.rps : s.concurrency;
      const current = rev.desired;
      const d = this.autoscaler.tick(st.key, { t: now, value }, current, st.scaler);
      if (d.desired !== current) {
        rev.desired = d.desired;
        const up = d.desired > current;
        const winS = st.scaler.stableWindowMs / 1000;
        const msg = `scaled predictor revision ${rev.name} from ${current} to ${d.desired} replica(s): average ${st.scaler.metric} ${d.average.toFixed(2)} over ${winS}s, target ${st.scaler.target} per replica (raw ${d.raw}, min ${st.scaler.minReplicas}, max ${st.scaler.maxReplicas})`;
        st.lastScale = `${ts()} ${current}->${d.desired} avg ${st.scaler.metric} ${d.average.toFixed(2)}`;
        void this.event(st, 'Normal', up ? 'ScaledUp' : 'ScaledDown', msg);
        this.enqueue(st.key);
      }
    }
  }

  // ---------------------------------------------------------------- status

  private condition(st: IsvcState, type: string, status: 'True' | 'False' | 'Unknown', reason?: string, message?: string): Record<string, string> {
    const prev = st.conditionTimes.get(type);
    let time = prev?.time;
    if (!prev || prev.status !== status) {
      time = ts();
      st.conditionTimes.set(type, { status, reason, time });
    }
    const c: Record<string, string> = { type, status, lastTransitionTime: time! };
    if (reason) c.reason = reason;
    if (message) c.message = message;
    return c;
  }

  private modelState(rev: Revision | undefined): 'Pending' | 'Loading' | 'Loaded' | 'FailedToLoad' {
    if (!rev) return 'Pending';
    if (this.readyCount(rev) > 0 || (rev.desired === 0 && !rev.failure)) return 'Loaded';
    if (rev.failure) return 'FailedToLoad';
    if (rev.staging || rev.replicas.size === 0) return 'Pending';
    return [...rev.replicas.values()].some((r) => r.status.state === 'running') ? 'Loading' : 'Pending';
  }

  computeStatus(st: IsvcState): Record<string, unknown> {
    const gen = st.obj.metadata.generation ?? 1;
    const active = st.active !== undefined ? st.revisions.get(st.active) : undefined;
    const latest = st.latest !== undefined ? st.revisions.get(st.latest) : undefined;
    const url = `https://${this.router.hostFor(st.namespace, st.name)}`;
    const predUrl = `https://${this.router.hostFor(st.namespace, st.name, true)}`;
    // the serving revision stays Ready while at zero or while replicas (re)start, unless they crash
    const crashLooping = (rev: Revision) => [...rev.replicas.values()].some((r) => !r.isStopping && r.status.state === 'waiting' && r.status.waitingReason === 'CrashLoopBackOff');
    const activeReady = !!active && (this.readyCount(active) > 0 || (!active.failure && !crashLooping(active)));
    const upToDate = !!latest && latest === active && latest.generation === gen && !st.specFailure;
    const failure: Failure | undefined = st.specFailure ?? latest?.failure ?? (active && !activeReady ? active.failure : undefined);

    let pred: Record<string, string>;
    if (failure) pred = this.condition(st, 'PredictorReady', 'False', failure.reason, failure.message);
    else if (activeReady && upToDate) pred = this.condition(st, 'PredictorReady', 'True');
    else if (activeReady) pred = this.condition(st, 'PredictorReady', 'Unknown', 'RolloutInProgress', `revision ${latest?.name ?? '?'} is loading; ${active!.name} keeps serving`);
    else if (active) pred = this.condition(st, 'PredictorReady', 'False', 'RuntimeUnhealthy', `no ready replica of revision ${active.name}`);
    else pred = this.condition(st, 'PredictorReady', 'Unknown', 'Deploying', latest ? `revision ${latest.name} is ${this.modelState(latest) === 'Pending' ? 'starting' : 'loading the model'}` : 'waiting for a revision');
    const ingress = active
      ? this.condition(st, 'IngressReady', 'True')
      : this.condition(st, 'IngressReady', 'False', 'PredictorIngressNotCreated', 'no ready predictor revision to route to yet');
    const ready =
      pred.status === 'True' && ingress.status === 'True'
        ? this.condition(st, 'Ready', 'True')
        : this.condition(st, 'Ready', pred.status !== 'True' ? (pred.status as 'False' | 'Unknown') : (ingress.status as 'False'), (pred.status !== 'True' ? pred : ingress).reason, (pred.status !== 'True' ? pred : ingress).message);

    const activeState = active ? (activeReady ? 'Loaded' : this.modelState(active)) : this.modelState(latest);
    const targetState = latest && latest !== active ? this.modelState(latest) : activeState;
    const transitionStatus = st.specFailure
      ? st.specFailure.reason === 'UnsupportedModelFormat' || st.specFailure.reason === 'InvalidPredictorSpec'
        ? 'InvalidSpec'
        : 'BlockedByFailedLoad'
      : latest?.failure
        ? 'BlockedByFailedLoad'
        : upToDate && activeReady
          ? 'UpToDate'
          : 'InProgress';
    const serving = active ?? latest;
    const replicas = serving ? [...serving.replicas.values()].filter((r) => !r.isStopping) : [];
    const modelStatus: Record<string, unknown> = {
      states: { activeModelState: activeState, targetModelState: targetState },
      transitionStatus,
      copies: { totalCopies: replicas.length, failedCopies: replicas.filter((r) => r.status.state !== 'running' && r.status.restartCount + (r.status.lastTermination ? 1 : 0) > 0).length },
    };
    if (st.lastFailure) {
      const lf: Record<string, unknown> = { reason: st.lastFailure.reason, message: st.lastFailure.message, time: st.lastFailure.time };
      if (st.lastFailure.location) lf.location = st.lastFailure.location;
      if (st.lastFailure.exitCode !== undefined) lf.exitCode = st.lastFailure.exitCode;
      modelStatus.lastFailureInfo = lf;
    }
    const predictor: Record<string, unknown> = { url: predUrl, address: { url: predUrl } };
    if (latest) predictor.latestCreatedRevision = latest.name;
    if (active) {
      predictor.latestReadyRevision = active.name;
      predictor.latestRolledoutRevision = active.name;
      predictor.traffic = [{ revisionName: active.name, percent: 100, latestRevision: active === latest }];
    }
    const cfg = st.scaler;
    const annotations: Record<string, string> = {
      'lab.mlv.io/replicas': String(serving?.desired ?? 0),
      'lab.mlv.io/ready-replicas': String(serving ? this.readyCount(serving) : 0),
      'lab.mlv.io/pods': replicas.map((r) => r.spec.podName).join(','),
      'autoscaling.lab.mlv.io/class': 'kpa.autoscaling.knative.dev',
      'autoscaling.lab.mlv.io/metric': cfg.metric,
      'autoscaling.lab.mlv.io/target': String(cfg.target),
      'autoscaling.lab.mlv.io/min-scale': String(cfg.minReplicas),
      'autoscaling.lab.mlv.io/max-scale': String(cfg.maxReplicas),
      'autoscaling.lab.mlv.io/window': `${cfg.stableWindowMs / 1000}s`,
      'autoscaling.lab.mlv.io/scale-down-delay': `${cfg.scaleDownDelayMs / 1000}s`,
    };
    if (st.lastScale) annotations['autoscaling.lab.mlv.io/last-scale'] = st.lastScale;
    const status: Record<string, unknown> = {
      observedGeneration: gen,
      conditions: [ingress, pred, ready],
      modelStatus,
      components: { predictor },
      annotations,
    };
    status.url = url;
    status.address = { url };
    return status;
  }

  private async writeStatus(st: IsvcState): Promise<void> {
    const status = this.computeStatus(st);
    const json = JSON.stringify(status);
    if (json === st.lastStatusJson) return;
    const wasReady = st.readyAnnounced;
    const isReady = (status.conditions as { type: string; status: string }[]).find((c) => c.type === 'Ready')?.status === 'True';
    try {
      await this.kube.patchIsvcStatus(st.namespace, st.name, status);
      st.lastStatusJson = json;
    } catch (e) {
      if (httpCode(e) === 404) return;
      throw new Error(`status patch ${st.key}: ${describeError(e)}`);
    }
    if (isReady && !wasReady) {
      st.readyAnnounced = true;
      void this.event(st, 'Normal', 'InferenceServiceReady', `InferenceService is ready at ${status.url}`);
    } else if (!isReady && wasReady) st.readyAnnounced = false;
  }

  private syncPod(st: IsvcState, rev: Revision, r: Replica): void {
    const key = `${st.namespace}/${r.spec.podName}`;
    const run = async () => {
      const status = this.podStatus(r);
      try {
        await this.kube.patchPodStatus(st.namespace, r.spec.podName, status);
      } catch (e) {
        if (httpCode(e) !== 404) this.log(`pod status ${key}: ${describeError(e)}`);
      }
    };
    let s = this.podSync.get(key);
    if (!s) {
      s = { busy: false };
      this.podSync.set(key, s);
    }
    const slot = s;
    if (slot.busy) {
      slot.next = run; // coalesce: only the latest state matters
      return;
    }
    slot.busy = true;
    void (async () => {
      let job: (() => Promise<void>) | undefined = run;
      while (job) {
        await job();
        job = slot.next;
        slot.next = undefined;
      }
      slot.busy = false;
    })();
    void rev;
  }

  private podTimes = new Map<string, Map<string, { status: string; time: string }>>();

  private podCondition(podName: string, type: string, status: boolean): Record<string, string> {
    let m = this.podTimes.get(podName);
    if (!m) this.podTimes.set(podName, (m = new Map()));
    const s = status ? 'True' : 'False';
    const prev = m.get(type);
    if (!prev || prev.status !== s) m.set(type, { status: s, time: ts() });
    return { type, status: s, lastTransitionTime: m.get(type)!.time };
  }

  podStatus(r: Replica): Record<string, unknown> {
    const s: ReplicaStatus = r.status;
    const name = r.spec.podName;
    const termToK8s = (t: Termination) => {
      const o: Record<string, unknown> = { exitCode: t.exitCode, reason: t.reason, startedAt: t.startedAt, finishedAt: t.finishedAt, containerID: `lab://${name}` };
      if (t.message) o.message = t.message;
      if (t.signal) o.signal = { SIGTERM: 15, SIGKILL: 9, SIGINT: 2 }[t.signal] ?? 0;
      return o;
    };
    let state: Record<string, unknown>;
    if (s.state === 'running') state = { running: { startedAt: s.startedAt } };
    else if (s.state === 'terminated' && s.lastTermination) state = { terminated: termToK8s(s.lastTermination) };
    else state = { waiting: { reason: s.waitingReason ?? 'ContainerCreating', ...(s.waitingMessage ? { message: s.waitingMessage } : {}) } };
    const started = s.started || s.restartCount > 0;
    const cs: Record<string, unknown> = {
      name: 'kserve-container',
      image: IMAGE,
      imageID: '',
      containerID: s.pid ? `lab://${s.pid}` : undefined,
      ready: s.ready,
      started: s.state === 'running',
      restartCount: s.restartCount,
      state,
      lastState: s.lastTermination && s.state !== 'terminated' ? { terminated: termToK8s(s.lastTermination) } : {},
    };
    if (!cs.containerID) delete cs.containerID;
    return {
      phase: s.state === 'terminated' ? (s.lastTermination?.exitCode === 0 ? 'Succeeded' : 'Failed') : started ? 'Running' : 'Pending',
      conditions: [
        this.podCondition(name, 'PodScheduled', true),
        this.podCondition(name, 'Initialized', true),
        this.podCondition(name, 'ContainersReady', s.ready),
        this.podCondition(name, 'Ready', s.ready),
      ],
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime: s.startedAt ?? ts(),
      containerStatuses: [cs],
    };
  }

  // ---------------------------------------------------------------- events

  private involved(st: IsvcState): InvolvedObject {
    return { apiVersion: ISVC_API_VERSION, kind: 'InferenceService', name: st.name, namespace: st.namespace, uid: st.uid };
  }

  private event(st: IsvcState, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    return this.recorder.record(this.involved(st), type, reason, message);
  }

  private podEvent(st: IsvcState, podName: string, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const pod = this.podInformer.cache.get(`${st.namespace}/${podName}`);
    return this.recorder.record({ apiVersion: 'v1', kind: 'Pod', name: podName, namespace: st.namespace, uid: pod?.metadata.uid }, type, reason, message);
  }

  // ---------------------------------------------------------------- introspection (tests, debugging)

  snapshot(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const st of this.states.values()) {
      out[st.key] = {
        active: st.active,
        latest: st.latest,
        revisions: [...st.revisions.values()].map((r) => ({
          name: r.name,
          desired: r.desired,
          failure: r.failure,
          replicas: [...r.replicas.values()].map((x) => ({ pod: x.spec.podName, pid: x.pid, ready: x.status.ready, state: x.status.state, restarts: x.status.restartCount })),
        })),
      };
    }
    return out;
  }

  /** pids of all runtime processes this controller runs. */
  pids(): number[] {
    const out: number[] = [];
    for (const st of this.states.values()) for (const rev of st.revisions.values()) for (const r of rev.replicas.values()) if (r.pid) out.push(r.pid);
    return out;
  }
}

export async function startController(opts: ControllerOptions): Promise<Controller> {
  const c = new Controller(opts);
  await c.start();
  return c;
}
