import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMatrix, matrixHtml, matrixMarkdown, testOutcomes, worst, type PwReport, type TestOutcome } from '../../helpers/matrix.ts';

type Outcome = TestOutcome['outcome'];
type Result = PwReport['suites'][number] extends { specs?: (infer S)[] } ? (S extends { tests: (infer T)[] } ? (T extends { results: (infer R)[] } ? R : never) : never) : never;

const FILE = 'specs/hpc/mlops-1.1-mnist-single-gpu.spec.ts';

/** A one-spec report: one file suite holding one test with the given results. */
function report(results: Partial<Result>[], extra: { annotations?: { type: string; description?: string }[]; file?: string; title?: string } = {}): PwReport {
  const file = extra.file ?? FILE;
  return {
    suites: [
      {
        title: file,
        file,
        specs: [
          {
            title: extra.title ?? 'trains',
            file,
            tests: [{ projectName: 'hpc', status: 'x', annotations: extra.annotations, results: results.map((r) => ({ status: 'passed', duration: 0, ...r })) }],
          },
        ],
      },
    ],
  };
}

const one = (rep: PwReport, read: (a: { body?: string }) => string | undefined = (a) => a.body): TestOutcome => {
  const out = testOutcomes(rep, read);
  assert.equal(out.length, 1);
  return out[0]!;
};

const outcome = (task: string, o: Outcome, reason = '', over: Partial<TestOutcome> = {}): TestOutcome => ({
  project: 'p',
  file: 'f',
  title: `${task} ${o}`,
  task,
  outcome: o,
  reason,
  durationMs: 0,
  criteria: [],
  ...over,
});

const rowOf = (tests: TestOutcome[], task = 'MLOPS-1.1') => buildMatrix(tests).find((r) => r.task === task)!;

test('testOutcomes: a passed test is PASS with its project, file, task, title and duration', () => {
  const t = one(report([{ status: 'passed', duration: 1234 }]));
  assert.deepEqual(t, { project: 'hpc', file: FILE, title: 'trains', task: 'MLOPS-1.1', outcome: 'pass', reason: '', durationMs: 1234, criteria: [] });
});

test('testOutcomes: a failed test is FAIL with the first non-blank line of its error, trimmed, ANSI stripped', () => {
  const t = one(report([{ status: 'failed', errors: [{ message: '\n   \n  \u001b[31mexpected 0.97 got 0.12\u001b[39m  \nstack line' }] }]));
  assert.equal(t.outcome, 'fail');
  assert.equal(t.reason, 'expected 0.97 got 0.12');
});

test('testOutcomes: several errors are joined; a timed-out test fails too; the reason is cut at 400 characters', () => {
  const t = one(report([{ status: 'timedOut', errors: [{}, { message: 'x'.repeat(500) }] }]));
  assert.equal(t.outcome, 'fail');
  assert.equal(t.reason, 'x'.repeat(400));
});

test('testOutcomes: the singular error is read when errors is empty; a message-less failure gives its status', () => {
  assert.equal(one(report([{ status: 'failed', errors: [], error: { message: 'boom' } }])).reason, 'boom');
  const bare = one(report([{ status: 'failed' }]));
  assert.deepEqual([bare.outcome, bare.reason], ['fail', 'failed']);
});

test('testOutcomes: an error carrying the INFRA marker is INFRA, not FAIL', () => {
  const t = one(report([{ status: 'failed', errors: [{ message: 'INFRA: ssh to login refused' }] }]));
  assert.deepEqual([t.outcome, t.reason], ['infra', 'INFRA: ssh to login refused']);
});

test('testOutcomes: a skip annotation makes SKIP with its description; the test-level annotation counts too', () => {
  const t = one(report([{ status: 'skipped', annotations: [{ type: 'issue' }, { type: 'skip', description: 'no GPU nodes' }] }]));
  assert.deepEqual([t.outcome, t.reason], ['skip', 'no GPU nodes']);
  const u = one(report([{ status: 'skipped' }], { annotations: [{ type: 'skip', description: 'capability missing' }] }));
  assert.deepEqual([u.outcome, u.reason], ['skip', 'capability missing']);
});

