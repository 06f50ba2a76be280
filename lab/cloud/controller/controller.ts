/**
 * The lab's InferenceService controller: KServe "serverless" mode in
 * miniature. Watches serving.kserve.io/v1beta1 InferenceServices through the
 * Kubernetes API (only via @kubernetes/client-node), and for each one:
 *   - stages the model (storage-initializer stand-in, ./storage.ts),
 *   - runs predictor replicas as local runtime processes (./replica.ts) and
 *     mirrors each as a Pod object with real container state (./pods.ts),
 *   - routes https://<isvc>.<ns>.lab.mlv.io through the ingress (./router.ts),
 *   - autoscales KPA-style on in-flight requests (./autoscaler.ts),
 *   - writes KServe-shaped status (./status.ts: conditions, modelStatus,
 *     components) and Events.
 * A spec change (metadata.generation) creates a new revision (./revisions.ts);
 * traffic moves to it once its replicas are ready, then the old revision is
 * stopped. A failed new revision leaves the old one serving
 * (BlockedByFailedLoad). Runtime processes left by an earlier controller are
 * adopted or killed (./adoption.ts).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { deleteStalePodsOf, deleteUnbackedPods, dropOrphansOfDeleted, removeStaleModelDirs, scanPidFiles } from './adoption.ts';
import { Autoscaler, configFromIsvc, type ScalerDefaults } from './autoscaler.ts';
import { CertIssuer } from './certs.ts';
import { Informer, keyOf, type KObject } from './informer.ts';
import { EventRecorder, ISVC_API_VERSION, Kube, describeError, httpCode, type InvolvedObject } from './kube.ts';
import { PodStatusWriter } from './pods.ts';
import { predictorSpec, slowdownFromIsvc } from './predictor.ts';
import type { Replica, ReplicaMeta } from './replica.ts';
import { Scheduler } from './nodes.ts';
import { RuntimeInformers } from './runtime-catalog.ts';
import { createRevision, ensureReplicas, teardownRevision } from './revisions.ts';
import { IngressRouter } from './router.ts';
import { scrapeReplicas, ScrapeTargetsWriter, targetsFile } from './scrape-targets.ts';
import { computeStatus, readinessEvent, readyCount } from './status.ts';
import { StorageError, checkStorageUri } from './storage.ts';
import { activeRevision, latestRevision, ts, type ControllerHost, type ControllerOptions, type EventKind, type Failure, type IsvcState } from './types.ts';

export class Controller {
  readonly router: IngressRouter;
  readonly kube: Kube;
  readonly recorder: EventRecorder;
  readonly runDir: string;
  ingressPort = 0;
  private informer!: Informer<KObject>;
  private podInformer!: Informer<KObject>;
  private runtimes!: RuntimeInformers;
  private readonly states = new Map<string, IsvcState>();
  private readonly autoscaler = new Autoscaler();
  private readonly queue = new Map<string, { running: boolean; dirty: boolean; done: Promise<void> }>();
  private readonly pendingAdoption = new Map<string, ReplicaMeta[]>();
  private tickTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private stopping = false;
  private cleanedModels = false;
  private readonly log: (line: string) => void;
  private readonly defaults: ScalerDefaults;
  private readonly pods: PodStatusWriter;
  /** the lab Prometheus's file_sd targets: the running replicas' metrics endpoints */
  private readonly scrapeTargets: ScrapeTargetsWriter;
  /** this controller as its parts (revisions, adoption) see it */
  private readonly host: ControllerHost;

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
    this.pods = new PodStatusWriter(this.kube, this.log);
    this.scrapeTargets = new ScrapeTargetsWriter(targetsFile(opts.stateDir), this.log);
    this.host = {
      opts,
      runDir: this.runDir,
      kube: this.kube,
      router: this.router,
      log: this.log,
      pendingAdoption: this.pendingAdoption,
      enqueue: (key) => this.enqueue(key),
      updateRoute: (st) => this.updateRoute(st),
      event: (st, type, reason, message) => this.event(st, type, reason, message),
      podEvent: (st, podName, type, reason, message) => this.podEvent(st, podName, type, reason, message),
      hasPod: (key) => this.podInformer.cache.has(key),
      syncPod: (st, r) => this.pods.sync(st, r),
      forgetPod: (key) => this.pods.forget(key),
      scheduler: new Scheduler(),
    };
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    const { stateDir } = this.opts;
    mkdirSync(this.runDir, { recursive: true });
    await this.startIngress();
    scanPidFiles(this.host);
    await this.host.scheduler.start(this.kube, this.log);

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
    this.runtimes = new RuntimeInformers(this.kube, () => this.informer?.cache.forEach((o) => this.enqueue(keyOf(o))), this.log);
    await this.runtimes.start();
    await this.podInformer.start();
    await this.informer.start();
    this.tickTimer = setInterval(() => this.tick(), this.opts.tickMs ?? 1000);
    this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncMs ?? 30_000);
    this.log(`controller started (state ${stateDir}, run ${this.runDir}, window ${this.defaults.stableWindowMs} ms, scale-down delay ${this.defaults.scaleDownDelayMs} ms)`);
  }

  /** TLS for the lab domain, the router listening, and <stateDir>/ingress.json saying where. */
  private async startIngress(): Promise<void> {
    const { stateDir } = this.opts;
    const issuer = new CertIssuer({ caCert: join(stateDir, 'ca.crt'), caKey: join(stateDir, 'ca.key'), outDir: join(stateDir, 'ingress') });
    const tls = await issuer.issueDefault();
    const host = this.opts.ingressHost ?? '127.0.0.1';
    const addr = await this.router.listen(host, this.opts.ingressPort ?? 8443, { cert: tls.cert, key: tls.key, sni: (s) => issuer.sniContext(s) });
    this.ingressPort = addr.port;
    writeFileSync(
      join(stateDir, 'ingress.json'),
      JSON.stringify(
        {
          url: `https://${host}:${addr.port}`,
          host,
          port: addr.port,
          domain: this.router.domain,
          hostTemplate: `{name}.{namespace}.${this.router.domain}`,
          caFile: join(stateDir, 'ca.crt'),
          certFile: tls.certFile,
          controllerPid: process.pid,
        },
        null,
        2,
      ) + '\n',
    );
    this.log(`ingress listening on https://${host}:${addr.port} (Host: <isvc>.<namespace>.${this.router.domain})`);
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.tickTimer);
    clearInterval(this.resyncTimer);
    this.informer?.stop();
    this.podInformer?.stop();
    this.runtimes?.stop();
    this.host.scheduler.stop();
    const all: Promise<void>[] = [];
    for (const st of this.states.values()) for (const rev of st.revisions.values()) for (const r of rev.replicas.values()) all.push(r.stop(5000));
    await Promise.all(all);
    this.scrapeTargets.update([]);
    // best effort: tell the API the predictors are gone
    const updates: Promise<unknown>[] = [];
    for (const st of this.states.values()) {
      for (const rev of st.revisions.values()) for (const podName of rev.replicas.keys()) updates.push(this.kube.deletePod(st.namespace, podName).catch(() => {}));
      updates.push(
        this.kube
          .patchIsvcStatus(st.namespace, st.name, {
            conditions: ['IngressReady', 'PredictorReady', 'Ready'].map((type) => ({
              type,
              status: 'False',
              reason: 'ControllerStopped',
              message: 'the lab InferenceService controller stopped; predictor processes were stopped',
              lastTransitionTime: ts(),
            })),
          })
          .catch(() => {}),
      );
    }
    await Promise.race([Promise.all(updates), new Promise((r) => setTimeout(r, 3000))]);
    await this.router.close();
    this.log('controller stopped');
  }

  // ---------------------------------------------------------------- informer events

  private onIsvcSync(items: KObject[]): void {
    const live = new Map(items.map((o) => [keyOf(o), o]));
    dropOrphansOfDeleted(this.host, live);
    // states whose object vanished while we were disconnected are handled by DELETED events from the relist
    if (!this.cleanedModels) {
      this.cleanedModels = true;
      removeStaleModelDirs(this.host, live);
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
    deleteUnbackedPods(this.host, this.podInformer.cache.values(), this.states);
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
    st ??= this.newState(key, obj);
    st.obj = obj;
    this.applySpec(st, obj);

    // replicas per revision
    for (const rev of st.revisions.values()) {
      if (rev.staging || !rev.modelDir) continue;
      const target = rev.generation === st.active || st.active === undefined ? rev.desired : rev.initialScale;
      await ensureReplicas(this.host, st, rev, target);
    }
    this.moveTraffic(st);
    // stop revisions that are neither serving nor the latest
    for (const rev of [...st.revisions.values()]) {
      if (rev.generation !== st.active && rev.generation !== st.latest) await teardownRevision(this.host, st, rev);
    }
    this.updateRoute(st);
    await this.writeStatus(st);
    if (this.podInformer.hasSynced) deleteStalePodsOf(this.host, st, this.podInformer.cache.values());
  }

  private newState(key: string, obj: KObject): IsvcState {
    const st: IsvcState = {
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
    return st;
  }

  /** Autoscaling config, then the predictor: a new generation gets a revision, a bad spec a failure. */
  private applySpec(st: IsvcState, obj: KObject): void {
    const gen = obj.metadata.generation ?? 1;
    const { config, warnings } = configFromIsvc(obj, this.defaults);
    st.scaler = config;
    const slowdown = slowdownFromIsvc(obj);
    if ((warnings.length || slowdown.warning) && st.warnedGeneration !== gen) {
      st.warnedGeneration = gen;
      if (warnings.length) void this.event(st, 'Warning', 'InvalidAutoscalingConfig', warnings.join('; '));
      if (slowdown.warning) void this.event(st, 'Warning', 'InvalidLabAnnotation', slowdown.warning);
    }

    const spec = predictorSpec(obj, this.runtimes.catalog(st.namespace));
    if (!('reason' in spec)) spec.slowdown = slowdown.factor;
    if ('reason' in spec) {
      this.setSpecFailure(st, gen, spec);
    } else if (st.latest === undefined || gen > st.latest) {
      try {
        // the URI's form only (KServe's webhook); a missing model is the storage-initializer's error (./init-failure.ts)
        checkStorageUri(spec.storageUri, { stateDir: this.opts.stateDir });
        if (st.specFailure) st.specFailure = undefined;
        createRevision(this.host, st, gen, spec);
      } catch (e) {
        if (!(e instanceof StorageError)) throw e;
        this.setSpecFailure(st, gen, { reason: e.reason, message: e.message, time: ts() });
      }
    } else if (st.specFailure && st.specFailure.generation <= (st.latest ?? 0)) {
      st.specFailure = undefined;
    }
  }

  /**
   * Lab fault `rollout-unsafe` (lab/fault.sh; its marker beside the state dir): a broken rollout, for the
   * controls. Traffic moves to a new revision before any replica of it is ready, and no activator holds
   * the requests meanwhile: they get 503, as behind an ingress that routes to a revision too early.
   */
  private unsafeRollout(): boolean {
    return existsSync(join(dirname(this.opts.stateDir), 'faults', 'rollout-unsafe'));
  }

  /** Traffic moves to the latest revision once it is ready (at once under the rollout-unsafe fault). */
  private moveTraffic(st: IsvcState): void {
    const latest = latestRevision(st);
    if (!latest || st.active === latest.generation) return;
    const ready = readyCount(latest);
    const needed = this.unsafeRollout() && st.active !== undefined ? 0 : st.active === undefined ? 1 : Math.max(1, latest.initialScale);
    if (ready < needed) return;
    const prev = activeRevision(st);
    st.unsafeSwitch = !!prev && ready === 0;
    st.active = latest.generation;
    latest.desired = Math.max(latest.desired, latest.initialScale);
    this.autoscaler.reset(st.key);
    if (prev) void this.event(st, 'Normal', 'RolloutComplete', `revision ${latest.name} is ready and now receives 100% of traffic (was ${prev.name})`);
  }

  private setSpecFailure(st: IsvcState, gen: number, f: Failure): void {
    const prev = st.specFailure;
    st.specFailure = { ...f, generation: gen };
    st.lastFailure = f;
    if (!prev || prev.generation !== gen || prev.message !== f.message) void this.event(st, 'Warning', f.reason, f.message);
  }

  private async teardown(st: IsvcState): Promise<void> {
    this.log(`tearing down ${st.key}`);
    this.states.delete(st.key);
    this.router.removeRoute(st.namespace, st.name);
    this.autoscaler.reset(st.key);
    await Promise.all([...st.revisions.values()].map((rev) => teardownRevision(this.host, st, rev)));
    await rm(join(this.opts.stateDir, 'models', st.namespace, st.name), { recursive: true, force: true });
    this.recorder.forget(st.namespace, st.name);
  }

  // ---------------------------------------------------------------- routing

  private updateRoute(st: IsvcState): void {
    if (!this.states.has(st.key)) return;
    const active = activeRevision(st);
    const serving = active ?? latestRevision(st);
    const ups = serving ? [...serving.replicas.values()].filter((r) => r.status.ready && !r.isStopping && !r.draining && r.status.port).map((r) => ({ id: r.spec.podName, port: r.status.port! })) : [];
    const starting = serving ? [...serving.replicas.values()].some((r) => !r.isStopping && !r.status.ready && !r.status.failedBeforeReady) || serving.staging : false;
    const scaledToZero = !!active && active.desired === 0;
    const failure = serving?.failure ?? st.specFailure;
    if (ups.length) st.unsafeSwitch = false;
    const unsafeGap = !!st.unsafeSwitch; // no activator holds requests: 503 until a replica is ready
    this.router.setRoute(st.namespace, st.name, ups, {
      activating: !failure && !unsafeGap && (starting || scaledToZero || (!!active && readyCount(active) === 0 && active.desired > 0)),
      unavailableReason: failure ? `${failure.reason}: ${failure.message}` : undefined,
      onDemand: () => this.scaleFromZero(st),
    });
  }

  private scaleFromZero(st: IsvcState): void {
    const active = activeRevision(st);
    if (!active || active.desired > 0) return;
    active.desired = Math.max(1, st.scaler.minReplicas);
    st.lastScale = `${ts()} 0->${active.desired} (request while scaled to zero)`;
    void this.event(st, 'Normal', 'ScaledUp', `scaled predictor revision ${active.name} from 0 to ${active.desired} replica(s): request arrived while scaled to zero`);
    this.enqueue(st.key);
  }

  // ---------------------------------------------------------------- autoscaling tick

  private tick(): void {
    if (this.stopping) return;
    this.scrapeTargets.update(scrapeReplicas(this.states.values()));
    const now = Date.now();
    for (const st of this.states.values()) {
      for (const rev of st.revisions.values()) for (const r of rev.replicas.values()) void r.probe();
      const rev = activeRevision(st);
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

  computeStatus(st: IsvcState): Record<string, unknown> {
    return computeStatus(st, {
      url: `https://${this.router.hostFor(st.namespace, st.name)}`,
      predictorUrl: `https://${this.router.hostFor(st.namespace, st.name, true)}`,
    });
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
    const e = readinessEvent(st.name, status.conditions as { type: string; status: string }[], wasReady);
    if (e) void this.event(st, e.type, e.reason, e.message);
    st.readyAnnounced = isReady;
  }

  podStatus(r: Replica): Record<string, unknown> {
    return this.pods.status(r);
  }

  // ---------------------------------------------------------------- events

  private involved(st: IsvcState): InvolvedObject {
    return { apiVersion: ISVC_API_VERSION, kind: 'InferenceService', name: st.name, namespace: st.namespace, uid: st.uid };
  }

  private event(st: IsvcState, type: EventKind, reason: string, message: string): Promise<void> {
    return this.recorder.record(this.involved(st), type, reason, message);
  }

  private podEvent(st: IsvcState, podName: string, type: EventKind, reason: string, message: string): Promise<void> {
    const pod = this.podInformer.cache.get(`${st.namespace}/${podName}`);
    return this.recorder.record({ apiVersion: 'v1', kind: 'Pod', name: podName, namespace: st.namespace, uid: pod?.metadata.uid }, type, reason, message);
  }

  // ---------------------------------------------------------------- introspection (tests)

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
