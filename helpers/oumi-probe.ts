/**
 * The preflight's Oumi probe (pure parts): the job that asks `oumi env` on a compute node, under the
 * target's runtime prefix, and the parser of what Oumi prints there ("Oumi version │ 0.9.dev121", a
 * rich table) or the reason it did not run.
 */
import { posix } from 'node:path';
import type { OumiTarget } from './config-oumi.ts';
import type { JobSpec } from './sbatch.ts';

/** `sh <workloads>/oumi/oumi.sh <MLV_OUMI...> env`: offline switches and no telemetry, as in every Oumi job. */
export function oumiEnvJob(oumi: string[], workloadsDir: string, hfHome?: string): JobSpec {
  return {
    name: 'preflight-oumi',
    nodes: 1,
    ntasks: 1,
    cpusPerTask: 1,
    mem: '2G',
    timeLimitSeconds: 300,
    env: hfHome ? { HF_HOME: hfHome } : undefined,
    steps: [{ argv: ['sh', posix.join(workloadsDir, 'oumi', 'oumi.sh'), ...oumi, 'env'] }],
  };
}

// eslint-disable-next-line no-control-regex -- removing terminal escapes is the point
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

/** The version `oumi env` reports, else why there is none (the output's last meaningful line). */
export function parseOumiEnv(out: string, exitCode: number): { version?: string; error?: string } {
  const v = /Oumi version\W+(\d+\.\d+[0-9A-Za-z.+-]*)/.exec(out);
  if (v && exitCode === 0) return { version: v[1] };
  const lines = out
    .split('\n')
    .map((l) =>
      l
        .replace(ANSI, '')
        .replace(/[^\x20-\x7e]/g, ' ')
        .trim(),
    )
    .filter((l) => l && !/^[=+|-]+$/.test(l));
  const why = lines.filter((l) => /error|not found|no such|cannot|denied|traceback/i.test(l)).at(-1) ?? lines.at(-1) ?? 'no output';
  return { error: `\`oumi env\` exited ${exitCode}${v ? '' : ' without an "Oumi version" line'}: ${why.slice(0, 300)}` };
}

/** The file that shows the base model is there: its config.json, or for a Hub id its folder in MLV_HF_HOME's cache. */
export function modelMarker(o: Pick<OumiTarget, 'model' | 'hfHome'>): { path?: string; problem?: string } {
  if (!o.model) return { problem: 'MLV_OUMI_MODEL is not set' };
  if (o.model.startsWith('/')) return { path: posix.join(o.model, 'config.json') };
  if (!o.hfHome) return { problem: `${o.model} is a Hub id, and MLV_HF_HOME (the cache that holds it) is not set. Fix: set MLV_HF_HOME, or point MLV_OUMI_MODEL at the model's folder` };
  return { path: posix.join(o.hfHome, 'hub', `models--${o.model.replace('/', '--')}`) };
}
