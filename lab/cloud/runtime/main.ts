/**
 * Lab model server (the "kserve-container" of a lab InferenceService).
 *
 *   node --import tsx lab/cloud/runtime/main.ts --model-name <n> --model-dir <dir|file.onnx>
 *        [--listen 127.0.0.1:0] [--ready-file <path>] [--threads 1] [--no-access-log]
 *        [--slowdown 1]
 *
 * Listens first (liveness answers at once), then loads the model with
 * onnxruntime-node. When the model is loaded it prints "READY port=<p>" and
 * writes the bound port (one line) to --ready-file, atomically. If loading
 * fails it prints "FATAL: ..." and exits 1. SIGTERM/SIGINT: drain and exit 0.
 * --slowdown F (lab fault knob, ./slowdown.ts): each inference is answered F
 * times slower than it was computed; an invalid F is warned about and 1 used.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LoadedModel } from './model.ts';
import { ModelServer } from './server.ts';
import { parseSlowdown } from './slowdown.ts';

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

  const slowdown = parseSlowdown(args.slowdown, '--slowdown');
  if (slowdown.warning) log(`WARNING: ${slowdown.warning}`);

  const server = new ModelServer({ modelName: name, log: args['no-access-log'] ? null : undefined, slowdown: slowdown.factor });
  const addr = await server.listen(m[1]!, Number(m[2]));
  const slow = slowdown.factor > 1 ? ` slowdown=${slowdown.factor}` : '';
  log(`listening on ${addr.address}:${addr.port} model=${name} dir=${dir} pid=${process.pid}${slow}`);

  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log(`received ${sig}, draining`);
    server.close(5000).then(() => {
      log('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const t0 = performance.now();
  let model: LoadedModel;
  try {
    model = await LoadedModel.load(name, dir, { threads });
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    server.setFailed(msg);
    fatal(`failed to load model ${name} from ${dir}: ${msg}`);
  }
  server.setModel(model);
  const desc = (ts: typeof model.inputs) => ts.map((t) => `${t.name}:${t.datatype}[${t.shape.join(',')}]`).join(' ');
  log(`loaded ${model.file} in ${(performance.now() - t0).toFixed(0)}ms inputs=${desc(model.inputs)} outputs=${desc(model.outputs)}`);
  if (args['ready-file']) {
    const tmp = `${args['ready-file']}.tmp.${process.pid}`;
    writeFileSync(tmp, `${addr.port}\n`);
    renameSync(tmp, args['ready-file']);
  }
  log(`READY port=${addr.port}`);
}

process.on('uncaughtException', (e) => fatal(`uncaught: ${e.stack ?? e}`));
process.on('unhandledRejection', (e) => fatal(`unhandled rejection: ${(e as Error)?.stack ?? e}`));
void main();
