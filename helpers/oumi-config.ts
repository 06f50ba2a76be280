/**
 * Render the Oumi configs of MLOPS-1.2, 2.2 and 3.2 (workloads/oumi/*.yaml) from typed inputs, validated
 * against Oumi's schema (helpers/oumi-validate.ts) before anything is submitted, and the command lines
 * that run them through workloads/oumi/oumi.sh.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { OumiConfigKind, TORCH_DTYPES } from './oumi-schema.ts';
import { assertOumiConfig } from './oumi-validate.ts';

export const OUMI_WORKLOADS = fileURLToPath(new URL('../workloads/oumi/', import.meta.url));

export interface OumiModelInput {
  /** A local model folder (on the shared filesystem) or a model id already in the target's HF cache. */
  path: string;
  dtype?: (typeof TORCH_DTYPES)[number];
  maxLength?: number;
  trustRemoteCode?: boolean;
}

export interface OumiTrainInput {
  model: OumiModelInput;
  /** SFT data: a JSONL file of {"messages": [...]} (Oumi's text_sft_jsonl dataset). */
  dataset: string;
  outputDir: string;
  steps: number;
  batchSize: number;
  gradientAccumulation?: number;
  learningRate?: number;
  seed?: number;
  /** Processes (one per GPU) of a data-parallel run: above 1, workloads/oumi/train-ddp.yaml. */
  processes?: number;
  /** No CUDA on the target (the lab's fake GRES): device_map cpu, and with processes > 1 the HF trainer on CPU with gloo. */
  cpuOnly?: boolean;
  runName?: string;
  /** Log the run to MLflow (MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_NAME in the job's environment). */
  mlflow?: boolean;
}

export interface OumiEvalInput {
  model: OumiModelInput;
  outputDir: string;
  /** Text for the perplexity task; unset: no perplexity task. */
  textPath?: string;
  /** JSONL of {"prompt", "reference"?} for the generation task; unset: no generation task. */
  promptsPath?: string;
  maxNewTokens?: number;
  /** Perplexity window in tokens (at most the model's context) and its stride. */
  window?: { maxLength: number; stride: number };
}

export interface OumiInferInput {
  model: OumiModelInput;
  maxNewTokens?: number;
  batchSize?: number;
}

export interface RenderedOumiConfig {
  kind: OumiConfigKind;
  /** The template's file name in workloads/oumi/. */
  template: string;
  config: Record<string, unknown>;
  yaml: string;
}

type Sets = [path: (string | number)[], value: unknown][];

function render(kind: OumiConfigKind, template: string, sets: Sets, edit?: (doc: ReturnType<typeof parseDocument>) => void): RenderedOumiConfig {
  const doc = parseDocument(readFileSync(OUMI_WORKLOADS + template, 'utf8'));
  for (const [path, value] of sets) if (value !== undefined) doc.setIn(path, value);
  edit?.(doc);
  doc.commentBefore = ` Rendered by helpers/oumi-config.ts from workloads/oumi/${template}.\n${doc.commentBefore ?? ''}`;
  const config = doc.toJS() as Record<string, unknown>;
  assertOumiConfig(kind, config, `workloads/oumi/${template} as rendered`);
  return { kind, template, config, yaml: doc.toString({ lineWidth: 0 }) };
}

const modelSets = (m: OumiModelInput, cpuOnly = false): Sets => [
  [['model', 'model_name'], m.path],
  [['model', 'torch_dtype_str'], m.dtype],
  [['model', 'model_max_length'], m.maxLength],
  [['model', 'trust_remote_code'], m.trustRemoteCode],
  ...(cpuOnly ? ([[['model', 'device_map'], 'cpu']] as Sets) : []),
];

export function renderTrainConfig(t: OumiTrainInput): RenderedOumiConfig {
  const ddp = (t.processes ?? 1) > 1;
  return render('train', ddp ? 'train-ddp.yaml' : 'train.yaml', [
    ...modelSets(t.model, t.cpuOnly),
    [['data', 'train', 'datasets', 0, 'dataset_path'], t.dataset],
    [['training', 'output_dir'], t.outputDir],
    [['training', 'max_steps'], t.steps],
    [['training', 'per_device_train_batch_size'], t.batchSize],
    [['training', 'gradient_accumulation_steps'], t.gradientAccumulation],
    [['training', 'learning_rate'], t.learningRate],
    [['training', 'seed'], t.seed],
    [['training', 'run_name'], t.runName],
    [['training', 'enable_mlflow'], t.mlflow],
    ...(ddp && t.cpuOnly ? ([[['training', 'trainer_kwargs'], { use_cpu: true, ddp_backend: 'gloo' }]] as Sets) : []),
  ]);
}

