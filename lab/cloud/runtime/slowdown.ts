/**
 * A lab-only fault knob for controls: answer each inference request `factor`
 * times slower than it was really computed. The inference still runs in full;
 * its measured time t is followed by an extra wait of (factor - 1) * t, so the
 * slowdown scales with the real work (not a fixed sleep). Set per
 * InferenceService with the annotation `lab.mlv.io/slowdown` (the controller
 * passes it as the runtime's --slowdown flag); real KServe ignores it.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export const SLOWDOWN_ANNOTATION = 'lab.mlv.io/slowdown';

export interface SlowdownSetting {
  /** >= 1; 1 = no slowdown */
  factor: number;
  /** set when the value was invalid and 1 is used instead */
  warning?: string;
}

/** The slowdown factor from an annotation or flag value: a finite number >= 1; absent = 1; anything else = 1 with a warning. */
export function parseSlowdown(v: unknown, what = SLOWDOWN_ANNOTATION): SlowdownSetting {
  if (v === undefined || v === null) return { factor: 1 };
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() ? Number(v.trim()) : NaN;
  if (Number.isFinite(n) && n >= 1) return { factor: n };
  return { factor: 1, warning: `${what}=${JSON.stringify(v)} is invalid (a number >= 1); using 1` };
}

export interface Slowed<T> {
  value: T;
  /** the real inference time, ms */
  inferenceMs: number;
  /** the extra wait asked for, (factor - 1) * inferenceMs */
  extraMs: number;
}

/** Wait until process.hrtime.bigint() reaches `deadline` (ns); timers have 1 ms steps, so this may overshoot by about 1 ms, never undershoot. */
async function waitUntil(deadline: bigint): Promise<void> {
  for (;;) {
    const leftMs = Number(deadline - process.hrtime.bigint()) / 1e6;
    if (leftMs <= 0) return;
    await sleep(Math.ceil(leftMs));
  }
}

/** Run `infer`, measure its time t, then wait (factor - 1) * t before resolving. */
export async function slowed<T>(factor: number, infer: () => Promise<T>): Promise<Slowed<T>> {
  const t0 = process.hrtime.bigint();
  const value = await infer();
  const t1 = process.hrtime.bigint();
  const inferenceNs = t1 - t0;
  const inferenceMs = Number(inferenceNs) / 1e6;
  if (!(factor > 1)) return { value, inferenceMs, extraMs: 0 };
  const extraMs = (factor - 1) * inferenceMs;
  await waitUntil(t1 + BigInt(Math.ceil(extraMs * 1e6)));
  return { value, inferenceMs, extraMs };
}
