/**
 * A Triton model repository, read as tritonserver --model-store does for ONNX models:
 * `<repo>/<model>/[config.pbtxt]` and `<repo>/<model>/<version>/model.onnx`, the model named
 * after its directory; the default version policy serves the latest (highest) version only.
 *
 * max_batch_size: Triton's ONNX Runtime backend auto-completes the config. When every input
 * and output has a variable first dimension and the config sets no max_batch_size (or 0), it
 * fills in the backend's default-max-batch-size, whose default is 4:
 *   triton-inference-server/core src/backend_model.cc (backend_config_defaults
 *     {"default-max-batch-size", "4"}, core @ 73aad7c3);
 *   triton-inference-server/onnxruntime_backend src/onnxruntime.cc
 *     (ModelState::AutoCompleteMaxBatch, @ 00fd3e87).
 * A model that cannot batch gets 0 (no batch dimension). A config.pbtxt max_batch_size > 0 wins.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Triton core's default-max-batch-size (src/backend_model.cc). */
export const TRITON_DEFAULT_MAX_BATCH_SIZE = 4;

export interface RepositoryModel {
  name: string;
  version: string;
  file: string;
  /** max_batch_size from config.pbtxt, when it sets one above 0 */
  configMaxBatchSize?: number;
}

/** The fields of a config.pbtxt (protobuf text format) the lab reads: name and max_batch_size. */
export function parseConfigPbtxt(text: string): { name?: string; maxBatchSize?: number } {
  const body = text.replace(/#[^\n]*/g, '');
  const name = /(?:^|\s)name\s*:\s*"([^"]*)"/.exec(body)?.[1];
  const mbs = /(?:^|\s)max_batch_size\s*:\s*(-?\d+)/.exec(body)?.[1];
  return { name, maxBatchSize: mbs === undefined ? undefined : Number(mbs) };
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** The models of a repository; throws, as tritonserver fails to start, when there is none or one is malformed. */
export function scanRepository(repo: string): RepositoryModel[] {
  if (!isDir(repo)) throw new Error(`failed to stat model repository path '${repo}'`);
  const models: RepositoryModel[] = [];
  for (const name of readdirSync(repo).sort()) {
    const dir = join(repo, name);
    if (!isDir(dir) || name.startsWith('.')) continue; // files at the top are not models
    const versions = readdirSync(dir)
      .filter((v) => /^\d+$/.test(v) && isDir(join(dir, v)))
      .sort((a, b) => Number(b) - Number(a));
    const version = versions[0];
    if (version === undefined) throw new Error(`failed to load '${name}': at least one version must be available under the version policy of model '${name}'`);
    const file = join(dir, version, 'model.onnx');
    if (!existsSync(file)) throw new Error(`failed to load '${name}' version ${version}: Not found: '${file}' (the ONNX backend's default model filename)`);
    const cfgPath = join(dir, 'config.pbtxt');
    const cfg = existsSync(cfgPath) ? parseConfigPbtxt(readFileSync(cfgPath, 'utf8')) : {};
    if (cfg.name !== undefined && cfg.name !== name) throw new Error(`failed to load '${name}': model name '${cfg.name}' in config.pbtxt does not match the directory name`);
    models.push({ name, version, file, configMaxBatchSize: cfg.maxBatchSize && cfg.maxBatchSize > 0 ? cfg.maxBatchSize : undefined });
  }
  if (!models.length) throw new Error(`no models found in model repository '${repo}' (expected <repo>/<model>/<version>/model.onnx)`);
  return models;
}

/** The auto-completed max_batch_size: config wins; else 4 if the model can batch (every first dim -1), else 0. */
export function effectiveMaxBatchSize(m: Pick<RepositoryModel, 'name' | 'configMaxBatchSize'>, shapes: number[][]): number {
  const canBatch = shapes.every((s) => s.length > 0 && s[0] === -1);
  if (canBatch) return m.configMaxBatchSize ?? TRITON_DEFAULT_MAX_BATCH_SIZE;
  if (m.configMaxBatchSize) throw new Error(`autofill failed for model '${m.name}': model does not support batching while non-zero max_batch_size is specified`);
  return 0;
}
