/**
 * MLOPS-3.1: the ssh set-up Oumi's SLURM launcher runs under, in a dedicated HOME (never the user's ~/.ssh).
 * Oumi calls plain `ssh` through a shell (src/oumi/launcher/clients/slurm_client.py): `ssh -S
 * ~/.ssh/control-%h-%p-%r user@host ...`, `ssh -f -N -M ... -o "ControlPersist 4h"`, and `rsync -e "ssh
 * -S ~/..."`. Three things follow, and the generated `ssh` wrapper (first on PATH) handles them:
 * - ssh reads ~/.ssh/config from the passwd home, not $HOME: the wrapper passes `-F <HOME>/.ssh/config`;
 * - through rsync -e the `~` of -S reaches ssh unexpanded, and ssh expands it to the passwd home: the
 *   wrapper keeps that socket inside the dedicated HOME;
 * - Oumi expands `$HOME/oumi_slurm_logs/<id>.out` in the local shell (its log check and tail, the
 *   launcher's second bug): the wrapper turns that prefix into `oumi_slurm_logs/`, which the remote
 *   shell resolves in the remote home, where sbatch wrote it. (The first bug, a missing
 *   ~/oumi_slurm_logs on the cluster, is the caller's: create it before `oumi launch up`.)
 * Every value is checked, and quoted where it may hold a space, so nothing from config can add an ssh option.
 */
import { OUMI_NAME } from './oumi-schema.ts';

export interface OumiSshInput {
  /** The dedicated local HOME of the `oumi launch` processes: .ssh/config, bin/ssh and the control socket live here. */
  home: string;
  /** The Host name given to Oumi (the host of --cluster user@host); default the target's host when it is a plain name. */
  alias?: string;
  host: string;
  port: number;
  user: string;
  keyPath?: string;
  /** An ssh-agent socket, when there is no key file. */
  agent?: string;
  knownHostsPath: string;
  hostKeyCheck: 'strict' | 'accept-new' | 'off';
  jump?: { host: string; port: number; user: string };
  connectTimeoutSeconds?: number;
  /** How long an idle master stays (ssh's ControlPersist); Oumi's own -M asks for 4h, so close it: closeArgv. */
  controlPersist?: string;
  /** The real ssh, which the wrapper runs. */
  ssh?: string;
}

export interface OumiSshSetup {
  /** OUMI_SLURM_CONNECTIONS and --cluster: `user@alias`. */
  cluster: string;
  alias: string;
  configPath: string;
  config: string;
  /** `<home>/bin/ssh`, mode 0700; `<home>/bin` goes first on PATH. */
  wrapperPath: string;
  wrapper: string;
  /** Where Oumi's master socket appears (gone once closed). */
  controlSocket: string;
  /** The environment of every `oumi launch` command (add it to the runner's, PATH included). */
  env: { HOME: string; PATH: string; OUMI_SLURM_CONNECTIONS: string; DO_NOT_TRACK: string };
  /** `ssh -F <config> -O exit <alias>`: ends the ControlMaster. */
  closeArgv: string[];
  /** `ssh -F <config> -O check <alias>`: exit 0 while a master runs. */
  checkArgv: string[];
  /** Loud lines to print (host keys not checked, trusted on first use). */
  warnings: string[];
}

/** Sockets are sun_path (104 bytes on macOS, 108 on Linux, NUL included). */
const MAX_SOCKET_PATH = 100;
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const HOST = /^(?:[A-Za-z0-9_][A-Za-z0-9._-]*|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)$/;
/** Absolute paths of plain characters (spaces quoted): no %, $ or ~ (ssh expands them), no quotes, #, backslashes or control characters. */
const PATH_CHARS = /^\/[A-Za-z0-9._+@=,:/ -]*$/;
const PERSIST = /^(?:yes|no|\d{1,6}[smhdw]?)$/;

function check(ok: boolean, what: string, value: unknown, rule: string) {
  if (!ok) throw new Error(`Oumi ssh config: ${what} ${JSON.stringify(value)} refused: ${rule}, so that it cannot add ssh options`);
}
const name = (what: string, v: string) => check(typeof v === 'string' && NAME.test(v) && v.length <= 255, what, v, 'letters, digits, ".", "_" and "-", not starting with "-"');
const host = (what: string, v: string) => check(typeof v === 'string' && HOST.test(v) && v.length <= 255, what, v, 'a host name or an IP address');
const port = (what: string, v: number) => check(Number.isInteger(v) && v >= 1 && v <= 65535, what, v, 'a whole number from 1 to 65535');
function path(what: string, v: string): string {
  check(typeof v === 'string' && PATH_CHARS.test(v) && !v.includes('/../') && !v.endsWith('/..'), what, v, 'an absolute path of letters, digits, spaces and . _ + @ = , : / - only');
  return `"${v}"`;
}

function hostBlock(alias: string, h: { host: string; port: number; user: string }, s: OumiSshInput, socket: string, proxy?: string): string[] {
  const auth = s.keyPath ? [`IdentityFile ${path('the ssh key (MLV_SSH_KEY)', s.keyPath)}`, 'IdentitiesOnly yes'] : [`IdentityAgent ${path('the ssh-agent socket (MLV_SSH_AGENT)', s.agent ?? '')}`];
  const keys =
    s.hostKeyCheck === 'off'
      ? ['StrictHostKeyChecking no', 'UserKnownHostsFile /dev/null']
      : [`StrictHostKeyChecking ${s.hostKeyCheck === 'strict' ? 'yes' : 'accept-new'}`, `UserKnownHostsFile ${path('known_hosts (MLV_SSH_KNOWN_HOSTS)', s.knownHostsPath)}`];
  const opts = [
    `HostName ${h.host}`,
    `Port ${h.port}`,
    `User ${h.user}`,
    ...auth,
    ...keys,
    'BatchMode yes',
    `ConnectTimeout ${s.connectTimeoutSeconds ?? 5}`,
    'ServerAliveInterval 15',
    'ServerAliveCountMax 3',
  ];
  const control = ['ControlMaster auto', `ControlPath ${socket}`, `ControlPersist ${s.controlPersist ?? '10m'}`];
  return [`Host ${alias}`, ...[...opts, ...control, ...(proxy ? [`ProxyJump ${proxy}`] : [])].map((o) => `  ${o}`)];
}

