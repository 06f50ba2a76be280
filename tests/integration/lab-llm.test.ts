/**
 * The lab's tiny causal LM (lab/llm/build.sh) served by the Hugging Face-like runtime
 * (lab/cloud/runtime-hf): the build's output, then the runtime on an ephemeral port answering
 * the task list's three prompts with the real huggingfaceserver's body, and its real errors.
 * Skipped, with the reason, when `lab up` has not built the model.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { degenerate as degenerateText, words } from '../../helpers/completion-quality.ts';

const SHARED = `${process.env['LAB_SRV'] ?? '/srv/mlops-lab'}/shared`;
const MODEL_DIR = `${SHARED}/models/tiny-llm`;
const PYTHON = `${SHARED}/venvs/llm/bin/python`;
const RUNTIME = fileURLToPath(new URL('../../lab/cloud/runtime-hf/main.py', import.meta.url));
const BUILD = fileURLToPath(new URL('../../lab/llm/build.py', import.meta.url));
const CORPUS = fileURLToPath(new URL('../../lab/llm/corpus.txt', import.meta.url));
const PROMPTS = ['Write a short story about', 'Explain quantum computing in simple terms', 'Create a haiku about nature'];
const NAME = 'tiny-llm-test';
const MAX_TOKENS = 32;

const missing = [`${MODEL_DIR}/config.json`, `${MODEL_DIR}/model.safetensors`, PYTHON].filter((p) => !existsSync(p));
const skip = missing.length ? `tiny LLM not built (missing ${missing.join(', ')}): run bash lab/llm/build.sh or bash lab/lab.sh up` : false;

/** vLLM's CompletionResponse as KServe's HF runtime serializes it: optional fields present as null. */
const CompletionSchema = z.object({
  id: z.string().min(1),
  object: z.literal('text_completion'),
  created: z.number().int().positive(),
  model: z.string(),
  choices: z
    .array(
      z.object({
        index: z.number().int().nonnegative(),
        text: z.string(),
        logprobs: z.null(),
        finish_reason: z.enum(['stop', 'length']),
        stop_reason: z.union([z.number(), z.string()]).nullable().optional(),
      }),
    )
    .length(1),
  system_fingerprint: z.string().nullable(),
  usage: z.object({
    prompt_tokens: z.number().int().positive(),
    completion_tokens: z.number().int().positive(),
    total_tokens: z.number().int().positive(),
    prompt_tokens_details: z.null().optional(),
  }),
});

const corpusWords = new Set(words(readFileSync(CORPUS, 'utf8')));
/** helpers/completion-quality.ts with the training corpus as the vocabulary. The control below: a model trained for 1 step loops one token ("about about ...") and fails. */
const degenerate = (text: string): string | null => degenerateText(text, corpusWords);

/** Parameter count from the safetensors header (8-byte little-endian length, then JSON). */
function safetensorsParams(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const len = Buffer.alloc(8);
    readSync(fd, len, 0, 8, 0);
    const header = Buffer.alloc(Number(len.readBigUInt64LE()));
    readSync(fd, header, 0, header.length, 8);
    const tensors = Object.entries(JSON.parse(header.toString('utf8')) as Record<string, { shape?: number[] }>);
    return tensors.filter(([k]) => k !== '__metadata__').reduce((sum, [, t]) => sum + (t.shape ?? []).reduce((a, b) => a * b, 1), 0);
  } finally {
    closeSync(fd);
  }
}

let child: ChildProcess | undefined;
let base = '';
let tmp = '';

async function startRuntime(): Promise<void> {
  const proc = spawn(PYTHON, [RUNTIME, '--model-dir', MODEL_DIR, '--model-name', NAME, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let out = '';
  base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runtime not READY within 90 s:\n${out}`)), 90_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /READY port=(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${m[1]}`);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`runtime exited ${code}:\n${out}`));
    });
  });
}

async function call(path: string, body?: unknown): Promise<{ status: number; json: unknown; ms: number }> {
  const t0 = performance.now();
  const init: RequestInit = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  const r = await fetch(`${base}${path}`, init);
  const json: unknown = await r.json();
  return { status: r.status, json, ms: performance.now() - t0 };
}

before(async () => {
  if (skip) return;
  tmp = mkdtempSync(join(tmpdir(), 'lab-llm-'));
  await startRuntime();
});

