/**
 * Dependency-free SVG charts, returned as strings, 640×360.
 *
 * - `lineChart`: several series, optional second y axis (`axis: "right"`),
 *   e.g. loss (left) and accuracy (right) per epoch.
 * - `stepChart`: step-after lines, e.g. replicas over time (y starts at 0).
 * - `barHistogram`: latency histogram from `{from, to, count}` buckets.
 *
 * All text is XML-escaped; non-finite points are dropped; empty input draws
 * axes and a "no data" note. Output never contains "NaN" or "Infinity".
 */

interface Point {
  x: number;
  y: number;
}

interface Series {
  name: string;
  points: Point[];
  /** Which y axis this series uses (default "left"). */
  axis?: 'left' | 'right';
}

interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Label of the right y axis, drawn when a series has `axis: "right"`. */
  y2Label?: string;
  series: Series[];
}

interface HistogramBar {
  from: number;
  to: number;
  count: number;
}

interface BarHistogramOptions {
  title: string;
  buckets: HistogramBar[];
  xLabel?: string;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const FONT = 'font-family="sans-serif"';
/** Size of every chart, in px. */
const W = 640;
const H = 360;

/** Escape text for XML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

/** Line chart of one or more series, optionally on two y axes. */
export function lineChart(o: LineChartOptions): string {
  return seriesChart(o, 'line');
}

/** Step-after chart (value holds until the next point), y axis from 0. */
export function stepChart(o: LineChartOptions): string {
  return seriesChart(o, 'step');
}

/** Histogram bars; x in the buckets' unit (e.g. ms), y = count. */
export function barHistogram(o: BarHistogramOptions): string {
  const frame = plotFrame(W, H, false);
  const bars = o.buckets.filter((b) => [b.from, b.to, b.count].every(Number.isFinite));
  const xd = domain(
    bars.flatMap((b) => [b.from, b.to]),
    false,
  );
  const yd = domain([0, ...bars.map((b) => b.count)], true);
  const xs = scale(xd, frame.left, frame.right);
  const ys = scale(yd, frame.bottom, frame.top);
  const parts = [header(W, H, o.title), axes(frame, xd, yd, xs, ys, o.xLabel ?? 'latency (ms)', 'count')];
  const color = PALETTE[0]!;
  for (const b of bars) {
    const x0 = xs(b.from);
    const width = Math.max(1, xs(b.to) - x0 - 1);
    const y = ys(b.count);
    parts.push(
      `<rect x="${f(x0)}" y="${f(y)}" width="${f(width)}" height="${f(frame.bottom - y)}" fill="${escapeXml(color)}"><title>${escapeXml(`${fmt(b.from)}–${fmt(b.to)}: ${b.count}`)}</title></rect>`,
    );
  }
  if (bars.length === 0) parts.push(noData(frame));
  parts.push('</svg>');
  return parts.join('\n');
}

function seriesChart(o: LineChartOptions, kind: 'line' | 'step'): string {
  const series = o.series.map((s, i) => ({
    ...s,
    color: PALETTE[i % PALETTE.length]!,
    points: s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x),
  }));
  const hasRight = series.some((s) => s.axis === 'right');
  const frame = plotFrame(W, H, hasRight);
  const pts = (side: 'left' | 'right') => series.filter((s) => (s.axis ?? 'left') === side).flatMap((s) => s.points);
  const all = series.flatMap((s) => s.points);
  const xd = domain(
    all.map((p) => p.x),
    false,
  );
  const zero = kind === 'step';
  const yd = domain([...(zero ? [0] : []), ...pts('left').map((p) => p.y)], zero);
  const y2d = domain([...(zero ? [0] : []), ...pts('right').map((p) => p.y)], zero);
  const xs = scale(xd, frame.left, frame.right);
  const ys = scale(yd, frame.bottom, frame.top);
  const y2s = scale(y2d, frame.bottom, frame.top);
  const parts = [header(W, H, o.title), axes(frame, xd, yd, xs, ys, o.xLabel, o.yLabel)];
  if (hasRight) parts.push(rightAxis(frame, y2d, y2s, o.y2Label ?? ''));
  for (const s of series) {
    const yScale = s.axis === 'right' ? y2s : ys;
    const [first, ...rest] = s.points;
    if (!first) continue;
    let d = `M${f(xs(first.x))},${f(yScale(first.y))}`;
    for (const p of rest) d += kind === 'step' ? ` H${f(xs(p.x))} V${f(yScale(p.y))}` : ` L${f(xs(p.x))},${f(yScale(p.y))}`;
    parts.push(`<path d="${d}" fill="none" stroke="${escapeXml(s.color)}" stroke-width="2"/>`);
    if (s.points.length <= 60) {
      for (const p of s.points) parts.push(`<circle cx="${f(xs(p.x))}" cy="${f(yScale(p.y))}" r="2.5" fill="${escapeXml(s.color)}"/>`);
    }
  }
  if (all.length === 0) parts.push(noData(frame));
  parts.push(legend(frame, series));
  parts.push('</svg>');
  return parts.join('\n');
}

