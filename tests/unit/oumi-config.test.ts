import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  extraDepsFile,
  inferInput,
  OUMI_WORKLOADS,
  oumiEvaluateCommand,
  oumiInferCommand,
  oumiTrainCommand,
  renderEvalConfig,
  renderInferConfig,
  renderTrainConfig,
} from '../../helpers/oumi-config.ts';
import { oumiCluster, oumiLaunch, renderJobConfig, type OumiJobInput } from '../../helpers/oumi-job.ts';
import { assertOumiConfig, oumiProblems, suggestField } from '../../helpers/oumi-validate.ts';
import { ConfigError } from '../../helpers/errors.ts';

const model = { path: '/shared/models/SmolLM2-135M-Instruct', dtype: 'bfloat16' as const, maxLength: 2048 };
const train = { model, dataset: '/shared/datasets/sft.jsonl', outputDir: '/shared/jobs/r1/mlops-1.2/model', steps: 50, batchSize: 4 };
const template = (f: string) => parse(readFileSync(OUMI_WORKLOADS + f, 'utf8')) as Record<string, Record<string, unknown>>;

test('every template in workloads/oumi is a valid Oumi config as it is', () => {
  for (const [kind, f] of [
    ['train', 'train.yaml'],
    ['train', 'train-ddp.yaml'],
    ['evaluate', 'eval.yaml'],
    ['infer', 'infer.yaml'],
    ['job', 'job.yaml'],
  ] as const)
    assert.deepEqual(oumiProblems(kind, template(f)), [], f);
});

