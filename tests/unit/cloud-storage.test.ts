/**
 * storageUri resolution/staging (lab/cloud/controller/storage.ts) and predictor
 * spec parsing (lab/cloud/controller/controller.ts).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkStorageUri, localPathFor, resolveStorage, stageModel, StorageError } from '../../lab/cloud/controller/storage.ts';
import { parseMemory, predictorSpec } from '../../lab/cloud/controller/predictor.ts';
import { manifestRuntimes as labRuntimes } from '../../lab/cloud/controller/runtime-catalog.ts';

const tmp = mkdtempSync(join(tmpdir(), 'cloud-storage-'));
const roots = { stateDir: join(tmp, 'state') };

describe('storageUri', () => {
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('maps file:// and pvc:// to local paths; s3:// is downloaded (tests/unit/cloud-s3.test.ts), any s3:// URI passes the webhook check', () => {
    assert.equal(localPathFor('file:///models/mnist', roots), '/models/mnist');
    assert.equal(localPathFor('pvc://models-pvc/mnist/v1', roots), join(tmp, 'state/pvc/models-pvc/mnist/v1'));
    assert.throws(() => localPathFor('s3://models/mnist/1/model.onnx', roots), /an s3:\/\/ model is downloaded/);
    for (const u of ['s3://models/mnist/1/model.onnx', 's3://b', 's3:///k']) assert.doesNotThrow(() => checkStorageUri(u, roots), u);
    // KServe's prefixes are case-sensitive
    assert.throws(() => checkStorageUri('S3://b/k', roots), /scheme S3:\/\/ is not supported/);
  });

  it('rejects escapes and bad schemes', () => {
    const reason = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof StorageError);
        return `${e.reason}: ${e.message}`;
      }
      assert.fail('expected a StorageError');
    };
    assert.match(
      reason(() => localPathFor('pvc://c/../../etc', roots)),
      /^InvalidStorageUri: .*escapes/,
    );
    assert.match(
      reason(() => localPathFor('gs://bucket/m', roots)),
      /^InvalidStorageUri: .*gs:\/\/ is not supported/,
    );
    assert.match(
      reason(() => localPathFor('/plain/path', roots)),
      /^InvalidStorageUri/,
    );
    assert.match(
      reason(() => resolveStorage('file:///nonexistent/model', roots)),
      /^ModelLoadFailed: storageUri file:\/\/\/nonexistent\/model: \/nonexistent\/model does not exist/,
    );
  });

  it('stages a directory or a single file into the revision directory', async () => {
    const src = join(tmp, 'state/pvc/claim/m');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'model.onnx'), 'x');
    writeFileSync(join(src, 'extra.txt'), 'y');
    const d1 = await stageModel('pvc://claim/m', roots, join(tmp, 'rev1'));
    assert.deepEqual(readdirSync(d1).sort(), ['extra.txt', 'model.onnx']);
    const d2 = await stageModel(`file://${join(src, 'model.onnx')}`, roots, join(tmp, 'rev2'));
    assert.deepEqual(readdirSync(d2), ['model.onnx']);
  });
});

describe('predictor spec', () => {
  const obj = (predictor: unknown) => ({ metadata: { name: 'x' }, spec: { predictor } });
  const lab = labRuntimes();
  const spec = (predictor: unknown) => predictorSpec(obj(predictor), lab);

  it('accepts the model form and the older onnx form, with the runtime KServe would select', () => {
    const a = spec({ model: { modelFormat: { name: 'onnx' }, protocolVersion: 'v2', storageUri: 'file:///m', resources: { limits: { cpu: '1' } } } });
    assert.deepEqual(a, {
      storageUri: 'file:///m',
      format: 'onnx',
      resources: { limits: { cpu: '1' } },
      runtime: { name: 'kserve-tritonserver', cluster: true, flavor: 'triton', protocolVersion: 'v2' },
    });
    // predictor.onnx defaults to v2 (inference_service_defaults.go assignONNXRuntime)
    const b = spec({ onnx: { storageUri: 'pvc://c/m' } }) as { storageUri: string; runtime: { name: string } };
    assert.equal(b.storageUri, 'pvc://c/m');
    assert.equal(b.runtime.name, 'kserve-tritonserver');
    const c = spec({ model: { modelFormat: { name: 'onnx' }, runtime: 'lab-onnx-python', storageUri: 'file:///m' } }) as { runtime: unknown };
    assert.deepEqual(c.runtime, { name: 'lab-onnx-python', cluster: true, flavor: 'python', protocolVersion: 'v1' });
  });

  it("reports KServe's reasons: NoSupportingRuntime for onnx over v1 and for sklearn, RuntimeNotRecognized, invalid specs", () => {
    const v1 = spec({ model: { modelFormat: { name: 'onnx' }, storageUri: 'file:///m' } }) as { reason: string; message: string };
    assert.deepEqual([v1.reason, v1.message], ['NoSupportingRuntime', 'No runtime found to support specified framework/version']);
    assert.equal((spec({ model: { modelFormat: { name: 'sklearn' }, storageUri: 'file:///m' } }) as { reason: string }).reason, 'NoSupportingRuntime');
    assert.equal((spec({ pytorch: { storageUri: 'file:///m' } }) as { reason: string }).reason, 'NoSupportingRuntime');
    assert.equal((spec({ model: { modelFormat: { name: 'onnx' }, runtime: 'nope', storageUri: 'file:///m' } }) as { reason: string }).reason, 'RuntimeNotRecognized');
    assert.equal((spec({ model: { modelFormat: { name: 'onnx' }, protocolVersion: 'v2' } }) as { reason: string }).reason, 'InvalidPredictorSpec');
    assert.equal((spec({}) as { reason: string }).reason, 'InvalidPredictorSpec');
    // with no runtimes installed nothing can be served
    const none = predictorSpec(obj({ model: { modelFormat: { name: 'onnx' }, protocolVersion: 'v2', storageUri: 'file:///m' } }), { namespaced: [], cluster: [] });
    assert.equal((none as { reason: string }).reason, 'NoSupportingRuntime');
  });

  it('parses memory quantities', () => {
    assert.equal(parseMemory('4Gi'), 4 * 2 ** 30);
    assert.equal(parseMemory('512Mi'), 512 * 2 ** 20);
    assert.equal(parseMemory('1G'), 1e9);
    assert.equal(parseMemory('1000'), 1000);
    assert.equal(parseMemory('lots'), undefined);
  });
});
