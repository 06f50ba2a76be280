import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { barHistogram, escapeXml, lineChart, niceTicks, stepChart } from '../../helpers/charts.ts';

/** Minimal well-formedness check: balanced tags, one root, no raw `<` or bare `&` in text/attributes. */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  let roots = 0;
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(svg); m; m = tag.exec(svg)) {
    const between = svg.slice(last, m.index);
    assert.ok(!between.includes('<') && !between.includes('>'), `stray markup before ${m[0]}: ${JSON.stringify(between)}`);
    assert.ok(!/&(?!(lt|gt|amp|quot|apos);)/.test(between + (m[3] ?? '')), `unescaped & near ${m[0]}`);
    last = tag.lastIndex;
    const [, close, name, , selfClose] = m;
    if (close) assert.equal(stack.pop(), name, `mismatched </${name}>`);
    else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else if (stack.length === 0) roots++;
  }
  assert.equal(svg.slice(last).trim(), '', 'trailing content after the root');
  assert.deepEqual(stack, [], 'unclosed tags');
  assert.equal(roots, 1, 'exactly one root element');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="640" height="360"/);
}

function assertClean(svg: string): void {
  assertWellFormed(svg);
  assert.ok(!svg.includes('NaN'), 'no NaN');
  assert.ok(!svg.includes('Infinity'), 'no Infinity');
  assert.ok(!svg.includes('undefined'), 'no undefined');
}

test('escapeXml escapes the five XML specials', () => {
  assert.equal(escapeXml(`<a & "b" 'c'>`), '&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;');
});

test('lineChart: two series on two y axes (loss and accuracy per epoch)', () => {
  const svg = lineChart({
    title: 'MNIST training',
    xLabel: 'epoch',
    yLabel: 'loss',
    y2Label: 'accuracy (%)',
    series: [
      { name: 'loss', points: [1, 2, 3, 4, 5].map((x) => ({ x, y: 0.5 / x })) },
      { name: 'accuracy', axis: 'right', points: [1, 2, 3, 4, 5].map((x) => ({ x, y: 95 + x * 0.7 })) },
    ],
  });
  assertClean(svg);
  assert.equal((svg.match(/<path /g) ?? []).length, 2);
  assert.ok(svg.includes('>accuracy (right)</text>'), 'legend names the right-axis series');
  assert.ok(svg.includes('>accuracy (%)</text>'), 'right axis label');
  assert.ok(svg.includes('>epoch</text>'));
});

test('text is escaped in titles, labels and legends', () => {
  const svg = lineChart({
    title: `p95 < 100 ms & "fast"`,
    xLabel: 't <s>',
    yLabel: 'a&b',
    series: [
      {
        name: '<script>',
        points: [
          { x: 0, y: 1 },
          { x: 1, y: 2 },
        ],
      },
    ],
  });
  assertClean(svg);
  assert.ok(svg.includes('p95 &lt; 100 ms &amp; &quot;fast&quot;'));
  assert.ok(!svg.includes('<script>'));
});

test('empty series, a single point and non-finite values never produce NaN', () => {
  assertClean(lineChart({ title: 'empty', xLabel: 'x', yLabel: 'y', series: [] }));
  const noPoints = lineChart({ title: 'no points', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [] }] });
  assertClean(noPoints);
  assert.ok(noPoints.includes('>no data</text>'));
  assertClean(lineChart({ title: 'one', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [{ x: 3, y: 7 }] }] }));
  assertClean(lineChart({ title: 'zero', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [{ x: 0, y: 0 }] }] }));
  const bad = lineChart({
    title: 'bad',
    xLabel: 'x',
    yLabel: 'y',
    series: [
      {
        name: 's',
        points: [
          { x: Number.NaN, y: 1 },
          { x: 1, y: Infinity },
          { x: 2, y: 3 },
          { x: 4, y: 5 },
        ],
      },
    ],
  });
  assertClean(bad);
  assert.equal((bad.match(/<circle /g) ?? []).length, 2, 'non-finite points dropped');
});

test('stepChart draws horizontal-then-vertical steps from y = 0', () => {
  const svg = stepChart({
    title: 'replicas',
    xLabel: 'time (s)',
    yLabel: 'replicas',
    series: [
      {
        name: 'predictor',
        points: [
          { x: 0, y: 1 },
          { x: 30, y: 2 },
          { x: 45, y: 3 },
          { x: 120, y: 1 },
        ],
      },
    ],
  });
  assertClean(svg);
  assert.match(svg, /<path d="M[\d.]+,[\d.]+ H[\d.]+ V[\d.]+ H[\d.]+ V[\d.]+ H[\d.]+ V[\d.]+"/);
  assert.ok(svg.includes('text-anchor="end" dominant-baseline="middle" font-size="11" font-family="sans-serif">0</text>'), 'y axis starts at 0');
  assertClean(stepChart({ title: 'flat', xLabel: 't', yLabel: 'r', series: [{ name: 'p', points: [{ x: 5, y: 1 }] }] }));
});