test('testOutcomes: skipped without a skip annotation is not run (a dependency failed)', () => {
  const t = one(report([{ status: 'skipped', annotations: [{ type: 'issue', description: 'x' }] }]));
  assert.deepEqual([t.outcome, t.reason], ['not run', 'not run (a dependency failed or the run was interrupted)']);
  const described = one(report([{ status: 'skipped', annotations: [{ type: 'skip' }] }]));
  assert.deepEqual([described.outcome, described.reason], ['skip', 'not run (a dependency failed or the run was interrupted)']);
});

test('testOutcomes: an interrupted test and a test with no result are not run', () => {
  const i = one(report([{ status: 'interrupted' }]));
  assert.deepEqual([i.outcome, i.reason], ['not run', 'interrupted']);
  const none = one(report([]));
  assert.deepEqual([none.outcome, none.reason, none.durationMs], ['not run', '', 0]);
});

test('testOutcomes: the last retry decides', () => {
  const t = one(
    report([
      { status: 'failed', errors: [{ message: 'flaky' }] },
      { status: 'passed', duration: 7 },
    ]),
  );
  assert.deepEqual([t.outcome, t.durationMs], ['pass', 7]);
});

test('testOutcomes: criteria.json is read; failing criteria become the reason of a FAIL', () => {
  const criteria = [
    { name: 'accuracy', status: 'fail', detail: '0.5 < 0.97' },
    { name: 'loss', status: 'pass', detail: 'ok' },
    { name: 'time', status: 'fail', detail: '900 s > 600 s' },
  ];
  const att = [
    { name: 'trace', contentType: 'application/zip', body: 'nope' },
    { name: 'criteria.json', contentType: 'application/json', body: JSON.stringify(criteria) },
  ];
  const t = one(report([{ status: 'failed', errors: [{ message: 'expect failed' }], attachments: att }]));
  assert.deepEqual(t.criteria, criteria);
  assert.equal(t.reason, 'accuracy: 0.5 < 0.97; time: 900 s > 600 s');
  const passed = one(report([{ status: 'passed', attachments: att }]));
  assert.deepEqual([passed.reason, passed.criteria.length], ['', 3]);
  const allPass = one(report([{ status: 'failed', errors: [{ message: 'other' }], attachments: [{ name: 'criteria.json', contentType: 'x', body: '[{"name":"a","status":"pass","detail":"d"}]' }] }]));
  assert.equal(allPass.reason, 'other');
});

test('testOutcomes: unreadable or invalid criteria.json gives no criteria', () => {
  const att = [{ name: 'criteria.json', contentType: 'application/json', body: '{not json' }];
  assert.deepEqual(one(report([{ status: 'passed', attachments: att }])).criteria, []);
  assert.deepEqual(one(report([{ status: 'passed', attachments: att }]), () => undefined).criteria, []);
});

test('testOutcomes: describe titles join with › ; file suites add none; a spec outside the catalogue has no task', () => {
  const rep: PwReport = {
    suites: [
      {
        title: 'root',
        suites: [
          {
            title: 'specs/x.spec.ts',
            file: 'specs/x.spec.ts',
            suites: [{ title: 'group', specs: [{ title: 'case', file: 'specs/x.spec.ts', tests: [{ projectName: 'cloud', status: 'x', results: [{ status: 'passed', duration: 1 }] }] }] }],
          },
        ],
        specs: [{ title: 'top', file: 'specs/cloud/mlops-4.1-cpu.spec.ts', tests: [{ projectName: 'cloud', status: 'x', results: [{ status: 'passed', duration: 1 }] }] }],
      },
    ],
  };
  const out = testOutcomes(rep, () => undefined);
  assert.deepEqual(
    out.map((t) => [t.title, t.task]),
    [
      ['top', 'MLOPS-4.1'],
      ['group › case', undefined],
    ],
  );
});

