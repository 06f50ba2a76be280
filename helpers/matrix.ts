/**
 * The validation matrix: task × infrastructure component → pass / fail / infra / flaky /
 * skip / not run, with reasons, built from Playwright's JSON report. A flaky test passed
 * only after a retry: Playwright's own (status "flaky") or the SLURM fixture's single retry
 * of a scheduler-transient fault or a dropped SSH connection (a `flaky` annotation).
 */
import { stripVTControlCharacters } from 'node:util';
import { z } from 'zod';
import { INFRA_MARKER } from './errors.ts';
import { redact } from './redact.ts';
import { TASKS, taskFromFile, type Component } from './tasks.ts';

export type Outcome = 'pass' | 'fail' | 'infra' | 'flaky' | 'skip' | 'not run';

export interface TestOutcome {
  project: string;
  file: string;
  title: string;
  task?: string;
  outcome: Outcome;
  reason: string;
  durationMs: number;
  criteria: { name: string; status: string; detail: string }[];
  /** the test's `deployment-mode` annotation (the KServe mode it validated) */
  deploymentMode?: string;
  /** the node sweep's verdicts (`node-check` annotations), one per node */
  nodes?: NodeRow[];
}

export interface NodeRow {
  node: string;
  outcome: Outcome;
  reason: string;
}

interface MatrixRow {
  task: string;
  title: string;
  tier: string;
  outcome: Outcome;
  reason: string;
  tests: TestOutcome[];
  components: Partial<Record<Component, Outcome>>;
  /** the KServe deployment modes its tests validated */
  modes: string[];
}

const COMPONENTS: Component[] = [
  'SLURM submission',
  'GRES',
  'Shared FS',
  'Apptainer',
  'GPU passthrough',
  'Multi-GPU communication',
  'Oumi',
  'Kubernetes and KServe',
  'Object storage',
  'MLflow registry',
  'GPU Operator',
  'Monitoring',
  'HPC→Cloud',
];

// Worst first: one failing test makes the task fail.
const RANK: Outcome[] = ['fail', 'infra', 'flaky', 'pass', 'skip', 'not run'];
export const worst = (xs: Outcome[]): Outcome => (xs.length ? xs.reduce((a, b) => (RANK.indexOf(a) <= RANK.indexOf(b) ? a : b)) : 'not run');

/* Minimal shape of Playwright's JSON reporter output that we read. */
interface PwAttachment {
  name: string;
  body?: string;
  path?: string;
  contentType: string;
}
interface PwResult {
  status: string;
  duration: number;
  errors?: { message?: string }[];
  error?: { message?: string };
  attachments?: PwAttachment[];
  annotations?: { type: string; description?: string }[];
}
interface PwTest {
  projectName: string;
  status: string;
  annotations?: { type: string; description?: string }[];
  results: PwResult[];
}
interface PwSpec {
  title: string;
  file: string;
  tests: PwTest[];
}
interface PwSuite {
  title: string;
  file?: string;
  specs?: PwSpec[];
  suites?: PwSuite[];
}
export interface PwReport {
  suites: PwSuite[];
}

const stripAnsi = (s: string) => stripVTControlCharacters(s);
const errorText = (r: PwResult | undefined) => stripAnsi(r?.errors?.map((e) => e.message ?? '').join('\n') || r?.error?.message || '');
const firstLine = (r: PwResult | undefined) =>
  errorText(r)
    .split('\n')
    .find((l) => l.trim())
    ?.trim()
    .slice(0, 400) ??
  r?.status ??
  '?';
const NodeRowSchema = z.object({ node: z.string(), outcome: z.enum(['pass', 'fail', 'skip']), reason: z.string() });
const nodeAnnotations = (as: { type: string; description?: string }[]) => {
  const nodes = as.flatMap((a) => {
    if (a.type !== 'node-check') return [];
    try {
      const r = NodeRowSchema.safeParse(JSON.parse(a.description ?? ''));
      return r.success ? [{ ...r.data, reason: redact(r.data.reason) }] : [];
    } catch {
      return [];
    }
  });
  return nodes.length ? { nodes } : {};
};
const modeAnnotation = (as: { type: string; description?: string }[]) => {
  const m = as.find((a) => a.type === 'deployment-mode')?.description;
  return m ? { deploymentMode: m } : {};
};

