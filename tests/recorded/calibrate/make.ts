/**
 * Writes the recorded Playwright JSON reports of this folder for tests/unit/calibrate.test.ts:
 *   run-1.json, run-2.json  two healthy lab runs (run 2: MLOPS-1.1 fails its job_elapsed_seconds)
 *   run-infra.json          a run whose HPC preflight hit an infra error
 * The shape is that of a real lab run (mlv-20261201221634-pbd9), trimmed to what
 * helpers/matrix.ts reads; the values are chosen by hand, and each criterion's detail is
 * evaluate() against references.yaml, as fixtures/criteria.ts writes it. Regenerate with
 *   node --import tsx tests/recorded/calibrate/make.ts
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate, loadReferences, taskReferences, threshold, type Threshold } from '../../../helpers/references.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const refs = loadReferences(join(HERE, 'references.yaml'));

interface Criterion {
  name: string;
  status: 'pass' | 'fail';
  detail: string;
  value?: number;
  threshold?: Threshold;
}
const check = (name: string, detail: string): Criterion => ({ name, status: 'pass', detail });
function num(task: string, name: string, value: number, key = name): Criterion {
  const t = threshold(taskReferences(refs, task), key);
  const v = evaluate(name, value, t);
  return { name, status: v.pass ? 'pass' : 'fail', detail: v.message, value, threshold: t };
}

interface Test {
  project: string;
  file: string;
  title: string;
  criteria?: Criterion[];
  error?: string;
  skip?: string;
  notRun?: boolean;
}

function spec(t: Test, i: number) {
  const failed = !!t.error || !!t.criteria?.some((c) => c.status === 'fail');
  const status = t.skip || t.notRun ? 'skipped' : failed ? 'failed' : 'passed';
  const message = t.error ?? t.criteria?.filter((c) => c.status === 'fail').map((c) => `Error: ${c.name}: ${c.detail}`)[0];
  const attachments = t.criteria ? [{ name: 'criteria.json', contentType: 'application/json', body: Buffer.from(JSON.stringify(t.criteria, null, 2)).toString('base64') }] : [];
  const annotations = t.skip ? [{ type: 'skip', description: t.skip }] : [];
  const result = { workerIndex: 0, status, duration: 1000 * (i + 1), errors: message ? [{ message }] : [], retry: 0, annotations, attachments };
  return {
    title: t.title,
    ok: !failed,
    file: t.file,
    line: 10 + i,
    column: 1,
    tests: [
      {
        annotations,
        expectedStatus: t.skip ? 'skipped' : 'passed',
        projectId: t.project,
        projectName: t.project,
        status: failed ? 'unexpected' : t.skip || t.notRun ? 'skipped' : 'expected',
        results: [result],
      },
    ],
  };
}

function report(runId: string, tests: Test[]) {
  const files = [...new Set(tests.map((t) => t.file))];
  return {
    config: { metadata: { runId, dryRun: 'no', target: 'lab', references: 'lab', gpuKind: 'fake', actualWorkers: 1 } },
    suites: files.map((file) => ({ title: file, file, line: 0, column: 0, specs: tests.filter((t) => t.file === file).map(spec) })),
    errors: [],
  };
}

const F11 = 'hpc/mlops-1.1-mnist-single-gpu.spec.ts';
const F21 = 'hpc/mlops-2.1-ddp-multi-gpu.spec.ts';
const F41 = 'cloud/mlops-4.1-cpu-inference.spec.ts';
const preflight: Test = { project: 'preflight-hpc', file: 'preflight/hpc.setup.ts', title: 'probe the HPC target and write the capability manifest' };

interface Values {
  training: number;
  elapsed: number;
  ddp: [number, number];
  speedup: number;
  cold: number;
  p95: number;
  rps: number;
  scaleUp: number;
}

function run(v: Values): Test[] {
  const ddp = (seconds: number) => [check('job completed', 'job 60: COMPLETED, exit 0'), num('MLOPS-2.1', 'test_accuracy', 0.94), num('MLOPS-2.1', 'training_time_seconds', seconds)];
  return [
    preflight,
    {
      project: 'hpc',
      file: F11,
      title: 'MLOPS-1.1 trains the MNIST CNN on one GRES GPU @critical @gpu',
      criteria: [
        check('job completed', 'job 52: COMPLETED, exit 0'),
        num('MLOPS-1.1', 'training_time_seconds', v.training),
        num('MLOPS-1.1', 'test_accuracy', 0.9641),
        num('MLOPS-1.1', 'job_elapsed_seconds', v.elapsed),
      ],
    },
    { project: 'hpc', file: F21, title: '2 ranks on 2 GRES GPUs of one node, with speedup over 1 GPU @multi-gpu @gpu', criteria: [...ddp(v.ddp[0]), num('MLOPS-2.1', 'speedup', v.speedup)] },
    { project: 'hpc', file: F21, title: '2 ranks spread over 2 nodes @multi-gpu @multi-node @gpu', criteria: ddp(v.ddp[1]) },
    { project: 'hpc', file: F21, title: 'GPU utilisation on both GPUs @multi-gpu @gpu', skip: 'needs tools nvidia-smi, which target "lab" does not have' },
    {
      project: 'cloud',
      file: F41,
      title: 'MLOPS-4.1 serves the MNIST classifier on CPU, valid under load, and autoscales @slow',
      criteria: [
        num('MLOPS-4.1', 'cold_start_seconds', v.cold),
        num('MLOPS-4.1', 'prediction_accuracy (V1)', 0.96, 'prediction_accuracy'),
        num('MLOPS-4.1', 'prediction_accuracy (V2)', 0.96, 'prediction_accuracy'),
        num('MLOPS-4.1', 'p95_latency_ms', v.p95),
        num('MLOPS-4.1', 'throughput_rps (successes / wall time)', v.rps, 'throughput_rps'),
        num('MLOPS-4.1', 'errors', 0),
        num('MLOPS-4.1', 'scale_up_seconds', v.scaleUp),
      ],
    },
    // A self-test control fails on purpose: calibration must never count it.
    {
      project: 'controls',
      file: 'controls/mlops-2.1-ddp-controls.spec.ts',
      title: 'DDP control no-sync: fails ranks in sync',
      criteria: [num('MLOPS-2.1', 'speedup', 0.1), num('MLOPS-2.1', 'training_time_seconds', 999)],
    },
  ];
}

const write = (name: string, data: unknown) => writeFileSync(join(HERE, name), JSON.stringify(data, null, 2) + '\n');
write('run-1.json', report('mlv-20261201221634-rec1', run({ training: 20, elapsed: 290, ddp: [30, 40], speedup: 1.5, cold: 1.0, p95: 20, rps: 900, scaleUp: 3 })));
write('run-2.json', report('mlv-20261201230112-rec2', run({ training: 22, elapsed: 310, ddp: [32, 38], speedup: 1.6, cold: 1.2, p95: 24, rps: 1000, scaleUp: 6 })));
write(
  'run-infra.json',
  report('mlv-20261201233005-rec3', [
    { ...preflight, error: 'Error: INFRA: ssh mlops@127.0.0.1:2222: connect ECONNREFUSED 127.0.0.1:2222' },
    { project: 'hpc', file: F11, title: 'MLOPS-1.1 trains the MNIST CNN on one GRES GPU @critical @gpu', notRun: true },
  ]),
);
