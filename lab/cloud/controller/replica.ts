/**
 * One predictor replica = one runtime process (lab/cloud/runtime/main.ts),
 * the lab's kubelet + container runtime in miniature: spawn with its log
 * file as stdout/stderr, pid files for lab teardown and orphan cleanup,
 * readiness from the ready file plus an HTTP probe, restart with exponential
 * back-off when it exits (CrashLoopBackOff), memory-limit enforcement
 * (OOMKilled), graceful stop (SIGTERM, then SIGKILL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, existsSync, openSync, readFileSync, readSync, fstatSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import type { RuntimeFlavor } from './types.ts';

export const REPO_ROOT = join(import.meta.dirname, '../../..');
export const RUNTIME_MAIN = join(REPO_ROOT, 'lab/cloud/runtime/main.ts');
/** The Hugging Face-like runtime (lab/cloud/runtime-hf) and the lab LLM venv's python that runs it (lab/llm/build.sh). */
export const HF_RUNTIME_MAIN = join(REPO_ROOT, 'lab/cloud/runtime-hf/main.py');
export const HF_PYTHON = process.env.LAB_LLM_PYTHON ?? '/srv/mlops-lab/shared/venvs/llm/bin/python';
/** like the kubelet's; the runtime leaves these out of its access log */
const PROBE_UA = 'kube-probe/1.32';

interface ReplicaSpec {
  namespace: string;
  isvc: string;
  uid: string;
  revision: string;
  generation: number;
  ordinal: number;
  podName: string;
  /** the node the scheduler placed it on (./nodes.ts); absent = lab-cloud-node */
  nodeName?: string;
  modelName: string;
  modelDir: string;
  threads: number;
  memoryLimitBytes?: number;
  /** the runtime's --slowdown (lab fault knob; 1 = none) */
  slowdown: number;
  /** the lab runtime process: triton (Triton-like), python (KServe Python server-like), huggingface (runtime-hf) */
  runtime: RuntimeFlavor;
  logPath: string;
  runDir: string;
}

export interface Termination {
  exitCode: number;
  signal?: string;
  reason: string; // Error | Completed | OOMKilled
  message?: string;
  startedAt: string;
  finishedAt: string;
}

export interface ReplicaStatus {
  state: 'waiting' | 'running' | 'terminated';
  waitingReason?: string;
  waitingMessage?: string;
  ready: boolean;
  started: boolean;
  startedAt?: string;
  restartCount: number;
  lastTermination?: Termination;
  port?: number;
  /** the runtime's metrics listener (the ready file's second line; Triton-like runtimes only) */
  metricsPort?: number;
  pid?: number;
  /** terminated at least once before ever becoming ready (load failure) */
  failedBeforeReady: boolean;
  everReady: boolean;
}

/** Meta file written next to the pid file: the replica's identity (its spec without run-time knobs) and who started it. */
export type ReplicaMeta = Omit<ReplicaSpec, 'threads' | 'memoryLimitBytes' | 'slowdown' | 'runtime' | 'runDir'> & {
  pid: number;
  startedAt: string;
  controllerPid: number;
};

/** The runtime's arguments (after its script) for a replica; also the Pod's container args. */
export function runtimeArgs(s: Pick<ReplicaSpec, 'modelName' | 'modelDir' | 'threads' | 'slowdown'> & Partial<Pick<ReplicaSpec, 'runtime'>>, readyFile: string): string[] {
  // runtime-hf/main.py: the same ready file (the port, one line), a free port; no slowdown knob
  if (s.runtime === 'huggingface') return ['--model-name', s.modelName, '--model-dir', s.modelDir, '--port', '0', '--ready-file', readyFile, '--threads', String(s.threads)];
  const args = ['--runtime', s.runtime ?? 'python', '--model-name', s.modelName, '--model-dir', s.modelDir, '--listen', '127.0.0.1:0', '--ready-file', readyFile, '--threads', String(s.threads)];
  // Triton's latency summaries (nv_inference_request_summary_us), off by default in tritonserver: the lab's runtime enables them
  if (s.runtime === 'triton') args.push('--metrics-config', 'summary_latencies=true');
  if (s.slowdown > 1) args.push('--slowdown', String(s.slowdown));
  return args;
}

/** The runtime's executable and the arguments before runtimeArgs (the Pod's container command). */
export function runtimeCommand(runtime: RuntimeFlavor | undefined): string[] {
  return runtime === 'huggingface' ? [HF_PYTHON, HF_RUNTIME_MAIN] : [process.execPath, '--import', 'tsx', RUNTIME_MAIN];
}

export function filesFor(runDir: string, namespace: string, isvc: string, ordinal: number): { pid: string; meta: string; port: string } {
  const base = join(runDir, `runtime-${namespace}-${isvc}-${ordinal}`);
  return { pid: `${base}.pid`, meta: `${base}.json`, port: `${base}.port` };
}

/** Is `pid` alive and a lab runtime process? (guards against pid reuse) */
export function isRuntimeProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('lab/cloud/runtime/main.ts') || cmd.includes('lab/cloud/runtime-hf/main.py');
  } catch {
    return false;
  }
}

function rssBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The most useful recent log line(s) for a termination message. */
function logTail(path: string, maxBytes = 4096): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    // without the runtime's timestamp prefix, so repeated failures read (and aggregate) the same
    const lines = buf
      .toString('utf8')
      .split('\n')
      .map((l) => l.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, ''))
      .filter((l) => l.trim());
    const fatal = lines.filter((l) => /FATAL/.test(l));
    const errors = lines.filter((l) => /Error|error/.test(l));
    return (fatal.length ? fatal.slice(-1) : errors.length ? errors.slice(-2) : lines.slice(-3)).join('\n').slice(0, 1024);
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

function probeReady(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/v2/health/ready', timeout: timeoutMs, agent: false, headers: { 'user-agent': PROBE_UA } }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export class Replica extends EventEmitter {
  private child?: ChildProcess;
  /** pid of an adopted process (not our child) */
  private adoptedPid?: number;
  private stopping = false;
  private stopped = false;
  private restartTimer?: NodeJS.Timeout;
  private readyPoll?: NodeJS.Timeout;
  private probeFailures = 0;
  private probing = false;
  private runningSince = 0;
  readonly files: { pid: string; meta: string; port: string };
  /** taken out of the route ahead of a stop */
  draining = false;
  /** the current process was adopted from a previous controller, not spawned */
  adopted = false;
  status: ReplicaStatus = { state: 'waiting', waitingReason: 'ContainerCreating', ready: false, started: false, restartCount: 0, failedBeforeReady: false, everReady: false };

  constructor(
    readonly spec: ReplicaSpec,
    private readonly log: (line: string) => void = () => {},
  ) {
    super();
    this.files = filesFor(spec.runDir, spec.namespace, spec.isvc, spec.ordinal);
  }

  get pid(): number | undefined {
    return this.child?.pid ?? this.adoptedPid;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  private changed(): void {
    this.emit('change', this);
  }

  start(): void {
    if (this.stopping) return;
    const s = this.spec;
    mkdirSync(dirname(s.logPath), { recursive: true });
    mkdirSync(s.runDir, { recursive: true });
    rmSync(this.files.port, { force: true });
    const out = openSync(s.logPath, 'a');
    const [exe, ...pre] = runtimeCommand(s.runtime);
    const args = [...pre, ...runtimeArgs(s, this.files.port)];
    let child: ChildProcess;
    try {
      child = spawn(exe!, args, { cwd: REPO_ROOT, stdio: ['ignore', out, out], env: { ...process.env, LAB_POD_NAME: s.podName, LAB_POD_NAMESPACE: s.namespace } });
    } finally {
      closeSync(out);
    }
    this.child = child;
    this.adoptedPid = undefined;
    this.adopted = false;
    const startedAt = now();
    this.runningSince = Date.now();
    this.status = {
      ...this.status,
      state: 'running',
      waitingReason: undefined,
      waitingMessage: undefined,
      ready: false,
      started: true,
      startedAt,
      port: undefined,
      metricsPort: undefined,
      pid: child.pid,
    };
    if (child.pid) {
      writeFileSync(this.files.pid, `${child.pid}\n`);
      const { threads: _threads, memoryLimitBytes: _memory, slowdown: _slowdown, runtime: _runtime, runDir: _runDir, ...identity } = s;
      const meta: ReplicaMeta = { pid: child.pid, ...identity, startedAt, controllerPid: process.pid };
      writeFileSync(this.files.meta, JSON.stringify(meta, null, 2) + '\n');
    }
    this.log(`replica ${s.podName}: started pid ${child.pid}`);
    child.once('error', (e) => this.log(`replica ${s.podName}: spawn error ${e.message}`));
    child.once('exit', (code, signal) => this.onExit(code, signal));
    this.watchReadyFile();
    this.changed();
  }

  /** Take over a runtime process left by a previous controller. */
  adopt(pid: number, startedAt: string): void {
    this.adoptedPid = pid;
    this.adopted = true;
    this.runningSince = Date.parse(startedAt) || Date.now();
    this.status = { ...this.status, state: 'running', waitingReason: undefined, ready: false, started: true, startedAt, pid };
    this.log(`replica ${this.spec.podName}: adopted pid ${pid}`);
    this.watchReadyFile();
    this.changed();
  }

  private watchReadyFile(): void {
    clearInterval(this.readyPoll);
    this.readyPoll = setInterval(() => {
      if (this.stopping || this.status.state !== 'running') return clearInterval(this.readyPoll);
      if (!existsSync(this.files.port)) return;
      const [port, metricsPort] = readFileSync(this.files.port, 'utf8').split('\n').map(Number);
      if (!port) return;
      clearInterval(this.readyPoll);
      this.status.port = port;
      this.status.metricsPort = metricsPort || undefined;
      void this.probe();
    }, 50);
  }

  /** Readiness probe (+ OOM and liveness of adopted pids). Called by the controller tick. */
  async probe(): Promise<void> {
    if (this.probing || this.stopping || this.status.state !== 'running') return;
    const pid = this.pid;
    if (this.adoptedPid && !isRuntimeProcess(this.adoptedPid)) {
      this.onExit(null, null, 'adopted process exited; exit status unknown');
      return;
    }
    if (pid && this.spec.memoryLimitBytes) {
      const rss = rssBytes(pid);
      if (rss !== undefined && rss > this.spec.memoryLimitBytes) {
        this.log(`replica ${this.spec.podName}: RSS ${rss} > limit ${this.spec.memoryLimitBytes}: OOMKilled`);
        this.oomKilled = `memory limit exceeded: RSS ${Math.round(rss / 2 ** 20)}Mi > limits.memory ${Math.round(this.spec.memoryLimitBytes / 2 ** 20)}Mi`;
        this.kill('SIGKILL');
        return;
      }
    }
    if (!this.status.port) return;
    this.probing = true;
    const ok = await probeReady(this.status.port);
    this.probing = false;
    if (this.stopping || this.status.state !== 'running') return;
    if (ok) {
      this.probeFailures = 0;
      if (!this.status.ready) {
        this.status.ready = true;
        this.status.everReady = true;
        this.log(`replica ${this.spec.podName}: ready on port ${this.status.port}`);
        this.changed();
      }
    } else if (++this.probeFailures >= 3 && this.status.ready) {
      this.status.ready = false;
      this.log(`replica ${this.spec.podName}: readiness probe failed 3 times`);
      this.emit('unhealthy', this);
      this.changed();
    } else if (!this.status.ready) {
      // still loading
    }
  }

  private oomKilled: string | undefined;

  private kill(sig: NodeJS.Signals): void {
    const pid = this.pid;
    if (!pid) return;
    try {
      if (this.child) this.child.kill(sig);
      else process.kill(pid, sig);
    } catch {
      // gone already
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null, note?: string): void {
    clearInterval(this.readyPoll);
    const finishedAt = now();
    const oom = this.oomKilled;
    this.oomKilled = undefined;
    const exitCode = oom ? 137 : (code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 1) : 255));
    const term: Termination = {
      exitCode,
      signal: signal ?? undefined,
      reason: oom ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error',
      message: note ?? oom ?? (signal ? `terminated by signal ${signal}` : exitCode !== 0 ? logTail(this.spec.logPath) || undefined : undefined),
      startedAt: this.status.startedAt ?? finishedAt,
      finishedAt,
    };
    this.child = undefined;
    this.adoptedPid = undefined;
    if (this.stopping) {
      this.status = { ...this.status, state: 'terminated', ready: false, lastTermination: term, port: undefined, metricsPort: undefined, pid: undefined };
      this.changed();
      return;
    }
    const failedBeforeReady = !this.status.ready && !this.status.everReady ? true : this.status.failedBeforeReady;
    // back-off: 1 s, 2 s, 4 s ... 30 s; reset after a minute of running
    if (Date.now() - this.runningSince > 60_000) this.status.restartCount = 0;
    const backoff = Math.min(30_000, 1000 * 2 ** Math.min(5, this.status.restartCount));
    this.log(`replica ${this.spec.podName}: exited code=${code} signal=${signal} (${term.reason}); restart in ${backoff} ms`);
    this.status = {
      ...this.status,
      state: 'waiting',
      waitingReason: 'CrashLoopBackOff',
      waitingMessage: `back-off ${Math.round(backoff / 1000)}s restarting failed container=kserve-container pod=${this.spec.podName}_${this.spec.namespace}`,
      ready: false,
      lastTermination: term,
      port: undefined,
      metricsPort: undefined,
      pid: undefined,
      failedBeforeReady,
    };
    this.emit('exit', this, term);
    this.changed();
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.status.restartCount++;
      this.start();
    }, backoff);
  }

  /** Stop for good: SIGTERM, SIGKILL after graceMs; removes the pid files. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopping = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.readyPoll);
    const pid = this.pid;
    if (pid) {
      const gone = (): boolean => (this.child ? this.child.exitCode !== null || this.child.signalCode !== null : !isRuntimeProcess(pid));
      const exited = this.child ? new Promise<void>((r) => this.child!.once('exit', () => r())) : undefined;
      this.kill('SIGTERM');
      const deadline = Date.now() + graceMs;
      while (!gone() && Date.now() < deadline) {
        await Promise.race([exited ?? new Promise((r) => setTimeout(r, 50)), new Promise((r) => setTimeout(r, 50))]);
      }
      if (!gone()) {
        this.kill('SIGKILL');
        const hard = Date.now() + 2000;
        while (!gone() && Date.now() < hard) await new Promise((r) => setTimeout(r, 20));
      }
      if (!this.child && this.adoptedPid) this.onExit(0, 'SIGTERM');
    }
    this.status = { ...this.status, state: 'terminated', ready: false };
    for (const f of Object.values(this.files)) rmSync(f, { force: true });
    this.stopped = true;
  }
}