export function testOutcomes(report: PwReport, readAttachment: (a: PwAttachment) => string | undefined): TestOutcome[] {
  const out: TestOutcome[] = [];
  const walk = (s: PwSuite, titles: string[]) => {
    for (const spec of s.specs ?? []) {
      for (const t of spec.tests) {
        const r = t.results.at(-1);
        const annotations = [...(t.annotations ?? []), ...(r?.annotations ?? [])];
        const message = errorText(r);
        let outcome: Outcome;
        let reason = '';
        if (!r) outcome = 'not run';
        else if (r.status === 'skipped') {
          outcome = t.results.length && annotations.some((a) => a.type === 'skip') ? 'skip' : 'not run';
          reason = annotations.find((a) => a.type === 'skip')?.description ?? 'not run (a dependency failed or the run was interrupted)';
        } else if (r.status === 'passed') {
          const retried = annotations.filter((a) => a.type === 'flaky').map((a) => a.description ?? 'retried');
          if (t.status === 'flaky') retried.unshift(`passed on Playwright retry ${t.results.length - 1} after: ${firstLine(t.results[0])}`);
          outcome = retried.length ? 'flaky' : 'pass';
          reason = retried.join(' / ');
        } else if (r.status === 'interrupted') {
          outcome = 'not run';
          reason = 'interrupted';
        } else {
          outcome = message.includes(INFRA_MARKER) ? 'infra' : 'fail';
          reason = firstLine(r);
        }
        const critAtt = r?.attachments?.find((a) => a.name === 'criteria.json');
        let criteria: TestOutcome['criteria'] = [];
        if (critAtt) {
          try {
            criteria = (JSON.parse(readAttachment(critAtt) ?? '[]') as TestOutcome['criteria']).map((c) => ({ ...c, detail: redact(String(c.detail)) }));
          } catch {
            criteria = [];
          }
        }
        if (outcome === 'fail' && criteria.some((c) => c.status === 'fail')) {
          reason = criteria
            .filter((c) => c.status === 'fail')
            .map((c) => `${c.name}: ${c.detail}`)
            .join('; ');
        }
        out.push({
          project: t.projectName,
          file: spec.file,
          title: [...titles, spec.title].filter(Boolean).join(' › '),
          task: taskFromFile(spec.file)?.id,
          outcome,
          // Messages are redacted where they are made; this is the net for the matrix and report.
          reason: redact(reason),
          durationMs: r?.duration ?? 0,
          criteria,
          ...modeAnnotation(annotations),
          ...nodeAnnotations(annotations),
        });
      }
    }
    for (const c of s.suites ?? []) walk(c, c.file ? titles : [...titles, c.title]);
  };
  for (const s of report.suites) walk(s, []);
  return out;
}

/**
 * `notExercised` names components this target did not really exercise (no Apptainer prefix,
 * no CUDA): their cells show SKIP with the reason instead of inheriting the task's PASS.
 */
export function buildMatrix(tests: TestOutcome[], notExercised: Partial<Record<Component, string>> = {}): MatrixRow[] {
  return TASKS.map((t) => {
    const mine = tests.filter((x) => x.task === t.id);
    const outcome = worst(mine.map((x) => x.outcome));
    const reasons = mine.filter((x) => x.outcome === outcome && x.reason).map((x) => x.reason);
    const reason = mine.length === 0 ? 'no test selected or implemented for this task in this run' : [...new Set(reasons)].join(' / ');
    const components = Object.fromEntries(t.components.map((c) => [c, (outcome === 'pass' || outcome === 'flaky') && notExercised[c] ? 'skip' : outcome])) as Partial<Record<Component, Outcome>>;
    const modes = [...new Set(mine.flatMap((x) => (x.deploymentMode ? [x.deploymentMode] : [])))];
    return { task: t.id, title: t.title, tier: t.tier, outcome, reason, tests: mine, components, modes };
  });
}

const ICON: Record<Outcome, string> = { pass: 'PASS', fail: 'FAIL', infra: 'INFRA', flaky: 'FLAKY', skip: 'SKIP', 'not run': '—' };
const modeOf = (r: MatrixRow) => (r.modes.length ? ` (KServe ${r.modes.join(', ')})` : '');
const testMode = (t: TestOutcome) => (t.deploymentMode ? ` [deployment mode: ${t.deploymentMode}]` : '');

