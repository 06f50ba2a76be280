/**
 * OpenSSH known_hosts matching for ssh2's `hostVerifier`: plain, wildcard and hashed
 * (`|1|salt|hmac`) host patterns, `[host]:port` for non-22 ports, and `@revoked`.
 */
import { createHmac } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export type HostKeyVerdict = { ok: true; how: 'known' | 'added' | 'unchecked' } | { ok: false; reason: 'unknown' | 'mismatch' | 'revoked' };

interface Entry {
  marker?: string;
  patterns: string;
  keyType: string;
  key: string;
}

function entries(text: string): Entry[] {
  const out: Entry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    const marker = f[0]!.startsWith('@') ? f.shift() : undefined;
    if (f.length < 3) continue;
    out.push({ marker, patterns: f[0]!, keyType: f[1]!, key: f[2]! });
  }
  return out;
}

function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
    'i',
  );
  return re.test(value);
}

function matches(patterns: string, token: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(token).digest('base64') === hash;
  }
  let hit = false;
  for (const p of patterns.split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), token)) return false;
    } else if (globMatch(p, token)) hit = true;
  }
  return hit;
}

/** Check `key` (the raw public key blob ssh2 hands to hostVerifier) for `host:port`. */
export function checkHostKey(knownHostsText: string, host: string, port: number, key: Buffer): HostKeyVerdict {
  const token = hostToken(host, port);
  const blob = key.toString('base64');
  let sawHost = false;
  let known = false;
  for (const e of entries(knownHostsText)) {
    if (!matches(e.patterns, token)) continue;
    // A revoked key is refused wherever its line stands, as OpenSSH does.
    if (e.marker === '@revoked') {
      if (e.key === blob) return { ok: false, reason: 'revoked' };
      continue;
    }
    if (e.marker) continue; // @cert-authority: certificates are not used here
    sawHost = true;
    if (e.key === blob) known = true;
  }
  if (known) return { ok: true, how: 'known' };
  return { ok: false, reason: sawHost ? 'mismatch' : 'unknown' };
}

/** The key type name stored at the start of an SSH public key blob. */
export function keyTypeOf(key: Buffer): string {
  const len = key.readUInt32BE(0);
  return key.subarray(4, 4 + len).toString('ascii');
}

/** Host key policy: strict (must be known), accept-new (trust on first use, then strict), off. */
export function verifyHostKey(policy: 'strict' | 'accept-new' | 'off', path: string, host: string, port: number, key: Buffer): HostKeyVerdict {
  if (policy === 'off') return { ok: true, how: 'unchecked' };
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const v = checkHostKey(text, host, port, key);
  if (v.ok || policy === 'strict' || v.reason !== 'unknown') return v;
  const sep = text && !text.endsWith('\n') ? '\n' : '';
  appendFileSync(path, `${sep}${hostToken(host, port)} ${keyTypeOf(key)} ${key.toString('base64')}\n`, { mode: 0o600 });
  return { ok: true, how: 'added' };
}
