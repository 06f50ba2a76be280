/**
 * Prediction validity for the MNIST classifier: logits rows, accuracy on a fixed labelled
 * set, agreement between two protocols on the same inputs, and the V1 load request.
 */
import { toInstance, type Digit } from './mnist-samples.ts';

/** One row of 10 numeric logits per instance, or an error naming what came back. */
export function logitRows(pred: unknown, what: string): number[][] {
  if (!Array.isArray(pred) || !pred.every((r) => Array.isArray(r) && r.length === 10 && r.every((x) => typeof x === 'number'))) {
    throw new Error(`${what}: expected one row of 10 logits per instance, got ${JSON.stringify(pred).slice(0, 200)}`);
  }
  return pred as number[][];
}

export function accuracy(predicted: number[], digits: Digit[]): number {
  if (!digits.length) return NaN;
  return predicted.filter((p, i) => p === digits[i]?.label).length / digits.length;
}

export function agreement(a: number[], b: number[]): number {
  if (!a.length || a.length !== b.length) return 0;
  return a.filter((x, i) => x === b[i]).length / a.length;
}

/** A load request: path, body, and the check every 2xx response must pass. */
export interface LoadRequest {
  path: string;
  body: unknown;
  validate: (body: string) => true | string;
}

/** One digit through V1 `:predict`; a response must hold exactly one prediction. */
export function mnistV1Request(model: string, digit: Digit): LoadRequest {
  return {
    path: `/v1/models/${model}:predict`,
    body: { instances: [toInstance(digit)] },
    validate: (body) => {
      const p = JSON.parse(body) as { predictions?: unknown[] };
      return Array.isArray(p.predictions) && p.predictions.length === 1 ? true : 'predictions missing';
    },
  };
}
