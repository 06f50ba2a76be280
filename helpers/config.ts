/**
 * Target configuration: a `.env` (or the lab's generated target.env) parsed into one typed
 * `Target` with an HPC side, a cloud side, or both. Every problem is collected and reported
 * at once, each naming its field and its fix; secret values are never echoed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { extname, resolve } from 'node:path';
import SSHConfig from 'ssh-config';
import type { z } from 'zod';
import { badCharacter, fileProblem, readDotenv, show, showPath, unknownKeyProblems, type FileKind } from './config-checks.ts';
import { parseMlflow, parseObjectStore, type MlflowTarget, type ObjectStoreTarget } from './config-e2e.ts';
import { parseOumi, type OumiTarget } from './config-oumi.ts';
import { ConfigError } from './errors.ts';
import { redact, redactWords } from './redact.ts';
import { splitWords } from './shell.ts';
import {
  CAPABILITIES,
  CLOUD_KEYS,
  FIXES,
  HPC_KEYS,
  HPC_REQUIRED,
  MAX_VALUE_LENGTH,
  RawSchema,
  RUNNER_VARS,
  SECRET_FIELDS,
  STANDARD_KEYS,
  validPort,
  type Capability,
  type Raw,
} from './config-schema.ts';

export { CAPABILITIES, type Capability };
export const LAB_TARGET_FILE = '/var/lib/mlops-lab/target.env';

export interface SshTarget {
  host: string;
  /** The name the user wrote: an IP, DNS name or ~/.ssh/config alias. */
  alias: string;
  port: number;
  user: string;
  keyPath?: string;
  passphrase?: string;
  agent?: string;
  jump?: { host: string; port: number; user: string };
  knownHostsPath: string;
  hostKeyCheck: 'strict' | 'accept-new' | 'off';
}

export interface HpcTarget {
  ssh: SshTarget;
  slurm: { partition: string; account?: string };
  sharedRoot: string;
  datasetDir: string;
  runtimePrefix: string[];
  python: string;
  gpusPerNode: number;
  /** nvidia: real GPUs, training must use CUDA; fake: stand-in GRES devices (the lab), CUDA checks are N/A. */
  gpuKind: 'nvidia' | 'fake';
  nodeCount: number;
  jobTimeScale: number;
  /** The node sweep: at most this many node-check jobs queued at once. */
  sweepConcurrency: number;
  /** Scheduler poll interval, backing off from min to max while nothing changes. */
  poll: { minMs: number; maxMs: number };
  oumi: OumiTarget;
}

export interface CloudTarget {
  kubeconfig?: string;
  context?: string;
  /** MLV_KUBE_NAMESPACE: run in this existing namespace (it holds the site's claims, secrets); no per-run namespace is made. */
  namespace?: string;
  /** MLV_KUBE_MODEL_NAMESPACE: where the claims of pvc:// model URIs live; each per-run namespace gets a claim bound to a copy of their volumes. */
  modelNamespace?: string;
  ingressUrl?: string;
  caPath?: string;
  token?: string;
  /** MLV_INFERENCE_TOKEN_OVER_HTTP=yes: the token may go over plain http. */
  tokenOverHttp?: boolean;
  prometheusUrl?: string;
  /** storageUri of the MNIST ONNX model (MLOPS-4.1). */
  mnistModelUri?: string;
  /** storageUri of a Hugging Face text-generation model (MLOPS-4.2). */
  llmModelUri?: string;
}

export interface Target {
  name: string;
  source: string;
  capabilities: Capability[];
  references: string;
  /** How many tests may run at once (MLV_WORKERS). */
  workers: number;
  /** MLV_KEEP_ON_FAILURE: how long a failed test's resources are kept for post-mortem, in seconds. */
  keepOnFailureSeconds?: number;
  hpc?: HpcTarget;
  cloud?: CloudTarget;
  /** The e2e side's MLflow server (MLFLOW_TRACKING_URI). */
  mlflow?: MlflowTarget;
  /** The object store the e2e side syncs models to (MLV_S3_BUCKET). */
  objectStore?: ObjectStoreTarget;
}
export type { MlflowTarget, ObjectStoreTarget };

