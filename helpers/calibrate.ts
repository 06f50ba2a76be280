/**
 * References calibrated from runs: the pure core of `npm run calibrate` (scripts/calibrate.ts).
 *
 * From N runs' numeric criteria (a finite `value` and a `threshold`), each threshold of the
 * target's references gets the median and spread of its measurements, and a band around the
 * median: `max = median + k x spread` (lower is better: times, latency), `min = median - k x spread`
 * (higher is better: accuracy, throughput), both for a two-sided threshold (speedup). The
 * spread is the median absolute deviation scaled to sigma (1.4826 x MAD), at least `floor` x
 * |median| (default 5%), so a metric that never varies still gets a band. Band edges are
 * rounded outwards to 3 significant digits.
 *
 * Each threshold has a calibration mode, from its `calibrate` field when it has one
 * (`fixed`, `plan` or `free`; the loader ignores that field), else:
 *   - fixed: `max: 0` or `min == max` (errors: { max: 0 }): copied unchanged;
 *   - free: a `source` that does not start with "plan" (the lab measured its own band, e.g.
 *     speedup on 2 shared cores): the measured band as it is;
 *   - plan: any other (the source starts with "plan", or there is none): the measured band,
 *     but never looser than the plan's threshold in references/default.yaml (a proposed max
 *     no higher than the plan's max, a proposed min no lower than the plan's min).
 * A threshold may set its own spread `floor` (a fraction of |median|) instead of the run's, e.g. a
 * seeded accuracy that never varies gets 2% where timings get 15%.
 * A threshold may also carry `limits: { min?, max? }`: edges no band passes, in any mode but fixed
 * (e.g. a speedup's min never below 1: under 1 two ranks are slower than one, healthy or not).
 * A calibrated threshold is written with its mode (`calibrate: plan` or `calibrate: free`), since
 * its new source ("lab measured: ...") no longer tells. A threshold without measurements, and
 * every workload section, is copied unchanged.
 */
import { parseDocument, Scalar } from 'yaml';

export type Mode = 'fixed' | 'free' | 'plan';
const MODES: readonly string[] = ['fixed', 'free', 'plan'];

/** A threshold as a references file spells it: the loader's fields and the optional `calibrate` mode. */
export interface RawThreshold {
  min?: number;
  max?: number;
  unit?: string;
  source?: string;
  calibrate?: string;
  /** Edges no calibrated band goes past (the loader ignores this field). */
  limits?: { min?: number; max?: number };
  /** This threshold's spread floor, a fraction of |median|, instead of the run's (e.g. a seeded accuracy that never varies). */
  floor?: number;
}
/** The part of a references file calibration reads: each task's thresholds. */
export interface RawReferences {
  target: string;
  tasks: Record<string, { thresholds: Record<string, RawThreshold> }>;
}

/** A criterion as criteria.json holds it (fixtures/criteria.ts); a NaN value arrives as null. */
interface Criterion {
  name: string;
  status: string;
  value?: number | null;
  threshold?: { min?: number; max?: number };
}
/** The part of a test outcome (helpers/matrix.ts) calibration reads. */
export interface CalibrationTest {
  project: string;
  title: string;
  task?: string;
  outcome: string;
  reason: string;
  criteria: Criterion[];
}

/** One measured value of a task's threshold. */
export interface Measurement {
  run: number;
  task: string;
  key: string;
  criterion: string;
  value: number;
}

export interface Options {
  /** Band half-width in spreads. */
  k: number;
  /** The spread is at least this fraction of |median|. */
  floor: number;
  /** Who measured, for the source strings: the target's name, e.g. "lab". */
  target: string;
}

export interface Stats {
  n: number;
  runs: number;
  median: number;
  mad: number;
  spread: number;
  /** The spread is the floor, not 1.4826 x MAD. */
  floored: boolean;
  min: number;
  max: number;
}

export interface Proposal {
  task: string;
  key: string;
  mode: Mode;
  criteria: string[];
  stats?: Stats;
  current: RawThreshold;
  proposed: RawThreshold;
  notes: string[];
}

