/**
 * Lab model server (the "kserve-container" of a lab InferenceService).
 *
 *   node --import tsx lab/cloud/runtime/main.ts [--runtime python|triton] --model-name <n>
 *        --model-dir <dir|file.onnx|repository> [--listen 127.0.0.1:0] [--ready-file <path>]
 *        [--threads 1] [--no-access-log] [--slowdown 1]
 *        [--allow-metrics true|false] [--metrics-listen 127.0.0.1:0] [--metrics-config k=v]...
 *
 * --runtime python (default): a KServe Python model server-like one (./server.ts) serving the
 * model as --model-name over V1 and V2; the model dir holds model.onnx (or one .onnx), or is a
 * model repository with a single model. --runtime triton: a Triton-like one (./triton.ts)
 * serving every model of the repository --model-dir under its directory's name, V2 only;
 * --model-name is only logged.
 *
 * Triton's metrics (./metrics.ts) go on their own listener, --metrics-listen (Triton's --metrics-port,
 * 8002 in a container; a free loopback port here), unless --allow-metrics false; --metrics-config
 * takes Triton's summary_latencies=true and counter_latencies=false. The python server publishes
 * KServe's on its own port at /metrics.
 *
 * Listens first (liveness answers at once), then loads the model with
 * onnxruntime-node. When the model is loaded it prints "READY port=<p>" and
 * writes the bound port to --ready-file, atomically: one line, and a second with
 * the metrics port where there is a metrics listener. If loading
 * fails it prints "FATAL: ..." and exits 1. SIGTERM/SIGINT: drain and exit 0.
 * --slowdown F (lab fault knob, ./slowdown.ts): each inference is answered F
 * times slower than it was computed; an invalid F is warned about and 1 used.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { LoadedModel } from './model.ts';
import { MetricsServer, parseTritonMetricsConfig, TritonMetrics } from './metrics.ts';
import { effectiveMaxBatchSize, scanRepository } from './repository.ts';
import { ModelServer } from './server.ts';
import { parseSlowdown } from './slowdown.ts';
import { TritonServer, type TritonModel } from './triton.ts';

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

function fatal(msg: string, code = 1): never {
  // stderr only: in a pod stdout and stderr are the same log file
  process.stderr.write(`${new Date().toISOString()} FATAL: ${msg}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        'model-name': { type: 'string' },
        'model-dir': { type: 'string' },
        listen: { type: 'string', default: '127.0.0.1:0' },
        'ready-file': { type: 'string' },
        threads: { type: 'string', default: '1' },
        'no-access-log': { type: 'boolean', default: false },
        slowdown: { type: 'string', default: '1' },
        runtime: { type: 'string', default: 'python' },
        'allow-metrics': { type: 'string', default: 'true' },
        'metrics-listen': { type: 'string', default: '127.0.0.1:0' },
        'metrics-config': { type: 'string', multiple: true, default: [] },
      },
      strict: true,
    }).values;
  } catch (e) {
    fatal(`bad arguments: ${(e as Error).message}`, 2);
  }
  const name = args['model-name'];
  const dir = args['model-dir'];
  if (!name || !dir) fatal('--model-name and --model-dir are required', 2);
  const m = /^(.*):(\d+)$/.exec(args.listen!);
  if (!m) fatal(`--listen must be host:port, got ${args.listen}`, 2);
  const threads = Number(args.threads);
  if (!Number.isInteger(threads) || threads < 1) fatal(`--threads must be a positive integer`, 2);

  const flavor = args.runtime!;
  if (flavor !== 'python' && flavor !== 'triton') fatal(`--runtime must be python or triton, got ${flavor}`, 2);

  const slowdown = parseSlowdown(args.slowdown, '--slowdown');
  if (slowdown.warning) log(`WARNING: ${slowdown.warning}`);

  const allow = args['allow-metrics'];
  if (allow !== 'true' && allow !== 'false') fatal(`--allow-metrics must be true or false, got ${allow}`, 2);
  const mm = /^(.*):(\d+)$/.exec(args['metrics-listen']!);
  if (!mm) fatal(`--metrics-listen must be host:port, got ${args['metrics-listen']}`, 2);
  const metricsConfig = parseTritonMetricsConfig(args['metrics-config'] ?? []);
  for (const w of metricsConfig.warnings) log(`WARNING: ${w}`);

  const base = { log: args['no-access-log'] ? null : undefined, slowdown: slowdown.factor };
  const server = flavor === 'triton' ? new TritonServer({ ...base, metrics: new TritonMetrics(metricsConfig) }) : new ModelServer({ modelName: name, ...base });
  const addr = await server.listen(m[1]!, Number(m[2]));
  const slow = slowdown.factor > 1 ? ` slowdown=${slowdown.factor}` : '';
  log(`listening on ${addr.address}:${addr.port} runtime=${flavor} model=${name} dir=${dir} pid=${process.pid}${slow}`);
  const metricsServer = server instanceof TritonServer && allow === 'true' ? new MetricsServer(server.metrics) : undefined;
  const metricsAddr = await metricsServer?.listen(mm[1]!, Number(mm[2]));
  if (metricsAddr) log(`metrics on http://${metricsAddr.address}:${metricsAddr.port}/metrics${metricsConfig.summaryLatencies ? ' (summary latencies)' : ''}`);

  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log(`received ${sig}, draining`);
    Promise.all([server.close(5000), metricsServer?.close()]).then(() => {
      log('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const t0 = performance.now();
  try {
    if (server instanceof TritonServer) server.setModels(await loadRepository(dir, threads, t0), (performance.now() - t0) / 1000);
    else server.setModel(await loadSingle(name, dir, threads, t0));
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    server.setFailed(msg);
    fatal(`failed to load model ${name} from ${dir}: ${msg}`);
  }
  if (args['ready-file']) {
    const tmp = `${args['ready-file']}.tmp.${process.pid}`;
    writeFileSync(tmp, `${addr.port}\n${metricsAddr ? `${metricsAddr.port}\n` : ''}`);
    renameSync(tmp, args['ready-file']);
  }
  log(`READY port=${addr.port}${metricsAddr ? ` metrics_port=${metricsAddr.port}` : ''}`);
}

const desc = (ts: LoadedModel['inputs']) => ts.map((t) => `${t.name}:${t.datatype}[${t.shape.join(',')}]`).join(' ');

/** The python runtime's model: the dir's own .onnx, else the only model of a repository. */
async function loadSingle(name: string, dir: string, threads: number, t0: number): Promise<LoadedModel> {
  const own = !existsSync(dir) || statSync(dir).isFile() || readdirSync(dir).some((f) => f.endsWith('.onnx'));
  let path = dir;
  if (!own) {
    const models = scanRepository(dir);
    if (models.length !== 1) throw new Error(`model repository ${dir} holds ${models.length} models (${models.map((x) => x.name).join(', ')}); this server serves one`);
    path = models[0]!.file;
  }
  const model = await LoadedModel.load(name, path, { threads });
  log(`loaded ${model.file} in ${(performance.now() - t0).toFixed(0)}ms inputs=${desc(model.inputs)} outputs=${desc(model.outputs)}`);
  return model;
}

/** Every model of the repository, each with its auto-completed max_batch_size. */
async function loadRepository(dir: string, threads: number, t0: number): Promise<TritonModel[]> {
  const out: TritonModel[] = [];
  for (const rm of scanRepository(dir)) {
    const model = await LoadedModel.load(rm.name, rm.file, { threads });
    const maxBatchSize = effectiveMaxBatchSize(
      rm,
      [...model.inputs, ...model.outputs].map((t) => t.shape),
    );
    log(
      `loaded ${rm.name} version ${rm.version} (${model.file}) in ${(performance.now() - t0).toFixed(0)}ms max_batch_size=${maxBatchSize} inputs=${desc(model.inputs)} outputs=${desc(model.outputs)}`,
    );
    out.push({ name: rm.name, version: rm.version, maxBatchSize, model });
  }
  return out;
}

process.on('uncaughtException', (e) => fatal(`uncaught: ${e.stack ?? e}`));
process.on('unhandledRejection', (e) => fatal(`unhandled rejection: ${(e as Error)?.stack ?? e}`));
void main();
