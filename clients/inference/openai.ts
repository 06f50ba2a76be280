/**
 * Text-completion client for LLM InferenceServices: POST `/openai/v1/completions` with the
 * OpenAI schema, the route KServe's Hugging Face runtime serves.
 */
import { z } from 'zod';
import type { Endpoint } from './endpoint.ts';
import { InferenceTransport, type ClientOptions } from './http.ts';

/**
 * The completion answer of KServe's Hugging Face runtime (generative_model.py create_completion,
 * vLLM's CompletionResponse): optional fields come as null (logprobs, stop_reason,
 * prompt_tokens_details, system_fingerprint); fields the suite does not read are ignored.
 */
const OpenAICompletionSchema = z.object({
  id: z.string().optional(),
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        index: z.number().int().optional(),
        text: z.string(),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1),
  /** vLLM's UsageInfo (KServe's HF runtime types): completion_tokens is `int | None`. */
  usage: z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int().nullish(), total_tokens: z.number().int() }).nullish(),
});

interface CompletionRequest {
  /** Model name (the InferenceService's served model name). */
  model: string;
  prompt: string | string[];
  maxTokens?: number;
}

interface CompletionResult {
  /** One text per prompt, in prompt order. */
  texts: string[];
  finishReasons: (string | null)[];
  /** Token usage; fields are null where the server does not report them. */
  usage: { promptTokens: number | null; completionTokens: number | null; totalTokens: number | null };
  model?: string;
}

export class CompletionsClient {
  private readonly t: InferenceTransport;
  readonly path = '/openai/v1/completions';

  constructor(endpoint: Endpoint, opts: ClientOptions = {}) {
    this.t = new InferenceTransport(endpoint, opts);
  }

  async complete(req: CompletionRequest): Promise<CompletionResult> {
    const body: Record<string, unknown> = { model: req.model, prompt: req.prompt };
    if (req.maxTokens !== undefined) body['max_tokens'] = req.maxTokens;
    const r = await this.t.json(OpenAICompletionSchema, 'completion response', 'POST', this.path, { body });
    const choices = [...r.choices].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return {
      texts: choices.map((c) => c.text),
      finishReasons: choices.map((c) => c.finish_reason ?? null),
      usage: {
        promptTokens: r.usage?.prompt_tokens ?? null,
        completionTokens: r.usage?.completion_tokens ?? null,
        totalTokens: r.usage?.total_tokens ?? null,
      },
      model: r.model,
    };
  }

  close(): void {
    this.t.close();
  }
}