test('barHistogram: one bar per bucket, heights proportional to counts', () => {
  const svg = barHistogram({
    title: 'latency',
    buckets: [
      { from: 0, to: 10, count: 5 },
      { from: 10, to: 20, count: 10 },
      { from: 20, to: 30, count: 0 },
    ],
  });
  assertClean(svg);
  const bars = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" fill/g)].map((m) => Number(m[1]));
  assert.equal(bars.length, 3);
  assert.ok(Math.abs((bars[1] ?? 0) - 2 * (bars[0] ?? 0)) < 0.2, `heights ${bars}`);
  assert.equal(bars[2], 0);
  assert.ok(svg.includes('<title>10–20: 10</title>'));
});

test('barHistogram: empty and single-value buckets', () => {
  const empty = barHistogram({ title: 'none', buckets: [] });
  assertClean(empty);
  assert.ok(empty.includes('>no data</text>'));
  assertClean(barHistogram({ title: 'one', buckets: [{ from: 42.5, to: 42.5, count: 50 }] }));
});

test('niceTicks gives round steps covering the range', () => {
  assert.deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0.1, 0.95), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(3, 3), [3]);
  assert.deepEqual(niceTicks(Number.NaN, 1), []);
});

/**
 * Golden renderings: the exact SVG for fixed inputs, so that a change to any coordinate, tick,
 * label, colour or style shows up. After an intended change, regenerate with
 * `UPDATE_GOLDEN=1 node --import tsx --test tests/unit/charts.test.ts` and look at the SVGs.
 */
const GOLDEN: Record<string, () => string> = {
  'line-two-axes': () =>
    lineChart({
      title: 'loss & accuracy',
      xLabel: 'epoch',
      yLabel: 'loss',
      y2Label: 'accuracy',
      series: [
        { name: 'loss', points: [3, 1, 2].map((x) => ({ x, y: 1 / x })) },
        { name: 'accuracy', axis: 'right', points: [1, 2, 3].map((x) => ({ x, y: 0.9 + x / 40 })) },
        { name: 'test', axis: 'right', points: [{ x: 3, y: 0.99 }] },
      ],
    }),
  'line-many-series': () =>
    lineChart({
      title: 'nine series, 70 points each',
      xLabel: 'x',
      yLabel: 'y',
      series: Array.from({ length: 9 }, (_, s) => ({ name: `s${s}`, points: Array.from({ length: 70 }, (_, i) => ({ x: i * 1e5, y: (s - 4) * 1e-4 * Math.sin(i / 7) })) })),
    }),
  'line-one-point': () => lineChart({ title: 'one', xLabel: 'x', yLabel: 'y', series: [{ name: 'p', points: [{ x: -2, y: -50 }] }] }),
  'step-negative': () =>
    stepChart({
      title: 'steps',
      xLabel: 't',
      yLabel: 'v',
      series: [
        {
          name: 'v',
          points: [
            { x: 10, y: 3 },
            { x: 0, y: -2 },
            { x: 20, y: 2_500_000 },
          ],
        },
      ],
    }),
  'step-constant': () =>
    stepChart({
      title: 'flat',
      xLabel: 't',
      yLabel: 'r',
      series: [
        {
          name: 'r',
          points: [
            { x: 5, y: 4 },
            { x: 9, y: 4 },
          ],
        },
      ],
    }),
  bars: () =>
    barHistogram({
      title: 'latency',
      xLabel: 'ms',
      buckets: [
        { from: 0.5, to: 1, count: 3 },
        { from: 1, to: 1.002, count: 40 },
        { from: 2, to: 4, count: 12 },
        { from: 4, to: Infinity, count: 1 },
      ],
    }),
  'bars-one': () => barHistogram({ title: 'one', buckets: [{ from: 42.5, to: 42.5, count: 50 }] }),
  'bars-empty': () => barHistogram({ title: 'none', buckets: [] }),
};

for (const [name, render] of Object.entries(GOLDEN)) {
  test(`golden chart: ${name}`, () => {
    const file = new URL(`golden/${name}.svg`, import.meta.url);
    const svg = render();
    assertClean(svg);
    if (process.env.UPDATE_GOLDEN) writeFileSync(file, svg);
    assert.equal(svg, readFileSync(file, 'utf8'));
  });
}

