/**
 * A lab-only fault knob for controls: a model server `factor` times slower, as a CPU-bound
 * server is slower: it spends `factor` times the CPU per request. Each inference still runs in
 * full (same predictions); after it, the server does (factor - 1) x c of busy work on its own
 * thread, where c is the CPU the process has spent per inference request so far, its own extra
 * work excluded (process.cpuUsage(), all threads: parsing, the model, serialising). It then
 * serves 1/factor as many requests per core. An idle wait instead hardly shows on the lab, whose
 * end-to-end latency is set by the CPU the client and router use; and a wait scaled by each
 * request's wall time grows with the queue, which makes the slowdown far larger than `factor`.
 * Set per InferenceService with the annotation `lab.mlv.io/slowdown` (the controller passes it
 * as the runtime's --slowdown flag); real KServe ignores it.
 */
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
  /** this inference's wall time, ms */
  inferenceMs: number;
  /** the extra CPU work done after it, (factor - 1) x the CPU per request so far, ms */
  extraMs: number;
}

/** Process CPU time (user + system, all threads), microseconds. */
const processCpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Keep this thread busy until the process has spent `ms` more CPU (not wall time: on a loaded machine that takes longer). */
function burnCpu(ms: number, cpuUs: () => number = processCpuUs): void {
  const end = cpuUs() + ms * 1000;
  let x = 0;
  while (cpuUs() < end) x = Math.sqrt(x + 1);
  if (Number.isNaN(x)) throw new Error('unreachable');
}

/**
 * The server's own CPU per inference request: the process CPU since the second request began, less
 * the extra work, over the requests done since. The first request alone sets it until then: it is the
 * warm-up (lazy initialisation, the JIT), which would inflate every later request's extra work.
 */
export class CpuMeter {
  private startUs?: number;
  private done = 0;
  private extraUs = 0;
  private warm = false;
  constructor(private readonly cpuUs: () => number = processCpuUs) {}

  /** Called as a request starts. */
  begin(): void {
    if (this.startUs === undefined) this.startUs = this.cpuUs();
    else if (!this.warm && this.done > 0) [this.warm, this.startUs, this.done, this.extraUs] = [true, this.cpuUs(), 0, 0];
  }

  /** Called as a request's own work ends: its CPU per request so far, ms (undefined before the first ends). */
  end(): number | undefined {
    this.done++;
    const own = this.cpuUs() - (this.startUs ?? 0) - this.extraUs;
    return own > 0 ? own / this.done / 1000 : undefined;
  }

  /** Record extra work done, ms. */
  extra(ms: number): void {
    this.extraUs += ms * 1000;
  }
}

const meter = new CpuMeter();

/** Run `infer`; with factor > 1, then work the CPU for (factor - 1) x the server's CPU per request (the request's wall time when nothing is measured yet). */
export async function slowed<T>(factor: number, infer: () => Promise<T>, m: CpuMeter = meter): Promise<Slowed<T>> {
  if (factor > 1) m.begin();
  const t0 = process.hrtime.bigint();
  const value = await infer();
  const t1 = process.hrtime.bigint();
  const inferenceMs = Number(t1 - t0) / 1e6;
  if (!(factor > 1)) return { value, inferenceMs, extraMs: 0 };
  const extraMs = (factor - 1) * (m.end() ?? inferenceMs);
  burnCpu(extraMs);
  m.extra(extraMs);
  return { value, inferenceMs, extraMs };
}
