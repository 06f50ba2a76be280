/**
 * Per-target references: the thresholds that decide pass or fail, and the workload sizes
 * each target runs. `references/default.yaml` holds the plan's numbers for real GPU
 * clusters; `references/lab.yaml` holds numbers measured on the lab, with provenance.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import type { IsvcSpec } from './isvc.ts';

export const ThresholdSchema = z
  .object({
    min: z.number().optional(),
    max: z.number().optional(),
    unit: z.string().default(''),
    /** Where the number comes from: the plan, or a measurement. */
    source: z.string().optional(),
  })
  .refine((t) => t.min !== undefined || t.max !== undefined, { message: 'a threshold needs min or max' })
  .refine((t) => t.min === undefined || t.max === undefined || t.min <= t.max, { message: 'min must not exceed max' });
export type Threshold = z.infer<typeof ThresholdSchema>;

/** Sizes of a training workload (MLOPS-1.x, 2.x). */
const TrainingWorkloadSchema = z.object({
  epochs: z.number().int().positive(),
  trainSamples: z.number().int().nonnegative().default(0),
  testSamples: z.number().int().nonnegative().default(0),
  batchSize: z.number().int().positive().default(128),
  cpusPerTask: z.number().int().positive().default(4),
  mem: z.string().default('8G'),
  timeLimitSeconds: z.number().positive(),
});

const PROTOCOLS = ['v1', 'v2', 'grpc-v1', 'grpc-v2'] as const;
/** The model formats helpers/isvc.ts builds (its ModelFormat; the compile-time check below keeps them in step). */
const FORMATS = ['onnx', 'sklearn', 'pytorch', 'huggingface', 'xgboost', 'lightgbm', 'tensorflow', 'triton', 'mlflow'] as const;
type IsvcFormat = NonNullable<IsvcSpec['model']>['format'];
const formatsInStep: [(typeof FORMATS)[number]] extends [IsvcFormat] ? ([IsvcFormat] extends [(typeof FORMATS)[number]] ? true : never) : never = true;
void formatsInStep;

/**
 * The model's format, protocol and runtime as the InferenceService asks for them. KServe
 * defaults the protocol to v1, and its only stock ONNX runtime (kserve-tritonserver) speaks
 * v2 and grpc-v2 only, so an ONNX model needs protocolVersion v2 on a stock cluster.
 */
const ServedModelSchema = z.object({
  format: z.enum(FORMATS).default('onnx'),
  /** spec.predictor.model.protocolVersion; unset = KServe's default (v1) */
  protocolVersion: z.enum(PROTOCOLS).optional(),
  /** spec.predictor.model.runtime: a ServingRuntime/ClusterServingRuntime name; unset = KServe selects one */
  runtime: z.string().min(1).optional(),
  /** the protocols that runtime speaks (its protocolVersions), named in the report where a check needs another */
  runtimeProtocols: z.array(z.enum(PROTOCOLS)).default([]),
  /** the name the runtime serves the model under; unset = the InferenceService's (Triton: the model repository's directory) */
  name: z.string().min(1).optional(),
  /** a V1-capable runtime to deploy the model on a second time for the V1 checks and V1/V2 agreement; unset = those are N/A */
  v1Runtime: z.string().min(1).optional(),
});

/** Sizes of an inference deployment and its load test (MLOPS-4.x). */
const InferenceWorkloadSchema = z.object({
  minReplicas: z.number().int().nonnegative().default(1),
  maxReplicas: z.number().int().positive().default(3),
  scaleMetric: z.enum(['concurrency', 'rps']).default('concurrency'),
  scaleTarget: z.number().positive().optional(),
  requests: z.object({ cpu: z.string(), memory: z.string() }).default({ cpu: '1', memory: '2Gi' }),
  limits: z.object({ cpu: z.string(), memory: z.string() }).default({ cpu: '2', memory: '4Gi' }),
  /** Knative autoscaling annotations, e.g. { "autoscaling.knative.dev/window": "6s" }. */
  annotations: z.record(z.string(), z.string()).default({}),
  readyTimeoutSeconds: z.number().positive().default(300),
  validationSamples: z.number().int().positive().default(200),
  concurrency: z.number().int().positive().default(10),
  /** Closed-loop load for this long, or `totalRequests` requests. */
  loadSeconds: z.number().positive().optional(),
  totalRequests: z.number().int().positive().optional(),
  /** How long the test may wait for scale-down after the load; 0 = the target's window is too long to observe. */
  scaleDownBudgetSeconds: z.number().nonnegative().default(0),
  /** MLOPS-4.1: how the target serves the model (KServe's spec.predictor.model and what its runtime speaks); default: ONNX over v2 on kserve-tritonserver. */
  model: ServedModelSchema.default({ format: 'onnx', protocolVersion: 'v2', runtime: 'kserve-tritonserver', runtimeProtocols: ['v2', 'grpc-v2'] }),
  /** MLOPS-4.2: completions. */
  prompts: z.array(z.string()).default([]),
  maxTokens: z.number().int().positive().default(32),
});
/**
 * MLOPS-5.x: the path from training to serving. `training` sizes the HPC job (1.1's workload,
 * exported to ONNX), `inference` the deployment; the rest sizes the registry and the
 * served-model check (the served outputs against the registered artifact's, on one batch).
 */
