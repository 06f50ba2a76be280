/**
 * OpenSSH known_hosts matching for ssh2's `hostVerifier`: plain, wildcard and hashed
 * (`|1|salt|hmac`) host patterns, `[host]:port` for non-22 ports, and `@revoked`.
 * `@cert-authority` lines are not supported (ssh2 negotiates no host certificates): they
 * never make a host known, and the refusal names them. As OpenSSH does, a key of a type
 * known_hosts does not hold for the host is a new key ('other-type'), not a mismatch, and
 * the host-key algorithms offered are ordered by the types it holds (hostKeyAlgorithms).
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_DIR } from './run-state.ts';

export type HostKeyVerdict = { ok: true; how: 'known' | 'added' | 'unchecked' } | { ok: false; reason: 'unknown' | 'mismatch' | 'revoked' | 'other-type' };

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

export function hostToken(host: string, port: number): string {
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
  const type = keyTypeOf(key);
  let sawHost = false;
  let sameType = false;
  let known = false;
  for (const e of entries(knownHostsText)) {
    if (!matches(e.patterns, token)) continue;
    // A revoked key is refused wherever its line stands, as OpenSSH does.
    if (e.marker === '@revoked') {
      if (e.key === blob) return { ok: false, reason: 'revoked' };
      continue;
    }
    if (e.marker) continue; // @cert-authority: not supported, see hostEntries()
    if (e.key === blob) known = true;
    else if (e.keyType === type) sameType = true;
    else sawHost = true;
  }
  if (known) return { ok: true, how: 'known' };
  return { ok: false, reason: sameType ? 'mismatch' : sawHost ? 'other-type' : 'unknown' };
}

/** What known_hosts holds for `host:port`: key types of its plain entries and any @cert-authority lines. */
export function hostEntries(knownHostsText: string, host: string, port: number): { types: string[]; certAuthority: number } {
  const token = hostToken(host, port);
  const mine = entries(knownHostsText).filter((e) => matches(e.patterns, token));
  return { types: [...new Set(mine.filter((e) => !e.marker).map((e) => e.keyType))], certAuthority: mine.filter((e) => e.marker === '@cert-authority').length };
}

/** ssh2 1.17's default serverHostKey list, most preferred first (node_modules/ssh2/lib/protocol/constants.js). */
const SSH2_HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
/** The signature algorithms that prove a key of a known_hosts type. */
const ALGORITHMS_OF: Record<string, string[]> = { 'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'], 'ssh-dss': ['ssh-dss'] };

/**
 * The serverHostKey list to offer: the algorithms of the key types known_hosts holds for the
 * host first, then the rest of ssh2's defaults (as OpenSSH orders them). Undefined when it
 * holds none: ssh2's default order.
 */
export function hostKeyAlgorithms(knownTypes: string[]): string[] | undefined {
  const first = knownTypes.flatMap((t) => ALGORITHMS_OF[t] ?? (SSH2_HOST_KEY_ALGORITHMS.includes(t) ? [t] : []));
  if (!first.length) return undefined;
  return [...new Set([...first, ...SSH2_HOST_KEY_ALGORITHMS])];
}

/** OpenSSH's fingerprint of a public key blob: `SHA256:` + unpadded base64 of its SHA-256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
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
  // accept-new adds a host's first key of a type, as OpenSSH does; never a changed or revoked key.
  if (v.ok || policy === 'strict' || (v.reason !== 'unknown' && v.reason !== 'other-type')) return v;
  const sep = text && !text.endsWith('\n') ? '\n' : '';
  appendFileSync(path, `${sep}${hostToken(host, port)} ${keyTypeOf(key)} ${key.toString('base64')}\n`, { mode: 0o600 });
  return { ok: true, how: 'added' };
}

/** Keys accept-new added during a run, so every test and the matrix can say so. */
const addedKeysFile = (runId: string, dir = STATE_DIR) => join(dir, `host-keys-added-${runId}.jsonl`);

interface AddedKey {
  host: string;
  port: number;
  type: string;
  fingerprint: string;
  knownHosts: string;
}

const OFF_WARNING = 'WARNING: SSH host keys are NOT checked (MLV_SSH_HOST_KEY_CHECK=off): the connection could be intercepted. Use strict (the default) or accept-new.';
const addedWarning = (k: AddedKey) =>
  `WARNING: trusted a new SSH host key on first use (MLV_SSH_HOST_KEY_CHECK=accept-new): ${hostToken(k.host, k.port)} ${k.type} ${k.fingerprint}, added to ${k.knownHosts}. Verify this fingerprint out of band.`;

/** Print a warning to stderr once per run, whichever worker gets here first. */
function onceOnStderr(runId: string | undefined, key: string, line: string, dir = STATE_DIR) {
  if (runId) {
    try {
      mkdirSync(dir, { recursive: true });
      closeSync(openSync(join(dir, `warned-${runId}-${createHash('sha1').update(key).digest('hex').slice(0, 12)}`), 'wx'));
    } catch {
      return; // another worker (or an earlier call) printed it
    }
  }
  process.stderr.write(`${line}\n`);
}

/** Record a key accept-new added, and warn about it once. */
export function noteAddedKey(k: AddedKey, runId = process.env.MLV_RUN_ID, dir = STATE_DIR) {
  if (runId) {
    mkdirSync(dir, { recursive: true });
    appendFileSync(addedKeysFile(runId, dir), JSON.stringify(k) + '\n');
  }
  onceOnStderr(runId, `added ${k.host}:${k.port} ${k.fingerprint}`, addedWarning(k), dir);
}

function addedKeys(runId: string, dir: string): AddedKey[] {
  const f = addedKeysFile(runId, dir);
  if (!existsSync(f)) return [];
  const all = readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AddedKey);
  return [...new Map(all.map((k) => [`${k.host}:${k.port} ${k.fingerprint}`, k])).values()];
}

/** The one-line warnings of a run: host keys unchecked, and each key accept-new added. */
export function hostKeyWarnings(policy: string | undefined, runId: string | undefined, dir = STATE_DIR): string[] {
  return [...(policy === 'off' ? [OFF_WARNING] : []), ...(runId ? addedKeys(runId, dir).map(addedWarning) : [])];
}

/** At the start of a run: the `off` warning, once on stderr. */
export function warnIfUnchecked(policy: string | undefined, runId: string | undefined, dir = STATE_DIR) {
  if (policy === 'off') onceOnStderr(runId, 'off', OFF_WARNING, dir);
}
