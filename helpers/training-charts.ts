/** Loss/accuracy per epoch as an SVG chart, for the report. */
import { lineChart } from './charts.ts';

export function trainingChart(title: string, m: { epochs: number[]; loss: number[]; accuracy: number[]; test_accuracy?: number }): string {
  return lineChart({
    title,
    xLabel: 'epoch',
    yLabel: 'training loss',
    y2Label: 'accuracy',
    series: [
      { name: 'loss', points: m.epochs.map((x, i) => ({ x, y: m.loss[i] ?? NaN })).filter((p) => Number.isFinite(p.y)) },
      { name: 'train accuracy', axis: 'right', points: m.epochs.map((x, i) => ({ x, y: m.accuracy[i] ?? NaN })).filter((p) => Number.isFinite(p.y)) },
      ...(m.test_accuracy !== undefined ? [{ name: 'test accuracy (final)', axis: 'right' as const, points: [{ x: m.epochs.at(-1) ?? 1, y: m.test_accuracy }] }] : []),
    ],
  });
}