export type Side = 'hpc' | 'cloud';

/** What a side needs, for the message when a project's side is not configured. */
export const SIDE_SETTINGS: Record<Side, string> = {
  hpc: 'MLV_SSH_HOST, MLV_SLURM_PARTITION and MLV_SHARED_ROOT (SSH login and SLURM; see .env.example)',
  cloud: 'MLV_KUBECONFIG or MLV_KUBE_CONTEXT, and "kserve" in MLV_CAPABILITIES (Kubernetes and KServe; see .env.example)',
};

/** Add a problem when `path` (of `field`) is not a readable file (or socket). */
function checkPath(field: string, path: string, kind: FileKind, problems: string[], extra = ''): boolean {
  const why = fileProblem(path, kind);
  if (why) problems.push(`${field} points to ${showPath(path)}, ${why}${extra}. Fix: ${FIXES[field] ?? 'see .env.example'}.`);
  return !why;
}

const expandHome = (p: string) => (p.startsWith('~/') ? resolve(homedir(), p.slice(2)) : p);
const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

interface AliasInfo {
  HostName?: string;
  Port?: string;
  User?: string;
  IdentityFile?: string | string[];
  ProxyJump?: string;
  UserKnownHostsFile?: string | string[];
}

function lookupSshConfig(alias: string, configPath: string): AliasInfo {
  if (!existsSync(configPath)) return {};
  const why = fileProblem(configPath, 'file');
  if (why) throw new Error(why);
  return SSHConfig.parse(readFileSync(configPath, 'utf8')).compute(alias) as AliasInfo;
}

/** Why a value cannot be taken at all (invisible characters, huge), before its field's own rules. */
function unusable(value: string): string | undefined {
  const bad = badCharacter(value);
  if (bad) return `must not hold ${bad}`;
  if (value.length > MAX_VALUE_LENGTH) return `is too long (${value.length} characters, at most ${MAX_VALUE_LENGTH})`;
  return undefined;
}

/** Field by field, so that every problem is reported at once (one per field). */
function parseFields(vars: Record<string, string | undefined>, problems: string[]): Raw {
  const parsed: Record<string, unknown> = {};
  const secrets = [...SECRET_FIELDS].map((k) => vars[k]);
  for (const [field, schema] of Object.entries(RawSchema.shape)) {
    const got = vars[field];
    const early = got === undefined ? undefined : unusable(got);
    const r = early ? undefined : (schema as z.ZodType).safeParse(got);
    if (r?.success) {
      parsed[field] = r.data;
      continue;
    }
    // A value over several lines may hold other lines of the file (an open quote): never echo it.
    const hidden = SECRET_FIELDS.has(field) ? 'a value (hidden)' : got?.includes('\n') ? `a value of ${got.split('\n').length} lines (hidden)` : undefined;
    const shown = got === undefined ? 'it is missing' : `got ${hidden ?? show(got, secrets)}`;
    const message = got === undefined ? 'is required' : (early ?? r?.error.issues[0]?.message);
    problems.push(`${field} ${message} (${shown}). Fix: ${FIXES[field] ?? 'see .env.example'}.`);
  }
  return parsed as Raw;
}

