/**
 * Latency recorder on HdrHistogram (pure-JS build, no WebAssembly).
 *
 * Units: the public API takes and returns **milliseconds** (floats). Internally
 * values are stored as integer **microseconds** with 3 significant digits, so a
 * reported percentile is within 0.1% of a recorded value (e.g. ±0.5 ms at 500 ms).
 *
 * Exact `min`/`max` are tracked beside the histogram, and percentiles are clamped
 * into [min, max] so a single sample reports itself for every percentile.
 *
 * Empty recorder: `summary()` THROWS (`EmptyRecorderError`). A validation suite
 * must never read "p95 = 0 ms" from a run that produced no successful sample;
 * check `count` first or catch the error. `buckets()` on an empty recorder
 * returns `[]`.
 */
import { Int32Histogram, type JsHistogram } from 'hdr-histogram-js';

/** Percentile summary, every latency in milliseconds. */
export interface LatencySummary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** One histogram bin, `[from, to)` in milliseconds (the last bin includes `to`). */
export interface HistogramBucket {
  from: number;
  to: number;
  count: number;
}

export class EmptyRecorderError extends Error {
  constructor() {
    super('latency recorder is empty: no samples recorded, percentiles are undefined');
    this.name = 'EmptyRecorderError';
  }
}

/** Highest value tracked up front: 1 hour in µs (auto-resizes beyond). */
const INITIAL_HIGHEST_US = 3_600_000_000;

export class LatencyRecorder {
  private readonly hist: JsHistogram;
  private minUs = Infinity;
  private maxUs = -Infinity;

  constructor() {
    this.hist = new Int32Histogram(1, INITIAL_HIGHEST_US, 3);
    this.hist.autoResize = true;
  }

  /** Number of samples recorded. */
  get count(): number {
    return this.hist.totalCount;
  }

  /**
   * Record one latency in milliseconds. Values below 1 µs are recorded as 1 µs.
   * @throws RangeError for negative, NaN or infinite values.
   */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`latency must be a finite number of ms >= 0, got ${ms}`);
    }
    const us = Math.max(1, Math.round(ms * 1000));
    this.hist.recordValue(us);
    if (us < this.minUs) this.minUs = us;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Add every sample of `other` into this recorder (other is unchanged). Returns this. */
  merge(other: LatencyRecorder): this {
    if (other.count === 0) return this;
    this.hist.add(other.hist);
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
    return this;
  }

  /**
   * Value (ms) at percentile `p` in [0, 100].
   * @throws EmptyRecorderError when no sample was recorded.
   */
  percentile(p: number): number {
    if (this.count === 0) throw new EmptyRecorderError();
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
    const us = this.hist.getValueAtPercentile(p);
    return clamp(us, this.minUs, this.maxUs) / 1000;
  }

  /**
   * count/min/p50/p90/p95/p99/max/mean, all in ms.
   * @throws EmptyRecorderError when no sample was recorded.
   */
  summary(): LatencySummary {
    if (this.count === 0) throw new EmptyRecorderError();
    return {
      count: this.count,
      min: this.minUs / 1000,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p95: this.percentile(95),
      p99: this.percentile(99),
      max: this.maxUs / 1000,
      mean: clamp(this.hist.mean, this.minUs, this.maxUs) / 1000,
    };
  }

  /**
   * `n` equal-width bins spanning [min, max] in ms, for a histogram chart.
   * Empty recorder → `[]`; all samples equal → one bin `{from: v, to: v}`.
   * Bin assignment uses HdrHistogram's equivalent-value ranges (3 digits).
   */
  buckets(n: number): HistogramBucket[] {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`bucket count must be an integer >= 1, got ${n}`);
    if (this.count === 0) return [];
    const lo = this.minUs;
    const hi = this.maxUs;
    if (lo === hi) return [{ from: lo / 1000, to: hi / 1000, count: this.count }];
    const width = (hi - lo) / n;
    const counts = new Array<number>(n).fill(0);
    const it = this.hist.recordedValuesIterator;
    it.reset();
    while (it.hasNext()) {
      const v = it.next();
      const value = clamp(this.hist.medianEquivalentValue(v.valueIteratedTo), lo, hi);
      const idx = Math.min(n - 1, Math.floor((value - lo) / width));
      counts[idx] = (counts[idx] ?? 0) + v.countAtValueIteratedTo;
    }
    return counts.map((count, i) => ({
      from: (lo + i * width) / 1000,
      to: (i === n - 1 ? hi : lo + (i + 1) * width) / 1000,
      count,
    }));
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
