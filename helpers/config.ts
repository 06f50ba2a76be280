/**
 * Target configuration: a `.env` (or the lab's generated target.env) parsed into one typed
 * `Target`. Every problem is collected and reported at once, each naming its field and its
 * fix; secret values are never echoed.
 */
import { existsSync, readFileSync, accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import SSHConfig from 'ssh-config';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { splitWords } from './shell.ts';

export const LAB_TARGET_FILE = '/var/lib/mlops-lab/target.env';

export const CAPABILITIES = ['gres-gpu', 'cuda', 'multi-gpu', 'multi-node', 'apptainer', 'oumi', 'kserve', 'gpu-inference', 'mlflow'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** Fields whose values must never be printed. */
export const SECRET_FIELDS = new Set(['MLV_SSH_KEY_PASSPHRASE', 'MLV_INFERENCE_TOKEN', 'MLV_MLFLOW_TOKEN', 'MLV_MLFLOW_PASSWORD']);

const FIXES: Record<string, string> = {
  MLV_SSH_HOST: 'set it to the login node name or IP, or a Host alias from ~/.ssh/config',
  MLV_SSH_PORT: 'set it to the login node SSH port (usually 22)',
  MLV_SSH_USER: 'set it to your cluster user name (or define User in the ~/.ssh/config Host entry)',
  MLV_SSH_KEY: 'point it to a readable private key file, or leave it empty and set MLV_SSH_AGENT (or SSH_AUTH_SOCK)',
  MLV_SSH_AGENT: 'point it to a running ssh-agent socket',
  MLV_SSH_KNOWN_HOSTS: 'point it to a known_hosts file that holds the login node host key (ssh-keyscan -p PORT HOST)',
  MLV_SSH_HOST_KEY_CHECK: 'use strict (default), accept-new, or off',
  MLV_SSH_JUMP: 'use [user@]host[:port] of the jump host, or leave it empty',
  MLV_SLURM_PARTITION: 'set it to a partition name from `sinfo -s`',
  MLV_SHARED_ROOT: 'set it to the absolute path of the shared filesystem mounted on login and compute nodes',
  MLV_DATASET_DIR: 'set it to an absolute path holding the MNIST IDX files',
  MLV_RUNTIME_PREFIX: 'use plain words, e.g. "apptainer exec --nv /shared/containers/pytorch.sif" (no ; | $ or redirections)',
  MLV_PYTHON: 'set it to the python interpreter on the compute nodes, e.g. python3',
  MLV_GPUS_PER_NODE: 'set it to the number of GPUs per compute node as a whole number, e.g. 4 (0 for CPU-only)',
  MLV_NODE_COUNT: 'set it to the number of compute nodes in the partition as a whole number, e.g. 2',
  MLV_CAPABILITIES: `use a comma-separated subset of: ${CAPABILITIES.join(', ')}`,
  MLV_REFERENCES: 'name a file in references/ without extension (e.g. default, lab) or give a path to a .yaml/.json file',
  MLV_JOB_TIME_SCALE: 'use a positive number',
  MLV_KUBECONFIG: 'point it to a readable kubeconfig file (default: KUBECONFIG or ~/.kube/config)',
  MLV_INGRESS_URL: 'use an absolute http(s) URL of the ingress gateway, or leave it empty to use status.url',
  MLV_INFERENCE_CA: 'point it to a readable PEM CA bundle, or leave it empty to use the system CAs',
  MLV_PROMETHEUS_URL: 'use an absolute http(s) URL, or leave it empty',
  MLV_MNIST_MODEL_URI: 'point it to the ONNX export of the MNIST model on the cluster storage, e.g. s3://models/mnist/1',
};

const int = (min: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { message: 'must be a whole number' })
    .transform(Number)
    .refine((n) => n >= min, { message: `must be at least ${min}` });

const optional = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : undefined));