/**
 * The threshold key a criterion is measured against: its name when that is a key, else the
 * part before " (": 'prediction_accuracy (V1)', 'throughput_rps (successes / wall time)'.
 */
export function thresholdKey(name: string, keys: readonly string[]): string | undefined {
  if (keys.includes(name)) return name;
  const i = name.indexOf(' (');
  return i > 0 && keys.includes(name.slice(0, i)) ? name.slice(0, i) : undefined;
}

/** Projects whose tests never calibrate anything: the self-test controls fail on purpose. */
const EXCLUDED_PROJECTS = new Set(['controls']);

/** The numeric criteria of one run's passed and failed tests, each under its task's threshold key. */
export function measurements(tests: readonly CalibrationTest[], run: number, keysOf: (task: string) => readonly string[]): Measurement[] {
  const out: Measurement[] = [];
  for (const t of tests) {
    if (!t.task || EXCLUDED_PROJECTS.has(t.project) || (t.outcome !== 'pass' && t.outcome !== 'fail')) continue;
    for (const c of t.criteria) {
      const key = thresholdKey(c.name, keysOf(t.task));
      if (key && c.threshold && typeof c.value === 'number' && Number.isFinite(c.value)) out.push({ run, task: t.task, key, criterion: c.name, value: c.value });
    }
  }
  return out;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function stats(ms: readonly Measurement[], floor: number): Stats {
  const values = ms.map((m) => m.value);
  const med = median(values);
  const mad = median(values.map((v) => Math.abs(v - med)));
  const sigma = 1.4826 * mad;
  const least = floor * Math.abs(med);
  return {
    n: values.length,
    runs: new Set(ms.map((m) => m.run)).size,
    median: med,
    mad,
    spread: Math.max(sigma, least),
    floored: least > sigma,
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/** `x` rounded away from the band (max up, min down) to `digits` significant digits. */
export function roundOut(x: number, dir: 'up' | 'down', digits = 3): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const step = 10 ** (Math.floor(Math.log10(Math.abs(x))) - digits + 1);
  const q = x / step;
  const r = (dir === 'up' ? Math.ceil(q - 1e-9) : Math.floor(q + 1e-9)) * step;
  return Number(r.toPrecision(12));
}

export function modeOf(t: RawThreshold, where = 'threshold'): Mode {
  if (t.calibrate !== undefined) {
    if (!MODES.includes(t.calibrate)) throw new Error(`${where}: calibrate is "${t.calibrate}"; use fixed, plan or free`);
    return t.calibrate as Mode;
  }
  if (t.max === 0 || (t.min !== undefined && t.min === t.max)) return 'fixed';
  return t.source === undefined || t.source.startsWith('plan') ? 'plan' : 'free';
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : Math.abs(n) >= 1000 ? n.toFixed(1) : String(Number(n.toPrecision(4))));

/** A band as the table and the sources print it: ">= 0.95", "<= 180 s", "[1, 2.1] x". */
export function bandText(t: RawThreshold): string {
  const unit = t.unit ? ` ${t.unit}` : '';
  if (t.min !== undefined && t.max !== undefined) return `[${fmt(t.min)}, ${fmt(t.max)}]${unit}`;
  return t.min !== undefined ? `>= ${fmt(t.min)}${unit}` : t.max !== undefined ? `<= ${fmt(t.max)}${unit}` : '-';
}

type Band = Pick<RawThreshold, 'min' | 'max'>;

/** The measured band bound by the plan's: never looser than the plan where the plan has that edge. */
function boundByPlan(b: Band, current: RawThreshold, plan: RawThreshold, med: number, notes: string[]): Band {
  let { min, max } = b;
  if (min !== undefined && plan.min !== undefined && min < plan.min) {
    min = plan.min;
    notes.push(`min raised to the plan's ${fmt(plan.min)}`);
  }
  if (max !== undefined && plan.max !== undefined && max > plan.max) {
    max = plan.max;
    notes.push(`max lowered to the plan's ${fmt(plan.max)}`);
  }
  if ((plan.min !== undefined && med < plan.min) || (plan.max !== undefined && med > plan.max)) notes.push(`the median fails the plan (${bandText(plan)})`);
  if (min !== undefined && max !== undefined && min > max) {
    const fallback = { min: plan.min ?? current.min, max: plan.max ?? current.max };
    const ok = fallback.min === undefined || fallback.max === undefined || fallback.min <= fallback.max;
    notes.push(ok ? "the runs are outside the plan's band: the plan's band is kept" : 'the runs are outside the plan: unchanged');
    return ok ? fallback : { min: current.min, max: current.max };
  }
  return { min, max };
}

/** The band kept within the threshold's own limits. */
function withinLimits(b: Band, limits: RawThreshold['limits'], notes: string[]): Band {
  let { min, max } = b;
  if (min !== undefined && limits?.min !== undefined && min < limits.min) {
    min = limits.min;
    notes.push(`min raised to its limit ${fmt(limits.min)}`);
  }
  if (max !== undefined && limits?.max !== undefined && max > limits.max) {
    max = limits.max;
    notes.push(`max lowered to its limit ${fmt(limits.max)}`);
  }
  return { min, max };
}

function sourceText(s: Stats, b: Band, t: RawThreshold, mode: Mode, plan: RawThreshold | undefined, o: Options): string {
  const unit = t.unit ? ` ${t.unit}` : '';
  const sign = b.min !== undefined && b.max !== undefined ? '±' : b.max !== undefined ? '+' : '-';
  const spread = `spread ${fmt(s.spread)}${s.floored ? ` (the ${fmt((t.floor ?? o.floor) * 100)}% floor)` : ''}`;
  const values = s.n > s.runs ? ` (${s.n} values)` : '';
  const bound = mode === 'free' ? 'not bounded by the plan' : plan ? `never looser than the plan (${bandText(plan)})` : 'no plan threshold';
  return `${o.target} measured: median ${fmt(s.median)}${unit}, ${spread}, ${s.runs} run${s.runs === 1 ? '' : 's'}${values}, band median ${sign} ${o.k} x spread; ${bound}`;
}

/** One threshold's proposal from its measurements. */
export function propose(task: string, key: string, current: RawThreshold, plan: RawThreshold | undefined, ms: readonly Measurement[], o: Options): Proposal {
  const mode = modeOf(current, `tasks.${task}.thresholds.${key}`);
  const criteria = [...new Set(ms.map((m) => m.criterion))];
  const base = { task, key, mode, criteria, current };
  if (!ms.length) return { ...base, proposed: current, notes: ['no measurement: unchanged'] };
  if (current.floor !== undefined && !(current.floor >= 0)) throw new Error(`tasks.${task}.thresholds.${key}: floor is ${current.floor}; use a fraction >= 0`);
  const s = stats(ms, current.floor ?? o.floor);
  if (mode === 'fixed') return { ...base, stats: s, proposed: current, notes: ['fixed: unchanged'] };
  const notes: string[] = [];
  let b: Band = {
    min: current.min !== undefined ? roundOut(s.median - o.k * s.spread, 'down') : undefined,
    max: current.max !== undefined ? roundOut(s.median + o.k * s.spread, 'up') : undefined,
  };
  if (mode === 'plan' && plan) b = boundByPlan(b, current, plan, s.median, notes);
  b = withinLimits(b, current.limits, notes);
  if (mode === 'plan' && !plan) notes.push('no plan threshold');
  if (mode === 'free') notes.push('free of the plan');
  if ((b.min !== undefined && current.min !== undefined && b.min < current.min) || (b.max !== undefined && current.max !== undefined && b.max > current.max)) notes.push('looser than the current');
  const outside = ms.filter((m) => (b.min !== undefined && m.value < b.min) || (b.max !== undefined && m.value > b.max)).length;
  if (outside) notes.push(`${outside} of ${ms.length} values fail it`);
  const proposed: RawThreshold = {
    ...b,
    ...(current.unit ? { unit: current.unit } : {}),
    source: sourceText(s, b, current, mode, plan, o),
    calibrate: mode,
    ...(current.limits ? { limits: current.limits } : {}),
    ...(current.floor !== undefined ? { floor: current.floor } : {}),
  };
  for (const k of ['min', 'max'] as const) if (proposed[k] === undefined) delete proposed[k];
  return { ...base, stats: s, proposed, notes };
}

/** A proposal for every threshold of the target's references, in the file's order. */
export function proposeAll(current: RawReferences, plan: RawReferences | undefined, ms: readonly Measurement[], o: Options): Proposal[] {
  const out: Proposal[] = [];
  for (const [task, t] of Object.entries(current.tasks)) {
    for (const [key, th] of Object.entries(t.thresholds ?? {})) {
      const mine = ms.filter((m) => m.task === task && m.key === key);
      out.push(propose(task, key, th, plan?.tasks[task]?.thresholds?.[key], mine, o));
    }
  }
  return out;
}

/** The thresholds of a references file's text, with their `calibrate` fields (the loader drops those). */
export function rawReferences(text: string): RawReferences {
  const data = parseDocument(text).toJS() as Partial<RawReferences> | null;
  return { target: String(data?.target ?? 'target'), tasks: data?.tasks ?? {} };
}

export interface Provenance {
  date: string;
  runs: number;
  machine: string;
  notes: string;
}

/**
 * The references file's text with the calibrated thresholds and the new provenance; its
 * comments, workloads and every other field are kept as they are.
 */
export function proposedYaml(text: string, proposals: readonly Proposal[], p: Provenance): string {
  const doc = parseDocument(text);
  for (const x of proposals) {
    if (x.proposed === x.current) continue;
    doc.setIn(['tasks', x.task, 'thresholds', x.key], doc.createNode(x.proposed, { flow: true }));
  }
  const date = new Scalar(p.date);
  date.type = Scalar.QUOTE_DOUBLE;
  doc.set('provenance', doc.createNode({ date, runs: p.runs, machine: p.machine, notes: p.notes }));
  return doc.toString({ lineWidth: 0 });
}

export interface RunSummary {
  run: number;
  id: string;
  file: string;
  passed: number;
  skipped: number;
  failed: { title: string; reason: string }[];
  infra: { title: string; reason: string }[];
}

/** A run's counts; `error` (no results, a global error) counts as an infra problem of the run. */
export function summarizeRun(tests: readonly CalibrationTest[], run: number, id: string, file: string, error?: string): RunSummary {
  const pick = (o: string) => tests.filter((t) => t.outcome === o && !EXCLUDED_PROJECTS.has(t.project)).map((t) => ({ title: `[${t.project}] ${t.title}`, reason: t.reason }));
  const infra = pick('infra');
  if (error) infra.unshift({ title: '(the run)', reason: error });
  return { run, id, file, passed: pick('pass').length, skipped: pick('skip').length + pick('not run').length, failed: pick('fail'), infra };
}

function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** The table `npm run calibrate` prints: one row per threshold. */
export function proposalTable(proposals: readonly Proposal[]): string {
  const head = ['task', 'threshold', 'mode', 'n', 'runs', 'median', 'spread', 'min', 'max', 'current', 'proposed', 'notes'];
  const rows = proposals.map((p) => {
    const s = p.stats;
    const num = (v: number | undefined) => (v === undefined ? '-' : fmt(v));
    const name = p.criteria.length > 1 ? `${p.key} (${p.criteria.length} criteria)` : p.key;
    return [p.task, name, p.mode, String(s?.n ?? 0), String(s?.runs ?? 0), num(s?.median), num(s?.spread), num(s?.min), num(s?.max), bandText(p.current), bandText(p.proposed), p.notes.join('; ')];
  });
  return columns([head, ...rows]);
}

export function runsText(runs: readonly RunSummary[]): string {
  const lines: string[] = [];
  for (const r of runs) {
    lines.push(`run ${r.run} ${r.id}: ${r.passed} passed, ${r.failed.length} failed, ${r.infra.length} infra, ${r.skipped} skipped or not run (${r.file})`);
    for (const f of r.failed) lines.push(`  FAIL ${f.title}: ${f.reason}`);
    for (const f of r.infra) lines.push(`  INFRA ${f.title}: ${f.reason}`);
  }
  return lines.join('\n');
}