function parseSsh(raw: Raw, problems: string[]): SshTarget {
  const host = raw.MLV_SSH_HOST ?? '';
  const sshConfigPath = expandHome(raw.MLV_SSH_CONFIG ?? '~/.ssh/config');
  let alias: AliasInfo = {};
  try {
    if (host) alias = lookupSshConfig(host, sshConfigPath);
  } catch (e) {
    problems.push(
      `MLV_SSH_CONFIG points to ${showPath(sshConfigPath)}, which could not be read as an ssh config (${show((e as Error).message)}). Fix: correct that file or point MLV_SSH_CONFIG elsewhere.`,
    );
  }
  const port = raw.MLV_SSH_PORT ?? (alias.Port ? Number(alias.Port) : 22);
  if (raw.MLV_SSH_PORT === undefined && alias.Port && !validPort(alias.Port))
    problems.push(
      `MLV_SSH_PORT is not set and the Port of this host in ${showPath(sshConfigPath)} is not from 1 to 65535 (got ${show(alias.Port)}). Fix: ${FIXES.MLV_SSH_PORT}, or correct the ssh config.`,
    );
  const user = raw.MLV_SSH_USER ?? alias.User;
  if (!user && !problems.some((p) => p.startsWith('MLV_SSH_USER')))
    problems.push(`MLV_SSH_USER is required (it is missing and no User is set for this host in ${sshConfigPath}). Fix: ${FIXES.MLV_SSH_USER}.`);

  const identity = first(alias.IdentityFile);
  const keyPath = raw.MLV_SSH_KEY ? expandHome(raw.MLV_SSH_KEY) : identity ? expandHome(identity) : undefined;
  const agent = raw.MLV_SSH_AGENT ?? process.env.SSH_AUTH_SOCK;
  if (keyPath) checkPath('MLV_SSH_KEY', keyPath, 'file', problems);
  if (!keyPath && !agent) problems.push(`MLV_SSH_KEY is missing and no ssh-agent is available. Fix: ${FIXES.MLV_SSH_KEY}.`);
  if (raw.MLV_SSH_AGENT) checkPath('MLV_SSH_AGENT', expandHome(raw.MLV_SSH_AGENT), 'socket', problems);

  const knownHostsPath = expandHome(raw.MLV_SSH_KNOWN_HOSTS ?? first(alias.UserKnownHostsFile) ?? '~/.ssh/known_hosts');
  const hostKeyCheck = raw.MLV_SSH_HOST_KEY_CHECK ?? 'strict';
  // accept-new may create the file; whatever is there must be a readable file.
  if (hostKeyCheck === 'strict' || existsSync(knownHostsPath)) checkPath('MLV_SSH_KNOWN_HOSTS', knownHostsPath, 'file', problems, hostKeyCheck === 'strict' ? ', and host key checking is strict' : '');

  let jump: SshTarget['jump'];
  const jumpSpec = raw.MLV_SSH_JUMP ?? alias.ProxyJump;
  if (jumpSpec) {
    const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(jumpSpec);
    if (!m?.[2] || (m[3] !== undefined && !validPort(m[3])))
      problems.push(`MLV_SSH_JUMP must look like [user@]host[:port] with a port from 1 to 65535 (got ${show(jumpSpec)}). Fix: ${FIXES.MLV_SSH_JUMP}.`);
    else {
      let jAlias: AliasInfo = {};
      try {
        jAlias = lookupSshConfig(m[2], sshConfigPath);
      } catch {
        // already reported as an MLV_SSH_CONFIG problem
      }
      jump = { host: jAlias.HostName ?? m[2], port: Number(m[3] ?? jAlias.Port ?? 22), user: m[1] ?? jAlias.User ?? user ?? '' };
    }
  }
  return { host: alias.HostName ?? host, alias: host, port, user: user ?? '', keyPath, passphrase: raw.MLV_SSH_KEY_PASSPHRASE, agent: keyPath ? undefined : agent, jump, knownHostsPath, hostKeyCheck };
}

