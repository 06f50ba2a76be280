/**
 * Serving runtime selection as KServe v0.20 does it (lab/cloud/controller/runtimes.ts):
 * format/version labels, autoSelect, protocol (v1 unless set), priority and its ties,
 * namespaced before cluster runtimes, and the named-runtime failures.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { selectRuntime, supportingRuntimes, supportsModel, type RuntimeObject, type RuntimeSpec } from '../../lab/cloud/controller/runtimes.ts';
import { manifestRuntimes } from '../../lab/cloud/controller/runtime-catalog.ts';
import { labFlavor } from '../../lab/cloud/controller/predictor.ts';

const rt = (name: string, spec: RuntimeSpec, extra: Partial<RuntimeObject> = {}): RuntimeObject => ({ name, cluster: true, spec, ...extra });
const onnx = (o: { autoSelect?: boolean; priority?: number; version?: string } = {}) => ({ name: 'onnx', version: o.version ?? '1', autoSelect: o.autoSelect ?? true, priority: o.priority });
const pick = (r: ReturnType<typeof selectRuntime>) => ('reason' in r ? `${r.reason}: ${r.message}` : `${r.runtime.name} ${r.protocolVersion}`);

describe('runtime selection (KServe GetSupportingRuntimes)', () => {
  const triton = rt('triton', { supportedModelFormats: [onnx({ priority: 1 })], protocolVersions: ['v2', 'grpc-v2'] });
  const py = rt('py', { supportedModelFormats: [onnx({ autoSelect: false })], protocolVersions: ['v1', 'v2'] });

  it('onnx with no protocol is v1, which no auto-selectable runtime speaks: NoSupportingRuntime', () => {
    assert.equal(pick(selectRuntime({ format: { name: 'onnx' } }, [], [triton, py])), 'NoSupportingRuntime: No runtime found to support specified framework/version');
  });

  it('onnx over v2 picks the auto-selectable Triton, never the autoSelect:false runtime', () => {
    assert.equal(pick(selectRuntime({ format: { name: 'onnx' }, protocolVersion: 'v2' }, [], [py, triton])), 'triton v2');
    assert.equal(pick(selectRuntime({ format: { name: 'onnx' }, protocolVersion: 'v2' }, [], [py])), 'NoSupportingRuntime: No runtime found to support specified framework/version');
  });

  it('format version labels: mt:onnx:1 matches, mt:onnx:2 does not, no version matches any', () => {
    const m = (version?: string) => supportsModel({ format: { name: 'onnx', version } }, triton.spec);
    assert.deepEqual([m('1'), m('2'), m(undefined)], [true, false, true]);
    assert.equal(supportsModel({ format: { name: 'sklearn' } }, triton.spec), false);
  });

  it('higher priority first; a set priority beats none; ties keep the protocol/age/name order', () => {
    const a = rt('a', { supportedModelFormats: [onnx({ priority: 1 })], protocolVersions: ['v2'] });
    const b = rt('b', { supportedModelFormats: [onnx({ priority: 2 })], protocolVersions: ['v2'] });
    const c = rt('c', { supportedModelFormats: [onnx()], protocolVersions: ['v2'] });
    const names = (list: RuntimeObject[]) => supportingRuntimes({ format: { name: 'onnx' }, protocolVersion: 'v2' }, [], list).map((r) => r.name);
    assert.deepEqual(names([c, a, b]), ['b', 'a', 'c']);
    const a2 = rt('a2', a.spec);
    assert.deepEqual(names([a2, a]), ['a', 'a2'], 'same priority, same age: by name');
    const older = rt('z-old', a.spec, { creationTimestamp: '2026-01-01T00:00:00Z' });
    const newer = rt('z-new', a.spec, { creationTimestamp: '2026-06-01T00:00:00Z' });
    assert.deepEqual(names([older, newer]), ['z-new', 'z-old'], 'same priority: newest first');
    const v1v2 = rt('zz-v1', { supportedModelFormats: [onnx({ priority: 1 })], protocolVersions: ['v1', 'v2'] });
    assert.deepEqual(names([a, v1v2]), ['zz-v1', 'a'], 'same priority: the runtime with the lower protocol first');
  });

  it('disabled, multi-model and multi-node runtimes are never auto-selected; namespaced ones come first', () => {
    const off = rt('off', { ...triton.spec, disabled: true });
    const mm = rt('mm', { ...triton.spec, multiModel: true });
    const mn = rt('mn', { ...triton.spec, workerSpec: {} });
    assert.equal(pick(selectRuntime({ format: { name: 'onnx' }, protocolVersion: 'v2' }, [], [off, mm, mn])), 'NoSupportingRuntime: No runtime found to support specified framework/version');
    const nsLow = rt('ns', { supportedModelFormats: [onnx()], protocolVersions: ['v2'] }, { cluster: false });
    assert.equal(pick(selectRuntime({ format: { name: 'onnx' }, protocolVersion: 'v2' }, [nsLow], [triton])), 'ns v2');
  });

  it('a runtime with no protocol list accepts any protocol; triton/vllm formats default to v2', () => {
    const any = rt('any', { supportedModelFormats: [{ name: 'triton', autoSelect: true }] });
    assert.equal(pick(selectRuntime({ format: { name: 'triton' } }, [], [any])), 'any v2');
    const t = rt('t', { supportedModelFormats: [{ name: 'triton', autoSelect: true }], protocolVersions: ['v2'] });
    assert.equal(pick(selectRuntime({ format: { name: 'triton' } }, [], [t])), 't v2');
  });
});

describe('a named runtime (spec.predictor.model.runtime)', () => {
  const py = rt('py', { supportedModelFormats: [onnx({ autoSelect: false })], protocolVersions: ['v1', 'v2'] });
  const triton = rt('triton', { supportedModelFormats: [onnx()], protocolVersions: ['v2', 'grpc-v2'] });

  it('is used even with autoSelect false; the protocol defaults to its lowest', () => {
    assert.equal(pick(selectRuntime({ format: { name: 'onnx' }, runtime: 'py' }, [], [py, triton])), 'py v1');
    assert.equal(pick(selectRuntime({ format: { name: 'onnx' }, runtime: 'py', protocolVersion: 'v2' }, [], [py])), 'py v2');
    assert.equal(pick(selectRuntime({ format: { name: 'onnx' }, runtime: 'triton' }, [], [triton])), 'triton v2');
  });

  it('unknown: RuntimeNotRecognized; disabled: RuntimeDisabled; wrong protocol or format: NoSupportingRuntime', () => {
    assert.equal(pick(selectRuntime({ format: { name: 'onnx' }, runtime: 'nope' }, [], [py])), 'RuntimeNotRecognized: Waiting for runtime to become available');
    assert.equal(pick(selectRuntime({ format: { name: 'onnx' }, runtime: 'py' }, [], [rt('py', { ...py.spec, disabled: true })])), 'RuntimeDisabled: Specified runtime is disabled');
    assert.equal(
      pick(selectRuntime({ format: { name: 'onnx' }, runtime: 'triton', protocolVersion: 'v1' }, [], [triton])),
      'NoSupportingRuntime: Specified runtime does not support specified protocol version',
    );
    assert.equal(pick(selectRuntime({ format: { name: 'sklearn' }, runtime: 'triton' }, [], [triton])), 'NoSupportingRuntime: Specified runtime does not support specified framework/version');
  });

  it('the namespace ServingRuntime of that name wins over the ClusterServingRuntime', () => {
    const local = rt('triton', { supportedModelFormats: [onnx()], protocolVersions: ['v1'] }, { cluster: false });
    const r = selectRuntime({ format: { name: 'onnx' }, runtime: 'triton' }, [local], [triton]);
    assert.ok(!('reason' in r) && !r.runtime.cluster && r.protocolVersion === 'v1');
  });
});

describe("the lab's ClusterServingRuntimes (manifests/serving-runtimes.yaml)", () => {
  const lab = manifestRuntimes();
  it('are the stock Triton (onnx 1, v2 + grpc-v2, autoSelect, priority 1) and the custom lab-onnx-python (v1 + v2, autoSelect false)', () => {
    const byName = Object.fromEntries(lab.cluster.map((r) => [r.name, r.spec]));
    assert.deepEqual(Object.keys(byName).sort(), ['kserve-huggingfaceserver', 'kserve-tritonserver', 'lab-onnx-python']);
    assert.deepEqual(byName['kserve-tritonserver']!.supportedModelFormats, [{ name: 'onnx', version: '1', autoSelect: true, priority: 1 }]);
    assert.deepEqual(byName['kserve-tritonserver']!.protocolVersions, ['v2', 'grpc-v2']);
    assert.deepEqual(byName['lab-onnx-python']!.protocolVersions, ['v1', 'v2']);
    assert.equal(byName['lab-onnx-python']!.supportedModelFormats![0]!.autoSelect, false);
  });
  it('has the stock kserve-huggingfaceserver (huggingface 1, v2 + v1, autoSelect, priority 1), run by the lab as runtime-hf', () => {
    const hf = lab.cluster.find((r) => r.name === 'kserve-huggingfaceserver')!;
    assert.deepEqual(hf.spec.supportedModelFormats, [{ name: 'huggingface', version: '1', autoSelect: true, priority: 1 }]);
    assert.deepEqual(hf.spec.protocolVersions, ['v2', 'v1']);
    assert.equal(labFlavor(hf), 'huggingface');
    assert.equal(pick(selectRuntime({ format: { name: 'huggingface' } }, [], lab.cluster)), 'kserve-huggingfaceserver v1');
  });
  it('select Triton for onnx/v2 and fail onnx/v1 as a stock KServe does', () => {
    assert.equal(pick(selectRuntime({ format: { name: 'onnx' }, protocolVersion: 'v2' }, [], lab.cluster)), 'kserve-tritonserver v2');
    assert.match(pick(selectRuntime({ format: { name: 'onnx' }, protocolVersion: 'v1' }, [], lab.cluster)), /^NoSupportingRuntime/);
  });
});