test('buildMatrix: one row per catalogue task; a task without tests is not run, with the reason', () => {
  const rows = buildMatrix([]);
  assert.deepEqual(
    rows.map((r) => r.task),
    ['MLOPS-1.1', 'MLOPS-1.2', 'MLOPS-2.1', 'MLOPS-2.2', 'MLOPS-3.1', 'MLOPS-3.2', 'MLOPS-4.1', 'MLOPS-4.2', 'MLOPS-5.1', 'MLOPS-5.2'],
  );
  const r = rows[0]!;
  assert.deepEqual([r.title, r.tier, r.outcome, r.reason, r.tests], ['Single-GPU MNIST training', 'CRITICAL', 'not run', 'no test selected or implemented for this task in this run', []]);
  assert.deepEqual(r.components, { 'SLURM submission': 'not run', GRES: 'not run', 'Shared FS': 'not run', Apptainer: 'not run', 'GPU passthrough': 'not run' });
});

test('testOutcomes: a pass after a Playwright retry (status flaky) is FLAKY, naming the first error', () => {
  const rep = report([
    { status: 'failed', errors: [{ message: '\n  node2 went away\nstack' }] },
    { status: 'passed', duration: 7 },
  ]);
  rep.suites[0]!.specs![0]!.tests[0]!.status = 'flaky';
  const t = one(rep);
  assert.deepEqual([t.outcome, t.reason, t.durationMs], ['flaky', 'passed on Playwright retry 1 after: node2 went away', 7]);
});

test('testOutcomes: a pass with the SLURM fixture’s flaky annotations is FLAKY with each retry as the reason; a failure stays FAIL', () => {
  const flaky = [
    { type: 'flaky', description: 'job 7 was requeued' },
    { type: 'flaky', description: 'SSH dropped' },
  ];
  const t = one(report([{ status: 'passed', annotations: flaky }]));
  assert.deepEqual([t.outcome, t.reason], ['flaky', 'job 7 was requeued / SSH dropped']);
  assert.equal(one(report([{ status: 'passed' }], { annotations: [{ type: 'flaky' }] })).reason, 'retried');
  assert.equal(one(report([{ status: 'failed', annotations: flaky, errors: [{ message: 'retry failed too' }] }])).outcome, 'fail');
  assert.equal(one(report([{ status: 'passed', annotations: [{ type: 'skip', description: 'x' }] }])).outcome, 'pass');
});

