/**
 * A scripted stand-in for the login node's shell (the RemoteShell interface of clients/ssh.ts):
 * each SLURM command answers from a per-command script of replies, in SLURM's real output
 * formats and with its real error messages (recorded from slurm-wlm 22.05 on the lab, with
 * a slurm.conf pointing at closed ports). The last reply of a script repeats.
 */
import type { RemoteShell } from '../../clients/ssh.ts';
import type { SshTarget } from '../../helpers/config.ts';

export interface Reply {
  code?: number;
  stdout?: string;
  stderr?: string;
  /** Milliseconds before the reply (a slow or hung daemon). */
  delayMs?: number;
  /** The exec itself rejects (SSH-level), e.g. a timeout. */
  reject?: Error;
}

type Script = Reply | ((argv: string[]) => Reply);

/** Real SLURM replies, as the 22.05 clients print them. */
export const SLURM = {
  ctldDown: { code: 1, stderr: 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n' },
  pingDown: { code: 1, stdout: 'Slurmctld(primary) at vm is DOWN\n' },
  pingUp: { code: 0, stdout: 'Slurmctld(primary) at vm is UP\n' },
  dbdDown: {
    code: 1,
    stderr:
      'sacct: error: slurm_persist_conn_open_without_init: failed to open persistent connection to host:10.199.0.1:6819: Connection refused\nsacct: error: Sending PersistInit msg: Connection refused\nsacct: error: Problem talking to the database: Connection refused\n',
  },
  scancelDown: (id: string) => ({ code: 8, stderr: `scancel: error: Kill job error on job id ${id}: Unable to contact slurm controller (connect failure)\n` }),
  invalidJob: { code: 1, stderr: 'slurm_load_jobs error: Invalid job id specified\n' },
  ok: { code: 0, stdout: '' },
};

/** `squeue -o %i|%j|%T|%r|%N|%k` line. */
export const squeueLine = (id: string, state: string, reason = 'None', nodes = '', comment = 'mlv-run=mlv-test') => `${id}|mlv-test-job|${state}|${reason}|${nodes}|${comment}\n`;
/** `sacct -o JobID,JobName,State,ExitCode,Elapsed,AllocTRES,NodeList,Comment` lines: allocation, batch step. */
export const sacctLines = (id: string, state: string, nodes = 'node1', exit = '0:0') =>
  `${id}|mlv-test-job|${state}|${exit}|00:00:12|billing=1,cpu=1,gres/gpu=1,mem=500M,node=1|${nodes}|mlv-run=mlv-test\n${id}.batch|batch|${state}|${exit}|00:00:12|cpu=1,gres/gpu=1,mem=500M,node=1|${nodes}|\n`;

export const TARGET: SshTarget = {
  host: 'login.example.org',
  alias: 'login',
  port: 22,
  user: 'alice',
  knownHostsPath: '/dev/null',
  hostKeyCheck: 'strict',
} as SshTarget;

export class FakeShell implements RemoteShell {
  readonly target = TARGET;
  readonly calls: { argv: string[]; at: number }[] = [];
  private scripts = new Map<string, Script[]>();

  /** Replies for a command (`squeue`, `sacct`, `scontrol`, `scancel`, `sinfo`, …), in order; the last repeats. */
  on(command: string, ...replies: Script[]): this {
    this.scripts.set(command, replies);
    return this;
  }

  callsOf(command: string): string[][] {
    return this.calls.filter((c) => c.argv[0] === command).map((c) => c.argv);
  }

  async exec(argv: ReadonlyArray<string | number>): Promise<{ code: number; stdout: string; stderr: string }> {
    const words = argv.map(String);
    this.calls.push({ argv: words, at: Date.now() });
    const script = this.scripts.get(words[0]!);
    if (!script) throw new Error(`fake shell: no script for ${words.join(' ')}`);
    const next = script.length > 1 ? script.shift()! : script[0]!;
    const r = typeof next === 'function' ? next(words) : next;
    if (r.delayMs) await new Promise((ok) => setTimeout(ok, r.delayMs));
    if (r.reject) throw r.reject;
    return { code: r.code ?? 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  async run(argv: ReadonlyArray<string | number>): Promise<string> {
    const r = await this.exec(argv);
    if (r.code !== 0) throw new Error(`${argv[0]} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  writeFile = async () => {};
  readFile = async () => Buffer.from('');
  exists = async () => true;
  close = () => {};
}
