import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oumiSshSetup, type OumiSshInput } from '../../helpers/oumi-ssh-config.ts';

const lab: OumiSshInput = {
  home: '/tmp/mlv-oumi-r1',
  host: '127.0.0.1',
  port: 2222,
  user: 'mlops',
  keyPath: '/var/lib/mlops-lab/ssh/id_ed25519',
  knownHostsPath: '/var/lib/mlops-lab/ssh/known_hosts',
  hostKeyCheck: 'strict',
};

test('the Host entry for the target: key, known_hosts, strict host keys, batch mode, a ControlMaster inside the dedicated HOME', () => {
  const s = oumiSshSetup(lab, '/usr/bin:/bin');
  assert.equal(s.cluster, 'mlops@127.0.0.1');
  assert.equal(s.configPath, '/tmp/mlv-oumi-r1/.ssh/config');
  assert.deepEqual(s.config.split('\n').slice(2), [
    'Host 127.0.0.1',
    '  HostName 127.0.0.1',
    '  Port 2222',
    '  User mlops',
    '  IdentityFile "/var/lib/mlops-lab/ssh/id_ed25519"',
    '  IdentitiesOnly yes',
    '  StrictHostKeyChecking yes',
    '  UserKnownHostsFile "/var/lib/mlops-lab/ssh/known_hosts"',
    '  BatchMode yes',
    '  ConnectTimeout 5',
    '  ServerAliveInterval 15',
    '  ServerAliveCountMax 3',
    '  ControlMaster auto',
    '  ControlPath "/tmp/mlv-oumi-r1/.ssh/control-%h-%p-%r"',
    '  ControlPersist 10m',
    '',
  ]);
  assert.equal(s.controlSocket, '/tmp/mlv-oumi-r1/.ssh/control-127.0.0.1-2222-mlops');
  assert.deepEqual(s.env, { HOME: '/tmp/mlv-oumi-r1', PATH: '/tmp/mlv-oumi-r1/bin:/usr/bin:/bin', OUMI_SLURM_CONNECTIONS: 'mlops@127.0.0.1', DO_NOT_TRACK: '1' });
  assert.deepEqual(s.closeArgv, ['/usr/bin/ssh', '-F', '/tmp/mlv-oumi-r1/.ssh/config', '-O', 'exit', '127.0.0.1']);
  assert.deepEqual(s.checkArgv.slice(3), ['-O', 'check', '127.0.0.1']);
  assert.deepEqual(s.warnings, []);
});

