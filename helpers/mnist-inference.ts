/**
 * Prediction validity for the MNIST classifier behind KServe V1 and V2: accuracy on a fixed
 * labelled set, and agreement between the two protocols on the same inputs.
 */
import type { KServeV1Client } from '../clients/inference/v1.ts';
import { checkTensorsAgainstMetadata, type KServeV2Client } from '../clients/inference/v2.ts';
import { argmax, toFlat, toInstance, type Digit } from './mnist-samples.ts';

const BATCH = 50;

function rows(pred: unknown, what: string): number[][] {
  if (!Array.isArray(pred) || !pred.every((r) => Array.isArray(r) && r.length === 10 && r.every((x) => typeof x === 'number'))) {
    throw new Error(`${what}: expected one row of 10 logits per instance, got ${JSON.stringify(pred).slice(0, 200)}`);
  }
  return pred as number[][];
}

/** Labels predicted through V1 `:predict`, in batches. */
export async function predictV1(v1: KServeV1Client, model: string, digits: Digit[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < digits.length; i += BATCH) {
    const batch = digits.slice(i, i + BATCH);
    const r = await v1.predict(model, batch.map(toInstance));
    const logits = rows(r.predictions.map((p) => (Array.isArray(p) && p.length === 1 && Array.isArray(p[0]) ? p[0] : p)), 'V1 predictions');
    if (logits.length !== batch.length) throw new Error(`V1 returned ${logits.length} predictions for ${batch.length} instances`);
    out.push(...logits.map(argmax));
  }
  return out;
}

/**
 * Labels predicted through V2 `/infer`. The request tensor is first checked against the
 * model's own metadata (name, datatype, shape); mismatches are returned, not sent.
 */
export async function predictV2(v2: KServeV2Client, model: string, digits: Digit[]): Promise<{ labels: number[]; tensorProblems: string[]; inputName: string }> {
  const meta = await v2.modelMetadata(model);
  const input = meta.inputs[0];
  if (!input) throw new Error(`V2 metadata of ${model} declares no inputs`);
  const labels: number[] = [];
  for (let i = 0; i < digits.length; i += BATCH) {
    const batch = digits.slice(i, i + BATCH);
    const tensor = { name: input.name, datatype: 'FP32' as const, shape: [batch.length, 1, 28, 28], data: batch.flatMap(toFlat) };
    const problems = checkTensorsAgainstMetadata([tensor], meta);
    if (problems.length) return { labels, tensorProblems: problems, inputName: input.name };
    const r = await v2.infer(model, [tensor]);
    const out = r.outputs[0];
    if (!out || out.data.length !== batch.length * 10) throw new Error(`V2 output ${out?.name} has ${out?.data.length} values for ${batch.length}x10 logits`);
    const flat = out.data as number[];
    for (let b = 0; b < batch.length; b++) labels.push(argmax(flat.slice(b * 10, b * 10 + 10)));
  }
  return { labels, tensorProblems: [], inputName: input.name };
}

export function accuracy(predicted: number[], digits: Digit[]): number {
  if (!digits.length) return NaN;
  return predicted.filter((p, i) => p === digits[i]!.label).length / digits.length;
}

export function agreement(a: number[], b: number[]): number {
  if (!a.length || a.length !== b.length) return 0;
  return a.filter((x, i) => x === b[i]).length / a.length;
}
