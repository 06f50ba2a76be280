import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TASKS, taskFromFile } from '../../helpers/tasks.ts';
import { matrixMarkdown } from '../../helpers/matrix.ts';

/** The matrix's component columns, read from its header. */
const COLUMNS = matrixMarkdown([], {})
  .split('\n')
  .find((l) => l.startsWith('| Task |'))!
  .split('|')
  .map((c) => c.trim())
  .filter(Boolean)
  .slice(3);

test('task catalogue: ids MLOPS-N.M, each in category N, with a title, a tier and components the matrix shows', () => {
  assert.equal(TASKS.length, 10);
  for (const t of TASKS) {
    const m = /^MLOPS-(\d)\.(\d)$/.exec(t.id);
    assert.ok(m, t.id);
    assert.match(t.category, new RegExp(`^Category ${m[1]}: [A-Z][a-z-]+( [a-z-]+)*$`), `${t.id} category`);
    assert.match(t.title, /^[A-Z].{8,}$/, `${t.id} title`);
    assert.ok(['CRITICAL', 'HIGH', 'MEDIUM'].includes(t.tier), `${t.id} tier`);
    assert.ok(['hpc', 'cloud', 'e2e'].includes(t.project), `${t.id} project`);
    assert.ok(t.components.length > 0, `${t.id} has components`);
    for (const c of t.components) assert.ok(COLUMNS.includes(c), `${t.id}: ${c} is a matrix column`);
    assert.equal(new Set(t.components).size, t.components.length, `${t.id} components are distinct`);
  }
  assert.equal(new Set(TASKS.map((t) => t.title)).size, TASKS.length, 'titles are distinct');
  assert.equal(COLUMNS.length, 13);
  for (const c of COLUMNS)
    assert.ok(
      TASKS.some((t) => t.components.includes(c as never)),
      `${c} belongs to some task`,
    );
});

test('task catalogue: categories 1–3 are HPC, 4 cloud, 5 end-to-end; the tiers the issue gives', () => {
  const byProject = (p: string) => TASKS.filter((t) => t.project === p).map((t) => t.id);
  assert.deepEqual(byProject('hpc'), ['MLOPS-1.1', 'MLOPS-1.2', 'MLOPS-2.1', 'MLOPS-2.2', 'MLOPS-3.1', 'MLOPS-3.2']);
  assert.deepEqual(byProject('cloud'), ['MLOPS-4.1', 'MLOPS-4.2']);
  assert.deepEqual(byProject('e2e'), ['MLOPS-5.1', 'MLOPS-5.2']);
  assert.deepEqual(
    TASKS.filter((t) => t.tier === 'CRITICAL').map((t) => t.id),
    ['MLOPS-1.1', 'MLOPS-3.1', 'MLOPS-5.1'],
  );
  assert.deepEqual(
    TASKS.filter((t) => t.tier === 'MEDIUM').map((t) => t.id),
    ['MLOPS-3.2', 'MLOPS-5.2'],
  );
});

test('task catalogue: what each task exercises', () => {
  const comps = (id: string) => TASKS.find((t) => t.id === id)!.components;
  // GPU scheduling through GRES where a job asks SLURM for GPUs; Oumi only in the Oumi tasks.
  assert.deepEqual(
    TASKS.filter((t) => t.components.includes('GRES')).map((t) => t.id),
    ['MLOPS-1.1', 'MLOPS-2.1', 'MLOPS-2.2'],
  );
  assert.deepEqual(
    TASKS.filter((t) => t.components.includes('Oumi')).map((t) => t.id),
    ['MLOPS-1.2', 'MLOPS-2.2', 'MLOPS-3.1', 'MLOPS-3.2'],
  );
  assert.deepEqual(
    TASKS.filter((t) => t.components.includes('Multi-GPU communication')).map((t) => t.id),
    ['MLOPS-2.1', 'MLOPS-2.2'],
  );
  assert.deepEqual(comps('MLOPS-4.2'), ['Kubernetes and KServe', 'GPU Operator']);
  assert.deepEqual(comps('MLOPS-5.1'), ['Kubernetes and KServe', 'Object storage', 'MLflow registry', 'Monitoring', 'HPC→Cloud']);
  for (const t of TASKS.filter((x) => x.project === 'hpc')) assert.ok(t.components.includes('Shared FS') && t.components.includes('Apptainer'), t.id);
  for (const t of TASKS.filter((x) => x.project !== 'hpc')) assert.ok(!t.components.includes('Shared FS'), t.id);
});

test('every task spec under specs/hpc and specs/cloud maps to a task of that project', () => {
  for (const project of ['hpc', 'cloud']) {
    const files = readdirSync(join('specs', project)).filter((f) => f.endsWith('.spec.ts'));
    assert.ok(files.length > 0, project);
    for (const f of files) assert.equal(taskFromFile(join('specs', project, f))?.project, project, f);
  }
});
