/**
 * The lab-only slowdown knob (annotation lab.mlv.io/slowdown → runtime --slowdown): values are
 * validated (invalid → 1 with a warning), the controller passes it to every runtime, and a runtime
 * with factor F answers each inference request at least F times its measured inference time, the
 * inference itself still computed (same predictions).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { slowdownFromIsvc } from '../../lab/cloud/controller/predictor.ts';
import { runtimeArgs } from '../../lab/cloud/controller/replica.ts';
import { mnistDigits, writeMnistLinear } from '../../lab/cloud/models/make-test-models.ts';
import { SLOWDOWN_ANNOTATION, parseSlowdown, slowed } from '../../lab/cloud/runtime/slowdown.ts';

const RUNTIME = join(import.meta.dirname, '../../lab/cloud/runtime/main.ts');
const tmp = mkdtempSync(join(tmpdir(), 'lab-slowdown-'));

/** Keep the CPU busy for about `ms` (a stand-in for real inference work). */
function busy(ms: number): Promise<number> {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return Promise.resolve(x);
}

describe('slowdown values', () => {
  it('accepts numbers >= 1; absent means 1 without a warning', () => {
    assert.deepEqual(parseSlowdown('3'), { factor: 3 });
    assert.deepEqual(parseSlowdown(' 2.5 '), { factor: 2.5 });
    assert.deepEqual(parseSlowdown('1'), { factor: 1 });
    assert.deepEqual(parseSlowdown(4), { factor: 4 });
    assert.deepEqual(parseSlowdown(undefined), { factor: 1 });
  });

  it('falls back to 1 with a warning naming the value for anything else', () => {
    for (const v of ['0.5', '0', '-3', 'abc', '', '3x', 'Infinity', 'NaN', 0.9]) {
      const s = parseSlowdown(v);
      assert.equal(s.factor, 1, JSON.stringify(v));
      assert.ok(s.warning?.startsWith(`${SLOWDOWN_ANNOTATION}=${JSON.stringify(v)} is invalid`), s.warning);
    }
    assert.match(parseSlowdown('fast', '--slowdown').warning!, /^--slowdown="fast" is invalid \(a number >= 1\); using 1$/);
  });

  it('the controller reads the annotation from metadata or spec.predictor.annotations (metadata wins)', () => {
    assert.deepEqual(slowdownFromIsvc({}), { factor: 1 });
    assert.deepEqual(slowdownFromIsvc({ metadata: { annotations: { [SLOWDOWN_ANNOTATION]: '3' } } }), { factor: 3 });
    assert.deepEqual(slowdownFromIsvc({ spec: { predictor: { annotations: { [SLOWDOWN_ANNOTATION]: '2' } } } }), { factor: 2 });
    assert.deepEqual(slowdownFromIsvc({ metadata: { annotations: { [SLOWDOWN_ANNOTATION]: '3' } }, spec: { predictor: { annotations: { [SLOWDOWN_ANNOTATION]: '2' } } } }), { factor: 3 });
    const bad = slowdownFromIsvc({ metadata: { annotations: { [SLOWDOWN_ANNOTATION]: 'slow' } } });
    assert.equal(bad.factor, 1);
    assert.match(bad.warning!, /lab\.mlv\.io\/slowdown="slow" is invalid/);
  });

  it('the controller passes --slowdown to the runtime only when it slows it down', () => {
    const base = { modelName: 'm', modelDir: '/d', threads: 1 };
    assert.ok(!runtimeArgs({ ...base, slowdown: 1 }, '/r').includes('--slowdown'));
    const args = runtimeArgs({ ...base, slowdown: 3 }, '/r');
    assert.deepEqual(args.slice(args.indexOf('--slowdown')), ['--slowdown', '3']);
  });
});