const E2eWorkloadSchema = z.object({
  training: TrainingWorkloadSchema,
  inference: InferenceWorkloadSchema.default(InferenceWorkloadSchema.parse({})),
  /** how long a new model version may stay PENDING_REGISTRATION */
  versionReadyTimeoutSeconds: z.number().positive().default(60),
  /** the probe batch of the served-model check: this many fixed test digits */
  probeSamples: z.number().int().positive().max(256).default(32),
});
/**
 * MLOPS-1.2, 2.2, 3.1 and 3.2: the Oumi SFT run (helpers/oumi-config.ts renders it) and what checks it.
 * The task list's plan (SmolLM-135M, no_robots, lr 2e-5, grad. accum. 4) is the default target's; a
 * lab's tiny model and data use a few steps at a higher rate.
 */
const OumiWorkloadSchema = z.object({
  steps: z.number().int().positive().default(100),
  batchSize: z.number().int().positive().default(4),
  gradientAccumulation: z.number().int().positive().default(4),
  learningRate: z.number().positive().default(2e-5),
  maxLength: z.number().int().positive().default(512),
  /** Processes (one per GPU) of MLOPS-2.2's run. */
  processes: z.number().int().min(2).default(2),
  cpusPerTask: z.number().int().positive().default(8),
  mem: z.string().default('32G'),
  timeLimitSeconds: z.number().positive().default(1800),
  /** Tokens generated per prompt by `oumi infer` and the generations task. */
  maxNewTokens: z.number().int().positive().default(32),
  /** The perplexity window (at most the model's context) and its stride. */
  perplexityWindow: z.object({ maxLength: z.number().int().positive(), stride: z.number().int().positive() }).optional(),
  /** MLOPS-3.1: the second, long job that `oumi launch cancel` ends. */
  cancelJobSeconds: z.number().positive().default(600),
});
export type OumiWorkload = z.infer<typeof OumiWorkloadSchema>;
export type E2eWorkload = z.infer<typeof E2eWorkloadSchema>;
export type TrainingWorkload = z.infer<typeof TrainingWorkloadSchema>;
export type InferenceWorkload = z.infer<typeof InferenceWorkloadSchema>;

const Task = z.object({
  workload: z.record(z.string(), z.unknown()).optional(),
  thresholds: z.record(z.string(), ThresholdSchema),
});

const ReferencesSchema = z.object({
  target: z.string(),
  description: z.string().optional(),
  provenance: z.object({ date: z.string(), runs: z.number().int().positive().optional(), machine: z.string().optional(), notes: z.string().optional() }).optional(),
  tasks: z.record(z.string(), Task),
});

function workloadSchemaFor(taskId: string): z.ZodType | undefined {
  if (/^MLOPS-(1\.2|2\.2|3\.\d+)$/.test(taskId)) return OumiWorkloadSchema;
  if (/^MLOPS-[12]\./.test(taskId)) return TrainingWorkloadSchema;
  if (/^MLOPS-4\./.test(taskId)) return InferenceWorkloadSchema;
  if (/^MLOPS-5\./.test(taskId)) return E2eWorkloadSchema;
  return undefined;
}
export type References = z.infer<typeof ReferencesSchema>;
type TaskReferences = z.infer<typeof Task>;

export function referencesPath(nameOrPath: string, root = process.cwd()): string {
  if (isAbsolute(nameOrPath) || nameOrPath.includes('/') || extname(nameOrPath)) return resolve(root, nameOrPath);
  for (const ext of ['.yaml', '.yml', '.json']) {
    const p = resolve(root, 'references', nameOrPath + ext);
    if (existsSync(p)) return p;
  }
  return resolve(root, 'references', `${nameOrPath}.yaml`);
}

