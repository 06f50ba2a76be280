// Server-side printing: `meta.k8s.io/v1 Table` responses, which `kubectl get` asks for.
// Built-in kinds get the columns the real API server prints; custom resources get their
// CRD's additionalPrinterColumns (evaluated with a small JSONPath subset).
import type { Json, JsonObject, KubeObject } from './json.ts';
import { PV_COLUMNS, PVC_COLUMNS } from './volumes.ts';

export interface PrinterColumn extends JsonObject {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath?: string;
}

type Cell = string | number | boolean | null;
interface ColumnSpec {
  col: PrinterColumn;
  cell: (obj: Printed) => Cell;
}

/** The fields the built-in printers read, of whichever kind (each printer reads its own kind's); nothing here is checked. */
interface Printed extends KubeObject {
  spec?: {
    containers?: Json[];
    readinessGates?: Json[];
    nodeName?: string;
    unschedulable?: boolean;
    type?: string;
    clusterIP?: string;
    externalIPs?: string[];
    externalName?: string;
    selector?: Record<string, string>;
    ports?: { port?: number; nodePort?: number; protocol?: string }[];
    replicas?: number;
    minReplicas?: number;
    maxReplicas?: number;
    scaleTargetRef?: { kind?: string; name?: string };
  };
  status?: {
    phase?: string;
    reason?: string;
    conditions?: { type?: string; status?: string }[];
    nodeInfo?: Record<string, string>;
    addresses?: { type?: string; address?: string }[];
    containerStatuses?: { ready?: boolean; restartCount?: number; state?: { waiting?: { reason?: string }; terminated?: { reason?: string } } }[];
    podIP?: string;
    nominatedNodeName?: string;
    loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] };
    readyReplicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    currentReplicas?: number;
  };
  data?: JsonObject;
  binaryData?: JsonObject;
  type?: string;
  secrets?: Json[];
  subsets?: { addresses?: { ip?: string }[]; ports?: { port?: number }[] }[];
  involvedObject?: { kind?: string; name?: string; fieldPath?: string };
  source?: { component?: string };
  reportingComponent?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
}

export interface TableRow {
  cells: Cell[];
  object?: KubeObject;
}

export interface Table {
  kind: string;
  apiVersion: string;
  metadata: Record<string, unknown>;
  columnDefinitions: PrinterColumn[];
  rows: TableRow[];
}

// ---- time ----

export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    const y = Math.floor(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function since(ts: unknown): string {
  if (typeof ts !== 'string' || !ts) return '<unknown>';
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(Date.now() - t);
}

// ---- JSONPath subset: .a.b, ['a.b'], [0], [*], [?(@.x.y=="v")] (also !=, numbers, true/false) ----

type Step = { t: 'field'; name: string } | { t: 'index'; i: number } | { t: 'all' } | { t: 'filter'; path: string[]; op: '==' | '!=' | 'exists'; value: unknown };

function parseLiteral(s: string): unknown {
  const t = s.trim();
  if ((t.startsWith("'") && t.endsWith("'")) || (t.startsWith('"') && t.endsWith('"'))) return t.slice(1, -1);
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'null') return null;
  const n = Number(t);
  return Number.isNaN(n) ? t : n;
}