const absPath = z.string().trim().refine(isAbsolute, { message: 'must be an absolute path' });
const url = z
  .string()
  .trim()
  .refine((v) => /^https?:\/\/[^\s]+$/.test(v), { message: 'must be an http(s) URL' });

const RawSchema = z.object({
  MLV_TARGET_NAME: z.string().trim().regex(/^[A-Za-z0-9_.-]+$/, { message: 'use letters, digits, . _ -' }).default('custom'),
  MLV_SSH_HOST: z.string().trim().min(1, { message: 'is required' }).regex(/^[A-Za-z0-9_.:[\]-]+$/, { message: 'is not a valid host name' }),
  MLV_SSH_PORT: int(1).refine((n) => n <= 65535, { message: 'must be at most 65535' }).optional(),
  MLV_SSH_USER: z.string().trim().regex(/^[a-z_][a-z0-9_.-]*\$?$/i, { message: 'is not a valid user name' }).optional(),
  MLV_SSH_KEY: optional,
  MLV_SSH_KEY_PASSPHRASE: optional,
  MLV_SSH_AGENT: optional,
  MLV_SSH_JUMP: optional.refine((v) => !v || /^([A-Za-z0-9_.-]+@)?[A-Za-z0-9_.-]+(:\d+)?$/.test(v), { message: 'must look like [user@]host[:port]' }),
  MLV_SSH_KNOWN_HOSTS: optional,
  MLV_SSH_HOST_KEY_CHECK: z.enum(['strict', 'accept-new', 'off']).default('strict'),
  MLV_SSH_CONFIG: optional,
  MLV_SLURM_PARTITION: z.string().trim().regex(/^[A-Za-z0-9_.-]+$/, { message: 'is required and may only hold letters, digits, . _ -' }),
  MLV_SLURM_ACCOUNT: optional.refine((v) => !v || /^[A-Za-z0-9_.-]+$/.test(v), { message: 'may only hold letters, digits, . _ -' }),
  MLV_SHARED_ROOT: absPath,
  MLV_DATASET_DIR: absPath.optional(),
  MLV_RUNTIME_PREFIX: z.string().default(''),
  MLV_PYTHON: z.string().trim().regex(/^[A-Za-z0-9_./+-]+$/, { message: 'must be a command name or path' }).default('python3'),
  MLV_GPUS_PER_NODE: int(0).default(0),
  MLV_NODE_COUNT: int(1).default(1),
  MLV_CAPABILITIES: z.string().default(''),
  MLV_REFERENCES: z.string().trim().default('default'),
  MLV_JOB_TIME_SCALE: z.string().trim().regex(/^\d+(\.\d+)?$/, { message: 'must be a positive number' }).transform(Number).default(1),
  MLV_KUBECONFIG: optional,
  MLV_KUBE_CONTEXT: optional,
  MLV_KUBE_NAMESPACE: optional,
  MLV_INGRESS_URL: url.optional(),
  MLV_INFERENCE_CA: optional,
  MLV_INFERENCE_TOKEN: optional,
  MLV_PROMETHEUS_URL: url.optional(),
  MLV_MNIST_MODEL_URI: z.string().trim().regex(/^(s3|gs|pvc|https?|hdfs|webhdfs|azure|oci):\/\/\S+$/, { message: 'must be a KServe storageUri (s3://, gs://, pvc://, https://, ...)' }).optional(),
  MLV_LLM_MODEL_URI: optional,
});

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

