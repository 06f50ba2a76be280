/**
 * The pure parts of `npx mlv-pipeline` (scripts/mlv-pipeline.ts): its arguments, the record of the
 * kept deployment (`run --keep`), and which version a rollback goes to. Every bad input is one
 * message naming the flag (or the file) and the fix; the command exits 2 with it.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';

export const USAGE = 'usage: mlv-pipeline run [--release] [--keep] | rollback [--to <version>] | status [<run id>] | down';

export type Command = { cmd: 'run'; release: boolean; keep: boolean } | { cmd: 'rollback'; to?: string } | { cmd: 'status'; runId?: string } | { cmd: 'down' } | { error: string };

const OPTIONS: Record<string, NonNullable<ParseArgsConfig['options']>> = {
  run: { release: { type: 'boolean' }, keep: { type: 'boolean' } },
  rollback: { to: { type: 'string' } },
  status: {},
  down: {},
};

/** `mlv-pipeline <argv>` as a command, or why not. */
export function parseCommand(argv: string[]): Command {
  const [cmd, ...rest] = argv;
  if (!cmd) return { error: 'no command given' };
  if (!Object.hasOwn(OPTIONS, cmd)) return { error: `unknown command: ${cmd}` };
  const options = OPTIONS[cmd]!;
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: cmd === 'status' });
  } catch (e) {
    const flags = Object.entries(options).map(([o, spec]) => (spec.type === 'string' ? `--${o} <version>` : `--${o}`));
    return { error: `mlv-pipeline ${cmd}: ${(e as Error).message.split('\n')[0]}. Fix: ${flags.length ? `it takes ${flags.join(', ')}` : 'it takes no option'}` };
  }
  const { values, positionals } = parsed;
  if (cmd === 'run') return { cmd, release: values.release === true, keep: values.keep === true };
  if (cmd === 'rollback') {
    const to = values.to as string | undefined;
    if (to !== undefined && !/^[1-9]\d*$/.test(to)) return { error: `--to ${JSON.stringify(to)}: not a version number. Fix: name a registered version, e.g. --to 1` };
    return { cmd, to };
  }
  if (cmd === 'status') {
    if (positionals.length > 1) return { error: `mlv-pipeline status takes one run id at most, not ${positionals.length}. Fix: mlv-pipeline status [<run id>]` };
    return { cmd, runId: positionals[0] };
  }
  return { cmd: 'down' };
}

const version = z.object({ version: z.string(), storageUri: z.string(), sha256: z.string() });

/** What `run --keep` kept, in reports/out/pipeline/deployment.json: what later commands act on. */
export const DeploymentRecord = z.object({
  /** the path's name and the run that kept it, e.g. mnist-release@mlv-20261202-abcd */
  name: z.string(),
  runId: z.string(),
  task: z.string(),
  keptAt: z.string(),
  namespace: z.string(),
  /** the InferenceService */
  service: z.string(),
  /** how the runtime serves it (fixtures/serving.ts Served) */
  served: z.object({ modelName: z.string(), protocol: z.string(), runtime: z.string(), protocols: z.array(z.string()) }),
  /** the registered model and its serving alias */
  modelName: z.string(),
  alias: z.string(),
  /** every version synced for the service, by version number */
  versions: z.array(version).min(1),
  /** the versions it served, oldest first: the last serves now */
  history: z.array(z.string()).min(1),
});
export type DeploymentRecord = z.infer<typeof DeploymentRecord>;
export type KeptVersion = z.infer<typeof version>;

/** A record read from `file`, or the one message saying why it is not one. */
export function parseRecord(text: string, file: string): DeploymentRecord | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { error: `${file} is not JSON (${(e as Error).message}). Fix: mlv-pipeline down removes the deployment the ledgers keep, and the record` };
  }
  const r = DeploymentRecord.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    return { error: `${file}: ${i.path.join('.') || 'the record'}: ${i.message}. Fix: mlv-pipeline down removes the deployment the ledgers keep, and the record` };
  }
  return r.data;
}

export const serving = (d: DeploymentRecord): string => d.history.at(-1)!;

/** The version served before the one that serves now (as `kubectl rollout undo` goes back one step), if any. */
export function previousVersion(d: DeploymentRecord): string | undefined {
  const now = serving(d);
  return [...d.history].reverse().find((v) => v !== now);
}

/** Where `rollback [--to N]` goes on `d`: `to`, else the version that served before; or why it cannot. */
export function rollbackTarget(d: DeploymentRecord, to?: string): { from: string; to: string } | { error: string } {
  const from = serving(d);
  const known = d.versions.map((v) => v.version);
  const others = known.filter((v) => v !== from);
  if (to === undefined) {
    const prev = previousVersion(d);
    if (prev) return { from, to: prev };
    if (!others.length) return { error: `nothing to roll back to: deployment ${d.name} has one version (${from}). Fix: keep one with two, mlv-pipeline down then mlv-pipeline run --release --keep` };
    return { error: `deployment ${d.name} has served version ${from} only. Fix: name the version with --to (${others.join(', ')})` };
  }
  if (!known.includes(to)) return { error: `--to ${to}: deployment ${d.name} has no version ${to} (versions: ${known.join(', ')}). Fix: --to one of them` };
  if (to === from) return { error: `--to ${to}: version ${to} serves already. Fix: --to ${others.join(' or --to ') || 'another version'}` };
  return { from, to };
}

/** The record after a rollout to `version` took. */
export function servedNow(d: DeploymentRecord, version: string): DeploymentRecord {
  return serving(d) === version ? d : { ...d, history: [...d.history, version] };
}
