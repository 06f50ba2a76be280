/**
 * The node sweep (`--project=hpc-sweep`) and the bench, on the lab.
 * - Control: one node's Python is broken (lab fault node-python-broken on node2, which SLURM
 *   still sees idle): the sweep fails naming exactly node2 and why, node1 passes, the matrix has
 *   one row per node, and no job is left.
 * - `npm run bench -- --smoke` runs one job both ways and writes its table (not a timing check).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { matrixMarkdown, nodeRows } from '../../helpers/matrix.ts';
import { jobsOfRun, runSuite } from './pw.ts';

const fault = (...args: string[]) => execFileSync('bash', ['lab/lab.sh', 'fault', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
after(() => fault('clear'));

test('control: node2 with a broken Python: the sweep fails naming node2 alone, node1 passes, one matrix row per node, no job left', async () => {
  fault('node-python-broken', 'on', 'node2');
  try {
    const run = await runSuite(['--project=hpc-sweep']);
    assert.equal(run.code, 1, run.output.slice(-3000));
    const nodes = nodeRows(run.tests());
    assert.deepEqual(
      nodes.map((n) => [n.node, n.outcome]),
      [
        ['node1', 'pass'],
        ['node2', 'fail'],
      ],
    );
    assert.match(nodes[1]!.reason, /Python did not report \(job FAILED\): python3: error while loading shared libraries/);
    assert.match(nodes[0]!.reason, /GPUs 0,1,2,3, Python 3\.\d+\.\d+, torch \S+, training step on cpu/);
    assert.match(run.output, /bad nodes: node2\b/);
    const md = matrixMarkdown([], {}, nodes);
    assert.match(md, /\| node2 \| FAIL \| the runtime's Python did not report/);
    assert.deepEqual(jobsOfRun(run.runId), []);
  } finally {
    fault('node-python-broken', 'off');
  }
});

test('npm run bench -- --smoke: one job through the suite and through sbatch --wait, with its table', () => {
  const out = mkdtempSync(join(tmpdir(), 'mlv-bench-'));
  try {
    const r = spawnSync('node', ['--import', 'tsx', 'scripts/bench.ts', '--smoke', '--out', out], { encoding: 'utf8', timeout: 180_000 });
    assert.equal(r.status, 0, `${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
    assert.ok(existsSync(join(out, 'bench.md')));
    const bench = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as { summaries: { suite: { jobs: number; ctldPerJob: number }; baseline: { jobs: number; sshConnections: number } }[] };
    const [s] = bench.summaries;
    assert.equal(s!.suite.jobs, 1);
    assert.equal(s!.baseline.jobs, 1);
    assert.equal(s!.baseline.sshConnections, 1, 'one ssh per baseline job');
    assert.ok(s!.suite.ctldPerJob > 0, 'sdiag counted the suite user’s RPCs');
    assert.match(readFileSync(join(out, 'bench.md'), 'utf8'), /\| slurmctld RPCs per job \| ≤ 4 \| [\d.]+ \| (met|missed) \|/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