interface Frame {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function plotFrame(w: number, h: number, rightAxis: boolean): Frame {
  return { left: 64, right: w - (rightAxis ? 64 : 20), top: 48, bottom: h - 48 };
}

function header(w: number, h: number, title: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">`,
    `<rect width="${w}" height="${h}" fill="#ffffff"/>`,
    `<text x="${f(w / 2)}" y="20" text-anchor="middle" font-size="15" font-weight="bold" ${FONT}>${escapeXml(title)}</text>`,
  ].join('\n');
}

function axes(fr: Frame, xd: Domain, yd: Domain, xs: Scale, ys: Scale, xLabel: string, yLabel: string): string {
  const out = [`<line x1="${fr.left}" y1="${fr.bottom}" x2="${fr.right}" y2="${fr.bottom}" stroke="#333"/>`, `<line x1="${fr.left}" y1="${fr.top}" x2="${fr.left}" y2="${fr.bottom}" stroke="#333"/>`];
  for (const t of niceTicks(xd[0], xd[1])) {
    const x = f(xs(t));
    out.push(`<line x1="${x}" y1="${fr.bottom}" x2="${x}" y2="${fr.bottom + 5}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${fr.bottom + 18}" text-anchor="middle" font-size="11" ${FONT}>${fmt(t)}</text>`);
  }
  for (const t of niceTicks(yd[0], yd[1])) {
    const y = f(ys(t));
    out.push(`<line x1="${fr.left}" y1="${y}" x2="${fr.right}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${fr.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11" ${FONT}>${fmt(t)}</text>`);
  }
  const midY = f((fr.top + fr.bottom) / 2);
  out.push(`<text x="${f((fr.left + fr.right) / 2)}" y="${fr.bottom + 38}" text-anchor="middle" font-size="12" ${FONT}>${escapeXml(xLabel)}</text>`);
  out.push(`<text x="16" y="${midY}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${midY})" ${FONT}>${escapeXml(yLabel)}</text>`);
  return out.join('\n');
}

function rightAxis(fr: Frame, d: Domain, s: Scale, label: string): string {
  const out = [`<line x1="${fr.right}" y1="${fr.top}" x2="${fr.right}" y2="${fr.bottom}" stroke="#333"/>`];
  for (const t of niceTicks(d[0], d[1])) {
    const y = f(s(t));
    out.push(`<line x1="${fr.right}" y1="${y}" x2="${fr.right + 5}" y2="${y}" stroke="#333"/>`);
    out.push(`<text x="${fr.right + 8}" y="${y}" dominant-baseline="middle" font-size="11" ${FONT}>${fmt(t)}</text>`);
  }
  const x = fr.right + 52;
  const midY = f((fr.top + fr.bottom) / 2);
  out.push(`<text x="${x}" y="${midY}" text-anchor="middle" font-size="12" transform="rotate(90 ${x} ${midY})" ${FONT}>${escapeXml(label)}</text>`);
  return out.join('\n');
}

function legend(fr: Frame, series: { name: string; color: string; axis?: string }[]): string {
  let x = fr.left;
  const out: string[] = [];
  for (const s of series) {
    const label = s.axis === 'right' ? `${s.name} (right)` : s.name;
    out.push(`<rect x="${f(x)}" y="30" width="12" height="4" fill="${escapeXml(s.color)}"/>`);
    out.push(`<text x="${f(x + 16)}" y="36" font-size="11" ${FONT}>${escapeXml(label)}</text>`);
    x += 28 + label.length * 6.5;
  }
  return out.join('\n');
}

function noData(fr: Frame): string {
  return `<text x="${f((fr.left + fr.right) / 2)}" y="${f((fr.top + fr.bottom) / 2)}" text-anchor="middle" font-size="13" fill="#888" ${FONT}>no data</text>`;
}

type Domain = [number, number];
type Scale = (v: number) => number;

/** Data range, widened when degenerate; [0, 1] when empty. `fromZero` keeps 0 as the lower bound. */
function domain(values: number[], fromZero: boolean): Domain {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo = fromZero && lo >= 0 ? 0 : lo - pad;
    hi += pad;
  }
  const ticks = niceTicks(lo, hi);
  return [Math.min(lo, ticks[0] ?? lo), Math.max(hi, ticks[ticks.length - 1] ?? hi)];
}

function scale([d0, d1]: Domain, r0: number, r1: number): Scale {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** About `count` round tick values (1/2/5 × 10^k steps), first <= lo and last >= hi. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo === hi) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  for (let i = first; i <= last && ticks.length <= 50; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/** Coordinate formatting: one decimal. */
function f(v: number): string {
  return Number.isFinite(v) ? (Math.round(v * 10) / 10).toString() : '0';
}

/** Tick label formatting: compact, up to 4 significant digits. */
function fmt(v: number): string {
  if (!Number.isFinite(v)) return '';
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}