/** The node sweep's rows, one per node (the last sweep of the run wins for a node). */
export const nodeRows = (tests: readonly TestOutcome[]): NodeRow[] => [...new Map(tests.flatMap((t) => t.nodes ?? []).map((n) => [n.node, n])).values()];

const cellText = (s: string) => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ');

export function matrixMarkdown(rows: MatrixRow[], meta: Record<string, string>, nodes: readonly NodeRow[] = []): string {
  const lines = [`# Validation matrix`, '', ...Object.entries(meta).map(([k, v]) => `- **${k}**: ${v}`), ''];
  lines.push(`| Task | Tier | Result | ${COMPONENTS.join(' | ')} |`, `|---|---|---|${COMPONENTS.map(() => '---').join('|')}|`);
  for (const r of rows) lines.push(`| ${r.task} ${r.title}${modeOf(r)} | ${r.tier} | ${ICON[r.outcome]} | ${COMPONENTS.map((c) => (r.components[c] ? ICON[r.components[c]!] : '')).join(' | ')} |`);
  if (nodes.length) {
    lines.push('', '## Nodes (node sweep)', '', '| Node | Result | Detail |', '|---|---|---|');
    for (const n of nodes) lines.push(`| ${n.node} | ${ICON[n.outcome]} | ${cellText(n.reason)} |`);
  }
  lines.push('', '## Details', '');
  for (const r of rows) {
    lines.push(`### ${r.task} ${r.title}: ${ICON[r.outcome]}`, '');
    if (!r.tests.length) lines.push(`_${r.reason}_`, '');
    for (const t of r.tests) {
      lines.push(`- **${ICON[t.outcome]}** ${t.title} (${(t.durationMs / 1000).toFixed(1)} s)${testMode(t)}${t.reason ? `: ${t.reason}` : ''}`);
      for (const c of t.criteria) lines.push(`  - ${c.status === 'pass' ? 'PASS' : c.status === 'fail' ? 'FAIL' : 'N/A'} ${c.name}: ${c.detail}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const COLOR: Record<Outcome, string> = { pass: '#2e7d32', fail: '#c62828', infra: '#ef6c00', flaky: '#f9a825', skip: '#757575', 'not run': '#bdbdbd' };

export function matrixHtml(rows: MatrixRow[], meta: Record<string, string>, nodes: readonly NodeRow[] = []): string {
  const cell = (o: Outcome | undefined, title = '') => (o ? `<td title="${esc(title)}" style="background:${COLOR[o]};color:#fff;text-align:center">${ICON[o]}</td>` : '<td></td>');
  const head = `<tr><th>Task</th><th>Tier</th><th>Result</th>${COMPONENTS.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const body = rows
    .map((r) => `<tr><td>${esc(`${r.task} ${r.title}${modeOf(r)}`)}</td><td>${r.tier}</td>${cell(r.outcome, r.reason)}${COMPONENTS.map((c) => cell(r.components[c], r.reason)).join('')}</tr>`)
    .join('\n');
  const details = rows
    .map(
      (r) =>
        `<h3>${esc(r.task)} ${esc(r.title)}: ${ICON[r.outcome]}</h3>${r.tests.length ? '' : `<p><em>${esc(r.reason)}</em></p>`}<ul>${r.tests.map((t) => `<li><b>${ICON[t.outcome]}</b> ${esc(t.title + testMode(t))}${t.reason ? `: ${esc(t.reason)}` : ''}<ul>${t.criteria.map((c) => `<li>${c.status.toUpperCase()} ${esc(c.name)}: ${esc(c.detail)}</li>`).join('')}</ul></li>`).join('')}</ul>`,
    )
    .join('\n');
  const nodesHtml = nodes.length
    ? `<h2>Nodes (node sweep)</h2><table><tr><th>Node</th><th>Result</th><th>Detail</th></tr>${nodes.map((n) => `<tr><td>${esc(n.node)}</td>${cell(n.outcome, n.reason)}<td>${esc(n.reason)}</td></tr>`).join('')}</table>`
    : '';
  return `<!doctype html><html><head><meta charset="utf-8"><title>Validation matrix</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}</style></head><body><h1>Validation matrix</h1><ul>${Object.entries(
    meta,
  )
    .map(([k, v]) => `<li><b>${esc(k)}</b>: ${esc(v)}</li>`)
    .join('')}</ul><table>${head}${body}</table>${nodesHtml}<h2>Details</h2>${details}</body></html>\n`;
}