test('host-key policies: accept-new and the explicit opt-out, each with a loud warning; an agent instead of a key; a jump host', () => {
  const off = oumiSshSetup({ ...lab, hostKeyCheck: 'off' });
  assert.match(off.config, /StrictHostKeyChecking no\n {2}UserKnownHostsFile \/dev\/null/);
  assert.match(off.warnings[0]!, /^WARNING: Oumi's launcher will NOT check the SSH host key of 127\.0\.0\.1:2222/);
  const tofu = oumiSshSetup({ ...lab, hostKeyCheck: 'accept-new' });
  assert.match(tofu.config, /StrictHostKeyChecking accept-new/);
  assert.match(tofu.warnings[0]!, /trusts a new SSH host key .* on first use/);
  const agent = oumiSshSetup({ ...lab, keyPath: undefined, agent: '/run/user/1000/ssh-agent.sock' });
  assert.match(agent.config, /IdentityAgent "\/run\/user\/1000\/ssh-agent\.sock"/);
  assert.doesNotMatch(agent.config, /IdentityFile/);
  const jump = oumiSshSetup({ ...lab, host: 'login.hpc.example.org', jump: { host: 'bastion.example.org', port: 22, user: 'alice' } });
  assert.match(
    jump.config,
    /Host login\.hpc\.example\.org\n[^]*ProxyJump login\.hpc\.example\.org-jump\n\nHost login\.hpc\.example\.org-jump\n {2}HostName bastion\.example\.org\n {2}Port 22\n {2}User alice/,
  );
  assert.equal(oumiSshSetup({ ...lab, host: 'fd00::1' }).cluster, 'mlops@mlv-oumi-target');
});

test('injection attempts are refused, naming the value: nothing from config can add an ssh option or a line', () => {
  const refused: [Partial<OumiSshInput>, RegExp][] = [
    [{ host: '127.0.0.1\n  ProxyCommand sh -c id' }, /the host \(MLV_SSH_HOST\)/],
    [{ host: '-oProxyCommand=id' }, /the host/],
    [{ host: 'a b' }, /the host/],
    [{ alias: 'h*' }, /the Host alias/],
    [{ user: 'mlops ProxyCommand=id' }, /the user \(MLV_SSH_USER\)/],
    [{ user: '-lroot' }, /the user/],
    [{ user: 'root\n' }, /the user/],
    [{ port: 0 }, /the port/],
    [{ port: 70000 }, /the port/],
    [{ port: Number('22 -oX') }, /the port/],
    [{ keyPath: 'id_ed25519' }, /the ssh key \(MLV_SSH_KEY\) "id_ed25519" refused: an absolute path/],
    [{ keyPath: '/k\n  ProxyCommand id' }, /the ssh key/],
    [{ keyPath: '/k" ProxyCommand "id' }, /the ssh key/],
    [{ keyPath: '/home/%u/key' }, /the ssh key/],
    [{ keyPath: '/home/${USER}/key' }, /the ssh key/],
    [{ keyPath: '~/key' }, /the ssh key/],
    [{ keyPath: '/k#x' }, /the ssh key/],
    [{ keyPath: "/k'x" }, /the ssh key/],
    [{ knownHostsPath: '/kh\r\nHost *' }, /known_hosts \(MLV_SSH_KNOWN_HOSTS\)/],
    [{ home: "/tmp/it's" }, /the dedicated HOME/],
    [{ home: 'relative/home' }, /the dedicated HOME/],
    [{ controlPersist: '10m\n  ProxyCommand id' }, /ControlPersist/],
    [{ connectTimeoutSeconds: 1.5 }, /ConnectTimeout/],
    [{ jump: { host: 'b;id', port: 22, user: 'a' } }, /the jump host/],
    [{ ssh: '/usr/bin/ssh -oProxyCommand=id' }, /the ssh binary/],
    [{ keyPath: undefined, agent: undefined }, /a key file or an ssh-agent socket is needed/],
    [{ home: `/tmp/${'h'.repeat(80)}` }, /the control socket .* at most 100 characters/],
  ];
  for (const [patch, why] of refused) assert.throws(() => oumiSshSetup({ ...lab, ...patch }), why, JSON.stringify(patch));
  const spaced = oumiSshSetup({ ...lab, keyPath: '/keys/my key' });
  assert.match(spaced.config, /IdentityFile "\/keys\/my key"/);
});

const haveSsh = existsSync('/usr/bin/ssh');

test('OpenSSH reads the generated config as meant (ssh -G), a quoted path with a space included', { skip: !haveSsh && 'no /usr/bin/ssh' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlv-oumi-'));
  try {
    const s = oumiSshSetup({ ...lab, home: dir, keyPath: '/keys/my key' });
    mkdirSync(join(dir, '.ssh'), { mode: 0o700 });
    writeFileSync(s.configPath, s.config, { mode: 0o600 });
    const g = execFileSync('/usr/bin/ssh', ['-G', '-F', s.configPath, s.alias], { encoding: 'utf8' });
    const opt = (k: string) =>
      g
        .split('\n')
        .find((l) => l.startsWith(`${k} `))
        ?.slice(k.length + 1);
    assert.deepEqual(['hostname', 'port', 'user', 'identityfile', 'stricthostkeychecking', 'userknownhostsfile', 'batchmode', 'controlmaster', 'controlpersist', 'identitiesonly'].map(opt), [
      '127.0.0.1',
      '2222',
      'mlops',
      '/keys/my key',
      'true',
      '/var/lib/mlops-lab/ssh/known_hosts',
      'yes',
      'auto',
      '600',
      'yes',
    ]);
    assert.equal(opt('controlpath'), `${dir}/.ssh/control-127.0.0.1-2222-mlops`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the ssh wrapper: -F the dedicated config, Oumi's -S ~/ kept in the HOME, its locally expanded log path made the remote home's", () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlv-oumi-'));
  try {
    const fake = join(dir, 'fake-ssh');
    writeFileSync(fake, '#!/bin/sh\nfor a do printf "%s\\n" "$a"; done\n');
    chmodSync(fake, 0o755);
    const s = oumiSshSetup({ ...lab, home: join(dir, 'home'), ssh: fake });
    mkdirSync(join(dir, 'home', 'bin'), { recursive: true });
    writeFileSync(s.wrapperPath, s.wrapper, { mode: 0o700 });
    const run = (...args: string[]) =>
      execFileSync('/bin/sh', [s.wrapperPath, ...args], { encoding: 'utf8' })
        .split('\n')
        .slice(0, -1);
    const h = s.env.HOME;
    assert.deepEqual(run('-S', '~/.ssh/control-%h-%p-%r', 'mlops@127.0.0.1', 'test', '-f', `${h}/oumi_slurm_logs/3.out`), [
      '-F',
      s.configPath,
      '-S',
      `${h}/.ssh/control-%h-%p-%r`,
      'mlops@127.0.0.1',
      'test',
      '-f',
      'oumi_slurm_logs/3.out',
    ]);
    // rsync -e: the remote path after the host is the remote's ~, left alone; arguments keep their spaces.
    assert.deepEqual(run('-S', '~/.ssh/c', 'mlops@127.0.0.1', 'rsync', '--server', '.', '~/oumi_launcher/2026', 'a b'), [
      '-F',
      s.configPath,
      '-S',
      `${h}/.ssh/c`,
      'mlops@127.0.0.1',
      'rsync',
      '--server',
      '.',
      '~/oumi_launcher/2026',
      'a b',
    ]);
    assert.deepEqual(run('-O', 'exit', '127.0.0.1'), ['-F', s.configPath, '-O', 'exit', '127.0.0.1']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