function parseHpc(vars: Record<string, string | undefined>, raw: Raw, caps: Capability[], problems: string[]): HpcTarget | undefined {
  if (!Object.keys(vars).some((k) => vars[k] !== undefined && HPC_KEYS.test(k))) return undefined;
  for (const k of HPC_REQUIRED) if (vars[k] === undefined) problems.push(`${k} is required (it is missing). Fix: ${FIXES[k]}.`);
  const ssh = parseSsh(raw, problems);
  let runtimePrefix: string[] = [];
  try {
    runtimePrefix = splitWords(raw.MLV_RUNTIME_PREFIX ?? '');
    // bash would run a leading NAME=value as an assignment for the command (LD_PRELOAD=...).
    const assignment = /^[A-Za-z_][A-Za-z0-9_]*=/.exec(runtimePrefix[0] ?? '');
    if (assignment)
      throw new Error(
        `it starts with the assignment ${assignment[0]}..., which bash would apply to the command (use the runtime's own option, e.g. apptainer exec --env NAME=value, or \`env NAME=value ...\`)`,
      );
  } catch (e) {
    runtimePrefix = [];
    problems.push(`MLV_RUNTIME_PREFIX is not allowed: ${(e as Error).message} (got ${show(raw.MLV_RUNTIME_PREFIX ?? '')}). Fix: ${FIXES.MLV_RUNTIME_PREFIX}.`);
  }
  // A field that did not parse is undefined here; its problem is already listed.
  const gpusPerNode = raw.MLV_GPUS_PER_NODE ?? 0;
  const nodeCount = raw.MLV_NODE_COUNT ?? 1;
  if (caps.includes('multi-gpu') && raw.MLV_GPUS_PER_NODE !== undefined && gpusPerNode < 2)
    problems.push(`MLV_CAPABILITIES claims multi-gpu but MLV_GPUS_PER_NODE is ${gpusPerNode}. Fix: set MLV_GPUS_PER_NODE to 2 or more, or drop multi-gpu.`);
  if (caps.includes('multi-node') && raw.MLV_NODE_COUNT !== undefined && nodeCount < 2)
    problems.push(`MLV_CAPABILITIES claims multi-node but MLV_NODE_COUNT is ${nodeCount}. Fix: set MLV_NODE_COUNT to 2 or more, or drop multi-node.`);
  const poll = { minMs: raw.MLV_POLL_MIN_MS ?? 2000, maxMs: raw.MLV_POLL_MAX_MS ?? 30_000 };
  if (poll.minMs > poll.maxMs) problems.push(`MLV_POLL_MIN_MS (${poll.minMs}) is above MLV_POLL_MAX_MS (${poll.maxMs}). Fix: ${FIXES.MLV_POLL_MIN_MS}, at most MLV_POLL_MAX_MS.`);
  const sharedRoot = (raw.MLV_SHARED_ROOT ?? '').replace(/\/+$/, '');
  return {
    ssh,
    slurm: { partition: raw.MLV_SLURM_PARTITION ?? '', account: raw.MLV_SLURM_ACCOUNT },
    sharedRoot,
    datasetDir: raw.MLV_DATASET_DIR ?? `${sharedRoot}/datasets/mnist`,
    runtimePrefix,
    python: raw.MLV_PYTHON ?? 'python3',
    gpusPerNode,
    gpuKind: raw.MLV_GPU_KIND ?? 'nvidia',
    nodeCount,
    jobTimeScale: raw.MLV_JOB_TIME_SCALE ?? 1,
    sweepConcurrency: raw.MLV_SWEEP_CONCURRENCY ?? 16,
    poll,
    oumi: parseOumi(raw, problems),
  };
}

function parseCloud(vars: Record<string, string | undefined>, raw: Raw, caps: Capability[], problems: string[]): CloudTarget | undefined {
  if (!Object.keys(vars).some((k) => vars[k] !== undefined && CLOUD_KEYS.test(k)) && !caps.includes('kserve')) return undefined;
  const kubeconfig = raw.MLV_KUBECONFIG ? expandHome(raw.MLV_KUBECONFIG) : undefined;
  if (kubeconfig) checkPath('MLV_KUBECONFIG', kubeconfig, 'file', problems);
  const caPath = raw.MLV_INFERENCE_CA ? expandHome(raw.MLV_INFERENCE_CA) : undefined;
  if (caPath) checkPath('MLV_INFERENCE_CA', caPath, 'file', problems);
  return {
    kubeconfig,
    context: raw.MLV_KUBE_CONTEXT,
    namespace: raw.MLV_KUBE_NAMESPACE,
    modelNamespace: raw.MLV_KUBE_MODEL_NAMESPACE,
    ingressUrl: raw.MLV_INGRESS_URL,
    caPath,
    token: raw.MLV_INFERENCE_TOKEN,
    tokenOverHttp: raw.MLV_INFERENCE_TOKEN_OVER_HTTP === 'yes',
    prometheusUrl: raw.MLV_PROMETHEUS_URL,
    mnistModelUri: raw.MLV_MNIST_MODEL_URI,
    llmModelUri: raw.MLV_LLM_MODEL_URI,
  };
}

/** A references path (not a name from references/) must be a readable file. */
function checkReferences(raw: Raw, cwd: string, problems: string[]) {
  const r = raw.MLV_REFERENCES;
  if (r && (r.includes('/') || extname(r))) checkPath('MLV_REFERENCES', resolve(cwd, expandHome(r)), 'file', problems);
}

