// Label and field selectors, as the Kubernetes API understands them.
import { badRequest } from './errors.ts';
import type { KubeObject } from './json.ts';

export type LabelOp = 'eq' | 'neq' | 'in' | 'notin' | 'exists' | '!exists' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

const KEY = String.raw`[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const VALUE = String.raw`(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const RE_EXISTS = new RegExp(`^(${KEY})$`);
const RE_NOT_EXISTS = new RegExp(`^!\\s*(${KEY})$`);
const RE_SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`);
const RE_EQ = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const RE_CMP = new RegExp(`^(${KEY})\\s*(<|>)\\s*(-?\\d+)$`);

/** Split on commas that are not inside parentheses. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

export function parseLabelSelector(raw: string | null | undefined): LabelRequirement[] {
  if (!raw || !raw.trim()) return [];
  const reqs: LabelRequirement[] = [];
  for (const part0 of splitTopLevel(raw)) {
    const part = part0.trim();
    if (!part) throw badRequest(`unable to parse requirement: found '', expected: identifier (in label selector "${raw}")`);
    let m: RegExpMatchArray | null;
    if ((m = part.match(RE_NOT_EXISTS))) reqs.push({ key: m[1]!, op: '!exists', values: [] });
    else if ((m = part.match(RE_SET))) {
      const values = m[3]!.split(',').map((v) => v.trim());
      if (values.some((v) => !new RegExp(`^${VALUE}$`).test(v))) throw badRequest(`unable to parse requirement: invalid value in "${part}"`);
      reqs.push({ key: m[1]!, op: m[2] === 'in' ? 'in' : 'notin', values });
    } else if ((m = part.match(RE_EQ))) reqs.push({ key: m[1]!, op: m[2] === '!=' ? 'neq' : 'eq', values: [m[3]!] });
    else if ((m = part.match(RE_CMP))) reqs.push({ key: m[1]!, op: m[2] === '>' ? 'gt' : 'lt', values: [m[3]!] });
    else if ((m = part.match(RE_EXISTS))) reqs.push({ key: m[1]!, op: 'exists', values: [] });
    else throw badRequest(`unable to parse requirement: invalid label selector "${raw}" near "${part}"`);
  }
  return reqs;
}

export function matchLabels(reqs: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of reqs) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'eq':
        if (!has || v !== r.values[0]) return false;
        break;
      case 'neq':
        if (has && v === r.values[0]) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(v!)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(v!)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case '!exists':
        if (has) return false;
        break;
      case 'gt':
      case 'lt': {
        if (!has) return false;
        const n = Number(v);
        if (!Number.isInteger(n)) return false;
        const bound = Number(r.values[0]);
        if (r.op === 'gt' ? !(n > bound) : !(n < bound)) return false;
        break;
      }
    }
  }
  return true;
}

export interface FieldRequirement {
  path: string[];
  field: string;
  negate: boolean;
  value: string;
}

/** Field selectors: comma-separated `a.b=v`, `a.b==v` or `a.b!=v` on any dotted field path. */
export function parseFieldSelector(raw: string | null | undefined): FieldRequirement[] {
  if (!raw || !raw.trim()) return [];
  const reqs: FieldRequirement[] = [];
  for (const part0 of raw.split(',')) {
    const part = part0.trim();
    const m = part.match(/^([A-Za-z0-9_.\-/]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid field selector: "${raw}": could not parse "${part}"`);
    reqs.push({ field: m[1]!, path: m[1]!.split('.'), negate: m[2] === '!=', value: m[3]!.trim() });
  }
  return reqs;
}

function fieldValue(obj: KubeObject, path: string[]): string {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

export function matchFields(reqs: FieldRequirement[], obj: KubeObject): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.path);
    if (r.negate ? v === r.value : v !== r.value) return false;
  }
  return true;
}
