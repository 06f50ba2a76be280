/**
 * Checks of the raw `.env` text and of the files it names, before and beside the schema:
 * unknown keys (with "did you mean"), duplicate keys, lines swallowed by an open quote,
 * characters no setting may hold, file kinds, and how a value is echoed in a message.
 */
import { constants, accessSync, statSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { NON_TARGET_KEYS, TARGET_KEYS } from './config-schema.ts';
import { redact } from './redact.ts';

/** C0/C1 controls, DEL, and the Unicode spaces and invisible format characters a reader cannot see. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const INVISIBLE = /[\u0000-\u001f\u007f-\u00a0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f\u2060-\u2064\u3000\ufeff]/;
const INVISIBLE_G = new RegExp(INVISIBLE.source, 'g');

export const SHOWN_CHARS = 80;

/** The first character no setting may hold, described (e.g. "a newline", "U+00A0"), or undefined. */
export function badCharacter(value: string): string | undefined {
  const m = INVISIBLE.exec(value);
  if (!m) return undefined;
  const c = m[0];
  const names: Record<string, string> = { '\n': 'a newline', '\r': 'a carriage return', '\t': 'a tab', '\0': 'a NUL byte', '\u001b': 'an escape (ANSI) character' };
  return names[c] ?? `the invisible character U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** A value as a message may echo it: secrets redacted, control characters escaped (JSON style), cut to about 80 characters. */
export function show(value: string, known: Iterable<string | undefined> = []): string {
  const escaped = JSON.stringify(redact(value, known))
    .slice(1, -1)
    .replace(INVISIBLE_G, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (escaped.length <= SHOWN_CHARS) return `"${escaped}"`;
  return `"${escaped.slice(0, SHOWN_CHARS - 3).replace(/\\u?[0-9a-f]{0,3}$/i, '')}..." (${value.length} characters)`;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** A path as a message names it: bare when it holds only plain characters, else as `show` does. */
export const showPath = (path: string) => (/^[\w./~+@:,=-]{1,200}$/.test(path) ? path : show(path));

/** A key as a message names it: bare when it is a plain name, else escaped and quoted. */
export const keyName = (key: string) => (/^[\w.-]{1,80}$/.test(key) ? key : show(key));

/** The closest target setting to `key`: same letters in another case, a missing MLV_ prefix, or a few edits away. */
export function suggestKey(key: string): string | undefined {
  const k = key.toUpperCase().replace(/-/g, '_');
  const withPrefix = k.startsWith('MLV_') ? k : `MLV_${k}`;
  let best: { key: string; d: number } | undefined;
  for (const t of TARGET_KEYS) {
    // A known name with something appended (MLV_PYTHONPATH) is close, but a one-letter slip is closer.
    const edits = Math.min(distance(k, t), distance(withPrefix, t));
    const d = withPrefix.startsWith(t) ? Math.min(edits, 1.5) : edits;
    if (!best || d < best.d) best = { key: t, d };
  }
  const allowed = Math.max(2, Math.floor(k.length / 6));
  return best && best.d <= allowed ? best.key : undefined;
}

/** True for a name this suite knows (a target setting, or a runner/lab variable). */
export const knownKey = (key: string) => TARGET_KEYS.includes(key) || NON_TARGET_KEYS.has(key);

/** One problem per unknown key, with "did you mean". `where` says where the key was found. */
export function unknownKeyProblems(keys: { key: string; where: string }[]): string[] {
  return keys
    .filter(({ key }) => !knownKey(key))
    .map(({ key, where }) => {
      const s = suggestKey(key);
      const hint = s ? (s === key.toUpperCase() ? `did you mean ${s}? Setting names are upper case.` : `did you mean ${s}?`) : 'it is not a setting of this suite.';
      return `${keyName(key)} (${where}) is not a known setting: ${hint} Fix: rename or remove it (the settings are listed in .env.example).`;
    });
}

/** The keys of a `.env` text, line by line as dotenv reads each line alone. */
function keysByLine(text: string): { key: string; line: number }[] {
  return text.split(/\r?\n/).flatMap((l, i) => Object.keys(parseDotenv(l)).map((key) => ({ key, line: i + 1 })));
}

/**
 * Read a `.env` text with dotenv, and report what dotenv accepts silently: a key set on two
 * lines (the later one wins) and a key line swallowed into an earlier value by an open quote.
 */
export function readDotenv(text: string): { vars: Record<string, string>; problems: string[] } {
  const vars = parseDotenv(text);
  const problems: string[] = [];
  const lines = new Map<string, number[]>();
  for (const { key, line } of keysByLine(text)) lines.set(key, [...(lines.get(key) ?? []), line]);
  for (const [key, at] of lines) {
    const name = keyName(key);
    if (!(key in vars))
      problems.push(`${name} on line ${at[0]} is not read: it is swallowed into an earlier value by a quote that is not closed on its own line. Fix: close the quote on the line where it opens.`);
    else if (at.length > 1) problems.push(`${name} is set twice, on lines ${at.slice(0, -1).join(', ')} and ${at.at(-1)} (dotenv would silently keep line ${at.at(-1)}). Fix: keep one of them.`);
  }
  return { vars, problems };
}

export type FileKind = 'file' | 'socket';

/** What is wrong with `path` as a readable file (or socket), or undefined when it is fine. No raw Node error escapes. */
export function fileProblem(path: string, kind: FileKind): string | undefined {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'which does not exist or is not readable';
    return `which cannot be read (${code ?? 'error'})`;
  }
  if (kind === 'socket') return st.isSocket() ? undefined : st.isDirectory() ? 'which is a directory, not a socket' : 'which is not a socket';
  if (st.isDirectory()) return 'which is a directory, not a file';
  if (!st.isFile()) return 'which is not a regular file';
  try {
    accessSync(path, constants.R_OK);
  } catch {
    return 'which is not readable (permission denied)';
  }
  return undefined;
}