after(async () => {
  if (child && child.exitCode === null) {
    const done = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('the degeneracy check flags loops, one repeated token, noise and empty text, and passes prose', () => {
  assert.match(degenerate(' the the the the the the the the') ?? '', /distinct-word ratio/);
  assert.match(degenerate(' the garden grew the garden grew the garden grew the garden grew') ?? '', /distinct-word ratio 0\.25/);
  assert.match(degenerate(' rain fell rain on the roof rain and rain in the garden rain') ?? '', /"rain" is 5 of 13/);
  assert.match(degenerate(' qx zzyv brrk mlop the garden ftt wq') ?? '', /in the corpus/);
  assert.match(degenerate('  ') ?? '', /only 0 word/);
  assert.equal(degenerate(' a small town where the weather changed every hour. In the morning the sky was'), null);
});

test('the response schema rejects what the real runtime never sends', () => {
  const good = {
    id: 'b0dc7995-466c-4324-b98e-ac5d53ff92a7',
    object: 'text_completion',
    created: 1796174828,
    model: 'm',
    choices: [{ index: 0, text: ' x', logprobs: null, finish_reason: 'length', stop_reason: null }],
    system_fingerprint: null,
    usage: { prompt_tokens: 5, total_tokens: 37, completion_tokens: 32, prompt_tokens_details: null },
  };
  assert.ok(CompletionSchema.safeParse(good).success);
  const bad: Record<string, unknown>[] = [
    { ...good, object: 'chat.completion' },
    { ...good, choices: [] },
    { ...good, choices: [{ ...good.choices[0], finish_reason: 'eos' }] },
    { ...good, choices: [{ ...good.choices[0], logprobs: { tokens: [] } }] },
    { ...good, usage: { prompt_tokens: 5, total_tokens: 5 } },
    { ...good, system_fingerprint: undefined },
  ];
  for (const b of bad) assert.equal(CompletionSchema.safeParse(b).success, false, JSON.stringify(b));
});

test('build output: save_pretrained layout, 50k-200k parameters, tokenizer round-trips', { skip }, () => {
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    assert.ok(existsSync(`${MODEL_DIR}/${f}`), `${f} missing in ${MODEL_DIR}`);
  }
  const config = JSON.parse(readFileSync(`${MODEL_DIR}/config.json`, 'utf8')) as { architectures: string[]; model_type: string };
  assert.deepEqual([config.architectures, config.model_type], [['LlamaForCausalLM'], 'llama']);
  const params = safetensorsParams(`${MODEL_DIR}/model.safetensors`);
  assert.ok(params >= 50_000 && params <= 200_000, `${params} parameters`);
  const training = JSON.parse(readFileSync(`${MODEL_DIR}/training.json`, 'utf8')) as { params: number; loss_first_50: number; loss_last_50: number };
  assert.equal(training.params, params);
  assert.ok(training.loss_last_50 < training.loss_first_50 / 4, `loss ${training.loss_first_50} -> ${training.loss_last_50}`);
  const text = 'Résumé: 3 GPUs, naïve café ☕ and <|im_start|>user\nhi<|im_end|>';
  const script = 'import sys; from transformers import AutoTokenizer; t = AutoTokenizer.from_pretrained(sys.argv[1]); ids = t(sys.argv[2])["input_ids"]; print(len(ids)); print(t.decode(ids), end="")';
  const r = spawnSync(PYTHON, ['-c', script, MODEL_DIR, text], { encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1' } });
  assert.equal(r.status, 0, r.stderr);
  const [count, ...decoded] = r.stdout.split('\n');
  assert.equal(decoded.join('\n'), text);
  assert.ok(Number(count) < text.length, `${count} tokens for ${text.length} characters: merges and special tokens work`);
});

test('routes: liveness, V2 readiness, model lists under the served name', { skip }, async () => {
  assert.deepEqual((await call('/')).json, { status: 'alive' });
  assert.deepEqual((await call('/v2/health/ready')).json, { ready: true });
  assert.deepEqual((await call(`/v1/models/${NAME}`)).json, { name: NAME, ready: true });
  const models = (await call('/openai/v1/models')).json as { object: string; data: { id: string; object: string }[] };
  assert.deepEqual([models.object, models.data.map((m) => [m.id, m.object])], ['list', [[NAME, 'model']]]);
});

test('the three task-list prompts: 200, the real body, corpus-like non-degenerate text, consistent usage', { skip }, async () => {
  const lines: string[] = [];
  for (const prompt of PROMPTS) {
    const r = await call('/openai/v1/completions', { model: NAME, prompt, max_tokens: MAX_TOKENS });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const c = CompletionSchema.parse(r.json);
    const choice = c.choices[0]!;
    assert.equal(c.model, NAME);
    assert.ok(choice.text.trim().length > 0, 'empty completion');
    assert.equal(degenerate(choice.text), null);
    assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
    assert.ok(c.usage.completion_tokens <= MAX_TOKENS, `${c.usage.completion_tokens} > max_tokens`);
    // Upstream says "length" unless a stop sequence fired (also after EOS); an EOS before
    // max_tokens shows as fewer completion tokens.
    assert.equal(choice.finish_reason, 'length');
    const again = CompletionSchema.parse((await call('/openai/v1/completions', { model: NAME, prompt, max_tokens: MAX_TOKENS })).json);
    assert.equal(again.choices[0]!.text, choice.text, 'greedy decoding is deterministic');
    lines.push(`${r.ms.toFixed(0)} ms, ${c.usage.completion_tokens} tokens: ${JSON.stringify(prompt)} -> ${JSON.stringify(choice.text)}`);
  }
  console.log(lines.join('\n'));
});

test('max_tokens is honoured; a stop sequence ends the text with finish_reason "stop"; EOS ends it early', { skip }, async () => {
  const short = CompletionSchema.parse((await call('/openai/v1/completions', { model: NAME, prompt: PROMPTS[0], max_tokens: 3 })).json);
  assert.equal(short.usage.completion_tokens, 3);
  const stopped = CompletionSchema.parse((await call('/openai/v1/completions', { model: NAME, prompt: PROMPTS[2], max_tokens: MAX_TOKENS, stop: ['\n'] })).json);
  assert.equal(stopped.choices[0]!.finish_reason, 'stop');
  assert.ok(stopped.choices[0]!.text.endsWith('\n') && stopped.usage.completion_tokens < MAX_TOKENS, JSON.stringify(stopped));
  // The end of a corpus paragraph: the model emits EOS and generation stops there (upstream still says "length").
  const prompt = 'Create a haiku about nature.\nMoonlight on the lake,\na small boat rests by the shore,\nthe night';
  const eos = CompletionSchema.parse((await call('/openai/v1/completions', { model: NAME, prompt, max_tokens: MAX_TOKENS })).json);
  assert.ok(eos.usage.completion_tokens < MAX_TOKENS && eos.choices[0]!.text.trim().length > 0, JSON.stringify(eos));
  assert.equal(eos.choices[0]!.finish_reason, 'length');
});

test('controls: an unknown model is 404 ModelNotFound; max_tokens 0 or negative is the real 500; no prompt is 422', { skip }, async () => {
  const unknown = await call('/openai/v1/completions', { model: 'no-such-model', prompt: PROMPTS[0] });
  assert.deepEqual([unknown.status, unknown.json], [404, { error: 'Model with name no-such-model does not exist.' }]);
  for (const n of [0, -1]) {
    const r = await call('/openai/v1/completions', { model: NAME, prompt: PROMPTS[0], max_tokens: n });
    assert.deepEqual([r.status, r.json], [500, { error: `ValueError : \`max_new_tokens\` must be greater than 0, but is ${n}.` }]);
  }
  const long = await call('/openai/v1/completions', { model: NAME, prompt: PROMPTS[0], max_tokens: 1000 });
  assert.equal(long.status, 500);
  assert.match(JSON.stringify(long.json), /^\{"error":\{"code":"500","message":"This model's maximum context length is 256 tokens\. .*","param":"","type":"OpenAIError"\}\}$/);
  const noPrompt = await call('/openai/v1/completions', { model: NAME });
  assert.equal(noPrompt.status, 422);
  assert.match(JSON.stringify(noPrompt.json), /Either prompt or prompt_embeds must be provided and non-empty/);
});

test('control: the same build stopped after 1 training step gives completions the check rejects', { skip, timeout: 180_000 }, () => {
  const out = join(tmp, 'one-step');
  const r = spawnSync(PYTHON, [BUILD, '--corpus', CORPUS, '--out', out, '--steps', '1'], { encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1' } });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  const samples = (JSON.parse(readFileSync(join(out, 'training.json'), 'utf8')) as { samples: Record<string, string> }).samples;
  const reasons = PROMPTS.map((p) => degenerate(samples[p] ?? ''));
  for (const [i, why] of reasons.entries()) assert.ok(why, `1-step model passed on ${PROMPTS[i]}: ${samples[PROMPTS[i]!]}`);
  console.log(reasons.join('\n'));
});
