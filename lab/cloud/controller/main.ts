/**
 * Lab InferenceService controller + ingress router + KPA-like autoscaler.
 *
 *   node --import tsx lab/cloud/controller/main.ts --kubeconfig <path>
 *        [--state-dir /var/lib/mlops-lab/cloud] [--run-dir <dir>] [--ingress 127.0.0.1:8443]
 *        [--scale-down-delay 15] [--window 6] [--replica-cap 5]
 *        [--activator-timeout 30] [--resync 30]
 *
 * See lab/cloud/controller/README.md.
 */
import { parseArgs } from 'node:util';
import { startController } from './controller.ts';

function usage(msg?: string): never {
  if (msg) process.stderr.write(`error: ${msg}\n`);
  process.stderr.write(
    [
      'usage: main.ts --kubeconfig <path> [options]',
      '  --state-dir DIR          lab cloud state (CA, logs, models, ingress cert); default /var/lib/mlops-lab/cloud',
      '  --run-dir DIR            runtime pid files; default <state-dir>/../run',
      '  --ingress HOST:PORT      HTTPS ingress listener; default 127.0.0.1:8443',
      '  --scale-down-delay SEC   KPA scale-down delay; default 15 (annotation autoscaling.knative.dev/scale-down-delay overrides)',
      '  --window SEC             KPA stable window; default 6 (annotation autoscaling.knative.dev/window overrides)',
      '  --replica-cap N          upper bound for maxReplicas (absent/0 = this); default 5',
      '  --activator-timeout SEC  how long requests wait for a replica while scaling from zero/starting; default 30',
      '  --resync SEC             periodic full reconcile; default 30',
      '',
    ].join('\n'),
  );
  process.exit(2);
}

function seconds(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt * 1000;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) usage(`${name} must be a non-negative number of seconds`);
  return n * 1000;
}

async function main(): Promise<void> {
  let values;
  try {
    values = parseArgs({
      options: {
        kubeconfig: { type: 'string' },
        'state-dir': { type: 'string', default: '/var/lib/mlops-lab/cloud' },
        'run-dir': { type: 'string' },
        ingress: { type: 'string', default: '127.0.0.1:8443' },
        'scale-down-delay': { type: 'string' },
        window: { type: 'string' },
        'replica-cap': { type: 'string' },
        'activator-timeout': { type: 'string' },
        resync: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    usage((e as Error).message);
  }
  if (values.help) usage();
  const stateDir = values['state-dir']!;
  const kubeconfig = values.kubeconfig ?? `${stateDir}/kubeconfig`;
  const m = /^(.*):(\d+)$/.exec(values.ingress!);
  if (!m) usage('--ingress must be HOST:PORT');
  const cap = values['replica-cap'] !== undefined ? Number(values['replica-cap']) : 5;
  if (!Number.isInteger(cap) || cap < 1) usage('--replica-cap must be a positive integer');

  const controller = await startController({
    kubeconfig,
    stateDir,
    runDir: values['run-dir'],
    ingressHost: m[1]!,
    ingressPort: Number(m[2]),
    scaleDownDelayMs: seconds(values['scale-down-delay'], '--scale-down-delay', 15),
    stableWindowMs: seconds(values.window, '--window', 6),
    replicaCap: cap,
    activatorTimeoutMs: seconds(values['activator-timeout'], '--activator-timeout', 30),
    resyncMs: seconds(values.resync, '--resync', 30),
  });
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${new Date().toISOString()} received ${sig}, stopping runtime processes\n`);
    const force = setTimeout(() => process.exit(1), 15_000);
    controller.stop().then(() => {
      clearTimeout(force);
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e) => {
  process.stderr.write(`FATAL: ${(e as Error).stack ?? e}\n`);
  process.stdout.write(`${new Date().toISOString()} FATAL: ${(e as Error).message ?? e}\n`);
  process.exit(1);
});