describe('slowed()', () => {
  it('factor 3: the answer comes after at least 3x the measured work, which still runs', async () => {
    for (const work of [2, 15]) {
      const t0 = performance.now();
      const r = await slowed(3, () => busy(work));
      const total = performance.now() - t0;
      assert.ok(r.value > 0, 'the work ran');
      assert.ok(r.inferenceMs >= work * 0.95, `measured ${r.inferenceMs} ms for ${work} ms of work`);
      assert.ok(Math.abs(r.extraMs - 2 * r.inferenceMs) < 1e-9, `extra ${r.extraMs} = 2 x ${r.inferenceMs}`);
      assert.ok(total >= 3 * r.inferenceMs, `total ${total.toFixed(2)} ms >= 3 x ${r.inferenceMs.toFixed(2)} ms`);
      assert.ok(total < 3 * r.inferenceMs + 25, `total ${total.toFixed(2)} ms is not far above 3 x ${r.inferenceMs.toFixed(2)} ms`);
    }
  });

  it('factor 1 adds nothing; errors are not delayed', async () => {
    const t0 = performance.now();
    const r = await slowed(1, () => busy(10));
    assert.equal(r.extraMs, 0);
    assert.ok(performance.now() - t0 < 2 * r.inferenceMs + 5);
    await assert.rejects(
      slowed(3, () => Promise.reject(new Error('bad input'))),
      /bad input/,
    );
  });
});

interface Runtime {
  proc: ChildProcess;
  base: string;
  output: () => string;
}

function startRuntime(name: string, dir: string, extra: string[]): Promise<Runtime> {
  const ready = join(tmp, `${name}.ready`);
  const proc = spawn(process.execPath, ['--import', 'tsx', RUNTIME, '--model-name', 'mnist', '--model-dir', dir, '--listen', '127.0.0.1:0', '--ready-file', ready, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = setInterval(() => {
      if (existsSync(ready)) {
        clearInterval(poll);
        resolve({ proc, base: `http://127.0.0.1:${Number(readFileSync(ready, 'utf8').trim())}`, output: () => out });
      } else if (proc.exitCode !== null || Date.now() - t0 > 20_000) {
        clearInterval(poll);
        reject(new Error(`runtime ${name} not ready (exit ${proc.exitCode}): ${out}`));
      }
    }, 25);
  });
}

/** One V1 request: client-side time, the runtime's measured inference time and factor (headers), predictions. */
async function predict(rt: Runtime, body: string): Promise<{ ms: number; inferenceMs?: number; factor?: string; predictions: number[][] }> {
  const t0 = performance.now();
  const res = await fetch(`${rt.base}/v1/models/mnist:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const json = (await res.json()) as { predictions: number[][] };
  const ms = performance.now() - t0;
  assert.equal(res.status, 200);
  const inf = res.headers.get('x-lab-inference-ms');
  return { ms, inferenceMs: inf === null ? undefined : Number(inf), factor: res.headers.get('x-lab-slowdown') ?? undefined, predictions: json.predictions };
}

describe('runtime --slowdown', () => {
  let slow: Runtime;
  let plain: Runtime;
  let invalid: Runtime;
  // a batch big enough that the inference takes a few ms
  const batch = JSON.stringify({
    instances: mnistDigits()
      .test.slice(0, 400)
      .map((d) => Array.from(d.pixels)),
  });

  before(async () => {
    writeMnistLinear(join(tmp, 'mnist'));
    [slow, plain, invalid] = await Promise.all([
      startRuntime('slow', join(tmp, 'mnist'), ['--slowdown', '3']),
      startRuntime('plain', join(tmp, 'mnist'), []),
      startRuntime('invalid', join(tmp, 'mnist'), ['--slowdown', '0.5']),
    ]);
  });
  after(() => {
    for (const rt of [slow, plain, invalid]) rt?.proc.kill('SIGTERM');
    rmSync(tmp, { recursive: true, force: true });
  });

  it('factor 3: each request takes at least 3x its measured inference time, with the same predictions', async () => {
    const reference = await predict(plain, batch);
    assert.equal(reference.factor, undefined, 'no slowdown headers without --slowdown');
    for (let i = 0; i < 10; i++) {
      const r = await predict(slow, batch);
      assert.equal(r.factor, '3');
      assert.ok(r.inferenceMs! > 0, `inference ${r.inferenceMs} ms`);
      assert.ok(r.ms >= 3 * r.inferenceMs!, `request ${r.ms.toFixed(2)} ms >= 3 x inference ${r.inferenceMs!.toFixed(2)} ms`);
      assert.deepEqual(r.predictions, reference.predictions);
    }
    assert.match(slow.output(), /listening on .* slowdown=3/);
  });

  it('an invalid --slowdown is warned about and 1 is used', async () => {
    assert.match(invalid.output(), /WARNING: --slowdown="0\.5" is invalid \(a number >= 1\); using 1/);
    const r = await predict(invalid, batch);
    assert.equal(r.factor, undefined);
    assert.equal(r.inferenceMs, undefined);
  });
});
