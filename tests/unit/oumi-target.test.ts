/**
 * The Oumi side of the target: its settings (MLV_OUMI*, MLV_HF_HOME), the preflight's `oumi env`
 * parser (a recorded real output), the gate that skips, fails or runs the Oumi specs, and the jobs
 * that carry their configs.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTarget, type Capability, type Target } from '../../helpers/config.ts';
import { ConfigError } from '../../helpers/errors.ts';
import { decide, type Manifest, type OumiManifest } from '../../helpers/manifest.ts';
import { modelMarker, oumiEnvJob, parseOumiEnv } from '../../helpers/oumi-probe.ts';
import { oumiJobSpec } from '../../helpers/oumi-jobs.ts';
import { oumiTrainCommand, renderTrainConfig } from '../../helpers/oumi-config.ts';
import { renderSbatch } from '../../helpers/sbatch.ts';
import { quote } from '../../helpers/shell.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlv-oumi-target-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'key'), 'k');
writeFileSync(join(dir, 'known_hosts'), 'h');
const HPC = {
  MLV_TARGET_NAME: 'site',
  MLV_SSH_HOST: 'login',
  MLV_SSH_USER: 'u',
  MLV_SSH_KEY: join(dir, 'key'),
  MLV_SSH_KNOWN_HOSTS: join(dir, 'known_hosts'),
  MLV_SLURM_PARTITION: 'gpu',
  MLV_SHARED_ROOT: '/shared',
  MLV_GPUS_PER_NODE: '2',
};

function problems(vars: Record<string, string>): string[] {
  try {
    parseTarget({ ...HPC, ...vars }, 'site.env');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.problems;
  }
  return [];
}

test('MLV_OUMI is plain words after the runtime prefix; the runner defaults to oumi on PATH', () => {
  const t = parseTarget({ ...HPC, MLV_OUMI: 'apptainer exec --nv "/shared/img/oumi 0.8.sif" oumi', MLV_OUMI_MODEL: '/shared/models/SmolLM-135M' }, 'site.env');
  assert.deepEqual(t.hpc?.oumi.compute, ['apptainer', 'exec', '--nv', '/shared/img/oumi 0.8.sif', 'oumi']);
  assert.deepEqual(t.hpc?.oumi.runner, ['oumi']);
  assert.equal(t.hpc?.oumi.model, '/shared/models/SmolLM-135M');
  assert.equal(parseTarget(HPC, 'site.env').hpc?.oumi.compute, undefined);
});

test('bad Oumi settings are refused, naming the field and the fix', () => {
  assert.match(problems({ MLV_OUMI: 'oumi $(id)' }).join('\n'), /MLV_OUMI is not allowed: .*Fix: set it to how Oumi runs on the compute nodes/);
  assert.match(problems({ MLV_OUMI_RUNNER: 'LD_PRELOAD=/x.so oumi' }).join('\n'), /MLV_OUMI_RUNNER is not allowed: it starts with an assignment/);
  assert.match(problems({ MLV_OUMI_MODEL: 'models/../etc' }).join('\n'), /MLV_OUMI_MODEL.*absolute path .* or a Hub id/);
  assert.match(problems({ MLV_OUMI_SFT_DATA: 'data/sft.jsonl' }).join('\n'), /MLV_OUMI_SFT_DATA.*absolute path/);
  assert.deepEqual(problems({ MLV_OUMI_MODEL: 'HuggingFaceTB/SmolLM-135M', MLV_HF_HOME: '/shared/hf' }), []);
});

test('the preflight reads the version from a real `oumi env`, and a failure as its last line', () => {
  assert.deepEqual(parseOumiEnv(readFileSync('tests/recorded/oumi/oumi-env.txt', 'utf8'), 0), { version: '0.9.dev121+gd8ed07778' });
  const denied = '/shared/jobs/r1/workloads/oumi/oumi.sh: 24: exec: /srv/venvs/oumi/bin/oumi: Permission denied\n';
  assert.match(parseOumiEnv(denied, 126).error!, /exited 126 without an "Oumi version" line: .*Permission denied/);
  assert.match(
    parseOumiEnv('Traceback (most recent call last):\nModuleNotFoundError: No module named \x1b[31momegaconf\x1b[0m\n', 1).error!,
    /exited 1 .*ModuleNotFoundError: No module named omegaconf$/,
  );
  assert.ok(!parseOumiEnv('\x1b[31mboom: cannot start\x1b[0m', 1).error!.includes('\x1b'), 'no control characters echoed');
});

test('the probe job runs oumi env through oumi.sh under the runtime prefix; the model marker', () => {
  const job = oumiEnvJob(['/shared/venvs/oumi/bin/oumi'], '/shared/jobs/r1/workloads', '/shared/hf');
  assert.deepEqual(job.steps.at(-1)!.argv, ['sh', '/shared/jobs/r1/workloads/oumi/oumi.sh', '/shared/venvs/oumi/bin/oumi', 'env']);
  assert.equal(job.steps.at(-1)!.inRuntime, undefined, 'under the runtime prefix');
  assert.deepEqual(job.env, { HF_HOME: '/shared/hf' });
  assert.deepEqual(modelMarker({ model: '/shared/models/m' }), { path: '/shared/models/m/config.json' });
  assert.deepEqual(modelMarker({ model: 'HuggingFaceTB/SmolLM-135M', hfHome: '/shared/hf' }), { path: '/shared/hf/hub/models--HuggingFaceTB--SmolLM-135M' });
  assert.match(modelMarker({ model: 'HuggingFaceTB/SmolLM-135M' }).problem!, /MLV_HF_HOME .* is not set/);
});

function target(vars: Record<string, string>, caps: Capability[] = []): Target {
  return parseTarget({ ...HPC, MLV_CAPABILITIES: caps.join(','), ...vars }, 'site.env');
}
const ok: OumiManifest = { compute: { version: '0.8.0' }, runner: { version: '0.8.0' }, model: { present: true, detail: '/m/config.json' } };
const manifest = (oumi?: OumiManifest) => ({
  hpc: { gpusByNode: { n1: 2 }, usableNodes: ['n1'], nodes: [], partition: 'gpu', compute: { cudaAvailable: true }, tools: {}, oumi } as unknown as Manifest,
});
const SET = { MLV_OUMI: '/shared/venvs/oumi/bin/oumi', MLV_OUMI_MODEL: '/shared/models/m' };

test('the gate: no Oumi skips naming it; claimed and broken fails; the launcher needs Oumi here too', () => {
  const req = { gpusPerNode: 1, oumi: ['compute' as const] };
  const none = decide(req, target({}), manifest());
  assert.ok(!none.run && none.outcome === 'skip' && /Oumi is not available on "site": MLV_OUMI is not set.*Fix: install Oumi/.test(none.reason), JSON.stringify(none));
  const claimed = decide(req, target({}, ['oumi']), manifest());
  assert.ok(!claimed.run && claimed.outcome === 'fail' && /^target claims "oumi" but Oumi is not available/.test(claimed.reason));
  const noModel = decide(req, target({ MLV_OUMI: 'oumi' }), manifest(ok));
  assert.ok(!noModel.run && /MLV_OUMI_MODEL is not set/.test(noModel.reason));
  const broken = decide(req, target(SET, ['oumi']), manifest({ ...ok, compute: { error: '`oumi env` exited 126: Permission denied' } }));
  assert.ok(!broken.run && broken.outcome === 'fail' && /does not run on the compute nodes .*Permission denied/.test(broken.reason));
  const gone = decide(req, target(SET), manifest({ ...ok, model: { present: false, detail: '/shared/models/m/config.json does not exist' } }));
  assert.ok(!gone.run && gone.outcome === 'skip' && /base model MLV_OUMI_MODEL=\/shared\/models\/m is not there/.test(gone.reason));
  assert.deepEqual(decide(req, target(SET), manifest(ok)), { run: true });
  const launcher = decide({ ...req, oumi: ['compute', 'runner'] }, target(SET), manifest({ ...ok, runner: { error: 'oumi is not found on this machine' } }));
  assert.ok(!launcher.run && /launcher does not run on this machine \(MLV_OUMI_RUNNER=oumi\): oumi is not found/.test(launcher.reason));
});

test('an Oumi job carries its config in the script, quoted, and runs Oumi last under the prefix', () => {
  const config = renderTrainConfig({ model: { path: '/shared/models/m' }, dataset: '/shared/d/sft.jsonl', outputDir: '/shared/jobs/r1/s/model', steps: 10, batchSize: 4 });
  const command = oumiTrainCommand({ oumi: ['/o/bin/oumi'], dir: '/shared/jobs/r1/workloads/oumi' }, '/shared/jobs/r1/s/train.yaml', { processes: 2, cpuOnly: true });
  const spec = oumiJobSpec({
    name: 's',
    dir: '/shared/jobs/r1/s',
    files: [{ name: 'train.yaml', content: config.yaml }],
    command,
    gpus: 2,
    cpusPerTask: 2,
    mem: '4G',
    timeLimitSeconds: 600,
    hfHome: '/shared/hf',
  });
  assert.deepEqual(spec.env, { MLV_OUMI_CPU_DDP: '1', MLV_OUMI_PROCESSES: '2', HF_HOME: '/shared/hf' });
  const script = renderSbatch(spec, { runId: 'r1', partition: 'gpu', jobDir: '/shared/jobs/r1', workDir: '/shared/jobs/r1', runtimePrefix: ['apptainer', 'exec', '/i.sif'] });
  assert.match(script, /#SBATCH --gres=gpu:2/);
  assert.ok(script.includes(`mlv-write ${quote(config.yaml)} /shared/jobs/r1/s/train.yaml\n`), 'the YAML is one quoted argument');
  assert.match(config.yaml, /model_name: \/shared\/models\/m\n/);
  assert.match(script, /apptainer exec \/i\.sif sh \/shared\/jobs\/r1\/workloads\/oumi\/oumi\.sh \/o\/bin\/oumi distributed torchrun -m oumi train -c \/shared\/jobs\/r1\/s\/train\.yaml/);
});
