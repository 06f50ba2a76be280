/**
 * Check a rendered Oumi config against helpers/oumi-schema.ts and say what is wrong in Oumi's terms:
 * an unknown key names its path, the Oumi class that lacks it and the nearest real field.
 */
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { OUMI_FIELDS, type OumiClass } from './oumi-fields.ts';
import { OUMI_SCHEMAS, schemaClass, type OumiConfigKind } from './oumi-schema.ts';

/** Keys of the task list's plan that Oumi does not have, and what Oumi calls the thing (docs: mlops-tasks.md). */
const PLAN_MISTAKES: Record<string, string> = {
  max_seq_length: 'model.model_max_length',
  bf16: 'model.torch_dtype_str: bfloat16 or training.mixed_precision_dtype: bf16',
  fp16: 'model.torch_dtype_str: float16 or training.mixed_precision_dtype: fp16',
  dataset: 'data.train.datasets',
  compute: 'resources (a launcher JobConfig) or the sbatch lines of its setup/run',
  epochs: 'training.num_train_epochs',
  batch_size: 'training.per_device_train_batch_size',
  lr: 'training.learning_rate',
  gpus: 'resources.accelerators, or #SBATCH --gres in setup/run',
};

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The nearest field of `cls` to `key`: a plan mistake's real name, a close spelling, or a field sharing its words. */
export function suggestField(cls: OumiClass, key: string): string | undefined {
  if (PLAN_MISTAKES[key]) return PLAN_MISTAKES[key];
  const fields: readonly string[] = OUMI_FIELDS[cls];
  const k = key.toLowerCase();
  const [best] = fields.map((f) => ({ f, d: levenshtein(k, f) })).sort((x, y) => x.d - y.d);
  if (best && best.d <= Math.max(2, Math.floor(k.length / 4))) return best.f;
  const words = new Set(k.split(/[_.-]/).filter((w) => w.length > 2));
  const shared = fields.map((f) => ({ f, n: f.split('_').filter((w) => words.has(w)).length })).sort((x, y) => y.n - x.n)[0];
  return shared && shared.n >= 2 ? shared.f : undefined;
}

/** The schema at `path` below `root`, through optionals and arrays. */
function schemaAt(root: z.ZodType, path: PropertyKey[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = root;
  for (const p of path) {
    while (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    if (s instanceof z.ZodArray) s = s.element as z.ZodType;
    else if (s instanceof z.ZodObject) s = (s.shape as Record<string, z.ZodType>)[String(p)];
    else return undefined;
  }
  return s;
}

const dotted = (path: PropertyKey[]) =>
  path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');

/** One line per problem of `config` as an Oumi config of `kind`; empty when Oumi would take it. */
export function oumiProblems(kind: OumiConfigKind, config: unknown): string[] {
  const root = OUMI_SCHEMAS[kind];
  const r = root.safeParse(config);
  if (r.success) return [];
  return r.error.issues.flatMap((i) => {
    if (i.code !== 'unrecognized_keys') return [`${dotted(i.path) || '(top level)'}: ${i.message}`];
    const cls = schemaClass(schemaAt(root, i.path));
    return i.keys.map((key) => {
      const hint = cls ? suggestField(cls, key) : undefined;
      return `${dotted([...i.path, key])} is not an Oumi ${cls ?? ''} field${hint ? ` (did you mean ${hint}?)` : ''}`.replace('Oumi  field', 'Oumi field');
    });
  });
}

/** Throw a ConfigError naming every problem; `source` says which config (e.g. "workloads/oumi/train.yaml as rendered for MLOPS-1.2"). */
export function assertOumiConfig(kind: OumiConfigKind, config: unknown, source: string): void {
  const problems = oumiProblems(kind, config);
  if (problems.length) throw new ConfigError(problems, source);
}
