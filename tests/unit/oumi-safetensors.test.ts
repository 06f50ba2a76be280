import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkSafetensors, checkShardIndex, modelFolderProblems, safetensorsHeaderLength, weightFiles } from '../../helpers/oumi-safetensors.ts';
import { pythonJson } from '../../helpers/oumi-eval.ts';

/** The first 8 + header bytes of the model.safetensors a real `oumi train` saved, and that folder's listing (name -> bytes). */
const head = readFileSync(new URL('../recorded/oumi/model.safetensors.head', import.meta.url));
const sizes = JSON.parse(readFileSync(new URL('../recorded/oumi/model-folder-1.2.json', import.meta.url), 'utf8')) as Record<string, number>;

function file(header: object, dataBytes: number): { size: number; head: Buffer } {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return { size: 8 + json.length + dataBytes, head: Buffer.concat([len, json]) };
}
const t = (begin: number, end: number) => ({ dtype: 'F32', shape: [(end - begin) / 4], data_offsets: [begin, end] });

test('the real model.safetensors: its header, its tensors and its size agree', () => {
  assert.equal(safetensorsHeaderLength(head), head.length - 8);
  const c = checkSafetensors('model.safetensors', sizes['model.safetensors']!, head);
  assert.ok(c.ok, !c.ok ? c.problem : '');
  assert.ok(c.ok && c.tensors.includes('model.embed_tokens.weight') && c.tensors.length === 20);
  assert.deepEqual(modelFolderProblems(sizes, { 'model.safetensors': head }), []);
});

test('a truncated, empty or corrupt safetensors file is refused, saying why', () => {
  const real = sizes['model.safetensors']!;
  const bad = (size: number, h: Buffer) => {
    const c = checkSafetensors('w.safetensors', size, h);
    return c.ok ? 'ok' : c.problem;
  };
  assert.match(bad(0, Buffer.alloc(0)), /0 bytes: empty or truncated/);
  assert.match(bad(real - 1, head), /the tensors end at byte 429336, the file has 429335 bytes/);
  assert.match(bad(real, head.subarray(0, 100)), /only 100 bytes read/);
  const huge = Buffer.alloc(8);
  huge.writeBigUInt64LE(10n ** 12n);
  assert.match(bad(real, huge), /over the format's limit/);
  const notJson = Buffer.concat([head.subarray(0, 8), Buffer.alloc(head.length - 8, 0x7b)]);
  assert.match(bad(real, notJson), /the header is not JSON/);
  const empty = file({ __metadata__: { format: 'pt' } }, 0);
  assert.match(bad(empty.size, empty.head), /no tensors/);
  const noOffsets = file({ a: { dtype: 'F32', shape: [1] } }, 4);
  assert.match(bad(noOffsets.size, noOffsets.head), /tensor a has no valid dtype, shape and data_offsets/);
  const ok = file({ a: t(0, 8), b: t(8, 16) }, 16);
  assert.equal(bad(ok.size, ok.head), 'ok');
});

test('a sharded save: model.safetensors.index.json must name shards that exist and are not empty', () => {
  const s1 = file({ a: t(0, 8) }, 8);
  const s2 = file({ b: t(0, 8) }, 8);
  const index = JSON.stringify({ metadata: { total_size: 16 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } });
  const folder = { 'config.json': 700, 'model.safetensors.index.json': index.length, 'model-00001-of-00002.safetensors': s1.size, 'model-00002-of-00002.safetensors': s2.size };
  const heads = { 'model-00001-of-00002.safetensors': s1.head, 'model-00002-of-00002.safetensors': s2.head };
  assert.deepEqual(weightFiles(folder, index), ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  assert.deepEqual(modelFolderProblems(folder, heads, index), []);
  const { 'model-00002-of-00002.safetensors': _gone, ...missing } = folder;
  assert.deepEqual(checkShardIndex(index, missing), ['model.safetensors.index.json names model-00002-of-00002.safetensors, which is missing']);
  assert.deepEqual(checkShardIndex(index, { ...folder, 'model-00002-of-00002.safetensors': 0 }), ['model-00002-of-00002.safetensors is empty']);
  assert.deepEqual(checkShardIndex('{"weight_map": {}}', folder), ['model.safetensors.index.json has an empty weight_map']);
  assert.match(checkShardIndex('{', folder)[0]!, /is not JSON/);
});

test('a model folder without config.json or without weights is incomplete', () => {
  const { 'config.json': _c, ...noConfig } = sizes;
  assert.deepEqual(modelFolderProblems(noConfig, { 'model.safetensors': head }), ['config.json is missing']);
  const { 'model.safetensors': _w, ...noWeights } = sizes;
  assert.deepEqual(modelFolderProblems(noWeights, {}), ['no model.safetensors and no model.safetensors.index.json']);
  assert.deepEqual(modelFolderProblems(sizes, {}), ['model.safetensors: its first bytes were not read']);
  assert.deepEqual(modelFolderProblems({ ...sizes, 'model.safetensors.index.json': 10 }, { 'model.safetensors': head }), ['model.safetensors.index.json is there but was not read']);
});

test("pythonJson: Python's NaN and Infinity values read as null", () => {
  assert.deepEqual(pythonJson('{"a": NaN, "b": [1, -Infinity], "c": "NaN, really"}'), { a: null, b: [1, null], c: 'NaN, really' });
});
