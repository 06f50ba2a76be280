/**
 * What `oumi evaluate` and `oumi infer` write, parsed (pure). Oumi saves each task of an evaluation as
 * `<output_dir>/<backend>_<YYYYMMDD_HHMMSS>[_<n>]/task_result.json`; a custom task's dict lands under
 * `results.<task_name>` (src/oumi/core/evaluation/evaluator.py, utils/save_utils.py), with `start_time`
 * and `duration_sec` beside it (`duration_sec` only when it took a whole second or more).
 */
import { z } from 'zod';
import { degenerate } from './completion-quality.ts';

/** A task_result.json path below an evaluation's output_dir. */
export const TASK_RESULT_PATH = /(?:^|\/)(lm_harness|custom)_(\d{8}_\d{6})(?:_(\d+))?\/task_result\.json$/;

export interface TaskResult {
  /** The metrics of each task in the file, by task name. */
  results: Record<string, Record<string, unknown>>;
  startTime?: string;
  durationSec?: number;
}

const TaskResultSchema = z.object({ results: z.record(z.string(), z.record(z.string(), z.unknown())), start_time: z.string().optional(), duration_sec: z.number().optional() }).passthrough();

/** Python's json.dumps writes NaN and Infinity, which JSON.parse refuses: as values they become null. */
export const pythonJson = (text: string): unknown => JSON.parse(text.replace(/([:[,]\s*)-?(?:NaN|Infinity)(?=\s*[,\]}])/g, '$1null'));

export function parseTaskResult(text: string): TaskResult {
  let json: unknown;
  try {
    json = pythonJson(text);
  } catch (e) {
    throw new Error(`task_result.json is not JSON: ${(e as Error).message}`);
  }
  const r = TaskResultSchema.safeParse(json);
  if (!r.success) throw new Error(`task_result.json has no results: ${r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  return { results: r.data.results, startTime: r.data.start_time, durationSec: r.data.duration_sec };
}

/** The metrics of `task` across an evaluation's task_result.json files (one file per task). */
export function taskMetrics(files: TaskResult[], task: string): Record<string, unknown> {
  const hit = files.find((f) => f.results[task]);
  if (!hit) throw new Error(`no task_result.json holds task ${task} (tasks found: ${files.flatMap((f) => Object.keys(f.results)).join(', ') || 'none'})`);
  return hit.results[task]!;
}

const PerplexitySchema = z.object({ perplexity: z.number().nullable(), tokens: z.number().int().nonnegative() }).passthrough();

/** workloads/oumi/mlv_eval.py's mlv_perplexity: the perplexity must be a finite number >= 1. */
export function perplexityOf(metrics: Record<string, unknown>): { perplexity: number; tokens: number } {
  const p = PerplexitySchema.parse(metrics);
  if (p.perplexity === null) throw new Error(`no finite perplexity (${p.tokens} tokens scored): the text was empty or the mean loss overflowed`);
  if (!Number.isFinite(p.perplexity) || p.perplexity < 1) throw new Error(`perplexity ${p.perplexity} is not a finite number >= 1`);
  return { perplexity: p.perplexity, tokens: p.tokens };
}

const GenerationSchema = z.object({ prompt: z.string(), response: z.string(), reference: z.string().optional(), bleu: z.number().optional(), rouge_l: z.number().optional() });
const GenerationsSchema = z.object({ count: z.number().int(), generations: z.array(GenerationSchema), bleu: z.number().nullable(), rouge_l: z.number().nullable() }).passthrough();
export type Generation = z.infer<typeof GenerationSchema>;

/** workloads/oumi/mlv_eval.py's mlv_generations: each prompt's response, and BLEU / ROUGE-L (null without references). */
export function generationsOf(metrics: Record<string, unknown>): { generations: Generation[]; bleu: number | null; rougeL: number | null } {
  const g = GenerationsSchema.parse(metrics);
  return { generations: g.generations, bleu: g.bleu, rougeL: g.rouge_l };
}

const InferLine = z.object({ messages: z.array(z.object({ role: z.string(), content: z.unknown() })).min(1), metadata: z.record(z.string(), z.unknown()).optional() }).passthrough();

/** `oumi infer --output_path`: one conversation a line, the model's reply last. */
export function parseInferOutput(text: string): { prompt: string; response: string; finishReason?: string }[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      const c = InferLine.parse(JSON.parse(l));
      const user = c.messages.find((m) => m.role === 'user');
      const last = c.messages.at(-1)!;
      if (last.role !== 'assistant') throw new Error(`oumi infer output line ${i + 1}: the last message is from ${last.role}, not the assistant`);
      const reason = c.metadata?.finish_reason;
      return {
        prompt: typeof user?.content === 'string' ? user.content : '',
        response: typeof last.content === 'string' ? last.content : '',
        finishReason: typeof reason === 'string' ? reason : undefined,
      };
    });
}

/** Why each degenerate generation is degenerate (empty, one token repeated, a loop): one line per bad one. */
export function degenerateGenerations(gens: { prompt: string; response: string }[]): string[] {
  return gens.flatMap((g) => {
    const why = g.response.trim() ? degenerate(g.response) : 'empty response';
    return why ? [`${JSON.stringify(g.prompt)}: ${why}`] : [];
  });
}
