/**
 * Compare two JSON values by shape: the same object keys (recursively), the same JSON types
 * (null is its own type), arrays by the shapes of their elements. Values are compared only at
 * the keys named in `equalAt` (e.g. error_code). Returns one line per difference, with its path.
 */
type Json = unknown;

const kind = (v: Json) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

export function shapeDiff(expected: Json, actual: Json, equalAt: ReadonlySet<string> = new Set(), path = 'body'): string[] {
  const [ke, ka] = [kind(expected), kind(actual)];
  if (ke !== ka) return [`${path}: ${ka} where the real server sends ${ke}`];
  if (ke === 'array') {
    const e = expected as Json[];
    const a = actual as Json[];
    if (!e.length || !a.length) return e.length === a.length ? [] : [`${path}: ${a.length} element(s) where the real server sends ${e.length}`];
    return shapeDiff(e[0], a[0], equalAt, `${path}[0]`);
  }
  if (ke !== 'object') return equalAt.has(path.split('.').pop()!) && expected !== actual ? [`${path}: ${JSON.stringify(actual)} where the real server sends ${JSON.stringify(expected)}`] : [];
  const e = expected as Record<string, Json>;
  const a = actual as Record<string, Json>;
  const out: string[] = [];
  for (const k of Object.keys(e)) out.push(...(k in a ? shapeDiff(e[k], a[k], equalAt, `${path}.${k}`) : [`${path}.${k}: missing (the real server sends ${kind(e[k])})`]));
  for (const k of Object.keys(a)) if (!(k in e)) out.push(`${path}.${k}: present (${kind(a[k])}), the real server does not send it`);
  return out;
}