export function renderEvalConfig(e: OumiEvalInput): RenderedOumiConfig {
  if (!e.textPath && !e.promptsPath) throw new Error('an Oumi evaluation needs textPath (perplexity) or promptsPath (generations)');
  return render('evaluate', 'eval.yaml', [...modelSets(e.model), [['output_dir'], e.outputDir], [['generation', 'max_new_tokens'], e.maxNewTokens]], (doc) => {
    const tasks = (doc.toJS() as { tasks: { task_name: string; eval_kwargs: Record<string, unknown> }[] }).tasks;
    const kept = tasks.flatMap((task): { task_name: string; eval_kwargs: Record<string, unknown> }[] => {
      if (task.task_name === 'mlv_perplexity')
        return e.textPath ? [{ ...task, eval_kwargs: { ...task.eval_kwargs, text_path: e.textPath, ...(e.window ? { max_length: e.window.maxLength, stride: e.window.stride } : {}) } }] : [];
      return e.promptsPath ? [{ ...task, eval_kwargs: { ...task.eval_kwargs, prompts_path: e.promptsPath } }] : [];
    });
    doc.set('tasks', doc.createNode(kept));
  });
}

export function renderInferConfig(i: OumiInferInput): RenderedOumiConfig {
  return render('infer', 'infer.yaml', [...modelSets(i.model), [['generation', 'max_new_tokens'], i.maxNewTokens], [['generation', 'batch_size'], i.batchSize]]);
}

/** The OUMI_EXTRA_DEPS_FILE content: one absolute Python file a line (Oumi imports each by its stem). */
export function extraDepsFile(pythonFiles: string[]): string {
  for (const f of pythonFiles)
    if (!f.startsWith('/') || /[\n\r]/.test(f) || !f.endsWith('.py')) throw new Error(`OUMI_EXTRA_DEPS_FILE entries are absolute .py paths on one line each, got ${JSON.stringify(f)}`);
  return pythonFiles.join('\n') + '\n';
}

export interface OumiCommand {
  argv: string[];
  /** Environment for the job (names the sbatch renderer allows: MLV_*, OUMI_*). */
  env: Record<string, string>;
}

/** Where the suite's Oumi files are on the cluster: `<remote workloads>/oumi/`. */
export interface OumiRemote {
  /** How Oumi runs there (MLV_OUMI), e.g. ['/shared/venvs/oumi/bin/oumi']; the runtime prefix comes before it. */
  oumi: string[];
  /** The uploaded workloads/oumi folder. */
  dir: string;
}

const via = (r: OumiRemote, args: string[]) => ['sh', `${r.dir}/oumi.sh`, ...r.oumi, ...args];

/** `oumi train -c`, or for processes > 1 `oumi distributed torchrun -m oumi train -c` (on a CPU-only target with the cpu-ddp shim). */
export function oumiTrainCommand(r: OumiRemote, config: string, o: { processes?: number; cpuOnly?: boolean } = {}): OumiCommand {
  const n = o.processes ?? 1;
  if (n <= 1) return { argv: via(r, ['train', '-c', config]), env: {} };
  return { argv: via(r, ['distributed', 'torchrun', '-m', 'oumi', 'train', '-c', config]), env: o.cpuOnly ? { MLV_OUMI_CPU_DDP: '1', MLV_OUMI_PROCESSES: String(n) } : {} };
}

/** `oumi evaluate -c` with the suite's custom evaluations (mlv_eval.py) named in `extraDeps`, a file holding extraDepsFile([`${dir}/mlv_eval.py`]). */
export function oumiEvaluateCommand(r: OumiRemote, config: string, extraDeps: string): OumiCommand {
  return { argv: via(r, ['evaluate', '-c', config]), env: { OUMI_EXTRA_DEPS_FILE: extraDeps } };
}

export function oumiInferCommand(r: OumiRemote, config: string, input: string, output: string): OumiCommand {
  return { argv: via(r, ['infer', '-c', config, '--input_path', input, '--output_path', output]), env: {} };
}

/** `oumi infer`'s input: one conversation a line, the prompt as the user's message. */
export const inferInput = (prompts: string[]) => prompts.map((p) => JSON.stringify({ messages: [{ role: 'user', content: p }] })).join('\n') + '\n';
