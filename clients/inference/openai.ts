/**
 * Text-completion client for LLM InferenceServices.
 *
 * Flavours (route = `routePrefix` + fixed suffix):
 * - "openai" (default): POST `<prefix>/v1/completions`, OpenAI schema.
 *   KServe's Hugging Face runtime serves it under prefix "/openai"
 *   (→ `/openai/v1/completions`); TGI's OpenAI-compatible route is prefix "".
 * - "tgi-generate": POST `<prefix>/generate` with `{inputs, parameters}`, TGI's
 *   native route (prefix "" by default); one request per prompt.
 */
import { z } from 'zod';
import type { Endpoint } from './endpoint.ts';
import { InferenceTransport, type ClientOptions } from './http.ts';

export const OpenAICompletionSchema = z.object({
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
  usage: z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() }).nullable().optional(),
});

export const TgiGenerateSchema = z.object({
  generated_text: z.string(),
  details: z.object({ finish_reason: z.string().optional(), generated_tokens: z.number().int().optional() }).nullable().optional(),
});

export type CompletionFlavor = 'openai' | 'tgi-generate';

export interface CompletionsClientOptions extends ClientOptions {
  flavor?: CompletionFlavor;
  /** Path prefix; default "/openai" for "openai", "" for "tgi-generate". */
  routePrefix?: string;
}

export interface CompletionRequest {
  /** Model name (the InferenceService's served model name); unused by tgi-generate. */
  model: string;
  prompt: string | string[];
  maxTokens?: number;
  temperature?: number;
  stop?: string[];
  /** Extra body fields, passed through. */
  extra?: Record<string, unknown>;
}

export interface CompletionResult {
  /** One text per prompt, in prompt order. */
  texts: string[];
  finishReasons: (string | null)[];
  /** Token usage; fields are null where the server does not report them. */
  usage: { promptTokens: number | null; completionTokens: number | null; totalTokens: number | null };
  model?: string;
}

export class CompletionsClient {
  private readonly t: InferenceTransport;
  readonly flavor: CompletionFlavor;
  readonly path: string;

  constructor(endpoint: Endpoint, opts: CompletionsClientOptions = {}) {
    this.t = new InferenceTransport(endpoint, opts);
    this.flavor = opts.flavor ?? 'openai';
    const prefix = (opts.routePrefix ?? (this.flavor === 'openai' ? '/openai' : '')).replace(/\/+$/, '');
    this.path = `${prefix}${this.flavor === 'openai' ? '/v1/completions' : '/generate'}`;
  }

  async complete(req: CompletionRequest): Promise<CompletionResult> {
    return this.flavor === 'openai' ? this.openai(req) : this.tgi(req);
  }

  close(): void {
    this.t.close();
  }

  private async openai(req: CompletionRequest): Promise<CompletionResult> {
    const body: Record<string, unknown> = { model: req.model, prompt: req.prompt, ...req.extra };
    if (req.maxTokens !== undefined) body['max_tokens'] = req.maxTokens;
    if (req.temperature !== undefined) body['temperature'] = req.temperature;
    if (req.stop) body['stop'] = req.stop;
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

  private async tgi(req: CompletionRequest): Promise<CompletionResult> {
    const prompts = Array.isArray(req.prompt) ? req.prompt : [req.prompt];
    const texts: string[] = [];
    const finishReasons: (string | null)[] = [];
    let generated: number | null = 0;
    for (const inputs of prompts) {
      const parameters: Record<string, unknown> = { details: true, ...req.extra };
      if (req.maxTokens !== undefined) parameters['max_new_tokens'] = req.maxTokens;
      if (req.temperature !== undefined && req.temperature > 0) parameters['temperature'] = req.temperature;
      if (req.stop) parameters['stop'] = req.stop;
      const r = await this.t.json(TgiGenerateSchema, 'TGI generate response', 'POST', this.path, { body: { inputs, parameters } });
      texts.push(r.generated_text);
      finishReasons.push(r.details?.finish_reason ?? null);
      const n = r.details?.generated_tokens;
      generated = generated === null || n === undefined ? null : generated + n;
    }
    return { texts, finishReasons, usage: { promptTokens: null, completionTokens: generated, totalTokens: null } };
  }
}