test('charts: points land on the plot frame (x 64..620, y 312..48) by their value', () => {
  const svg = lineChart({
    title: 't',
    xLabel: 'x',
    yLabel: 'y',
    series: [
      {
        name: 's',
        points: [
          { x: 0, y: 0 },
          { x: 5, y: 5 },
          { x: 10, y: 10 },
        ],
      },
    ],
  });
  const circles = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.deepEqual(circles, [
    [64, 312],
    [342, 180],
    [620, 48],
  ]);
  assert.ok(svg.includes('<path d="M64,312 L342,180 L620,48"'));
  const withRight = lineChart({
    title: 't',
    xLabel: 'x',
    yLabel: 'y',
    series: [
      {
        name: 'r',
        axis: 'right',
        points: [
          { x: 0, y: 0 },
          { x: 10, y: 10 },
        ],
      },
    ],
  });
  assert.ok(withRight.includes('<path d="M64,312 L576,48"'), 'a right axis narrows the frame to 576');
});

test('charts: tick labels are compact (4 significant digits, exponents outside 1e-3..1e6)', () => {
  const labels = (svg: string) => [...svg.matchAll(/font-size="11" font-family="sans-serif">([^<]*)<\/text>/g)].map((m) => m[1]);
  const big = lineChart({
    title: 't',
    xLabel: 'x',
    yLabel: 'y',
    series: [
      {
        name: 's',
        points: [
          { x: 0, y: 0 },
          { x: 4e6, y: 0.0004 },
        ],
      },
    ],
  });
  assert.ok(labels(big).includes('4.0e+6'), labels(big).join(' '));
  assert.ok(labels(big).includes('4.0e-4'), labels(big).join(' '));
  assert.ok(labels(big).includes('0'));
  const mid = lineChart({
    title: 't',
    xLabel: 'x',
    yLabel: 'y',
    series: [
      {
        name: 's',
        points: [
          { x: 0, y: 0.001 },
          { x: 999999, y: 0.002 },
        ],
      },
    ],
  });
  assert.ok(labels(mid).includes('1e+6') || labels(mid).includes('1.0e+6'), labels(mid).join(' '));
  assert.ok(labels(mid).includes('0.001'), labels(mid).join(' '));
});

test('niceTicks: steps of 1, 2, 5 or 10 times a power of ten, at most 51 ticks', () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0, 4), [0, 1, 2, 3, 4]);
  assert.deepEqual(niceTicks(0, 23), [0, 5, 10, 15, 20, 25]);
  assert.deepEqual(niceTicks(-7, 7), [-10, -5, 0, 5, 10]);
  assert.deepEqual(niceTicks(0.3, 0.7, 4), [0.3, 0.4, 0.5, 0.6, 0.7]);
  assert.deepEqual(niceTicks(1, Infinity), []);
  assert.deepEqual(niceTicks(-Infinity, 1), []);
  assert.equal(niceTicks(0, 1000, 1000).length, 51);
  assert.deepEqual(niceTicks(0, 9.5, 1), [0, 10]);
});

test('charts: up to 60 points get markers; a single x is padded around itself; right-axis defaults', () => {
  const pts = (n: number) => Array.from({ length: n }, (_, i) => ({ x: i, y: i }));
  const circles = (svg: string) => (svg.match(/<circle /g) ?? []).length;
  assert.equal(circles(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: pts(60) }] })), 60);
  assert.equal(circles(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: pts(61) }] })), 0);
  const xLabels = (svg: string) => [...svg.matchAll(/text-anchor="middle" font-size="11" font-family="sans-serif">([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(xLabels(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [{ x: 5, y: 1 }] }] })), ['4', '4.5', '5', '5.5', '6']);
  const right = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'r', axis: 'right', points: pts(3) }] });
  assert.match(right, /transform="rotate\(90 628 180\)" font-family="sans-serif"><\/text>/, 'no y2Label: an empty right label');
  const step = stepChart({
    title: 't',
    xLabel: 'x',
    yLabel: 'y',
    series: [
      {
        name: 'r',
        axis: 'right',
        points: [
          { x: 0, y: 5 },
          { x: 1, y: 6 },
        ],
      },
    ],
  });
  assert.ok(step.includes('<text x="584" y="312" dominant-baseline="middle" font-size="11" font-family="sans-serif">0</text>'), 'a step chart’s right axis starts at 0 too');
});