export function oumiSshSetup(s: OumiSshInput, basePath = '/usr/local/bin:/usr/bin:/bin'): OumiSshSetup {
  const home = s.home.replace(/\/+$/, '');
  path('the dedicated HOME', home);
  host('the host (MLV_SSH_HOST)', s.host);
  port('the port (MLV_SSH_PORT)', s.port);
  name('the user (MLV_SSH_USER)', s.user);
  const alias = s.alias ?? (OUMI_NAME.test(s.host) ? s.host : 'mlv-oumi-target');
  name('the Host alias', alias);
  check(OUMI_NAME.test(alias) && OUMI_NAME.test(s.user), 'the Oumi cluster', `${s.user}@${alias}`, "Oumi's user@host of letters, digits, '.', '_' and '-'");
  if (s.jump) {
    host('the jump host (MLV_SSH_JUMP)', s.jump.host);
    port('the jump port', s.jump.port);
    name('the jump user', s.jump.user);
  }
  check(Number.isInteger(s.connectTimeoutSeconds ?? 5) && (s.connectTimeoutSeconds ?? 5) > 0, 'ConnectTimeout', s.connectTimeoutSeconds, 'a whole number of seconds');
  check(PERSIST.test(s.controlPersist ?? '10m'), 'ControlPersist', s.controlPersist, 'yes, no or a time such as 600 or 10m');
  if (!s.keyPath) check(!!s.agent, 'the key', s.keyPath, 'a key file or an ssh-agent socket is needed');
  const ssh = s.ssh ?? '/usr/bin/ssh';
  path('the ssh binary', ssh);
  check(!ssh.includes(' '), 'the ssh binary', ssh, 'a path without spaces');
  const socket = `${home}/.ssh/control-%h-%p-%r`;
  const controlSocket = `${home}/.ssh/control-${s.host}-${s.port}-${s.user}`;
  check(controlSocket.length <= MAX_SOCKET_PATH, 'the control socket', controlSocket, `at most ${MAX_SOCKET_PATH} characters (a UNIX socket path): use a shorter HOME`);
  const jumpAlias = `${alias}-jump`;
  // The HOME is checked above; %h-%p-%r are ssh's tokens, as in Oumi's own -S.
  const blocks = [hostBlock(alias, s, s, `"${socket}"`, s.jump ? jumpAlias : undefined), ...(s.jump ? [hostBlock(jumpAlias, s.jump, s, `"${socket}"`)] : [])];
  const config = [`# Generated by helpers/oumi-ssh-config.ts for Oumi's launcher (MLOPS-3.1); read only through ssh -F.`, ...blocks.map((b) => b.join('\n'))].join('\n\n') + '\n';
  const configPath = `${home}/.ssh/config`;
  const cluster = `${s.user}@${alias}`;
  const warnings =
    s.hostKeyCheck === 'off'
      ? [`WARNING: Oumi's launcher will NOT check the SSH host key of ${s.host}:${s.port} (MLV_SSH_HOST_KEY_CHECK=off): the connection could be intercepted.`]
      : s.hostKeyCheck === 'accept-new'
        ? [`WARNING: Oumi's launcher trusts a new SSH host key of ${s.host}:${s.port} on first use (MLV_SSH_HOST_KEY_CHECK=accept-new), adding it to ${s.knownHostsPath}.`]
        : [];
  return {
    cluster,
    alias,
    configPath,
    config,
    wrapperPath: `${home}/bin/ssh`,
    wrapper: sshWrapper(home, ssh, configPath),
    controlSocket,
    env: { HOME: home, PATH: `${home}/bin:${basePath}`, OUMI_SLURM_CONNECTIONS: cluster, DO_NOT_TRACK: '1' },
    closeArgv: [ssh, '-F', configPath, '-O', 'exit', alias],
    checkArgv: [ssh, '-F', configPath, '-O', 'check', alias],
    warnings,
  };
}

/** The `ssh` Oumi finds first on PATH (paths already checked: no single quotes). */
function sshWrapper(home: string, ssh: string, configPath: string): string {
  return `#!/bin/sh
# Generated by helpers/oumi-ssh-config.ts: the ssh of Oumi's launcher, HOME ${home}.
# -F: ssh reads ~/.ssh/config from the passwd home, not $HOME. "-S ~/..." (unexpanded through rsync -e)
# stays in this HOME. $HOME/oumi_slurm_logs/..., expanded by Oumi's local shell, means the remote home's.
home='${home}'
prev=
for a do
  shift
  if [ "$prev" = -S ]; then case $a in "~/"*) a="$home/\${a#??}" ;; esac; fi
  case $a in "$home/oumi_slurm_logs/"*) a="oumi_slurm_logs/\${a#"$home/oumi_slurm_logs/"}" ;; esac
  set -- "$@" "$a"
  prev=$a
done
exec '${ssh}' -F '${configPath}' "$@"
`;
}