export interface ParseOptions {
  /** Where each key came from, for the unknown-key message (default: the source). */
  origin?: Record<string, string>;
  /** The directory a relative references path is resolved against. */
  cwd?: string;
  /** Problems found before parsing (duplicates, unknown keys of the file). */
  problems?: string[];
}

/** Parse a set of variables (a `.env` file's content merged with overrides) into a Target. */
export function parseTarget(input: Record<string, string | undefined>, source: string, opts: ParseOptions = {}): Target {
  const problems: string[] = [...(opts.problems ?? [])];
  // Every MLV_* name, in any case, must be a known one: a misspelt key would silently do nothing.
  const mlv = Object.keys(input).filter((k) => /^mlv[_-]/i.test(k));
  problems.push(...unknownKeyProblems(mlv.map((key) => ({ key, where: opts.origin?.[key] ?? `in ${source}` }))));
  // An empty value means "not set": optional fields fall back to their defaults.
  const vars = Object.fromEntries(Object.entries(input).map(([k, v]) => [k, v === undefined || v.trim() === '' ? undefined : v]));
  const raw = parseFields(vars, problems);
  checkReferences(raw, opts.cwd ?? process.cwd(), problems);
  const caps = (raw.MLV_CAPABILITIES ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  const unknown = caps.filter((c) => !(CAPABILITIES as readonly string[]).includes(c));
  if (unknown.length) problems.push(`MLV_CAPABILITIES has unknown entries: ${unknown.join(', ')}. Fix: ${FIXES.MLV_CAPABILITIES}.`);
  const claims = caps.filter((c): c is Capability => (CAPABILITIES as readonly string[]).includes(c));
  const hpc = parseHpc(vars, raw, claims, problems);
  const cloud = parseCloud(vars, raw, claims, problems);
  const mlflow = parseMlflow(raw, problems);
  const objectStore = parseObjectStore(raw, problems);
  if (!hpc && !cloud && !problems.length) problems.push(`no side is configured. Fix: set ${SIDE_SETTINGS.hpc} for an HPC cluster, and/or ${SIDE_SETTINGS.cloud} for a cloud cluster.`);
  if (problems.length) {
    const secrets = [...SECRET_FIELDS].map((k) => vars[k]);
    throw new ConfigError(
      problems.map((p) => redact(p, secrets)),
      source,
    );
  }
  return {
    name: raw.MLV_TARGET_NAME ?? 'custom',
    source,
    capabilities: claims,
    references: raw.MLV_REFERENCES ?? 'default',
    workers: raw.MLV_WORKERS ?? 4,
    keepOnFailureSeconds: raw.MLV_KEEP_ON_FAILURE,
    hpc,
    cloud,
    mlflow,
    objectStore,
  };
}

/**
 * Where the target comes from: MLV_ENV_FILE, else ./.env, else the lab's target.env.
 * Process environment variables named MLV_* override the file (as dotenv does).
 */
export function resolveTargetSource(cwd = process.cwd(), env = process.env): string | undefined {
  if (env.MLV_ENV_FILE) return resolve(cwd, env.MLV_ENV_FILE);
  const dotenv = resolve(cwd, '.env');
  if (existsSync(dotenv)) return dotenv;
  const lab = env.MLV_LAB_TARGET_FILE ?? LAB_TARGET_FILE;
  return existsSync(lab) ? lab : undefined;
}

/** Read the target file; every file-system error becomes a ConfigError naming the file and the fix. */
function readTargetFile(source: string, field: string): { vars: Record<string, string>; problems: string[] } {
  const why = fileProblem(source, 'file');
  if (why) throw new ConfigError([`${field} points to ${showPath(source)}, ${why}. Fix: point it to a readable .env file.`], field);
  try {
    return readDotenv(readFileSync(source, 'utf8'));
  } catch (e) {
    throw new ConfigError([`${field} points to ${showPath(source)}, which cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}). Fix: point it to a readable .env file.`], field);
  }
}

export function loadTarget(cwd = process.cwd(), env = process.env): Target {
  const source = resolveTargetSource(cwd, env);
  if (!source) {
    throw new ConfigError(
      [
        `no target: there is no .env in ${cwd} and the lab is not set up (${env.MLV_LAB_TARGET_FILE ?? LAB_TARGET_FILE} is missing). Fix: run \`npm run lab -- up\` to use the local lab, or copy .env.example to .env and describe your cluster.`,
      ],
      'the environment',
    );
  }
  const field = env.MLV_ENV_FILE ? 'MLV_ENV_FILE' : source === resolve(cwd, '.env') ? '.env' : 'MLV_LAB_TARGET_FILE';
  if (!existsSync(source)) throw new ConfigError([`MLV_ENV_FILE points to ${showPath(source)}, which does not exist. Fix: point it to a .env file.`], 'MLV_ENV_FILE');
  const { vars: fileVars, problems } = readTargetFile(source, field);
  // The target file holds only this suite's settings; its non-MLV keys are checked here, MLV_* ones in parseTarget.
  problems.push(
    ...unknownKeyProblems(
      Object.keys(fileVars)
        .filter((key) => !/^mlv[_-]/i.test(key))
        .map((key) => ({ key, where: `in ${source}` })),
    ),
  );
  const overrides = Object.fromEntries(Object.entries(env).filter(([k]) => (/^mlv_/i.test(k) && !RUNNER_VARS.has(k)) || STANDARD_KEYS.has(k)));
  const origin = Object.fromEntries([...Object.keys(fileVars).map((k) => [k, `in ${source}`]), ...Object.keys(overrides).map((k) => [k, 'in the process environment'])]);
  return parseTarget({ ...fileVars, ...overrides }, source, { origin, cwd, problems });
}

/** A redacted, printable view of the target for reports (no secrets, no key material). */
export function describeTarget(t: Target): Record<string, string> {
  const secrets = [t.hpc?.ssh.passphrase, t.cloud?.token, t.mlflow?.token, t.mlflow?.password, t.objectStore?.secretAccessKey, t.objectStore?.sessionToken];
  return Object.fromEntries(Object.entries(describeFields(t)).map(([k, v]) => [k, redact(v, secrets)]));
}

function describeFields(t: Target): Record<string, string> {
  const h = t.hpc;
  const c = t.cloud;
  return {
    target: t.name,
    source: t.source,
    claims: t.capabilities.join(', ') || 'none',
    references: t.references,
    ...(h && {
      ssh: `${h.ssh.user}@${h.ssh.alias}:${h.ssh.port}${h.ssh.jump ? ` via ${h.ssh.jump.host}` : ''}`,
      auth: h.ssh.keyPath ? `key ${h.ssh.keyPath}` : 'ssh-agent',
      hostKeyCheck: h.ssh.hostKeyCheck,
      partition: h.slurm.partition,
      sharedRoot: h.sharedRoot,
      runtimePrefix: redactWords(h.runtimePrefix).join(' ') || '(none)',
      gpuKind: h.gpuKind,
      oumi: h.oumi.compute ? `${redactWords(h.oumi.compute).join(' ')} (model ${h.oumi.model ?? 'not set'})` : '(MLV_OUMI not set)',
      inventory: `${h.nodeCount} node(s) x ${h.gpusPerNode} ${h.gpuKind === 'fake' ? 'stand-in ' : ''}GPU(s); claims: ${t.capabilities.join(', ') || 'none'}`,
    }),
    ...(c && {
      kube: c.kubeconfig ? `${c.kubeconfig}${c.context ? ` (${c.context})` : ''}` : '(default kubeconfig)',
      inferenceToken: c.token ? '(set, hidden)' : '(none)',
    }),
    ...(t.mlflow && { mlflow: `${t.mlflow.uri}${t.mlflow.token ? ' (token)' : t.mlflow.username ? ` (user ${t.mlflow.username})` : ''}${t.mlflow.insecureTls ? ' TLS NOT VERIFIED' : ''}` }),
    ...(t.objectStore && { objectStore: `s3://${t.objectStore.bucket}/${t.objectStore.prefix} at ${t.objectStore.endpoint ?? 'AWS S3'} (${t.objectStore.region})` }),
  };
}
