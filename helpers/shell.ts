/**
 * POSIX shell quoting. Every value that reaches a remote shell goes through
 * `quote` (one word) or `command` (an argv array), never string concatenation.
 */

/**
 * Quote one value as a single POSIX shell word. Safe for any byte string without NUL.
 * Left bare only when plain: never a word with `=` (a leading NAME=value would be an
 * assignment) or starting with `%` (job control: `%1` names a job).
 */
export function quote(value: string | number): string {
  const s = String(value);
  if (s.includes('\0')) throw new Error('a shell argument cannot contain a NUL byte');
  if (/^[A-Za-z0-9_@+:,./-][A-Za-z0-9_@%+:,./-]*$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Render an argv array as one shell command line. */
export function command(argv: ReadonlyArray<string | number>): string {
  if (argv.length === 0) throw new Error('empty command');
  return argv.map(quote).join(' ');
}

/**
 * Split a user-supplied prefix such as `apptainer exec --nv /images/a b.sif` into words.
 * Supports single and double quotes and backslash escapes; rejects shell metacharacters
 * outside quotes so that config can never smuggle in `;`, `|`, `$()` or redirections.
 */
export function splitWords(input: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let q: '"' | "'" | null = null;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (q === "'") {
      if (c === "'") q = null;
      else cur += c;
      continue;
    }
    if (q === '"') {
      if (c === '"') q = null;
      else if (c === '\\' && i + 1 < input.length && '"\\$`'.includes(input[i + 1]!)) cur += input[++i];
      else if (c === '$' || c === '`') throw new Error(`"${c}" is not allowed (no expansions in config values)`);
      else cur += c;
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'" || c === '"') q = c;
    else if (c === '\\' && i + 1 < input.length) cur += input[++i];
    else if (';&|<>$`(){}*?[]!#~\n'.includes(c)) throw new Error(`"${c}" is not allowed outside quotes`);
    else cur += c;
  }
  if (q) throw new Error('unterminated quote');
  if (inWord) words.push(cur);
  return words;
}
