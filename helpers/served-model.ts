/**
 * "Is it the same model?": the served model's outputs on a fixed probe batch against the
 * registered artifact's own outputs on the same batch, computed apart from the cluster. Equal
 * predictions are not enough (a retrained or wrong-version model mostly predicts the same
 * digits); equal outputs, to float32 rounding, are.
 */
import { argmax } from './mnist-samples.ts';

export interface OutputComparison {
  samples: number;
  /** the largest |served − registered| over every output value */
  maxAbsDiff: number;
  /** where it was: sample and output index */
  worst?: { sample: number; index: number; served: number; registered: number };
  /** share of samples whose top class agrees */
  argmaxAgreement: number;
  /** shape problems (missing rows, different widths, non-finite values): any makes the check fail */
  problems: string[];
}

export function compareOutputs(served: readonly (readonly number[])[], registered: readonly (readonly number[])[]): OutputComparison {
  const problems: string[] = [];
  if (served.length !== registered.length) problems.push(`${served.length} served row(s) for ${registered.length} probe sample(s)`);
  let maxAbsDiff = 0;
  let worst: OutputComparison['worst'];
  let agree = 0;
  const n = Math.min(served.length, registered.length);
  for (let s = 0; s < n; s++) {
    const a = served[s]!;
    const b = registered[s]!;
    if (a.length !== b.length) {
      problems.push(`sample ${s}: ${a.length} served value(s), ${b.length} registered`);
      continue;
    }
    if (![...a, ...b].every(Number.isFinite)) {
      problems.push(`sample ${s}: a non-finite output`);
      continue;
    }
    if (argmax(a) === argmax(b)) agree++;
    a.forEach((v, i) => {
      const d = Math.abs(v - b[i]!);
      if (worst && d <= maxAbsDiff) return;
      maxAbsDiff = d;
      worst = { sample: s, index: i, served: v, registered: b[i]! };
    });
  }
  if (n === 0) problems.push('no probe outputs to compare');
  return { samples: n, maxAbsDiff, worst, argmaxAgreement: n ? agree / n : 0, problems };
}

export function describeComparison(c: OutputComparison, tolerance: number): string {
  if (c.problems.length) return c.problems.join('; ');
  const w = c.worst ? ` (largest at sample ${c.worst.sample}, output ${c.worst.index}: served ${c.worst.served} vs registered ${c.worst.registered})` : '';
  return `max |served − registered| = ${c.maxAbsDiff.toExponential(2)} over ${c.samples} probe digits × 10 logits, tolerance ${tolerance}${w}; top class agrees on ${(c.argmaxAgreement * 100).toFixed(1)}%`;
}
