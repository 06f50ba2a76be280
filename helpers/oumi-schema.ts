/**
 * zod schemas of the Oumi configs the suite writes (training, evaluation, inference, launcher job),
 * strict at every level: a key that is not a field of the Oumi class at that place is refused before
 * anything is submitted, with its path and the nearest real field ("training.max_step is not an Oumi
 * TrainingParams field (did you mean max_steps?)"). The fields the templates set are typed; Oumi's
 * other fields (helpers/oumi-fields.ts) are accepted as they are and left to Oumi to check.
 */
import { z } from 'zod';
import { OUMI_FIELDS, type OumiClass } from './oumi-fields.ts';

const CLASS_OF = new WeakMap<z.ZodType, OumiClass>();
/** The Oumi class a schema of this module stands for. */
export const schemaClass = (s: z.ZodType | undefined): OumiClass | undefined => (s ? CLASS_OF.get(s) : undefined);

/** A strict object of an Oumi class: `typed` for the fields the suite writes, the class's other fields as unknown. */
function oumiClass<S extends z.ZodRawShape>(cls: OumiClass, typed: S) {
  const fields: readonly string[] = OUMI_FIELDS[cls];
  const foreign = Object.keys(typed).filter((k) => !fields.includes(k));
  if (foreign.length) throw new Error(`oumi-schema: ${foreign.join(', ')} not in Oumi's ${cls}`);
  const rest = Object.fromEntries(fields.filter((f) => !(f in typed)).map((f) => [f, z.unknown().optional()]));
  const schema = z.object({ ...rest, ...typed }).strict();
  CLASS_OF.set(schema, cls);
  return schema;
}

const int = (min: number) => z.number().int().min(min);
const text = z.string().min(1);
const bool = z.boolean();
/** Oumi parses enums by name (TRL_SFT) or value (trl_sft). */
const oumiEnum = (values: readonly string[]) => z.enum([...new Set([...values, ...values.map((v) => v.toUpperCase())])] as [string, ...string[]]);

export const TRAINER_TYPES = ['trl_sft', 'trl_dpo', 'trl_kto', 'trl_grpo', 'trl_gkd', 'trl_gold', 'hf', 'oumi', 'verl_grpo'] as const;
export const TORCH_DTYPES = ['float32', 'f32', 'float', 'bfloat16', 'bf16', 'float16', 'f16', 'half', 'float64', 'f64', 'double'] as const;
export const INFERENCE_ENGINES = ['NATIVE', 'VLLM', 'REMOTE_VLLM', 'SGLANG', 'LLAMACPP', 'REMOTE'] as const;

const ModelSchema = oumiClass('ModelParams', {
  model_name: text,
  load_pretrained_weights: bool.optional(),
  torch_dtype_str: z.enum(TORCH_DTYPES).optional(),
  model_max_length: int(1).optional(),
  trust_remote_code: bool.optional(),
  device_map: text.optional(),
  tokenizer_name: text.optional(),
});

const DatasetSchema = oumiClass('DatasetParams', { dataset_name: text, dataset_path: text.optional(), split: text.optional(), sample_count: int(1).optional() });
const SplitSchema = oumiClass('DatasetSplitParams', { datasets: z.array(DatasetSchema).min(1) });
const DataSchema = oumiClass('DataParams', { train: SplitSchema, test: SplitSchema.optional(), validation: SplitSchema.optional() });

const TrainingSchema = oumiClass('TrainingParams', {
  trainer_type: oumiEnum(TRAINER_TYPES),
  output_dir: text,
  max_steps: z
    .number()
    .int()
    .refine((n) => n === -1 || n > 0, 'max_steps must be positive (or -1: use num_train_epochs)')
    .optional(),
  num_train_epochs: int(1).optional(),
  per_device_train_batch_size: int(1).optional(),
  gradient_accumulation_steps: int(1).optional(),
  learning_rate: z.number().positive(),
  optimizer: text.optional(),
  seed: int(0).optional(),
  logging_steps: int(1).optional(),
  save_steps: int(0).optional(),
  save_final_model: bool.optional(),
  dataloader_num_workers: z.union([int(0), z.literal('auto')]).optional(),
  log_model_summary: bool.optional(),
  ddp_find_unused_parameters: bool.optional(),
  include_performance_metrics: bool.optional(),
  enable_wandb: bool.optional(),
  enable_mlflow: bool.optional(),
  enable_tensorboard: bool.optional(),
  run_name: text.optional(),
  trainer_kwargs: z.record(z.string(), z.unknown()).optional(),
});

export const TrainingConfigSchema = oumiClass('TrainingConfig', { model: ModelSchema, data: DataSchema, training: TrainingSchema });

const GenerationSchema = oumiClass('GenerationParams', {
  max_new_tokens: int(1),
  batch_size: int(1).optional(),
  use_sampling: bool.optional(),
  temperature: z.number().min(0).optional(),
  seed: int(0).optional(),
});

const TaskSchema = oumiClass('EvaluationTaskParams', {
  evaluation_backend: z.enum(['lm_harness', 'custom']),
  task_name: text,
  num_samples: int(1).optional(),
  log_samples: bool.optional(),
  eval_kwargs: z.record(z.string(), z.unknown()).optional(),
});

export const EvaluationConfigSchema = oumiClass('EvaluationConfig', {
  model: ModelSchema,
  generation: GenerationSchema.optional(),
  tasks: z.array(TaskSchema).min(1),
  inference_engine: z.enum(INFERENCE_ENGINES).optional(),
  enable_wandb: bool.optional(),
  run_name: text.optional(),
  output_dir: text,
});

export const InferenceConfigSchema = oumiClass('InferenceConfig', {
  model: ModelSchema,
  generation: GenerationSchema.optional(),
  engine: z.enum(INFERENCE_ENGINES).optional(),
  input_path: text.optional(),
  output_path: text.optional(),
});

/** Oumi's cluster names and job users: `^[a-zA-Z0-9.\-_]+$` (SlurmCluster.parse_cluster_name). */
export const OUMI_NAME = /^[A-Za-z0-9._-]+$/;
/** One shell word as Oumi writes it into `export K=V` unquoted: plain, or single-quoted as helpers/shell.ts quotes. */
const SHELL_WORD = /^(?:[A-Za-z0-9_@%+:,./=-]*|'(?:[^']|'\\'')*')$/;

const ResourcesSchema = oumiClass('JobResources', { cloud: text, accelerators: text.optional(), cpus: text.optional(), memory: text.optional() });

export const JobConfigSchema = oumiClass('JobConfig', {
  name: z.string().regex(OUMI_NAME, 'a job name of letters, digits, ".", "_" and "-"'),
  user: z.string().regex(OUMI_NAME, 'a user name of letters, digits, ".", "_" and "-"'),
  working_dir: z.string().endsWith('/', 'working_dir needs a trailing slash: without one Oumi copies the folder one level down, and the job runs in its parent'),
  num_nodes: int(1),
  resources: ResourcesSchema,
  envs: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string().regex(SHELL_WORD, 'one shell word: Oumi writes `export K=V` unquoted')).optional(),
  file_mounts: z.record(text, text).optional(),
  setup: z.string().optional(),
  run: text,
});

export type OumiConfigKind = 'train' | 'evaluate' | 'infer' | 'job';
export const OUMI_SCHEMAS: Record<OumiConfigKind, z.ZodType> = { train: TrainingConfigSchema, evaluate: EvaluationConfigSchema, infer: InferenceConfigSchema, job: JobConfigSchema };
