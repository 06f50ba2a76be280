/**
 * The target's variables: one zod schema per field, the fix offered for each, which fields
 * are secret, and which side (HPC or cloud) each belongs to.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { DURATION_HINT, durationSeconds } from './duration.ts';
import { isStorageUri, STORAGE_URI_HINT } from './storage-uri.ts';

export const CAPABILITIES = ['gres-gpu', 'cuda', 'multi-gpu', 'multi-node', 'apptainer', 'oumi', 'kserve', 'gpu-inference', 'mlflow'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** Fields whose values must never be printed. */
export const SECRET_FIELDS = new Set(['MLV_SSH_KEY_PASSPHRASE', 'MLV_INFERENCE_TOKEN', 'MLFLOW_TRACKING_TOKEN', 'MLFLOW_TRACKING_PASSWORD', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);

/**
 * The standard names MLflow's and AWS's own clients read (MLflow: mlflow/environment_variables.py;
 * AWS: the SDKs' shared configuration). They are target settings too, and, like MLV_*, the process
 * environment overrides the target file for them.
 */
export const STANDARD_KEYS = new Set([
  'MLFLOW_TRACKING_URI',
  'MLFLOW_TRACKING_TOKEN',
  'MLFLOW_TRACKING_USERNAME',
  'MLFLOW_TRACKING_PASSWORD',
  'MLFLOW_TRACKING_INSECURE_TLS',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
]);

/** Required once the HPC side is configured. */
export const HPC_REQUIRED = ['MLV_SSH_HOST', 'MLV_SLURM_PARTITION', 'MLV_SHARED_ROOT'] as const;
/** Setting any of these configures the HPC side (and makes HPC_REQUIRED required). */
export const HPC_KEYS = /^MLV_(SSH_|SLURM_|SHARED_ROOT$|DATASET_DIR$|RUNTIME_PREFIX$|PYTHON$|GPUS_PER_NODE$|GPU_KIND$|NODE_COUNT$|JOB_TIME_SCALE$|POLL_|SWEEP_CONCURRENCY$|OUMI$|OUMI_|HF_HOME$)/;
/** Setting any of these (or claiming "kserve") configures the cloud side. */
export const CLOUD_KEYS = /^MLV_(KUBE|INGRESS_URL$|INFERENCE_|PROMETHEUS_URL$|MNIST_MODEL_URI$|LLM_MODEL_URI$)/;

export const FIXES: Record<string, string> = {
  MLV_TARGET_NAME: 'use a short name of letters, digits, . _ - for the reports, e.g. my-cluster',
  MLV_SSH_KEY_PASSPHRASE: 'set it to the passphrase of MLV_SSH_KEY on one line, or leave it empty for a key without one',
  MLV_SSH_CONFIG: 'point it to a readable ssh config file, or leave it empty for ~/.ssh/config',
  MLV_SLURM_ACCOUNT: 'set it to a SLURM account of yours (sacctmgr show assoc user=$USER), or leave it empty',
  MLV_KUBE_CONTEXT: 'set it to a context name from `kubectl config get-contexts`, or leave it empty for the current one',
  MLV_KUBE_NAMESPACE: 'set it to an existing namespace name (lower case, digits and -), or leave it empty',
  MLV_KUBE_MODEL_NAMESPACE: 'set it to the namespace that holds the claims your pvc:// model URIs name (lower case, digits and -), or leave it empty',
  MLV_INFERENCE_TOKEN: 'set it to the bearer token of the inference endpoints on one line, or leave it empty',
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
  MLV_OUMI:
    'set it to how Oumi runs on the compute nodes (after MLV_RUNTIME_PREFIX), in plain words, e.g. /shared/venvs/oumi/bin/oumi or "apptainer exec --nv /shared/containers/oumi.sif oumi", or leave it empty',
  MLV_OUMI_RUNNER: 'set it to how Oumi runs on this machine for its launcher (MLOPS-3.1), in plain words, e.g. /opt/oumi/bin/oumi, or leave it empty for oumi on PATH',
  MLV_OUMI_MODEL: 'point it to the pre-staged base model folder on the shared filesystem (e.g. /shared/models/SmolLM-135M), or give a Hub id already in MLV_HF_HOME (e.g. HuggingFaceTB/SmolLM-135M)',
  MLV_HF_HOME: 'point it to the Hugging Face cache on the compute nodes (an absolute path), or leave it empty',
  MLV_OUMI_SFT_DATA: 'point it to a JSONL file of {"messages": [...]} on the shared filesystem, or leave it empty for the suite\'s own small set',
  MLV_OUMI_EVAL_TEXT: "point it to a plain-text file on the shared filesystem for perplexity, or leave it empty for the suite's own",
  MLV_OUMI_EVAL_PROMPTS: 'point it to a JSONL file of {"prompt", "reference"} on the shared filesystem, or leave it empty for the task list\'s three prompts',
  MLV_GPUS_PER_NODE: 'set it to the number of GPUs per compute node as a whole number, e.g. 4 (0 for CPU-only)',
  MLV_NODE_COUNT: 'set it to the number of compute nodes in the partition as a whole number, e.g. 2',
  MLV_CAPABILITIES: `use a comma-separated subset of: ${CAPABILITIES.join(', ')}`,
  MLV_REFERENCES: 'name a file in references/ without extension (e.g. default, lab) or give a path to a .yaml/.json file',
  MLV_JOB_TIME_SCALE: 'use a positive number',
  MLV_GPU_KIND: 'use nvidia (real GPUs: training must run on CUDA) or fake (stand-in GRES devices, as in the lab: CUDA checks are N/A)',
  MLV_WORKERS: 'set it to how many tests may run at once, e.g. 4 (1 when the cluster shares cores with the runner)',
  MLV_KEEP_ON_FAILURE: `set it to how long a failed test's resources stay for post-mortem, as ${DURATION_HINT}, or leave it empty to remove them at once`,
  MLV_POLL_MIN_MS: 'set it to the shortest scheduler poll interval in milliseconds, e.g. 2000',
  MLV_POLL_MAX_MS: 'set it to the longest scheduler poll interval in milliseconds, e.g. 30000',
  MLV_SWEEP_CONCURRENCY: 'set it to how many node-check jobs the node sweep may have queued at once, e.g. 16',
  MLV_KUBECONFIG: 'point it to a readable kubeconfig file (default: KUBECONFIG or ~/.kube/config)',
  MLV_INGRESS_URL: 'use an absolute http(s) URL of the ingress gateway, or leave it empty to use status.url',
  MLV_INFERENCE_CA: 'point it to a readable PEM CA bundle, or leave it empty to use the system CAs',
  MLV_INFERENCE_TOKEN_OVER_HTTP: 'use yes to allow sending MLV_INFERENCE_TOKEN over plain http (a lab or a private network), or leave it empty',
  MLV_PROMETHEUS_URL: 'use an absolute http(s) URL, or leave it empty',
  MLV_MNIST_MODEL_URI:
    'point it to the MNIST ONNX model on the cluster storage, staged as the runtime expects it (for Triton a model repository: <uri>/mnist/1/model.onnx), e.g. s3://models/mnist-repository',
  MLV_LLM_MODEL_URI: 'point it to a Hugging Face text-generation model on the cluster storage, e.g. s3://models/smollm-135m',
  MLFLOW_TRACKING_URI: 'use the http(s) URL of the MLflow tracking server, e.g. https://mlflow.example.org (no user:password@: use MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN)',
  MLFLOW_TRACKING_TOKEN: 'set it to the bearer token of the MLflow server on one line, or leave it empty',
  MLFLOW_TRACKING_USERNAME: 'set it to the MLflow basic-auth user, with MLFLOW_TRACKING_PASSWORD, or leave both empty',
  MLFLOW_TRACKING_PASSWORD: 'set it to the MLflow basic-auth password, with MLFLOW_TRACKING_USERNAME, or leave both empty',
  MLFLOW_TRACKING_INSECURE_TLS: 'use true to skip TLS verification of the MLflow server (loudly reported), or leave it empty',
  MLV_S3_ENDPOINT: 'use the http(s) URL of the S3-compatible endpoint as the runner reaches it, e.g. https://minio.example.org:9000, or leave it empty for AWS S3',
  MLV_S3_CLUSTER_ENDPOINT: 'use the S3 endpoint URL as the cluster’s pods reach it, when it differs from MLV_S3_ENDPOINT, or leave it empty',
  MLV_S3_BUCKET: 'set it to an existing bucket name (3-63 characters: lower case, digits, . and -)',
  MLV_S3_REGION: 'set it to the bucket region, e.g. us-east-1',
  MLV_S3_PREFIX: 'use a key prefix of letters, digits and . _ - / (no leading /), or leave it empty',
  AWS_ACCESS_KEY_ID: 'set it to the access key of the S3 bucket, with AWS_SECRET_ACCESS_KEY',
  AWS_SECRET_ACCESS_KEY: 'set it to the secret key of the S3 bucket, with AWS_ACCESS_KEY_ID',
  AWS_SESSION_TOKEN: 'set it to the session token of temporary credentials, or leave it empty',
};

/**
 * Limits from SLURM's sources (SchedMD/slurm 284c3b95, slurm/slurm.h and src/common):
 * MAX_SLURM_NODES is 65536 hosts; counts go through parse_int(), which refuses values >= INT_MAX;
 * time_str2secs() sums days*86400 in a C int, so a limit must stay below 2^31 s (24855 days).
 */
export const SLURM_LIMITS = { maxNodes: 65_536, maxCount: 2_147_483_646, maxTasksPerNode: 512, maxTimeSeconds: 24_855 * 86_400 } as const;
/** No real node holds more GPUs; the bound keeps products of counts far from overflow. */
export const MAX_GPUS_PER_NODE = 1024;
/** Longest value accepted (a Kubernetes service-account token is about 1 KB). */
export const MAX_VALUE_LENGTH = 8192;

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { message: 'must be a whole number' })
    .transform(Number)
    .refine((n) => n >= min, { message: `must be at least ${min}` })
    .refine((n) => n <= max, { message: `must be at most ${max}` });

