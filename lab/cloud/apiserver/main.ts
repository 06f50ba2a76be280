// Entry point: node --import tsx lab/cloud/apiserver/main.ts --listen 127.0.0.1:6443 --state-dir /var/lib/mlops-lab/cloud
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiServer } from './server.ts';

export { startApiServer } from './server.ts';
export type { ApiServer, ApiServerOptions } from './server.ts';

function usage(): never {
  process.stderr.write(
    'usage: main.ts [--listen HOST:PORT] [--state-dir DIR] [--persist] [--quiet]\n' +
      '  --listen     address to serve HTTPS on (default 127.0.0.1:6443)\n' +
      '  --state-dir  CA, certs, token and kubeconfig (default /var/lib/mlops-lab/cloud)\n' +
      '  --persist    save objects to <state-dir>/store.json on shutdown and load them at start\n' +
      '  --quiet      do not log every request\n',
  );
  process.exit(2);
}

async function main(): Promise<void> {
  let listen = '127.0.0.1:6443';
  let stateDir = '/var/lib/mlops-lab/cloud';
  let persist = false;
  let quiet = false;
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const val = (): string => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i];
      if (v === undefined) usage();
      return v;
    };
    if (a === '--listen' || a.startsWith('--listen=')) listen = val();
    else if (a === '--state-dir' || a.startsWith('--state-dir=')) stateDir = val();
    else if (a === '--persist') persist = true;
    else if (a === '--quiet') quiet = true;
    else usage();
  }
  const i = listen.lastIndexOf(':');
  if (i <= 0) usage();
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) usage();

  const stamp = () => new Date().toISOString();
  const server = await startApiServer({
    host,
    port,
    stateDir,
    persist,
    log: (line) => {
      if (quiet && /^(GET|POST|PUT|PATCH|DELETE) /.test(line)) return;
      process.stdout.write(`${stamp()} ${line}\n`);
    },
  });
  process.stdout.write(`${stamp()} mlv-lab apiserver ready at ${server.url}, pid ${process.pid}\n`);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${stamp()} ${sig}: shutting down\n`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
    setTimeout(() => process.exit(1), 5000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`apiserver failed: ${(e as Error)?.stack ?? e}\n`);
    process.exit(1);
  });
}