export function loadReferences(nameOrPath: string, root = process.cwd()): References {
  const path = referencesPath(nameOrPath, root);
  if (!existsSync(path)) throw new ConfigError([`MLV_REFERENCES names ${path}, which does not exist. Fix: use default, lab, or a path to a references file.`], 'MLV_REFERENCES');
  const text = readFileSync(path, 'utf8');
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError([`${path} is not valid YAML/JSON: ${(e as Error).message}`], path);
  }
  const r = ReferencesSchema.safeParse(data);
  const problems = r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  // Each task's workload is checked at load time against the schema of its kind.
  const tasks = (data as { tasks?: Record<string, { workload?: unknown }> } | null)?.tasks;
  for (const [id, task] of Object.entries(tasks && typeof tasks === 'object' ? tasks : {})) {
    const schema = task && typeof task === 'object' && task.workload !== undefined ? workloadSchemaFor(id) : undefined;
    const w = schema?.safeParse(task.workload);
    for (const i of w && !w.success ? w.error.issues : []) problems.push(`tasks.${id}.workload.${i.path.join('.')}: ${i.message}`);
  }
  if (problems.length || !r.success) throw new ConfigError(problems, path);
  return r.data;
}

interface Verdict {
  name: string;
  value: number;
  threshold: Threshold;
  pass: boolean;
  /** One line, e.g. "test_accuracy = 0.962, want >= 0.95 (lab measured): ok (1.3% above the min)". */
  message: string;
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : Math.abs(n) >= 1000 ? n.toFixed(1) : String(Number(n.toPrecision(4))));

/**
 * How far a value is from the edge of its band, e.g. "38% below the max": the nearer edge
 * (outside the band that is the edge it crossed), in percent of the edge, or in the unit
 * where the edge is 0 ("3 above the max" of errors <= 0). Empty for a value or edge that is not finite.
 */
function margin(value: number, t: Threshold, unit: string): string {
  const edges: { edge: number; side: string }[] = [];
  if (t.min !== undefined) edges.push({ edge: t.min, side: 'min' });
  if (t.max !== undefined) edges.push({ edge: t.max, side: 'max' });
  if (!edges.length) return '';
  const near = edges.reduce((a, b) => (Math.abs(value - b.edge) < Math.abs(value - a.edge) ? b : a));
  if (!Number.isFinite(value) || !Number.isFinite(near.edge)) return '';
  const d = value - near.edge;
  if (d === 0) return `at the ${near.side}`;
  const size = near.edge === 0 ? `${fmt(Math.abs(d))}${unit}` : `${Number(((Math.abs(d) / Math.abs(near.edge)) * 100).toPrecision(2))}%`;
  return `${size} ${d > 0 ? 'above' : 'below'} the ${near.side}`;
}

export function evaluate(name: string, value: number, t: Threshold): Verdict {
  const unit = t.unit ? ` ${t.unit}` : '';
  const okMin = t.min === undefined || value >= t.min;
  const okMax = t.max === undefined || value <= t.max;
  const pass = Number.isFinite(value) && okMin && okMax;
  const band = t.min !== undefined && t.max !== undefined ? `in [${fmt(t.min)}, ${fmt(t.max)}]` : t.min !== undefined ? `>= ${fmt(t.min)}` : `<= ${fmt(t.max!)}`;
  const m = margin(value, t, unit);
  const message = `${name} = ${fmt(value)}${unit}, want ${band}${unit}${t.source ? ` (${t.source})` : ''}: ${pass ? 'ok' : 'FAILED'}${m ? ` (${m})` : ''}`;
  return { name, value, threshold: t, pass, message };
}

export function taskReferences(refs: References, task: string): TaskReferences {
  const t = refs.tasks[task];
  if (!t) throw new ConfigError([`references for target ${refs.target} have no entry for ${task}. Fix: add tasks.${task} to the references file.`], refs.target);
  return t;
}

function workloadOf<S extends z.ZodType>(schema: S, task: TaskReferences, what: string): z.output<S> {
  const r = schema.safeParse(task.workload ?? {});
  if (!r.success)
    throw new ConfigError(
      r.error.issues.map((i) => `workload.${i.path.join('.')}: ${i.message}`),
      `references (${what})`,
    );
  return r.data;
}

export const trainingWorkload = (task: TaskReferences) => workloadOf(TrainingWorkloadSchema, task, 'training workload');
export const inferenceWorkload = (task: TaskReferences) => workloadOf(InferenceWorkloadSchema, task, 'inference workload');
export const e2eWorkload = (task: TaskReferences) => workloadOf(E2eWorkloadSchema, task, 'e2e workload');
export const oumiWorkload = (task: TaskReferences) => workloadOf(OumiWorkloadSchema, task, 'Oumi workload');

export function threshold(task: TaskReferences, name: string): Threshold {
  const t = task.thresholds[name];
  if (!t) throw new Error(`no threshold named ${name}; known: ${Object.keys(task.thresholds).join(', ')}`);
  return t;
}

/** The scaling and resource part of an InferenceService, as an inference workload declares it. */
export function servingFromWorkload(w: InferenceWorkload) {
  return {
    minReplicas: w.minReplicas,
    maxReplicas: w.maxReplicas,
    scaleMetric: w.scaleMetric,
    scaleTarget: w.scaleTarget,
    annotations: w.annotations,
    resources: { requests: w.requests, limits: w.limits },
  };
}
