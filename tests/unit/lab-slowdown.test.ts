/**
 * The lab-only slowdown knob (annotation lab.mlv.io/slowdown → runtime --slowdown): values are
 * validated (invalid → 1 with a warning), the controller passes it to every runtime, and a runtime
 * with factor F answers each inference request at least F times its measured inference time (the extra as CPU work), the
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
import { CpuMeter, SLOWDOWN_ANNOTATION, parseSlowdown, slowed } from '../../lab/cloud/runtime/slowdown.ts';

const RUNTIME = join(import.meta.dirname, '../../lab/cloud/runtime/main.ts');
const tmp = mkdtempSync(join(tmpdir(), 'lab-slowdown-'));

/** Spend about `ms` of process CPU (a stand-in for real inference work; CPU, not wall time, so a loaded machine does not change it). */
function busy(ms: number): Promise<number> {
  const cpu = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const end = cpu() + ms * 1000;
  let x = 0;
  while (cpu() < end) x += Math.sqrt(x + 1);
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
  it('factor 3: after the work, which still runs, twice its CPU of busy work: 3x the CPU per request', async () => {
    for (const work of [2, 15]) {
      const m = new CpuMeter();
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const r = await slowed(3, () => busy(work), m);
      const total = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      assert.ok(r.value > 0, 'the work ran');
      // at least twice the work (the process's other threads add their CPU to the meter's: GC, the test runner)
      assert.ok(r.extraMs >= 2 * 0.8 * work, `extra ${r.extraMs.toFixed(2)} ms is at least about 2 x the ${work} ms of CPU work`);
      assert.ok(cpuMs >= 0.8 * (work + r.extraMs), `the extra is CPU work: ${cpuMs.toFixed(2)} ms of CPU in ${total.toFixed(2)} ms`);
    }
  });

  it('an idle wait in the request (a queue, I/O) is not multiplied: only CPU is', async () => {
    let us = 0;
    const m = new CpuMeter(() => us);
    const wait = () => new Promise<number>((res) => setTimeout(() => res((us += 1000)), 40)); // 1 ms of CPU in 40 ms
    const r = await slowed(3, wait, m);
    assert.ok(r.inferenceMs >= 39, `waited ${r.inferenceMs} ms`);
    assert.equal(r.extraMs, 2);
  });

  it('the meter: CPU per request since the second began (the first is the warm-up), the extra work excluded', () => {
    let us = 1000;
    const m = new CpuMeter(() => us);
    m.begin();
    us += 20000; // the first request: lazy initialisation
    assert.equal(m.end(), 20);
    m.extra(40);
    us += 40000; // the extra work itself
    m.begin(); // the second request: the count starts again here
    us += 3000;
    assert.equal(m.end(), 3);
    m.extra(6);
    us += 6000;
    m.begin(); // a third: the start stays at the second
    us += 5000;
    assert.equal(m.end(), 4); // (3 + 5) ms over 2 requests
    const idle = new CpuMeter(() => 5);
    idle.begin();
    assert.equal(idle.end(), undefined);
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
/** A runtime process's CPU time so far (user + system, /proc/<pid>/stat; 10 ms ticks). */
function cpuMs(rt: Runtime): number {
  const fields = readFileSync(`/proc/${rt.proc.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

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

  it('factor 3: the runtime spends about 3x the CPU per request, with the same predictions', async () => {
    const reference = await predict(plain, batch);
    assert.equal(reference.factor, undefined, 'no slowdown headers without --slowdown');
    await predict(slow, batch); // both warm: their first request's lazy initialisation is not sampled
    const [p0, s0] = [cpuMs(plain), cpuMs(slow)];
    const n = 30; // fewer requests leave the plain runtime's own warm-up in the sample (x2-4 at 10)
    for (let i = 0; i < n; i++) {
      const [p, r] = [await predict(plain, batch), await predict(slow, batch)];
      assert.equal(r.factor, '3');
      assert.ok(r.inferenceMs! > 0, `inference ${r.inferenceMs} ms`);
      assert.deepEqual(r.predictions, reference.predictions);
      assert.deepEqual(p.predictions, reference.predictions);
    }
    const [plainCpu, slowCpu] = [cpuMs(plain) - p0, cpuMs(slow) - s0];
    const ratio = slowCpu / plainCpu;
    console.log(`CPU for ${n} requests: ${slowCpu} ms slowed, ${plainCpu} ms plain (x${ratio.toFixed(2)})`);
    assert.ok(ratio >= 2.4 && ratio <= 4.5, `CPU for ${n} requests: ${slowCpu} ms slowed, ${plainCpu} ms plain (x${ratio.toFixed(2)})`);
    assert.match(slow.output(), /listening on .* slowdown=3/);
  });

  it('an invalid --slowdown is warned about and 1 is used', async () => {
    assert.match(invalid.output(), /WARNING: --slowdown="0\.5" is invalid \(a number >= 1\); using 1/);
    const r = await predict(invalid, batch);
    assert.equal(r.factor, undefined);
    assert.equal(r.inferenceMs, undefined);
  });
});
