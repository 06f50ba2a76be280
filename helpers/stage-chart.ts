/** The stages of a run as a timeline (one bar per stage, coloured by status), an SVG string. */
import { escapeXml } from './charts.ts';
import type { StageRecord } from './stages.ts';

const COLOURS: Record<string, string> = { passed: '#2ca02c', failed: '#d62728', running: '#ff7f0e', 'not run': '#c7c7c7', pending: '#c7c7c7' };

export function stageTimeline(title: string, stages: StageRecord[]): string {
  const W = 640;
  const left = 150;
  const right = W - 20;
  const top = 40;
  const row = 28;
  const H = top + stages.length * row + 40;
  const endS = Math.max(1, ...stages.map((s) => (s.endMs ?? 0) / 1000));
  const x = (s: number) => left + (s / endS) * (right - left);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  stages.forEach((s, i) => {
    const y = top + i * row;
    parts.push(`<text x="${left - 8}" y="${y + 17}" text-anchor="end" font-size="12">${escapeXml(s.name)}</text>`);
    if (s.startMs === undefined) {
      parts.push(`<text x="${left + 4}" y="${y + 17}" font-size="11" fill="#777">${escapeXml(s.status)}</text>`);
      return;
    }
    const a = s.startMs / 1000;
    const b = (s.endMs ?? s.startMs) / 1000;
    const label = `${s.name}: ${s.status}, ${(b - a).toFixed(1)} s`;
    parts.push(`<rect x="${x(a).toFixed(1)}" y="${y + 4}" width="${Math.max(2, x(b) - x(a)).toFixed(1)}" height="${row - 10}" fill="${COLOURS[s.status]}"><title>${escapeXml(label)}</title></rect>`);
    parts.push(`<text x="${Math.min(right - 40, x(b) + 4).toFixed(1)}" y="${y + 17}" font-size="11">${(b - a).toFixed(1)} s</text>`);
  });
  const axisY = top + stages.length * row + 8;
  parts.push(`<line x1="${left}" y1="${axisY}" x2="${right}" y2="${axisY}" stroke="#333"/>`);
  parts.push(`<text x="${left}" y="${axisY + 16}" font-size="11">0 s</text><text x="${right}" y="${axisY + 16}" font-size="11" text-anchor="end">${endS.toFixed(1)} s</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}
