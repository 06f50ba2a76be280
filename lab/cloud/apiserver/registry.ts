// The set of served resource types: the built-in ones plus those registered by CRDs,
// and the discovery documents (/api, /apis, /apis/<g>/<v>) derived from it.
import type { JsonObject, KubeObject } from './json.ts';
import type { PrinterColumn } from './tables.ts';
import type { SchemaNode } from './validation.ts';

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Subresources served besides the main resource. */
  status: boolean;
  log: boolean;
  /** Bump metadata.generation on changes outside metadata/status. */
  tracksGeneration: boolean;
  /** Set when the type comes from a CRD (its metadata.name). */
  crd?: string;
  printerColumns?: PrinterColumn[];
  /** openAPIV3Schema of a CRD version, used for validation and /openapi/v3. */
  schema?: SchemaNode;
}

// A CustomResourceDefinition as the code past validateCrd reads it (validateCrd itself takes any object and checks these).
export interface CrdNames extends JsonObject {
  plural: string;
  kind: string;
  singular?: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

export interface CrdVersion extends JsonObject {
  name: string;
  served?: boolean;
  storage?: boolean;
  subresources?: { status?: JsonObject; scale?: JsonObject };
  additionalPrinterColumns?: PrinterColumn[];
  schema?: { openAPIV3Schema?: SchemaNode };
}

export interface CrdCondition extends JsonObject {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface CrdSpec extends JsonObject {
  group: string;
  scope: string;
  names: CrdNames;
  versions: CrdVersion[];
  conversion?: JsonObject;
}

export interface CrdStatus extends JsonObject {
  acceptedNames?: Partial<CrdNames>;
  conditions?: CrdCondition[];
  storedVersions?: string[];
}

export interface CustomResourceDefinition extends KubeObject {
  spec: CrdSpec;
  status?: CrdStatus;
}

export interface APIResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
}

export const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** Storage key shared by every version of a group/resource. */
export const grKey = (t: { group: string; plural: string }): string => `${t.group}/${t.plural}`;
export const apiVersionOf = (t: { group: string; version: string }): string => (t.group ? `${t.group}/${t.version}` : t.version);

function builtin(group: string, version: string, plural: string, kind: string, namespaced: boolean, extra: Partial<ResourceType> = {}): ResourceType {
  return {
    group,
    version,
    plural,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced,
    shortNames: [],
    categories: [],
    status: false,
    log: false,
    tracksGeneration: false,
    ...extra,
  };
}

export const BUILTIN_TYPES: ResourceType[] = [
  builtin('', 'v1', 'namespaces', 'Namespace', false, { shortNames: ['ns'], status: true }),
  builtin('', 'v1', 'nodes', 'Node', false, { shortNames: ['no'], status: true }),
  builtin('', 'v1', 'pods', 'Pod', true, { shortNames: ['po'], categories: ['all'], status: true, log: true }),
  builtin('', 'v1', 'services', 'Service', true, { shortNames: ['svc'], categories: ['all'], status: true }),
  builtin('', 'v1', 'endpoints', 'Endpoints', true, { shortNames: ['ep'], singular: 'endpoints' }),
  builtin('', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
  builtin('', 'v1', 'secrets', 'Secret', true),
  builtin('', 'v1', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
  builtin('', 'v1', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  builtin('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true, { shortNames: ['pvc'], status: true }),
  builtin('', 'v1', 'persistentvolumes', 'PersistentVolume', false, { shortNames: ['pv'], status: true }),
  builtin('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, {
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    status: true,
    tracksGeneration: true,
  }),
  // Stored and served as data only: nothing in the lab acts on them unless a lab component does.
  builtin('apps', 'v1', 'deployments', 'Deployment', true, { shortNames: ['deploy'], categories: ['all'], status: true, tracksGeneration: true }),
  builtin('autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler', true, { shortNames: ['hpa'], categories: ['all'], status: true }),
  builtin('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
];

export class Registry {
  private builtins = BUILTIN_TYPES;
  private custom: ResourceType[] = [];
  /** Bumped whenever the set of types changes (discovery / openapi hashes). */
  generation = 1;

  all(): ResourceType[] {
    return [...this.builtins, ...this.custom];
  }

  setCustom(crdName: string, types: ResourceType[]): void {
    this.custom = this.custom.filter((t) => t.crd !== crdName).concat(types);
    this.generation++;
  }

  removeCustom(crdName: string): void {
    this.custom = this.custom.filter((t) => t.crd !== crdName);
    this.generation++;
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  byKind(group: string, version: string, kind: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.version === version && t.kind === kind);
  }

  /** Any served version of a group/resource (for storage-level operations such as cascades). */
  anyVersion(group: string, plural: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.plural === plural);
  }

  groupResources(): ResourceType[] {
    const seen = new Set<string>();
    const out: ResourceType[] = [];
    for (const t of this.all()) {
      if (seen.has(grKey(t))) continue;
      seen.add(grKey(t));
      out.push(t);
    }
    return out;
  }

  groupVersions(): { group: string; versions: string[] }[] {
    const groups = new Map<string, string[]>();
    for (const t of this.all()) {
      if (!t.group) continue;
      const vs = groups.get(t.group) ?? [];
      if (!vs.includes(t.version)) vs.push(t.version);
      groups.set(t.group, vs);
    }
    return [...groups.entries()].map(([group, versions]) => ({ group, versions: sortVersions(versions) }));
  }

  hasGroupVersion(group: string, version: string): boolean {
    return this.all().some((t) => t.group === group && t.version === version);
  }

  // ---- discovery documents ----

  apiVersions(serverAddress: string) {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    };
  }

  apiGroup(group: string) {
    const g = this.groupVersions().find((x) => x.group === group);
    if (!g) return undefined;
    const versions = g.versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
    return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions, preferredVersion: versions[0] };
  }

  apiGroupList() {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: this.groupVersions().map((g) => this.apiGroup(g.group)),
    };
  }

  resourceList(group: string, version: string) {
    const types = this.all().filter((t) => t.group === group && t.version === version);
    if (!types.length) return undefined;
    const resources: APIResource[] = [];
    for (const t of types) {
      const r: APIResource = {
        name: t.plural,
        singularName: t.singular,
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: VERBS,
      };
      if (t.shortNames.length) r.shortNames = t.shortNames;
      if (t.categories.length) r.categories = t.categories;
      resources.push(r);
      if (t.status) {
        resources.push({ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
      }
      if (t.log) resources.push({ name: `${t.plural}/log`, singularName: '', namespaced: true, kind: t.kind, verbs: ['get'] });
      if (t.plural === 'namespaces' && !t.group) {
        resources.push({ name: 'namespaces/finalize', singularName: '', namespaced: false, kind: 'Namespace', verbs: ['update'] });
      }
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
  }
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first. */
export function sortVersions(vs: string[]): string[] {
  const rank = (v: string): [number, number, number] => {
    const m = v.match(/^v(\d+)(?:(alpha|beta)(\d+))?$/);
    if (!m) return [3, 0, 0];
    const stage = m[2] === 'alpha' ? 2 : m[2] === 'beta' ? 1 : 0;
    return [stage, -Number(m[1]), -Number(m[3] ?? 0)];
  };
  return [...vs].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
    return a.localeCompare(b);
  });
}

/** Build the served types for a CRD object (served versions only). */
export function typesFromCrd(crd: CustomResourceDefinition): ResourceType[] {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  const out: ResourceType[] = [];
  for (const v of spec.versions ?? []) {
    if (!v.served) continue;
    const statusSub = !!v.subresources?.status;
    out.push({
      group: spec.group,
      version: v.name,
      plural: names.plural,
      singular: names.singular || String(names.kind).toLowerCase(),
      kind: names.kind,
      listKind: names.listKind || `${names.kind}List`,
      namespaced: spec.scope !== 'Cluster',
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      status: statusSub,
      log: false,
      tracksGeneration: true,
      crd: crd.metadata?.name,
      printerColumns: v.additionalPrinterColumns,
      schema: v.schema?.openAPIV3Schema,
    });
  }
  return out;
}
