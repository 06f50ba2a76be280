/**
 * The MNIST classifier behind KServe V1 and V2: labels predicted for a set of digits, in
 * batches, and the one-digit V2 request of the load test. V2 request tensors are first
 * checked against the model's own metadata. A V2 batch is 50 digits, or the max_batch_size a
 * Triton server refuses it with (4 where the model has no config.pbtxt).
 */
import { argmax, toFlat, toInstance, type Digit } from '../../helpers/mnist-samples.ts';
import { logitRows, type LoadRequest } from '../../helpers/mnist-inference.ts';
import type { KServeV1Client } from './v1.ts';
import { InferenceHttpError } from './http.ts';
import { checkTensorsAgainstMetadata, type KServeV2Client } from './v2.ts';

export const BATCH = 50;

/** Labels predicted through V1 `:predict`, in batches. */
export async function predictV1(v1: KServeV1Client, model: string, digits: Digit[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < digits.length; i += BATCH) {
    const batch = digits.slice(i, i + BATCH);
    const r = await v1.predict(model, batch.map(toInstance));
    const logits = logitRows(
      r.predictions.map((p) => (Array.isArray(p) && p.length === 1 && Array.isArray(p[0]) ? p[0] : p)),
      'V1 predictions',
    );
    if (logits.length !== batch.length) throw new Error(`V1 returned ${logits.length} predictions for ${batch.length} instances`);
    out.push(...logits.map(argmax));
  }
  return out;
}

/** Triton refuses a batch over the model's max_batch_size so (core src/infer_request.cc): HTTP 400. */
const BATCH_LIMIT = /inference request batch-size must be <= (\d+)/;

/** The max_batch_size a V2 server refused a batch with, if that is what the error is. */
export function refusedBatchLimit(e: unknown): number | undefined {
  if (!(e instanceof InferenceHttpError) || e.status !== 400) return undefined;
  const n = Number(BATCH_LIMIT.exec(e.body)?.[1]);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

/**
 * Labels predicted through V2 `/infer`; tensor mismatches with the metadata are returned, not sent.
 * Batches are 50 digits, smaller where the server refuses that many (Triton without a config.pbtxt
 * allows 4); `batchSize` is what was used.
 */
export async function predictV2(v2: KServeV2Client, model: string, digits: Digit[]): Promise<{ labels: number[]; logits: number[][]; tensorProblems: string[]; inputName: string; batchSize: number }> {
  const meta = await v2.modelMetadata(model);
  const input = meta.inputs[0];
  if (!input) throw new Error(`V2 metadata of ${model} declares no inputs`);
  const labels: number[] = [];
  const logits: number[][] = [];
  let size = BATCH;
  for (let i = 0; i < digits.length;) {
    const batch = digits.slice(i, i + size);
    const tensor = { name: input.name, datatype: 'FP32' as const, shape: [batch.length, 1, 28, 28], data: batch.flatMap(toFlat) };
    const problems = checkTensorsAgainstMetadata([tensor], meta);
    if (problems.length) return { labels, logits, tensorProblems: problems, inputName: input.name, batchSize: size };
    let r;
    try {
      r = await v2.infer(model, [tensor]);
    } catch (e) {
      const limit = refusedBatchLimit(e);
      if (limit === undefined || limit >= batch.length) throw e;
      size = limit;
      continue;
    }
    const out = r.outputs[0];
    if (!out || out.data.length !== batch.length * 10) throw new Error(`V2 output ${out?.name} has ${out?.data.length} values for ${batch.length}x10 logits`);
    const flat = out.data as number[];
    for (let b = 0; b < batch.length; b++) logits.push(flat.slice(b * 10, b * 10 + 10));
    i += batch.length;
  }
  labels.push(...logits.map(argmax));
  return { labels, logits, tensorProblems: [], inputName: input.name, batchSize: size };
}

/** One digit through V2 `/infer` on input `input`; a response must hold one row of 10 logits. */
export function mnistV2Request(model: string, input: string, digit: Digit): LoadRequest {
  return {
    path: `/v2/models/${encodeURIComponent(model)}/infer`,
    body: { inputs: [{ name: input, datatype: 'FP32', shape: [1, 1, 28, 28], data: toFlat(digit) }] },
    validate: (body) => {
      const out = (JSON.parse(body) as { outputs?: { data?: unknown[] }[] }).outputs?.[0];
      return Array.isArray(out?.data) && out.data.length === 10 ? true : `expected outputs[0] with 10 logits, got ${body.slice(0, 120)}`;
    },
  };
}
