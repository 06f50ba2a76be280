/**
 * Host keys against a real ssh2 Server in-process that offers ed25519 and RSA host keys made
 * by ssh-keygen: an RSA-only known_hosts entry is checked as RSA (the offered algorithms are
 * ordered by what known_hosts holds), a changed key is refused with its SHA256 fingerprint
 * and a fix that is not accept-new, @cert-authority lines are named as unsupported, and off
 * and accept-new print a one-line warning once per run.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { SshTarget } from '../../helpers/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlv-ssh-hostkeys-'));
// The state directory (where warnings and added keys are recorded) is read at import time.
process.env.MLV_STATE_DIR = join(dir, 'state');
const { SshConnection, serverHostKeyOrder } = await import('../../clients/ssh.ts');
const { fingerprint, hostKeyWarnings, warnIfUnchecked } = await import('../../helpers/known-hosts.ts');

const haveSshKeygen = spawnSync('ssh-keygen', ['-?']).error === undefined;
const keygen = (type: string, name: string) => {
  const f = join(dir, name);
  const r = spawnSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-C', name, '-f', f], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [keyType, blob] = readFileSync(`${f}.pub`, 'utf8').trim().split(/\s+/);
  return { priv: readFileSync(f), keyType: keyType!, blob: blob!, path: f };
};

let server: InstanceType<typeof ssh2.Server> | undefined;
let port = 0;
const negotiated: string[] = [];
let keys: Record<'ed' | 'rsa' | 'otherRsa' | 'client', ReturnType<typeof keygen>>;

before(async () => {
  if (!haveSshKeygen) return;
  keys = { ed: keygen('ed25519', 'host_ed25519'), rsa: keygen('rsa', 'host_rsa'), otherRsa: keygen('rsa', 'other_rsa'), client: keygen('ed25519', 'client') };
  server = new ssh2.Server({ hostKeys: [keys.ed.priv, keys.rsa.priv] }, (client) => {
    client.on('handshake', (n) => negotiated.push(n.serverHostKey));
    client.on('authentication', (ctx) => ctx.accept());
    client.on('error', () => {});
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function target(knownHosts: string, hostKeyCheck: SshTarget['hostKeyCheck'] = 'strict'): SshTarget {
  const kh = join(dir, `known_hosts_${Math.random().toString(36).slice(2)}`);
  writeFileSync(kh, knownHosts);
  return { host: '127.0.0.1', alias: '127.0.0.1', port, user: 'mlops', keyPath: keys.client.path, knownHostsPath: kh, hostKeyCheck };
}
const entry = (k: { keyType: string; blob: string }, marker = '') => `${marker ? `${marker} ` : ''}[127.0.0.1]:${port} ${k.keyType} ${k.blob}\n`;

async function connectError(t: SshTarget): Promise<string> {
  try {
    (await SshConnection.connect(t)).close();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

const skip = !haveSshKeygen && 'no ssh-keygen';

test('an RSA-only known_hosts entry against a server offering ed25519 first is checked as RSA and connects', { skip }, async () => {
  const t = target(entry(keys.rsa));
  assert.deepEqual(serverHostKeyOrder(t, '127.0.0.1', port)?.slice(0, 4), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
  negotiated.length = 0;
  const conn = await SshConnection.connect(t);
  conn.close();
  assert.match(negotiated[0]!, /^rsa-sha2-/);
});

test('without the ordering the same server shows ed25519 first, which the RSA-only entry cannot prove (the old false mismatch)', { skip }, async () => {
  const { verifyHostKey } = await import('../../helpers/known-hosts.ts');
  const t = target(entry(keys.rsa));
  const verdict = await new Promise<unknown>((resolve) => {
    const c = new ssh2.Client();
    c.on('error', () => {});
    c.connect({
      host: '127.0.0.1',
      port,
      username: 'x',
      hostVerifier: (key: Buffer) => {
        resolve(verifyHostKey('strict', t.knownHostsPath, '127.0.0.1', port, key));
        return false;
      },
    });
  });
  assert.deepEqual(verdict, { ok: false, reason: 'other-type' }, 'a key type known_hosts does not hold is not a mismatch');
});

test('an ed25519 entry still prefers ed25519; known_hosts holding both types connects either way', { skip }, async () => {
  assert.equal(serverHostKeyOrder(target(entry(keys.ed)), '127.0.0.1', port)?.[0], 'ssh-ed25519');
  negotiated.length = 0;
  (await SshConnection.connect(target(entry(keys.rsa) + entry(keys.ed)))).close();
  assert.ok(negotiated[0]);
});

test('a changed key: refused naming the offered SHA256 fingerprint; the fix is ssh-keygen -R and out-of-band verification, never accept-new', { skip }, async () => {
  const t = target(entry(keys.otherRsa));
  const m = await connectError(t);
  const fp = fingerprint(Buffer.from(keys.rsa.blob, 'base64'));
  assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/);
  // Our fingerprint is OpenSSH's.
  assert.ok(spawnSync('ssh-keygen', ['-lf', `${keys.rsa.path}.pub`], { encoding: 'utf8' }).stdout.includes(fp));
  assert.match(
    m,
    new RegExp(`^INFRA: SSH to mlops@127\\.0\\.0\\.1:${port}: the server's ssh-rsa host key ${fp.replace(/[+/]/g, '\\$&')} does NOT match the ssh-rsa key recorded for \\[127\\.0\\.0\\.1\\]:${port}`),
  );
  assert.match(m, new RegExp(`ssh-keygen -R '\\[127\\.0\\.0\\.1\\]:${port}' -f ${t.knownHostsPath}`));
  assert.match(m, /verify SHA256:\S+ out of band/);
  assert.match(m, /accept-new does not accept a changed key/);
  assert.doesNotMatch(m, /set MLV_SSH_HOST_KEY_CHECK=accept-new/);
  assert.equal(readFileSync(t.knownHostsPath, 'utf8'), entry(keys.otherRsa), 'known_hosts untouched');
});

test('@cert-authority lines are named as unsupported; a revoked key is refused naming @revoked', { skip }, async () => {
  const ca = await connectError(target(entry(keys.ed, '@cert-authority')));
  assert.match(ca, /is not in .*has 1 @cert-authority line\(s\) for it: host certificates are not supported by this suite/);
  const revoked = await connectError(target(entry(keys.ed, '@revoked') + entry(keys.rsa, '@revoked') + entry(keys.ed)));
  assert.match(revoked, /host key SHA256:\S+ is marked @revoked in/);
});

test('accept-new: the first key is added, warned about once on stderr, and listed for every test and the matrix', { skip }, async () => {
  process.env.MLV_RUN_ID = 'mlv-test-accept-new';
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (lines.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const t = target('', 'accept-new');
    (await SshConnection.connect(t)).close();
    (await SshConnection.connect(t)).close();
    assert.match(readFileSync(t.knownHostsPath, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${port} ssh-ed25519 ${keys.ed.blob.replace(/[+/]/g, '\\$&')}\\n$`));
  } finally {
    process.stderr.write = write;
  }
  const warned = lines.filter((l) => l.startsWith('WARNING: trusted a new SSH host key'));
  assert.equal(warned.length, 1, lines.join(''));
  assert.match(warned[0]!, /accept-new\): \[127\.0\.0\.1\]:\d+ ssh-ed25519 SHA256:\S+, added to .*Verify this fingerprint out of band\.\n$/);
  assert.equal(warned[0]!.trim().split('\n').length, 1, 'one line');
  const listed = hostKeyWarnings('accept-new', 'mlv-test-accept-new');
  assert.equal(listed.length, 1);
  assert.equal(`${listed[0]}\n`, warned[0]);
  assert.deepEqual(hostKeyWarnings('accept-new', 'mlv-other-run'), [], 'another run added nothing');
  assert.deepEqual(hostKeyWarnings('strict', undefined), []);
});

test('off: connects whatever the key, and the warning prints once per run however many workers start', { skip }, async () => {
  (await SshConnection.connect(target(entry(keys.otherRsa), 'off'))).close();
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (lines.push(String(s)), true)) as typeof process.stderr.write;
  try {
    for (let worker = 0; worker < 4; worker++) warnIfUnchecked('off', 'mlv-test-off');
    warnIfUnchecked('strict', 'mlv-test-strict');
    warnIfUnchecked('off', 'mlv-test-off-2');
  } finally {
    process.stderr.write = write;
  }
  assert.equal(lines.length, 2, lines.join(''));
  assert.match(lines[0]!, /^WARNING: SSH host keys are NOT checked \(MLV_SSH_HOST_KEY_CHECK=off\)/);
  assert.match(hostKeyWarnings('off', 'mlv-test-off')[0]!, /NOT checked/);
});