test('renderTrainConfig: the typed inputs land at their Oumi fields, and the YAML reads back the same', () => {
  const r = renderTrainConfig({ ...train, learningRate: 2e-5, gradientAccumulation: 4, runName: 'r1-1.2' });
  const c = parse(r.yaml) as { model: Record<string, unknown>; data: { train: { datasets: unknown[] } }; training: Record<string, unknown> };
  assert.deepEqual(c, r.config);
  assert.equal(r.template, 'train.yaml');
  assert.equal(c.model.model_name, model.path);
  assert.equal(c.model.torch_dtype_str, 'bfloat16');
  assert.equal(c.model.device_map, 'auto');
  assert.deepEqual(c.data.train.datasets, [{ dataset_name: 'text_sft_jsonl', dataset_path: '/shared/datasets/sft.jsonl' }]);
  assert.deepEqual([c.training.max_steps, c.training.per_device_train_batch_size, c.training.gradient_accumulation_steps, c.training.learning_rate], [50, 4, 4, 2e-5]);
  assert.equal(c.training.output_dir, train.outputDir);
  assert.match(r.yaml, /^# Rendered by helpers\/oumi-config\.ts from workloads\/oumi\/train\.yaml/);
});

test('renderTrainConfig: 2 processes use train-ddp.yaml; on a CPU-only target the model stays on the CPU and the trainer uses gloo', () => {
  const gpu = renderTrainConfig({ ...train, processes: 2 });
  assert.equal(gpu.template, 'train-ddp.yaml');
  assert.equal((gpu.config.training as Record<string, unknown>).trainer_kwargs, undefined);
  const cpu = renderTrainConfig({ ...train, processes: 2, cpuOnly: true }).config as Record<string, Record<string, unknown>>;
  assert.equal(cpu.model!.device_map, 'cpu');
  assert.deepEqual(cpu.training!.trainer_kwargs, { use_cpu: true, ddp_backend: 'gloo' });
  assert.equal((renderTrainConfig({ ...train, cpuOnly: true }).config.training as Record<string, unknown>).trainer_kwargs, undefined);
});

test('control: a config with a key Oumi does not have is refused before submission, naming the key, its path and the real field', () => {
  const c = template('train.yaml');
  c.training!.max_step = 10;
  const problems = oumiProblems('train', c);
  assert.deepEqual(problems, ['training.max_step is not an Oumi TrainingParams field (did you mean max_steps?)']);
  assert.throws(
    () => assertOumiConfig('train', c, 'workloads/oumi/train.yaml as rendered for MLOPS-1.2'),
    (e: unknown) => e instanceof ConfigError && /training\.max_step is not an Oumi TrainingParams field/.test(e.message) && e.message.includes('MLOPS-1.2'),
  );
});

test('control: real Oumi refuses the same key only when the job runs (recorded); the schema refuses it before submission', () => {
  const oumi = readFileSync(new URL('../recorded/oumi/train-unknown-key.log', import.meta.url), 'utf8');
  assert.match(oumi, /Config error at 'training\.max_step': Key 'max_step' not in/);
  const c = template('train.yaml');
  c.training!.max_step = c.training!.max_steps;
  delete c.training!.max_steps;
  assert.deepEqual(oumiProblems('train', c), ['training.max_step is not an Oumi TrainingParams field (did you mean max_steps?)']);
});

test("the task list's invented keys are refused with Oumi's names for them", () => {
  const c = template('train.yaml');
  c.training!.bf16 = true;
  c.model!.max_seq_length = 2048;
  (c as Record<string, unknown>).dataset = { name: 'no_robots' };
  (c.data!.train as { datasets: Record<string, unknown>[] }).datasets[0]!.datset_path = '/x';
  assert.deepEqual(oumiProblems('train', c).sort(), [
    'data.train.datasets[0].datset_path is not an Oumi DatasetParams field (did you mean dataset_path?)',
    'dataset is not an Oumi TrainingConfig field (did you mean data.train.datasets?)',
    'model.max_seq_length is not an Oumi ModelParams field (did you mean model.model_max_length?)',
    'training.bf16 is not an Oumi TrainingParams field (did you mean model.torch_dtype_str: bfloat16 or training.mixed_precision_dtype: bf16?)',
  ]);
  const job = template('job.yaml');
  (job as Record<string, unknown>).compute = { gpus: 1 };
  job.resources!.gpus = 1;
  assert.deepEqual(oumiProblems('job', job).sort(), [
    'compute is not an Oumi JobConfig field (did you mean resources (a launcher JobConfig) or the sbatch lines of its setup/run?)',
    'resources.gpus is not an Oumi JobResources field (did you mean resources.accelerators, or #SBATCH --gres in setup/run?)',
  ]);
});

test("Oumi's other real fields are accepted; wrong values of the typed ones are refused", () => {
  const c = template('train.yaml');
  c.training!.mixed_precision_dtype = 'bf16';
  c.training!.warmup_ratio = 0.1;
  assert.deepEqual(oumiProblems('train', c), []);
  c.training!.learning_rate = -1;
  c.training!.trainer_type = 'TRL_SFTX';
  c.model!.torch_dtype_str = 'bf17';
  assert.equal(oumiProblems('train', c).length, 3);
  assert.deepEqual(oumiProblems('train', { ...c, training: { ...c.training, trainer_type: 'trl_sft', learning_rate: 1e-3 }, model: { ...c.model, torch_dtype_str: 'bf16' } }), []);
  assert.throws(() => renderTrainConfig({ ...train, steps: 0 }), /training\.max_steps: max_steps must be positive/);
});

test('suggestField: close spellings and shared words; nothing when nothing is near', () => {
  assert.equal(suggestField('TrainingParams', 'learnin_rate'), 'learning_rate');
  assert.equal(suggestField('TrainingParams', 'per_device_train_batch'), 'per_device_train_batch_size');
  assert.equal(suggestField('TrainingParams', 'zzzz'), undefined);
});

test('renderEvalConfig: perplexity and generation tasks as asked, either alone, never neither', () => {
  const both = renderEvalConfig({ model, outputDir: '/shared/jobs/r1/mlops-3.2/eval', textPath: '/d/eval.txt', promptsPath: '/d/p.jsonl', window: { maxLength: 512, stride: 256 }, maxNewTokens: 64 });
  const tasks = both.config.tasks as { task_name: string; evaluation_backend: string; eval_kwargs: Record<string, unknown> }[];
  assert.deepEqual(
    tasks.map((t) => [t.evaluation_backend, t.task_name]),
    [
      ['custom', 'mlv_perplexity'],
      ['custom', 'mlv_generations'],
    ],
  );
  assert.deepEqual(tasks[0]!.eval_kwargs, { text_path: '/d/eval.txt', max_length: 512, stride: 256 });
  assert.deepEqual(tasks[1]!.eval_kwargs, { prompts_path: '/d/p.jsonl' });
  assert.equal((both.config.generation as Record<string, unknown>).max_new_tokens, 64);
  assert.deepEqual(parse(both.yaml), both.config);
  const ppl = renderEvalConfig({ model, outputDir: '/o', textPath: '/d/eval.txt' }).config.tasks as { task_name: string }[];
  assert.deepEqual(
    ppl.map((t) => t.task_name),
    ['mlv_perplexity'],
  );
  assert.throws(() => renderEvalConfig({ model, outputDir: '/o' }), /needs textPath/);
});

test('renderInferConfig and the inference input', () => {
  const c = renderInferConfig({ model: { path: '/m' }, maxNewTokens: 16 }).config as Record<string, Record<string, unknown>>;
  assert.equal(c.model!.model_name, '/m');
  assert.equal(c.generation!.max_new_tokens, 16);
  assert.equal((c as Record<string, unknown>).engine, 'NATIVE');
  assert.equal(inferInput(['a "b"', 'c']), '{"messages":[{"role":"user","content":"a \\"b\\""}]}\n{"messages":[{"role":"user","content":"c"}]}\n');
});

test('the commands: oumi train, oumi distributed torchrun -m oumi train (CPU shim only on a CPU-only target), evaluate, infer', () => {
  const r = { oumi: ['/shared/venvs/oumi/bin/oumi'], dir: '/shared/mlv/workloads/oumi' };
  const pre = ['sh', '/shared/mlv/workloads/oumi/oumi.sh', '/shared/venvs/oumi/bin/oumi'];
  assert.deepEqual(oumiTrainCommand(r, 'c.yaml'), { argv: [...pre, 'train', '-c', 'c.yaml'], env: {} });
  assert.deepEqual(oumiTrainCommand(r, 'c.yaml', { processes: 2 }), { argv: [...pre, 'distributed', 'torchrun', '-m', 'oumi', 'train', '-c', 'c.yaml'], env: {} });
  assert.deepEqual(oumiTrainCommand(r, 'c.yaml', { processes: 2, cpuOnly: true }).env, { MLV_OUMI_CPU_DDP: '1', MLV_OUMI_PROCESSES: '2' });
  assert.deepEqual(oumiEvaluateCommand(r, 'e.yaml', '/j/deps.txt'), { argv: [...pre, 'evaluate', '-c', 'e.yaml'], env: { OUMI_EXTRA_DEPS_FILE: '/j/deps.txt' } });
  assert.deepEqual(oumiInferCommand(r, 'i.yaml', 'in.jsonl', 'out.jsonl').argv, [...pre, 'infer', '-c', 'i.yaml', '--input_path', 'in.jsonl', '--output_path', 'out.jsonl']);
  assert.equal(extraDepsFile(['/shared/mlv/workloads/oumi/mlv_eval.py']), '/shared/mlv/workloads/oumi/mlv_eval.py\n');
  for (const bad of ['mlv_eval.py', '/a/b.py\n/c/d.py', '/a/b.txt']) assert.throws(() => extraDepsFile([bad]), /absolute \.py/);
});

const job: OumiJobInput = {
  name: 'r1-mlops-3.1',
  user: 'alice',
  workingDir: '/tmp/mlv/r1/oumi-job',
  partition: 'gpu',
  cpusPerTask: 4,
  mem: '16G',
  timeLimitSeconds: 1800,
  gpus: 1,
  commands: [['sh', 'oumi.sh', '/shared/venvs/oumi/bin/oumi', 'train', '-c', 'train.yaml']],
  runtimePrefix: ['apptainer', 'exec', '--nv', '/shared/containers/oumi image.sif'],
};

test('renderJobConfig: a slurm JobConfig with the #SBATCH lines (GRES in run), quoted commands and one-word envs', () => {
  const c = renderJobConfig({ ...job, envs: { MLFLOW_EXPERIMENT_NAME: 'mlv r1' } }).config as Record<string, unknown>;
  assert.equal(c.working_dir, '/tmp/mlv/r1/oumi-job/');
  assert.deepEqual(c.resources, { cloud: 'slurm' });
  assert.equal(c.num_nodes, 1);
  assert.equal(c.setup, '#SBATCH --partition=gpu\n#SBATCH --ntasks-per-node=1\n#SBATCH --cpus-per-task=4\n#SBATCH --mem=16G\n#SBATCH --time=00:30:00\nset -e\n');
  assert.equal(c.run, "#SBATCH --gres=gpu:1\napptainer exec --nv '/shared/containers/oumi image.sif' sh oumi.sh /shared/venvs/oumi/bin/oumi train -c train.yaml\n");
  const envs = c.envs as Record<string, string>;
  assert.equal(envs.DO_NOT_TRACK, '1');
  assert.equal(envs.HF_HUB_OFFLINE, '1');
  assert.equal(envs.MLFLOW_EXPERIMENT_NAME, "'mlv r1'");
  assert.equal((renderJobConfig({ ...job, gpus: 0 }).config.run as string).includes('--gres'), false);
  assert.match(renderJobConfig({ ...job, gpus: 2, gpuType: 'a100' }).config.run as string, /^#SBATCH --gres=gpu:a100:2\n/);
});

test('renderJobConfig refuses what would break the job script or the launcher', () => {
  assert.throws(() => renderJobConfig({ ...job, partition: 'gpu\n#SBATCH --uid=0' }), /#SBATCH --partition: .* has characters a directive may not hold/);
  assert.throws(() => renderJobConfig({ ...job, name: 'a b' }), /name: a job name of letters/);
  assert.throws(() => renderJobConfig({ ...job, user: 'alice;id' }), /user: a user name/);
  assert.throws(() => renderJobConfig({ ...job, mem: '16 G' }), /mem must look like/);
  assert.throws(() => renderJobConfig({ ...job, commands: [] }), /commands must not be empty/);
  const c = template('job.yaml');
  c.envs!.X = 'a b';
  c.working_dir = './job' as unknown as Record<string, unknown>;
  assert.deepEqual(oumiProblems('job', c).sort(), [
    'envs.X: one shell word: Oumi writes `export K=V` unquoted',
    'working_dir: working_dir needs a trailing slash: without one Oumi copies the folder one level down, and the job runs in its parent',
  ]);
});

test('oumi launch command lines and the cluster name', () => {
  const o = ['/opt/oumi/bin/oumi'];
  assert.equal(oumiCluster('mlops', '127.0.0.1'), 'mlops@127.0.0.1');
  assert.throws(() => oumiCluster('ml ops', 'h'), /user@host/);
  assert.deepEqual(oumiLaunch.up(o, 'job.yaml', 'mlops@h', { logFile: '/tmp/l' }), [...o, 'launch', 'up', '-c', 'job.yaml', '--cluster', 'mlops@h', '--output-filepath', '/tmp/l']);
  assert.deepEqual(oumiLaunch.up(o, 'job.yaml', 'mlops@h', { detach: true }).slice(-1), ['--detach']);
  assert.deepEqual(oumiLaunch.status(o, 'mlops@h', '12'), [...o, 'launch', 'status', '--cloud', 'slurm', '--cluster', 'mlops@h', '--id', '12']);
  assert.deepEqual(oumiLaunch.cancel(o, 'mlops@h', '12'), [...o, 'launch', 'cancel', '--cloud', 'slurm', '--cluster', 'mlops@h', '--id', '12']);
});