/** A TCP port as text: a whole number from 1 to 65535. */
export const validPort = (p: string) => /^\d{1,5}$/.test(p) && Number(p) >= 1 && Number(p) <= 65535;

const optional = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : undefined));

/** A `..` segment, or `.`/`//` that normalising would remove. */
const unnormalised = (p: string) => p.split('/').some((seg, i, all) => seg === '..' || seg === '.' || (seg === '' && i > 0 && i < all.length - 1));
const absPath = z
  .string()
  .trim()
  .refine(isAbsolute, { message: 'must be an absolute path' })
  .refine((p) => !unnormalised(p), { message: 'must be a normalised absolute path (no . or .. segments, no //)' });
/** The shared root reaches `#SBATCH --output`, where sbatch expands `%`, and every job's paths. */
const sharedRoot = absPath
  .refine((p) => !/[%\s]/.test(p), { message: 'must not hold % (sbatch expands it in --output) or whitespace' })
  .refine((p) => /^\/[A-Za-z0-9_.+@/-]+$/.test(p), { message: 'may only hold letters, digits and . _ - + @ /, and must not be / itself' });
/** A file path: absolute, or under ~/ (expanded against the home directory). */
const filePath = optional.refine((v) => !v || isAbsolute(v) || v.startsWith('~/'), { message: 'must be an absolute path (or start with ~/)' });
const url = z
  .string()
  .trim()
  .refine((v) => /^https?:\/\/[^\s/?#@]+[^\s]*$/.test(v), { message: 'must be an http(s) URL' })
  .refine((v) => !/^https?:\/\/[^/?#]*@/.test(v), { message: 'must not carry user:password@ (put credentials in MLV_INFERENCE_TOKEN)' });
const storageUri = z
  .string()
  .trim()
  .refine(isStorageUri, { message: `must be ${STORAGE_URI_HINT}` });

export const RawSchema = z.object({
  MLV_TARGET_NAME: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.-]+$/, { message: 'use letters, digits, . _ -' })
    .default('custom'),
  MLV_CAPABILITIES: z.string().default(''),
  MLV_REFERENCES: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.+@/~-]+$/, { message: 'must be a name from references/ or a path of letters, digits and . _ - + @ / ~' })
    .default('default'),
  MLV_WORKERS: int(1, 64).optional(),
  MLV_KEEP_ON_FAILURE: z
    .string()
    .trim()
    .transform((v, ctx) => durationSeconds(v) ?? (ctx.addIssue({ code: 'custom', message: `must be ${DURATION_HINT}` }), z.NEVER))
    .optional(),
  // HPC side
  MLV_SSH_HOST: z
    .string()
    .trim()
    .min(1, { message: 'is required' })
    .max(253, { message: 'is not a valid host name (at most 253 characters)' })
    .regex(/^[A-Za-z0-9_.:[\]-]+$/, { message: 'is not a valid host name' })
    .optional(),
  MLV_SSH_PORT: int(1, 65535).optional(),
  MLV_SSH_USER: z
    .string()
    .trim()
    .regex(/^[a-z_][a-z0-9_.-]*\$?$/i, { message: 'is not a valid user name' })
    .optional(),
  MLV_SSH_KEY: filePath,
  MLV_SSH_KEY_PASSPHRASE: optional,
  MLV_SSH_AGENT: filePath,
  MLV_SSH_JUMP: optional
    .refine((v) => !v || /^([A-Za-z0-9_.-]+@)?[A-Za-z0-9_.-]+(:\d+)?$/.test(v), { message: 'must look like [user@]host[:port]' })
    .refine((v) => !v || validPort(v.split(':')[1] ?? '22'), { message: 'must have a port from 1 to 65535' }),
  MLV_SSH_KNOWN_HOSTS: filePath,
  MLV_SSH_HOST_KEY_CHECK: z.enum(['strict', 'accept-new', 'off']).default('strict'),
  MLV_SSH_CONFIG: filePath,
  MLV_SLURM_PARTITION: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.-]+$/, { message: 'is required and may only hold letters, digits, . _ -' })
    .optional(),
  MLV_SLURM_ACCOUNT: optional.refine((v) => !v || /^[A-Za-z0-9_.-]+$/.test(v), { message: 'may only hold letters, digits, . _ -' }),
  MLV_SHARED_ROOT: z
    .string()
    .trim()
    .transform((p) => (p.length > 1 ? p.replace(/\/+$/, '') : p))
    .pipe(sharedRoot)
    .optional(),
  MLV_DATASET_DIR: absPath.optional(),
  MLV_RUNTIME_PREFIX: z.string().default(''),
  MLV_PYTHON: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_./+-]+$/, { message: 'must be a command name or path' })
    .default('python3'),
  MLV_OUMI: optional,
  MLV_OUMI_RUNNER: optional,
  MLV_OUMI_MODEL: optional.refine((v) => !v || (isAbsolute(v) ? !unnormalised(v) && /^\/[A-Za-z0-9_.+@/-]+$/.test(v) : /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(v)), {
    message: 'must be an absolute path of letters, digits and . _ - + @ /, or a Hub id such as HuggingFaceTB/SmolLM-135M',
  }),
  MLV_HF_HOME: absPath.optional(),
  MLV_OUMI_SFT_DATA: absPath.optional(),
  MLV_OUMI_EVAL_TEXT: absPath.optional(),
  MLV_OUMI_EVAL_PROMPTS: absPath.optional(),
  MLV_GPUS_PER_NODE: int(0, MAX_GPUS_PER_NODE).default(0),
  MLV_NODE_COUNT: int(1, SLURM_LIMITS.maxNodes).default(1),
  MLV_JOB_TIME_SCALE: z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, { message: 'must be a positive number' })
    .transform(Number)
    .refine((n) => n > 0, { message: 'must be a positive number' })
    .refine((n) => n <= 100, { message: "must be at most 100 (job time limits must stay within SLURM's)" })
    .default(1),
  MLV_GPU_KIND: z.enum(['nvidia', 'fake']).default('nvidia'),
  MLV_POLL_MIN_MS: int(100, 600_000).default(2000),
  MLV_POLL_MAX_MS: int(100, 600_000).default(30_000),
  MLV_SWEEP_CONCURRENCY: int(1, 1000).default(16),
  // Cloud side
  MLV_KUBECONFIG: filePath,
  MLV_KUBE_CONTEXT: optional.refine((v) => !v || v.length <= 253, { message: 'must be at most 253 characters' }),
  MLV_KUBE_NAMESPACE: optional.refine((v) => !v || (v.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v)), {
    message: 'must be a Kubernetes namespace name (DNS-1123 label, at most 63 characters)',
  }),
  MLV_KUBE_MODEL_NAMESPACE: optional.refine((v) => !v || (v.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v)), {
    message: 'must be a Kubernetes namespace name (DNS-1123 label, at most 63 characters)',
  }),
  MLV_INGRESS_URL: url.optional(),
  MLV_INFERENCE_CA: filePath,
  MLV_INFERENCE_TOKEN: optional,
  MLV_INFERENCE_TOKEN_OVER_HTTP: z.enum(['yes', 'no']).optional(),
  MLV_PROMETHEUS_URL: url.optional(),
  MLV_MNIST_MODEL_URI: storageUri.optional(),
  MLV_LLM_MODEL_URI: storageUri.optional(),
  // e2e: MLflow (MLflow's own variable names) and the object store the models are synced to
  MLFLOW_TRACKING_URI: z
    .string()
    .trim()
    .refine((v) => /^https?:\/\/[^\s/?#@]+[^\s]*$/.test(v), { message: 'must be an http(s) URL' })
    .refine((v) => !/^https?:\/\/[^/?#]*@/.test(v), { message: 'must not carry user:password@' })
    .optional(),
  MLFLOW_TRACKING_TOKEN: optional,
  MLFLOW_TRACKING_USERNAME: optional,
  MLFLOW_TRACKING_PASSWORD: optional,
  MLFLOW_TRACKING_INSECURE_TLS: z.enum(['true', 'false']).optional(),
  MLV_S3_ENDPOINT: url.optional(),
  MLV_S3_CLUSTER_ENDPOINT: url.optional(),
  MLV_S3_BUCKET: optional.refine((v) => !v || (/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v) && !v.includes('..')), { message: 'must be an S3 bucket name (3-63: a-z 0-9 . -)' }),
  MLV_S3_REGION: optional.refine((v) => !v || /^[a-z0-9-]{2,32}$/.test(v), { message: 'must be a region name such as us-east-1' }),
  MLV_S3_PREFIX: optional.refine((v) => !v || /^[A-Za-z0-9_.-][A-Za-z0-9_./-]*$/.test(v), { message: 'may only hold letters, digits and . _ - / and must not start with /' }),
  AWS_ACCESS_KEY_ID: optional,
  AWS_SECRET_ACCESS_KEY: optional,
  AWS_SESSION_TOKEN: optional,
});
export type Raw = Partial<z.infer<typeof RawSchema>>;

/** The target's settings: every key RawSchema knows. */
export const TARGET_KEYS: readonly string[] = Object.keys(RawSchema.shape);

/** MLV_* variables that steer the runner, not the target (read from the process environment only). */
export const RUNNER_VARS = new Set([
  'MLV_ENV_FILE',
  'MLV_LAB_TARGET_FILE',
  'MLV_RUN_ID',
  'MLV_RUNNER_PID',
  'MLV_DRY_RUN',
  'MLV_CONTROLS',
  'MLV_RESULTS_JSON',
  'MLV_JUNIT_XML',
  'MLV_ALLURE_RESULTS',
  'MLV_ALLURE_HISTORY',
  'MLV_STATE_DIR',
  'MLV_REPORT_OUT',
  'MLV_KEEP_RUN_DIR',
  // npx mlv-pipeline's kept deployment (fixtures/pipeline-keep.ts)
  'MLV_PIPELINE_KEEP',
  'MLV_PIPELINE_DEPLOYMENT',
  'MLV_PIPELINE_TO',
]);

/**
 * Other known MLV_* names that are not target settings, so not "unknown": the lab scripts'
 * overrides (lab/cloud/lib.sh), the self-test switch (scripts/self-test.sh) and the controls'
 * model that lab/cloud/up.sh writes into the lab's target file.
 */
export const NON_TARGET_KEYS = new Set([
  ...RUNNER_VARS,
  'MLV_CLOUD_SKIP_CONTROLLER',
  'MLV_SKIP_INTEGRATION',
  'MLV_LAB_ROOT',
  'MLV_APISERVER_LISTEN',
  'MLV_INGRESS_LISTEN',
  'MLV_CONTROL_WRONG_MODEL_URI',
]);