export function parseJsonPath(expr: string): Step[] {
  let s = expr.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1).trim();
  if (s.startsWith('$')) s = s.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < s.length) {
    const ch = s[i];
    if (ch === '.') {
      i++;
      let name = '';
      while (i < s.length && s[i] !== '.' && s[i] !== '[') name += s[i++];
      if (name === '*') steps.push({ t: 'all' });
      else if (name) steps.push({ t: 'field', name });
    } else if (ch === '[') {
      const end = findClose(s, i);
      const inner = s.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') steps.push({ t: 'all' });
      else if (/^-?\d+$/.test(inner)) steps.push({ t: 'index', i: Number(inner) });
      else if ((inner.startsWith("'") && inner.endsWith("'")) || (inner.startsWith('"') && inner.endsWith('"'))) {
        steps.push({ t: 'field', name: inner.slice(1, -1) });
      } else if (inner.startsWith('?(') && inner.endsWith(')')) {
        const cond = inner.slice(2, -1).trim();
        const m = cond.match(/^@((?:\.[A-Za-z0-9_-]+)+)\s*(==|!=)\s*(.+)$/);
        if (m) steps.push({ t: 'filter', path: m[1]!.slice(1).split('.'), op: m[2] as '==' | '!=', value: parseLiteral(m[3]!) });
        else {
          const e = cond.match(/^@((?:\.[A-Za-z0-9_-]+)+)$/);
          if (!e) throw new Error(`unsupported JSONPath filter: ${cond}`);
          steps.push({ t: 'filter', path: e[1]!.slice(1).split('.'), op: 'exists', value: undefined });
        }
      } else throw new Error(`unsupported JSONPath subscript: [${inner}]`);
    } else if (ch === ' ') i++;
    else {
      // bare leading field name, e.g. "metadata.name"
      let name = '';
      while (i < s.length && s[i] !== '.' && s[i] !== '[') name += s[i++];
      steps.push({ t: 'field', name });
    }
  }
  return steps;
}

function findClose(s: string, open: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let j = open; j < s.length; j++) {
    const c = s[j]!;
    if (quote) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '[') depth++;
    else if (c === ']') {
      depth--;
      if (depth === 0) return j;
    }
  }
  throw new Error(`unterminated [ in JSONPath ${s}`);
}

function getPath(v: unknown, path: string[]): unknown {
  let cur = v;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

export function evalJsonPath(obj: unknown, expr: string): unknown[] {
  let cur: unknown[] = [obj];
  for (const step of parseJsonPath(expr)) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (v === null || v === undefined) continue;
      switch (step.t) {
        case 'field':
          if (typeof v === 'object' && !Array.isArray(v) && step.name in (v as object)) next.push((v as Record<string, unknown>)[step.name]);
          break;
        case 'index':
          if (Array.isArray(v)) {
            const i = step.i < 0 ? v.length + step.i : step.i;
            if (i >= 0 && i < v.length) next.push(v[i]);
          }
          break;
        case 'all':
          if (Array.isArray(v)) next.push(...v);
          else if (typeof v === 'object') next.push(...Object.values(v as object));
          break;
        case 'filter': {
          const items = Array.isArray(v) ? v : [v];
          for (const it of items) {
            const got = getPath(it, step.path);
            if (step.op === 'exists' ? got !== undefined : step.op === '==' ? got === step.value : got !== step.value) next.push(it);
          }
          break;
        }
      }
    }
    cur = next;
  }
  return cur;
}