test('buildMatrix: a flaky test makes the row FLAKY over passes, and FAIL or INFRA still outrank it', () => {
  const r = rowOf([outcome('MLOPS-1.1', 'pass'), outcome('MLOPS-1.1', 'flaky', 'job 7 was requeued')]);
  assert.deepEqual([r.outcome, r.reason], ['flaky', 'job 7 was requeued']);
  assert.equal(buildMatrix([outcome('MLOPS-1.1', 'flaky')], { Apptainer: 'none' })[0]!.components.Apptainer, 'skip');
  assert.match(matrixMarkdown([r], {}), /\| MLOPS-1\.1 [^|]+\| CRITICAL \| FLAKY \| FLAKY \|/);
  assert.match(matrixHtml([r], {}), /background:#f9a825;color:#fff;text-align:center">FLAKY</);
});

test('worst: FAIL outranks INFRA, FLAKY, PASS, SKIP and not run, whichever order the tests come in', () => {
  assert.deepEqual([worst([]), worst(['skip', 'flaky', 'pass'])], ['not run', 'flaky']);
  const order: Outcome[] = ['fail', 'infra', 'flaky', 'pass', 'skip', 'not run'];
  for (let i = 0; i < order.length; i++) {
    for (let j = i + 1; j < order.length; j++) {
      const [better, worse] = [order[j]!, order[i]!];
      assert.equal(rowOf([outcome('MLOPS-1.1', better), outcome('MLOPS-1.1', worse)]).outcome, worse, `${better} then ${worse}`);
      assert.equal(rowOf([outcome('MLOPS-1.1', worse), outcome('MLOPS-1.1', better)]).outcome, worse, `${worse} then ${better}`);
    }
  }
  assert.equal(rowOf([outcome('MLOPS-1.1', 'pass'), outcome('MLOPS-1.1', 'pass'), outcome('MLOPS-1.1', 'fail'), outcome('MLOPS-1.1', 'pass')]).outcome, 'fail');
  assert.equal(rowOf([outcome('MLOPS-1.1', 'skip')]).outcome, 'skip');
});

test('buildMatrix: the row reason joins the distinct reasons of the tests with the row outcome', () => {
  const r = rowOf([
    outcome('MLOPS-1.1', 'fail', 'accuracy low'),
    outcome('MLOPS-1.1', 'pass', 'fine'),
    outcome('MLOPS-1.1', 'fail', 'loss high'),
    outcome('MLOPS-1.1', 'fail', 'accuracy low'),
    outcome('MLOPS-1.1', 'fail'),
  ]);
  assert.equal(r.outcome, 'fail');
  assert.equal(r.reason, 'accuracy low / loss high');
  assert.equal(r.tests.length, 5);
  assert.deepEqual(r.components, { 'SLURM submission': 'fail', GRES: 'fail', 'Shared FS': 'fail', Apptainer: 'fail', 'GPU passthrough': 'fail' });
  assert.equal(rowOf([outcome('MLOPS-1.2', 'fail')]).outcome, 'not run', 'another task’s test does not count');
});

test('buildMatrix: a component not exercised shows SKIP only where the task passed', () => {
  const passed = buildMatrix([outcome('MLOPS-1.1', 'pass')], { Apptainer: 'no runtime prefix' })[0]!;
  assert.deepEqual(passed.components, { 'SLURM submission': 'pass', GRES: 'pass', 'Shared FS': 'pass', Apptainer: 'skip', 'GPU passthrough': 'pass' });
  const failed = buildMatrix([outcome('MLOPS-1.1', 'fail', 'x')], { Apptainer: 'no runtime prefix' })[0]!;
  assert.equal(failed.components.Apptainer, 'fail');
});

function sampleRows() {
  const criteria = [
    { name: 'accuracy', status: 'fail', detail: '0.50 < 0.97' },
    { name: 'loss', status: 'pass', detail: '0.1' },
    { name: 'gpu', status: 'n/a', detail: 'no sampler' },
  ];
  return buildMatrix([
    outcome('MLOPS-1.1', 'fail', 'accuracy: 0.50 < 0.97', { title: 'mnist › trains', durationMs: 12345, criteria }),
    outcome('MLOPS-4.1', 'infra', 'INFRA: no cluster', { title: 'cpu <inference> & "x"', durationMs: 50 }),
    outcome('MLOPS-4.2', 'skip', 'no GPU nodes', { title: 'gpu' }),
    outcome('MLOPS-5.2', 'pass', '', { title: 'auto', durationMs: 1000 }),
  ]);
}

test('matrixMarkdown: a FAIL row renders FAIL in the result and component cells, with details and criteria', () => {
  const md = matrixMarkdown(sampleRows(), { Target: 'lab', Run: 'mlv-1' });
  const lines = md.split('\n');
  assert.deepEqual(lines.slice(0, 5), ['# Validation matrix', '', '- **Target**: lab', '- **Run**: mlv-1', '']);
  assert.equal(
    lines[5],
    '| Task | Tier | Result | SLURM submission | GRES | Shared FS | Apptainer | GPU passthrough | Multi-GPU communication | Oumi | Kubernetes and KServe | Object storage | MLflow registry | GPU Operator | Monitoring | HPC→Cloud |',
  );
  assert.equal(lines[6], '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  assert.equal(lines[7], '| MLOPS-1.1 Single-GPU MNIST training | CRITICAL | FAIL | FAIL | FAIL | FAIL | FAIL | FAIL |  |  |  |  |  |  |  |  |');
  assert.ok(lines.includes('| MLOPS-4.1 CPU inference on KServe | HIGH | INFRA |  |  |  |  |  |  |  | INFRA |  |  |  |  |  |'));
  assert.ok(lines.includes('| MLOPS-4.2 GPU inference | HIGH | SKIP |  |  |  |  |  |  |  | SKIP |  |  | SKIP |  |  |'));
  assert.ok(lines.includes('| MLOPS-5.2 Pipeline automation | MEDIUM | PASS |  |  |  |  |  |  |  |  |  |  |  | PASS |  |'));
  assert.ok(lines.includes('| MLOPS-1.2 Single-GPU LLM fine-tuning with Oumi | HIGH | — | — |  | — | — | — |  | — |  |  |  |  |  |  |'));
  const details = md.slice(md.indexOf('## Details'));
  assert.ok(
    details.includes(
      '### MLOPS-1.1 Single-GPU MNIST training: FAIL\n\n- **FAIL** mnist › trains (12.3 s): accuracy: 0.50 < 0.97\n  - FAIL accuracy: 0.50 < 0.97\n  - PASS loss: 0.1\n  - N/A gpu: no sampler\n\n',
    ),
    details,
  );
  assert.ok(details.includes('### MLOPS-1.2 Single-GPU LLM fine-tuning with Oumi: —\n\n_no test selected or implemented for this task in this run_\n\n\n'), details);
  assert.ok(md.endsWith('### MLOPS-5.2 Pipeline automation: PASS\n\n- **PASS** auto (1.0 s)\n'), md.slice(-80));
});

test('matrixHtml: coloured cells with the reason as title, escaped text, details per task', () => {
  const html = matrixHtml(sampleRows(), { 'Target <t>': 'lab & co' });
  assert.ok(html.startsWith('<!doctype html><html><head><meta charset="utf-8"><title>Validation matrix</title>'));
  assert.ok(html.endsWith('</body></html>\n'));
  assert.ok(html.includes('<ul><li><b>Target &lt;t&gt;</b>: lab &amp; co</li></ul>'));
  assert.ok(html.includes('<tr><th>Task</th><th>Tier</th><th>Result</th><th>SLURM submission</th><th>GRES</th>'));
  assert.ok(html.includes('<th>HPC→Cloud</th></tr>'));
  const fail = '<td title="accuracy: 0.50 &lt; 0.97" style="background:#c62828;color:#fff;text-align:center">FAIL</td>';
  assert.ok(html.includes(`<tr><td>MLOPS-1.1 Single-GPU MNIST training</td><td>CRITICAL</td>${fail.repeat(6)}<td></td>`), html);
  assert.ok(html.includes('style="background:#ef6c00;color:#fff;text-align:center">INFRA</td>'));
  assert.ok(html.includes('style="background:#757575;color:#fff;text-align:center">SKIP</td>'));
  assert.ok(html.includes('<td title="" style="background:#2e7d32;color:#fff;text-align:center">PASS</td>'));
  assert.ok(html.includes('style="background:#bdbdbd;color:#fff;text-align:center">—</td>'));
  assert.ok(
    html.includes(
      '<h3>MLOPS-1.1 Single-GPU MNIST training: FAIL</h3><ul><li><b>FAIL</b> mnist › trains: accuracy: 0.50 &lt; 0.97<ul><li>FAIL accuracy: 0.50 &lt; 0.97</li><li>PASS loss: 0.1</li><li>N/A gpu: no sampler</li></ul></li></ul>',
    ),
    html,
  );
  assert.ok(html.includes('<li><b>INFRA</b> cpu &lt;inference&gt; &amp; &quot;x&quot;: INFRA: no cluster<ul></ul></li>'));
  assert.ok(html.includes('<h3>MLOPS-1.2 Single-GPU LLM fine-tuning with Oumi: —</h3><p><em>no test selected or implemented for this task in this run</em></p><ul></ul>'));
  assert.ok(html.includes('<li><b>PASS</b> auto<ul></ul></li>'));
});

test('testOutcomes: empty describe and spec titles leave no empty › segments', () => {
  const rep: PwReport = {
    suites: [
      { title: 'f.spec.ts', file: FILE, suites: [{ title: '', specs: [{ title: 'case', file: FILE, tests: [{ projectName: 'hpc', status: 'x', results: [{ status: 'passed', duration: 1 }] }] }] }] },
    ],
  };
  assert.equal(testOutcomes(rep, () => undefined)[0]!.title, 'case');
});

/** Two rows, one not run and one FAIL, rendered in full. */
function twoRows() {
  return buildMatrix([outcome('MLOPS-5.2', 'fail', 'slow', { title: 'auto', durationMs: 1500, criteria: [{ name: 'c', status: 'fail', detail: 'd' }] })]).filter(
    (r) => r.task === 'MLOPS-5.1' || r.task === 'MLOPS-5.2',
  );
}

test('matrixMarkdown: the whole document for a not-run row and a FAIL row', () => {
  const header =
    '| Task | Tier | Result | SLURM submission | GRES | Shared FS | Apptainer | GPU passthrough | Multi-GPU communication | Oumi | Kubernetes and KServe | Object storage | MLflow registry | GPU Operator | Monitoring | HPC→Cloud |';
  const none = 'no test selected or implemented for this task in this run';
  assert.equal(
    matrixMarkdown(twoRows(), { a: 'b', c: 'd' }),
    [
      '# Validation matrix',
      '',
      '- **a**: b',
      '- **c**: d',
      '',
      header,
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
      '| MLOPS-5.1 End-to-end pipeline | CRITICAL | — |  |  |  |  |  |  |  | — | — | — |  | — | — |',
      '| MLOPS-5.2 Pipeline automation | MEDIUM | FAIL |  |  |  |  |  |  |  |  |  |  |  | FAIL |  |',
      '',
      '## Details',
      '',
      '### MLOPS-5.1 End-to-end pipeline: —',
      '',
      `_${none}_`,
      '',
      '',
      '### MLOPS-5.2 Pipeline automation: FAIL',
      '',
      '- **FAIL** auto (1.5 s): slow',
      '  - FAIL c: d',
      '',
    ].join('\n'),
  );
});

test('matrixHtml: the whole document for a not-run row and a FAIL row', () => {
  const none = 'no test selected or implemented for this task in this run';
  const grey = `<td title="${none}" style="background:#bdbdbd;color:#fff;text-align:center">—</td>`;
  const red = '<td title="slow" style="background:#c62828;color:#fff;text-align:center">FAIL</td>';
  const e = '<td></td>';
  const th = [
    'Task',
    'Tier',
    'Result',
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
  ]
    .map((h) => `<th>${h}</th>`)
    .join('');
  const expected =
    '<!doctype html><html><head><meta charset="utf-8"><title>Validation matrix</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}</style></head><body><h1>Validation matrix</h1>' +
    '<ul><li><b>a</b>: b</li><li><b>c</b>: d</li></ul>' +
    `<table><tr>${th}</tr>` +
    `<tr><td>MLOPS-5.1 End-to-end pipeline</td><td>CRITICAL</td>${grey}${e.repeat(7)}${grey}${grey}${grey}${e}${grey}${grey}</tr>\n` +
    `<tr><td>MLOPS-5.2 Pipeline automation</td><td>MEDIUM</td>${red}${e.repeat(11)}${red}${e}</tr></table>` +
    `<h2>Details</h2><h3>MLOPS-5.1 End-to-end pipeline: —</h3><p><em>${none}</em></p><ul></ul>\n` +
    '<h3>MLOPS-5.2 Pipeline automation: FAIL</h3><ul><li><b>FAIL</b> auto: slow<ul><li>FAIL c: d</li></ul></li></ul></body></html>\n';
  assert.equal(matrixHtml(twoRows(), { a: 'b', c: 'd' }), expected);
});
