/** The lab's MLflow stand-in (lab/mlflow/standin) as a child process on a free port, with a fresh state directory. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StandIn {
  url: string;
  stop: () => Promise<void>;
}

export async function startStandIn(): Promise<StandIn> {
  const state = mkdtempSync(join(tmpdir(), 'mlv-mlflow-standin-'));
  const child = spawn('/usr/bin/python3', ['lab/mlflow/standin/server.py', '--port', '0', '--state-dir', state, '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`stand-in did not print READY within 10 s; stderr: ${stderr}`)), 10_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY port=(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`stand-in exited (${code}) before READY; stderr: ${stderr}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(state, { recursive: true, force: true });
    },
  };
}