function cellFor(type: string, value: unknown): Cell {
  if (value === undefined || value === null) return null;
  if (type === 'date') return since(value);
  if (type === 'integer' || type === 'number') return typeof value === 'number' ? value : Number(value);
  if (type === 'boolean') return typeof value === 'boolean' ? value : String(value) === 'true';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

// ---- columns ----

const NAME_COL: ColumnSpec = {
  col: {
    name: 'Name',
    type: 'string',
    format: 'name',
    description: 'Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
    priority: 0,
  },
  cell: (o) => o.metadata?.name ?? '',
};
const AGE_COL: ColumnSpec = {
  col: { name: 'Age', type: 'string', format: '', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
  cell: (o) => since(o.metadata?.creationTimestamp),
};

function col(name: string, cell: (o: Printed) => Cell, priority = 0, type = 'string'): ColumnSpec {
  return { col: { name, type, format: '', description: name, priority }, cell };
}

function podStatus(p: Printed): string {
  if (p.metadata?.deletionTimestamp) return 'Terminating';
  const st = p.status ?? {};
  let reason: string = st.reason || st.phase || 'Pending';
  for (const cs of st.containerStatuses ?? []) {
    if (cs.state?.waiting?.reason) reason = cs.state.waiting.reason;
    else if (cs.state?.terminated?.reason && reason !== 'Running') reason = cs.state.terminated.reason;
  }
  return reason;
}

function nodeStatus(n: Printed): string {
  const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
  let s = ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown';
  if (n.spec?.unschedulable) s += ',SchedulingDisabled';
  return s;
}

function servicePorts(s: Printed): string {
  const ports = s.spec?.ports ?? [];
  if (!ports.length) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

function mapToString(m: Record<string, string> | undefined): string {
  if (!m || !Object.keys(m).length) return '<none>';
  return Object.entries(m)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

const BUILTIN_COLUMNS: Record<string, ColumnSpec[]> = {
  '/namespaces': [NAME_COL, col('Status', (o) => o.status?.phase ?? ''), AGE_COL],
  '/nodes': [
    NAME_COL,
    col('Status', nodeStatus),
    col('Roles', (o) => {
      const roles = Object.keys(o.metadata?.labels ?? {})
        .filter((k) => k.startsWith('node-role.kubernetes.io/'))
        .map((k) => k.slice('node-role.kubernetes.io/'.length));
      return roles.length ? roles.join(',') : '<none>';
    }),
    AGE_COL,
    col('Version', (o) => o.status?.nodeInfo?.kubeletVersion ?? ''),
    col('Internal-IP', (o) => (o.status?.addresses ?? []).find((a) => a.type === 'InternalIP')?.address ?? '<none>', 1),
    col('External-IP', (o) => (o.status?.addresses ?? []).find((a) => a.type === 'ExternalIP')?.address ?? '<none>', 1),
    col('OS-Image', (o) => o.status?.nodeInfo?.osImage ?? '', 1),
    col('Kernel-Version', (o) => o.status?.nodeInfo?.kernelVersion ?? '', 1),
    col('Container-Runtime', (o) => o.status?.nodeInfo?.containerRuntimeVersion ?? '', 1),
  ],
  '/pods': [
    NAME_COL,
    col('Ready', (o) => {
      const total = (o.spec?.containers ?? []).length;
      const ready = (o.status?.containerStatuses ?? []).filter((c) => c.ready).length;
      return `${ready}/${total}`;
    }),
    col('Status', podStatus),
    col('Restarts', (o) => (o.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0), 0, 'string'),
    AGE_COL,
    col('IP', (o) => o.status?.podIP ?? '<none>', 1),
    col('Node', (o) => o.spec?.nodeName ?? '<none>', 1),
    col('Nominated Node', (o) => o.status?.nominatedNodeName ?? '<none>', 1),
    col(
      'Readiness Gates',
      (o) => {
        const gates = (o.spec?.readinessGates ?? []).length;
        return gates ? String(gates) : '<none>';
      },
      1,
    ),
  ],
  '/services': [
    NAME_COL,
    col('Type', (o) => o.spec?.type ?? 'ClusterIP'),
    col('Cluster-IP', (o) => o.spec?.clusterIP ?? '<none>'),
    col('External-IP', (o) => {
      const ing = o.status?.loadBalancer?.ingress ?? [];
      const ext = [...(o.spec?.externalIPs ?? []), ...ing.map((i) => i.ip ?? i.hostname)];
      if (ext.length) return ext.join(',');
      if (o.spec?.type === 'ExternalName') return o.spec?.externalName ?? '<none>';
      return o.spec?.type === 'LoadBalancer' ? '<pending>' : '<none>';
    }),
    col('Port(s)', servicePorts),
    AGE_COL,
    col('Selector', (o) => mapToString(o.spec?.selector), 1),
  ],
  '/configmaps': [NAME_COL, col('Data', (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, 0, 'integer'), AGE_COL],
  '/secrets': [NAME_COL, col('Type', (o) => o.type ?? 'Opaque'), col('Data', (o) => Object.keys(o.data ?? {}).length, 0, 'integer'), AGE_COL],
  '/persistentvolumeclaims': [NAME_COL, ...PVC_COLUMNS.map(([n, f, p]) => col(n, f, p)), AGE_COL],
  '/persistentvolumes': [NAME_COL, ...PV_COLUMNS.map(([n, f, p]) => col(n, f, p)), AGE_COL],
  '/serviceaccounts': [NAME_COL, col('Secrets', (o) => (o.secrets ?? []).length, 0, 'integer'), AGE_COL],
  '/endpoints': [
    NAME_COL,
    col('Endpoints', (o) => {
      const eps: (string | undefined)[] = [];
      for (const s of o.subsets ?? []) for (const a of s.addresses ?? []) for (const p of s.ports ?? [{}]) eps.push(p.port ? `${a.ip}:${p.port}` : a.ip);
      return eps.length ? eps.join(',') : '<none>';
    }),
    AGE_COL,
  ],
  '/events': [
    col('Last Seen', (o) => since(o.lastTimestamp ?? o.eventTime ?? o.metadata?.creationTimestamp)),
    col('Type', (o) => o.type ?? ''),
    col('Reason', (o) => o.reason ?? ''),
    col('Object', (o) => `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}`),
    col('Subobject', (o) => o.involvedObject?.fieldPath ?? '', 1),
    col('Source', (o) => o.source?.component ?? o.reportingComponent ?? '', 1),
    col('Message', (o) => o.message ?? ''),
    col('First Seen', (o) => since(o.firstTimestamp ?? o.metadata?.creationTimestamp), 1),
    col('Count', (o) => o.count ?? 1, 1, 'integer'),
    { ...NAME_COL, col: { ...NAME_COL.col, priority: 1 } },
  ],
  'apiextensions.k8s.io/customresourcedefinitions': [NAME_COL, col('Created At', (o) => o.metadata?.creationTimestamp ?? '', 0, 'date')],
  'apps/deployments': [
    NAME_COL,
    col('Ready', (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`),
    col('Up-to-date', (o) => o.status?.updatedReplicas ?? 0, 0, 'integer'),
    col('Available', (o) => o.status?.availableReplicas ?? 0, 0, 'integer'),
    AGE_COL,
  ],
  'autoscaling/horizontalpodautoscalers': [
    NAME_COL,
    col('Reference', (o) => `${o.spec?.scaleTargetRef?.kind ?? ''}/${o.spec?.scaleTargetRef?.name ?? ''}`),
    col('MinPods', (o) => o.spec?.minReplicas ?? 1, 0, 'integer'),
    col('MaxPods', (o) => o.spec?.maxReplicas ?? 0, 0, 'integer'),
    col('Replicas', (o) => o.status?.currentReplicas ?? 0, 0, 'integer'),
    AGE_COL,
  ],
};

export function columnsFor(groupResource: string, printerColumns: PrinterColumn[] | undefined): ColumnSpec[] {
  const builtin = BUILTIN_COLUMNS[groupResource];
  if (builtin) return builtin;
  if (!printerColumns || printerColumns.length === 0) return [NAME_COL, AGE_COL];
  const specs: ColumnSpec[] = [NAME_COL];
  for (const pc of printerColumns) {
    const jsonPath = pc.jsonPath ?? '';
    specs.push({
      col: { name: pc.name, type: pc.type === 'date' ? 'date' : pc.type, format: pc.format ?? '', description: pc.description ?? '', priority: pc.priority ?? 0 },
      cell: (o) => {
        let results: unknown[];
        try {
          results = evalJsonPath(o, jsonPath);
        } catch {
          return null;
        }
        return cellFor(pc.type, results[0]);
      },
    });
  }
  return specs;
}

export function toTable(objs: KubeObject[], columns: ColumnSpec[], includeObject: string, listMeta: Record<string, unknown>, withHeaders = true): Table {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: withHeaders ? columns.map((c) => c.col) : [],
    rows: objs.map((o) => {
      const row: TableRow = { cells: columns.map((c) => c.cell(o as Printed)) };
      if (includeObject === 'Object') row.object = o;
      else if (includeObject !== 'None') {
        row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
      }
      return row;
    }),
  };
}