export interface Target {
  name: string;
  source: string;
  isLab: boolean;
  ssh: SshTarget;
  slurm: { partition: string; account?: string };
  sharedRoot: string;
  datasetDir: string;
  runtimePrefix: string[];
  python: string;
  inventory: { gpusPerNode: number; nodeCount: number; capabilities: Capability[] };
  references: string;
  jobTimeScale: number;
  cloud: {
    kubeconfig?: string;
    context?: string;
    namespace?: string;
    ingressUrl?: string;
    caPath?: string;
    token?: string;
    prometheusUrl?: string;
    /** storageUri of the MNIST ONNX model (MLOPS-4.1). */
    mnistModelUri?: string;
    /** storageUri of a Hugging Face text-generation model (MLOPS-4.2). */
    llmModelUri?: string;
  };
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function expandHome(p: string): string {
  return p.startsWith('~/') ? resolve(homedir(), p.slice(2)) : p;
}

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
  const parsed = SSHConfig.parse(readFileSync(configPath, 'utf8'));
  return parsed.compute(alias) as AliasInfo;
}

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** Parse a set of variables (a `.env` file's content merged with overrides) into a Target. */
export function parseTarget(input: Record<string, string | undefined>, source: string): Target {
  const problems: string[] = [];
  // An empty value means "not set": optional fields fall back to their defaults.
  const vars = Object.fromEntries(Object.entries(input).map(([k, v]) => [k, v === undefined || v.trim() === '' ? undefined : v]));
  // Field by field, so that every problem is reported at once (one per field), and the
  // checks below still run on the fields that did parse.
  const parsed: Record<string, unknown> = {};
  for (const [field, schema] of Object.entries(RawSchema.shape)) {
    const r = (schema as z.ZodType).safeParse(vars[field]);
    if (r.success) {
      parsed[field] = r.data;
      continue;
    }
    const issue = r.error.issues[0]!;
    const got = vars[field];
    const shown = got === undefined ? 'it is missing' : SECRET_FIELDS.has(field) ? 'got a value (hidden)' : `got "${got}"`;
    const message = got === undefined ? 'is required' : issue.message;
    problems.push(`${field} ${message} (${shown}). Fix: ${FIXES[field] ?? 'see .env.example'}.`);
  }
  const raw = parsed as Partial<z.infer<typeof RawSchema>>;

  // ~/.ssh/config Host alias resolution (HostName, Port, User, IdentityFile, ProxyJump).
  const sshConfigPath = expandHome(raw.MLV_SSH_CONFIG ?? '~/.ssh/config');
  let alias: AliasInfo = {};
  try {
    if (raw.MLV_SSH_HOST) alias = lookupSshConfig(raw.MLV_SSH_HOST, sshConfigPath);
  } catch (e) {
    problems.push(`MLV_SSH_CONFIG: ${sshConfigPath} could not be parsed (${(e as Error).message}). Fix: correct that file or point MLV_SSH_CONFIG elsewhere.`);
  }
  const port = raw.MLV_SSH_PORT ?? (alias.Port ? Number(alias.Port) : 22);
  const user = raw.MLV_SSH_USER ?? alias.User;
  if (!user && !problems.some((p) => p.startsWith('MLV_SSH_USER'))) problems.push(`MLV_SSH_USER is required (it is missing and no User is set for this host in ${sshConfigPath}). Fix: ${FIXES.MLV_SSH_USER}.`);

  const keyPath = raw.MLV_SSH_KEY ? expandHome(raw.MLV_SSH_KEY) : first(alias.IdentityFile) ? expandHome(first(alias.IdentityFile)!) : undefined;
  const agent = raw.MLV_SSH_AGENT ?? process.env.SSH_AUTH_SOCK;
  if (keyPath && !readable(keyPath)) problems.push(`MLV_SSH_KEY points to ${keyPath}, which does not exist or is not readable. Fix: ${FIXES.MLV_SSH_KEY}.`);
  if (!keyPath && !agent) problems.push(`MLV_SSH_KEY is missing and no ssh-agent is available. Fix: ${FIXES.MLV_SSH_KEY}.`);
  if (raw.MLV_SSH_AGENT && !existsSync(raw.MLV_SSH_AGENT)) problems.push(`MLV_SSH_AGENT points to ${raw.MLV_SSH_AGENT}, which does not exist. Fix: ${FIXES.MLV_SSH_AGENT}.`);

  const knownHostsPath = expandHome(raw.MLV_SSH_KNOWN_HOSTS ?? first(alias.UserKnownHostsFile) ?? '~/.ssh/known_hosts');
  if ((raw.MLV_SSH_HOST_KEY_CHECK ?? 'strict') === 'strict' && !readable(knownHostsPath)) {
    problems.push(`MLV_SSH_KNOWN_HOSTS points to ${knownHostsPath}, which does not exist or is not readable, and host key checking is strict. Fix: ${FIXES.MLV_SSH_KNOWN_HOSTS}.`);
  }

  let jump: SshTarget['jump'];
  const jumpSpec = raw.MLV_SSH_JUMP ?? alias.ProxyJump;
  if (jumpSpec) {
    const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(jumpSpec);
    if (!m) problems.push(`MLV_SSH_JUMP must look like [user@]host[:port] (got "${jumpSpec}"). Fix: ${FIXES.MLV_SSH_JUMP}.`);
    else {
      const jAlias = lookupSshConfig(m[2]!, sshConfigPath);
      jump = { host: jAlias.HostName ?? m[2]!, port: Number(m[3] ?? jAlias.Port ?? 22), user: m[1] ?? jAlias.User ?? user ?? '' };
    }
  }

  let runtimePrefix: string[] = [];
  try {
    runtimePrefix = splitWords(raw.MLV_RUNTIME_PREFIX ?? '');
  } catch (e) {
    problems.push(`MLV_RUNTIME_PREFIX is not allowed: ${(e as Error).message} (got "${raw.MLV_RUNTIME_PREFIX}"). Fix: ${FIXES.MLV_RUNTIME_PREFIX}.`);
  }

  const caps = (raw.MLV_CAPABILITIES ?? '').split(',').map((c) => c.trim()).filter(Boolean);
  const unknown = caps.filter((c) => !(CAPABILITIES as readonly string[]).includes(c));
  if (unknown.length) problems.push(`MLV_CAPABILITIES has unknown entries: ${unknown.join(', ')}. Fix: ${FIXES.MLV_CAPABILITIES}.`);
  if (caps.includes('multi-gpu') && raw.MLV_GPUS_PER_NODE !== undefined && raw.MLV_GPUS_PER_NODE < 2) problems.push(`MLV_CAPABILITIES claims multi-gpu but MLV_GPUS_PER_NODE is ${raw.MLV_GPUS_PER_NODE}. Fix: set MLV_GPUS_PER_NODE to 2 or more, or drop multi-gpu.`);
  if (caps.includes('multi-node') && raw.MLV_NODE_COUNT !== undefined && raw.MLV_NODE_COUNT < 2) problems.push(`MLV_CAPABILITIES claims multi-node but MLV_NODE_COUNT is ${raw.MLV_NODE_COUNT}. Fix: set MLV_NODE_COUNT to 2 or more, or drop multi-node.`);

  const kubeconfig = raw.MLV_KUBECONFIG ? expandHome(raw.MLV_KUBECONFIG) : undefined;
  if (kubeconfig && !readable(kubeconfig)) problems.push(`MLV_KUBECONFIG points to ${kubeconfig}, which does not exist or is not readable. Fix: ${FIXES.MLV_KUBECONFIG}.`);
  const caPath = raw.MLV_INFERENCE_CA ? expandHome(raw.MLV_INFERENCE_CA) : undefined;
  if (caPath && !readable(caPath)) problems.push(`MLV_INFERENCE_CA points to ${caPath}, which does not exist or is not readable. Fix: ${FIXES.MLV_INFERENCE_CA}.`);

  if (problems.length) throw new ConfigError(problems, source);
  const r = raw as z.infer<typeof RawSchema>;

  return {
    name: r.MLV_TARGET_NAME,
    source,
    isLab: source === LAB_TARGET_FILE || r.MLV_TARGET_NAME === 'lab',
    ssh: {
      host: alias.HostName ?? r.MLV_SSH_HOST,
      alias: r.MLV_SSH_HOST,
      port,
      user: user!,
      keyPath,
      passphrase: r.MLV_SSH_KEY_PASSPHRASE,
      agent: keyPath ? undefined : agent,
      jump,
      knownHostsPath,
      hostKeyCheck: r.MLV_SSH_HOST_KEY_CHECK,
    },
    slurm: { partition: r.MLV_SLURM_PARTITION, account: r.MLV_SLURM_ACCOUNT },
    sharedRoot: r.MLV_SHARED_ROOT.replace(/\/+$/, ''),
    datasetDir: r.MLV_DATASET_DIR ?? `${r.MLV_SHARED_ROOT.replace(/\/+$/, '')}/datasets/mnist`,
    runtimePrefix,
    python: r.MLV_PYTHON,
    inventory: { gpusPerNode: r.MLV_GPUS_PER_NODE, nodeCount: r.MLV_NODE_COUNT, capabilities: caps as Capability[] },
    references: r.MLV_REFERENCES,
    jobTimeScale: r.MLV_JOB_TIME_SCALE,
    cloud: {
      kubeconfig,
      context: r.MLV_KUBE_CONTEXT,
      namespace: r.MLV_KUBE_NAMESPACE,
      ingressUrl: r.MLV_INGRESS_URL,
      caPath,
      token: r.MLV_INFERENCE_TOKEN,
      prometheusUrl: r.MLV_PROMETHEUS_URL,
      mnistModelUri: r.MLV_MNIST_MODEL_URI,
      llmModelUri: r.MLV_LLM_MODEL_URI,
    },
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

export function loadTarget(cwd = process.cwd(), env = process.env): Target {
  const source = resolveTargetSource(cwd, env);
  if (!source) {
    throw new ConfigError(
      [`no target: there is no .env in ${cwd} and the lab is not set up (${env.MLV_LAB_TARGET_FILE ?? LAB_TARGET_FILE} is missing). Fix: run \`npm run lab -- up\` to use the local lab, or copy .env.example to .env and describe your cluster.`],
      'the environment',
    );
  }
  if (!existsSync(source)) throw new ConfigError([`MLV_ENV_FILE points to ${source}, which does not exist. Fix: point it to a .env file.`], 'MLV_ENV_FILE');
  const fileVars = parseDotenv(readFileSync(source));
  const overrides = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('MLV_') && k !== 'MLV_ENV_FILE' && k !== 'MLV_LAB_TARGET_FILE'));
  return parseTarget({ ...fileVars, ...overrides }, source);
}

/** A redacted, printable view of the target for reports (no secrets, no key material). */
export function describeTarget(t: Target): Record<string, string> {
  return {
    target: t.name,
    source: t.source,
    ssh: `${t.ssh.user}@${t.ssh.alias}:${t.ssh.port}${t.ssh.jump ? ` via ${t.ssh.jump.host}` : ''}`,
    auth: t.ssh.keyPath ? `key ${t.ssh.keyPath}` : 'ssh-agent',
    hostKeyCheck: t.ssh.hostKeyCheck,
    partition: t.slurm.partition,
    sharedRoot: t.sharedRoot,
    runtimePrefix: t.runtimePrefix.join(' ') || '(none)',
    inventory: `${t.inventory.nodeCount} node(s) x ${t.inventory.gpusPerNode} GPU(s); claims: ${t.inventory.capabilities.join(', ') || 'none'}`,
    references: t.references,
    kube: t.cloud.kubeconfig ? `${t.cloud.kubeconfig}${t.cloud.context ? ` (${t.cloud.context})` : ''}` : '(default kubeconfig)',
    inferenceToken: t.cloud.token ? '(set, hidden)' : '(none)',
  };
}
