/**
 * The registered artifact's own outputs, computed on the runner with onnxruntime (not by the
 * cluster): the reference side of the served-model check (helpers/served-model.ts).
 */
import * as ort from 'onnxruntime-node';
import { toFlat, type Digit } from '../helpers/mnist-samples.ts';

/** Logit rows of the MNIST ONNX model in `onnx` for `digits` (input [N,1,28,28] float32). */
export async function onnxLogits(onnx: Buffer, digits: Digit[]): Promise<number[][]> {
  const session = await ort.InferenceSession.create(onnx);
  try {
    const input = session.inputNames[0];
    const output = session.outputNames[0];
    if (!input || !output) throw new Error('the ONNX model declares no input or no output');
    const tensor = new ort.Tensor('float32', Float32Array.from(digits.flatMap(toFlat)), [digits.length, 1, 28, 28]);
    const out = (await session.run({ [input]: tensor }))[output];
    if (!out) throw new Error(`the ONNX model produced no ${output}`);
    const flat = Array.from(out.data as Float32Array);
    const width = flat.length / digits.length;
    return digits.map((_, i) => flat.slice(i * width, (i + 1) * width));
  } finally {
    await session.release();
  }
}
