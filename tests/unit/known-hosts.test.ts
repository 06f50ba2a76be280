import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHostKey, fingerprint, hostEntries, hostKeyAlgorithms, keyTypeOf, verifyHostKey } from '../../helpers/known-hosts.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlv-known-hosts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** SSH wire-format string: uint32 length + bytes. */
function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** A fresh ed25519 public key blob, as ssh2 hands it to hostVerifier. */
function ed25519Blob(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  assert.equal(raw.length, 32);
  return Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(raw)]);
}

const KEY_A = ed25519Blob();
const KEY_B = ed25519Blob();
const b64 = (k: Buffer) => k.toString('base64');
const line = (patterns: string, k: Buffer, marker = '') => `${marker ? marker + ' ' : ''}${patterns} ssh-ed25519 ${b64(k)}`;

/** OpenSSH's hashed host: |1|base64(salt)|base64(HMAC-SHA1(salt, host token)). */
function hashed(token: string, salt = randomBytes(20)): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(token).digest('base64')}`;
}

const ssh = (args: string[]) => spawnSync('ssh-keygen', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const haveSshKeygen = ssh(['-?']).error === undefined;

test('the test key blob is a well-formed ssh-ed25519 key', () => {
  assert.equal(keyTypeOf(KEY_A), 'ssh-ed25519');
  assert.equal(KEY_A.length, 4 + 11 + 4 + 32);
  assert.notDeepEqual(KEY_A, KEY_B);
});

test('a key made by ssh-keygen: its .pub blob has the type ssh-ed25519 and is known from its own line', { skip: !haveSshKeygen && 'no ssh-keygen' }, () => {
  const f = join(dir, 'host_key');
  const r = ssh(['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', f]);
  assert.equal(r.status, 0, r.stderr);
  const [type, data] = readFileSync(`${f}.pub`, 'utf8').trim().split(/\s+/);
  assert.equal(type, 'ssh-ed25519');
  const blob = Buffer.from(data!, 'base64');
  assert.equal(keyTypeOf(blob), 'ssh-ed25519');
  assert.deepEqual(checkHostKey(`login.example.org ${type} ${data} test\n`, 'login.example.org', 22, blob), { ok: true, how: 'known' });
  assert.deepEqual(checkHostKey(`login.example.org ${type} ${data} test\n`, 'login.example.org', 22, KEY_A), { ok: false, reason: 'mismatch' });
});

test('plain entries: known, mismatch, unknown', () => {
  const kh = [line('login.example.org', KEY_A), line('other.example.org', KEY_B)].join('\n');
  assert.deepEqual(checkHostKey(kh, 'login.example.org', 22, KEY_A), { ok: true, how: 'known' });
  assert.deepEqual(checkHostKey(kh, 'LOGIN.Example.ORG', 22, KEY_A), { ok: true, how: 'known' }, 'host names are case-insensitive');
  assert.deepEqual(checkHostKey(kh, 'login.example.org', 22, KEY_B), { ok: false, reason: 'mismatch' });
  assert.deepEqual(checkHostKey(kh, 'new.example.org', 22, KEY_A), { ok: false, reason: 'unknown' });
  assert.deepEqual(checkHostKey('', 'login.example.org', 22, KEY_A), { ok: false, reason: 'unknown' });
  // "." is literal, not a regex wildcard.
  assert.deepEqual(checkHostKey(kh, 'loginXexample.org', 22, KEY_A), { ok: false, reason: 'unknown' });
  assert.deepEqual(checkHostKey(kh, 'login.example.org.evil', 22, KEY_A), { ok: false, reason: 'unknown' });
  assert.deepEqual(checkHostKey(kh, 'xlogin.example.org', 22, KEY_A), { ok: false, reason: 'unknown' });
});

test('a host with several keys: any listed key is known', () => {
  const kh = [line('login', KEY_B), line('login', KEY_A)].join('\n');
  assert.deepEqual(checkHostKey(kh, 'login', 22, KEY_A), { ok: true, how: 'known' });
  assert.deepEqual(checkHostKey(kh, 'login', 22, KEY_B), { ok: true, how: 'known' });
});

test('comma-separated names and addresses, comments, blank lines, trailing key comments', () => {
  const kh = ['# a comment', '', `   ${line('login,login.example.org,10.0.0.5', KEY_A)} root@login`, '\t# another'].join('\n');
  for (const h of ['login', 'login.example.org', '10.0.0.5']) assert.deepEqual(checkHostKey(kh, h, 22, KEY_A), { ok: true, how: 'known' }, h);
  assert.deepEqual(checkHostKey(kh, '10.0.0.50', 22, KEY_A), { ok: false, reason: 'unknown' });
  assert.deepEqual(checkHostKey('# login ssh-ed25519 ' + b64(KEY_A), 'login', 22, KEY_A), { ok: false, reason: 'unknown' });
});

test('[host]:port entries are for that port only; plain entries for port 22 only', () => {
  const kh = [line('[127.0.0.1]:2222', KEY_A), line('127.0.0.1', KEY_B)].join('\n');
  assert.deepEqual(checkHostKey(kh, '127.0.0.1', 2222, KEY_A), { ok: true, how: 'known' });
  assert.deepEqual(checkHostKey(kh, '127.0.0.1', 2222, KEY_B), { ok: false, reason: 'mismatch' });
  assert.deepEqual(checkHostKey(kh, '127.0.0.1', 22, KEY_B), { ok: true, how: 'known' });
  assert.deepEqual(checkHostKey(kh, '127.0.0.1', 22, KEY_A), { ok: false, reason: 'mismatch' });
  assert.deepEqual(checkHostKey(kh, '127.0.0.1', 2223, KEY_A), { ok: false, reason: 'unknown' });
  assert.deepEqual(checkHostKey(line('[127.0.0.1]:22', KEY_A), '127.0.0.1', 22, KEY_A), { ok: false, reason: 'unknown' });
});

test('hashed |1|salt|hash entries (computed with HMAC-SHA1)', () => {
  const kh = [line(hashed('login.example.org'), KEY_A), line(hashed('[127.0.0.1]:2222'), KEY_B)].join('\n');
  assert.deepEqual(checkHostKey(kh, 'login.example.org', 22, KEY_A), { ok: true, how: 'known' });
  assert.deepEqual(checkHostKey(kh, 'login.example.org', 22, KEY_B), { ok: false, reason: 'mismatch' });
  assert.deepEqual(checkHostKey(kh, 'other.example.org', 22, KEY_A), { ok: false, reason: 'unknown' });
  assert.deepEqual(checkHostKey(kh, '127.0.0.1', 2222, KEY_B), { ok: true, how: 'known' });
  assert.deepEqual(checkHostKey(kh, '127.0.0.1', 22, KEY_B), { ok: false, reason: 'unknown' });
  // Malformed hashed patterns never match.
  assert.deepEqual(checkHostKey(line('|1|', KEY_A), 'login', 22, KEY_A), { ok: false, reason: 'unknown' });
  assert.deepEqual(checkHostKey(line('|1|c2FsdA==', KEY_A), 'login', 22, KEY_A), { ok: false, reason: 'unknown' });
  assert.deepEqual(checkHostKey(line(`|1|${randomBytes(20).toString('base64')}|AAAA`, KEY_A), 'login', 22, KEY_A), { ok: false, reason: 'unknown' });
});

test('hashed entries made by ssh-keygen -H', { skip: !haveSshKeygen && 'no ssh-keygen' }, () => {
  const f = join(dir, 'known_hosts_to_hash');
  writeFileSync(f, [line('login.example.org', KEY_A), line('[127.0.0.1]:2222', KEY_B), line('10.0.0.5', KEY_B)].join('\n') + '\n');
  const r = ssh(['-H', '-f', f]);
  assert.equal(r.status, 0, r.stderr);
  const text = readFileSync(f, 'utf8');
  assert.ok(!text.includes('login.example.org') && !text.includes('127.0.0.1'), 'the file is hashed');
  assert.equal(
    text
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('|1|')).length,
    3,
  );
  assert.deepEqual(checkHostKey(text, 'login.example.org', 22, KEY_A), { ok: true, how: 'known' });
  assert.deepEqual(checkHostKey(text, 'login.example.org', 22, KEY_B), { ok: false, reason: 'mismatch' });
  assert.deepEqual(checkHostKey(text, '127.0.0.1', 2222, KEY_B), { ok: true, how: 'known' });
  assert.deepEqual(checkHostKey(text, '127.0.0.1', 22, KEY_B), { ok: false, reason: 'unknown' });
  assert.deepEqual(checkHostKey(text, '10.0.0.5', 22, KEY_B), { ok: true, how: 'known' });
  // ssh-keygen -F finds the same entries (our hashing agrees with OpenSSH's).
  assert.equal(ssh(['-F', '[127.0.0.1]:2222', '-f', f]).status, 0);
  assert.notEqual(ssh(['-F', '127.0.0.1', '-f', f]).status, 0);
});

test('our own hashed entries are found by ssh-keygen -F', { skip: !haveSshKeygen && 'no ssh-keygen' }, () => {
  const f = join(dir, 'known_hosts_ours');
  writeFileSync(f, line(hashed('[login.example.org]:2200'), KEY_A) + '\n');
  assert.equal(ssh(['-F', '[login.example.org]:2200', '-f', f]).status, 0);
});

test('wildcard patterns: * and ?', () => {
  const kh = [line('*.example.org', KEY_A), line('node?', KEY_B)].join('\n');
  assert.deepEqual(checkHostKey(kh, 'login.example.org', 22, KEY_A), { ok: true, how: 'known' });
  assert.deepEqual(checkHostKey(kh, 'a.b.example.org', 22, KEY_A), { ok: true, how: 'known' });
  assert.deepEqual(checkHostKey(kh, 'example.org', 22, KEY_A), { ok: false, reason: 'unknown' });
  assert.deepEqual(checkHostKey(kh, 'login.example.org.evil.com', 22, KEY_A), { ok: false, reason: 'unknown' });
  assert.deepEqual(checkHostKey(kh, 'node1', 22, KEY_B), { ok: true, how: 'known' });
  assert.deepEqual(checkHostKey(kh, 'node10', 22, KEY_B), { ok: false, reason: 'unknown' });
  assert.deepEqual(checkHostKey(kh, 'node', 22, KEY_B), { ok: false, reason: 'unknown' });
  assert.deepEqual(checkHostKey(line('[10.0.0.*]:2222', KEY_A), '10.0.0.7', 2222, KEY_A), { ok: true, how: 'known' });
});

test('negated patterns exclude a host even when another pattern matches', () => {
  const kh = line('*.example.org,!bastion.example.org', KEY_A);
  assert.deepEqual(checkHostKey(kh, 'login.example.org', 22, KEY_A), { ok: true, how: 'known' });
  assert.deepEqual(checkHostKey(kh, 'bastion.example.org', 22, KEY_A), { ok: false, reason: 'unknown' });
  assert.deepEqual(checkHostKey(line('!bastion.example.org,*.example.org', KEY_A), 'bastion.example.org', 22, KEY_A), { ok: false, reason: 'unknown' });
  // A negation alone matches nothing.
  assert.deepEqual(checkHostKey(line('!bastion', KEY_A), 'login', 22, KEY_A), { ok: false, reason: 'unknown' });
  // Negated host with a different key elsewhere: only that entry counts.
  const two = [line('*.example.org,!bastion.example.org', KEY_A), line('bastion.example.org', KEY_B)].join('\n');
  assert.deepEqual(checkHostKey(two, 'bastion.example.org', 22, KEY_B), { ok: true, how: 'known' });
  assert.deepEqual(checkHostKey(two, 'bastion.example.org', 22, KEY_A), { ok: false, reason: 'mismatch' });
});

test('@revoked keys are refused, even through a wildcard', () => {
  const kh = [line('*', KEY_A, '@revoked'), line('login', KEY_A), line('login', KEY_B)].join('\n');
  assert.deepEqual(checkHostKey(kh, 'login', 22, KEY_A), { ok: false, reason: 'revoked' });
  assert.deepEqual(checkHostKey(kh, 'login', 22, KEY_B), { ok: true, how: 'known' });
  // A revoked key for a host with no other entry is revoked, not unknown.
  assert.deepEqual(checkHostKey(line('other', KEY_B, '@revoked'), 'other', 22, KEY_B), { ok: false, reason: 'revoked' });
  // A revocation of another key does not make the host known.
  assert.deepEqual(checkHostKey(line('other', KEY_B, '@revoked'), 'other', 22, KEY_A), { ok: false, reason: 'unknown' });
});

test('@revoked wins wherever it stands in the file', () => {
  const kh = [line('login', KEY_A), line('*', KEY_A, '@revoked')].join('\n');
  assert.deepEqual(checkHostKey(kh, 'login', 22, KEY_A), { ok: false, reason: 'revoked' });
});

test('@cert-authority lines do not make a host known', () => {
  assert.deepEqual(checkHostKey(line('*.example.org', KEY_A, '@cert-authority'), 'login.example.org', 22, KEY_A), { ok: false, reason: 'unknown' });
});

test('verifyHostKey off: always unchecked, touches nothing', () => {
  const f = join(dir, 'off_known_hosts');
  assert.deepEqual(verifyHostKey('off', f, 'login', 22, KEY_A), { ok: true, how: 'unchecked' });
  assert.equal(existsSync(f), false);
  writeFileSync(f, line('login', KEY_B) + '\n');
  assert.deepEqual(verifyHostKey('off', f, 'login', 22, KEY_A), { ok: true, how: 'unchecked' }, 'even a mismatch');
  assert.equal(readFileSync(f, 'utf8'), line('login', KEY_B) + '\n');
});

test('verifyHostKey strict: unknown and mismatch are refused, nothing is written', () => {
  const missing = join(dir, 'strict_missing');
  assert.deepEqual(verifyHostKey('strict', missing, 'login', 22, KEY_A), { ok: false, reason: 'unknown' });
  assert.equal(existsSync(missing), false);
  const f = join(dir, 'strict_known_hosts');
  const text = line('[login]:2222', KEY_A) + '\n';
  writeFileSync(f, text);
  assert.deepEqual(verifyHostKey('strict', f, 'login', 2222, KEY_A), { ok: true, how: 'known' });
  assert.deepEqual(verifyHostKey('strict', f, 'login', 2222, KEY_B), { ok: false, reason: 'mismatch' });
  assert.deepEqual(verifyHostKey('strict', f, 'login', 22, KEY_A), { ok: false, reason: 'unknown' });
  assert.equal(readFileSync(f, 'utf8'), text);
});

test('verifyHostKey accept-new: appends an unknown host once, then it is known; mismatch and revoked still refused', () => {
  const f = join(dir, 'accept_new_known_hosts');
  assert.deepEqual(verifyHostKey('accept-new', f, '127.0.0.1', 2222, KEY_A), { ok: true, how: 'added' });
  assert.equal(readFileSync(f, 'utf8'), `[127.0.0.1]:2222 ssh-ed25519 ${b64(KEY_A)}\n`);
  assert.equal(statSync(f).mode & 0o777, 0o600);
  assert.deepEqual(verifyHostKey('accept-new', f, '127.0.0.1', 2222, KEY_A), { ok: true, how: 'known' });
  assert.deepEqual(verifyHostKey('strict', f, '127.0.0.1', 2222, KEY_A), { ok: true, how: 'known' });
  // A changed key is a mismatch, not a new host: refused and not written.
  assert.deepEqual(verifyHostKey('accept-new', f, '127.0.0.1', 2222, KEY_B), { ok: false, reason: 'mismatch' });
  // Port 22 of the same address is another host.
  assert.deepEqual(verifyHostKey('accept-new', f, '127.0.0.1', 22, KEY_B), { ok: true, how: 'added' });
  assert.equal(readFileSync(f, 'utf8'), `[127.0.0.1]:2222 ssh-ed25519 ${b64(KEY_A)}\n127.0.0.1 ssh-ed25519 ${b64(KEY_B)}\n`);
  // Revoked keys are never added.
  const r = join(dir, 'accept_new_revoked');
  writeFileSync(r, line('*', KEY_A, '@revoked') + '\n');
  assert.deepEqual(verifyHostKey('accept-new', r, 'login', 22, KEY_A), { ok: false, reason: 'revoked' });
  assert.equal(readFileSync(r, 'utf8'), line('*', KEY_A, '@revoked') + '\n');
});

test('verifyHostKey accept-new: the appended entry is readable by OpenSSH', { skip: !haveSshKeygen && 'no ssh-keygen' }, () => {
  const f = join(dir, 'accept_new_openssh');
  verifyHostKey('accept-new', f, 'login.example.org', 2200, KEY_A);
  const r = ssh(['-F', '[login.example.org]:2200', '-f', f]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes(b64(KEY_A)));
});

test('verifyHostKey accept-new on a file without a final newline keeps both entries intact', () => {
  const f = join(dir, 'accept_new_no_newline');
  writeFileSync(f, line('other', KEY_B));
  assert.deepEqual(verifyHostKey('accept-new', f, 'login', 22, KEY_A), { ok: true, how: 'added' });
  assert.deepEqual(verifyHostKey('strict', f, 'login', 22, KEY_A), { ok: true, how: 'known' });
  assert.deepEqual(verifyHostKey('strict', f, 'other', 22, KEY_B), { ok: true, how: 'known' });
});

const RSA_LINE = (patterns: string) => `${patterns} ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7`;

test('a key of a type known_hosts does not hold for the host is other-type, not a mismatch; accept-new adds it', () => {
  const kh = RSA_LINE('login');
  assert.deepEqual(checkHostKey(kh, 'login', 22, KEY_A), { ok: false, reason: 'other-type' });
  assert.deepEqual(checkHostKey(`${kh}\n${line('login', KEY_B)}`, 'login', 22, KEY_A), { ok: false, reason: 'mismatch' }, 'same type, other key');
  const f = join(dir, 'other_type_known_hosts');
  writeFileSync(f, kh + '\n');
  assert.deepEqual(verifyHostKey('strict', f, 'login', 22, KEY_A), { ok: false, reason: 'other-type' });
  assert.deepEqual(verifyHostKey('accept-new', f, 'login', 22, KEY_A), { ok: true, how: 'added' });
  assert.deepEqual(verifyHostKey('strict', f, 'login', 22, KEY_A), { ok: true, how: 'known' });
});

test('hostEntries: the key types held for a host and its @cert-authority lines', () => {
  const kh = [RSA_LINE('login'), line('login', KEY_A), line('login', KEY_B), line('*.example.org', KEY_A, '@cert-authority'), line('other', KEY_A)].join('\n');
  assert.deepEqual(hostEntries(kh, 'login', 22), { types: ['ssh-rsa', 'ssh-ed25519'], certAuthority: 0 });
  assert.deepEqual(hostEntries(kh, 'login.example.org', 22), { types: [], certAuthority: 1 });
  assert.deepEqual(hostEntries(kh, 'login', 2222), { types: [], certAuthority: 0 });
});

test('hostKeyAlgorithms: the held types first (RSA as its SHA-2 signatures), then the rest of ssh2 defaults; none held: default', () => {
  assert.deepEqual(hostKeyAlgorithms(['ssh-rsa']), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521']);
  assert.deepEqual(hostKeyAlgorithms(['ecdsa-sha2-nistp384', 'ssh-ed25519'])?.slice(0, 3), ['ecdsa-sha2-nistp384', 'ssh-ed25519', 'ecdsa-sha2-nistp256']);
  assert.equal(hostKeyAlgorithms(['ssh-dss'])?.[0], 'ssh-dss');
  assert.equal(hostKeyAlgorithms([]), undefined);
  assert.equal(hostKeyAlgorithms(['ssh-ed25519-cert-v01@openssh.com']), undefined, 'certificate types are not offered');
});

test('fingerprint is OpenSSH SHA256 form', { skip: !haveSshKeygen && 'no ssh-keygen' }, () => {
  const f = join(dir, 'fp_key');
  assert.equal(ssh(['-q', '-t', 'ed25519', '-N', '', '-f', f]).status, 0);
  const blob = Buffer.from(readFileSync(`${f}.pub`, 'utf8').split(/\s+/)[1]!, 'base64');
  assert.equal(ssh(['-lf', `${f}.pub`]).stdout.split(/\s+/)[1], fingerprint(blob));
});
