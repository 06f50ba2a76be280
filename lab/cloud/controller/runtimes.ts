/**
 * Serving runtime selection as KServe v0.20 does it (pure; the controller feeds it the
 * ServingRuntimes of the InferenceService's namespace and the ClusterServingRuntimes).
 * Read from kserve/kserve @ aaac4e29:
 * - pkg/apis/serving/v1beta1/predictor_model.go: GetProtocol (v1 unless set),
 *   GetSupportingRuntimes, RuntimeSupportsModel (labels mt:<name>[:<version>], only
 *   autoSelect formats unless a runtime is named), sortServingRuntimeList (lowest protocol
 *   first, newer first, name), sortSupportedRuntimeByPriority (stable, higher first, unset last);
 * - pkg/apis/serving/v1alpha1/servingruntime_types.go: IsDisabled, IsMultiModelRuntime,
 *   IsMultiNodeRuntime (workerSpec), IsProtocolVersionSupported (no list = any);
 * - pkg/controller/v1beta1/inferenceservice/components/predictor.go: the named-runtime checks,
 *   their FailureInfo reasons and messages, and the protocol defaulted from the runtime;
 * - pkg/apis/serving/v1beta1/inference_service_defaults.go: modelFormat triton/vllm default to v2.
 */
import { ts, type Failure } from './types.ts';

export interface SupportedModelFormat {
  name: string;
  version?: string;
  autoSelect?: boolean;
  priority?: number;
}

export interface RuntimeSpec {
  supportedModelFormats?: SupportedModelFormat[];
  protocolVersions?: string[];
  disabled?: boolean;
  multiModel?: boolean;
  workerSpec?: unknown;
}

/** A ServingRuntime (namespaced) or ClusterServingRuntime, as read from the API. */
export interface RuntimeObject {
  name: string;
  cluster: boolean;
  creationTimestamp?: string;
  annotations?: Record<string, string>;
  spec: RuntimeSpec;
}

export interface ModelRequest {
  format: { name: string; version?: string };
  /** spec.predictor.model.runtime */
  runtime?: string;
  /** spec.predictor.model.protocolVersion */
  protocolVersion?: string;
}

export interface Selection {
  runtime: RuntimeObject;
  /** the protocol the InferenceService gets: its own, else the runtime's lowest */
  protocolVersion: string;
}

const PROTOCOL_ORDER = ['v1', 'v2', 'grpc-v1', 'grpc-v2'];

/** constants.GetProtocolVersionInt: v1 1, v2 2, grpc-v1 3, grpc-v2 4, anything else Unknown (5). */
const protocolInt = (p: string): number => (PROTOCOL_ORDER.includes(p) ? PROTOCOL_ORDER.indexOf(p) + 1 : 5);

/** GetProtocolVersionPriority: the lowest of the runtime's protocols; none = Unknown. */
function protocolPriority(protocols: string[] | undefined): number {
  if (!protocols?.length) return 5;
  return Math.min(...protocols.map(protocolInt));
}

function protocolSupported(spec: RuntimeSpec, protocol: string): boolean {
  return !protocol || !spec.protocolVersions?.length || spec.protocolVersions.includes(protocol);
}

/** RuntimeSupportsModel: the model's label is among the runtime's (autoSelect formats only, unless a runtime is named). */
export function supportsModel(m: ModelRequest, spec: RuntimeSpec): boolean {
  const labels = new Set<string>();
  for (const f of spec.supportedModelFormats ?? []) {
    if (m.runtime === undefined && f.autoSelect !== true) continue;
    labels.add(`mt:${f.name}`);
    if (f.version !== undefined) labels.add(`mt:${f.name}:${f.version}`);
  }
  return labels.has(m.format.version !== undefined ? `mt:${m.format.name}:${m.format.version}` : `mt:${m.format.name}`);
}

/** sortServingRuntimeList: lowest protocol first, then newest, then by name. */
function byProtocolAgeName(a: RuntimeObject, b: RuntimeObject): number {
  const pa = protocolPriority(a.spec.protocolVersions);
  const pb = protocolPriority(b.spec.protocolVersions);
  if (pa !== pb) return pa - pb;
  const ta = Date.parse(a.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.creationTimestamp ?? '') || 0;
  if (ta !== tb) return tb - ta;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

const priorityOf = (spec: RuntimeSpec, format: string): number | undefined => spec.supportedModelFormats?.find((f) => f.name === format)?.priority;

/** sortSupportedRuntimeByPriority: stable; a set priority beats none, higher beats lower. */
function byPriority(format: string): (a: RuntimeObject, b: RuntimeObject) => number {
  return (a, b) => {
    const pa = priorityOf(a.spec, format);
    const pb = priorityOf(b.spec, format);
    if (pa === undefined && pb === undefined) return 0;
    if (pa === undefined) return 1;
    if (pb === undefined) return -1;
    return pb - pa;
  };
}

/** GetSupportingRuntimes (single-model, not multi-node): namespaced ones first, each group sorted. */
export function supportingRuntimes(m: ModelRequest, namespaced: RuntimeObject[], cluster: RuntimeObject[]): RuntimeObject[] {
  const protocol = m.protocolVersion ?? 'v1'; // GetProtocol, as the selection calls it
  const pick = (list: RuntimeObject[]) =>
    [...list]
      .sort(byProtocolAgeName)
      .filter((r) => !r.spec.disabled && !r.spec.multiModel && r.spec.workerSpec === undefined && supportsModel(m, r.spec) && protocolSupported(r.spec, protocol))
      .sort(byPriority(m.format.name)); // Array.prototype.sort is stable
  return [...pick(namespaced), ...pick(cluster)];
}

const failure = (reason: string, message: string): Failure => ({ reason, message, time: ts() });

/** The runtime KServe would run the model on, or the FailureInfo it would record (transitionStatus InvalidSpec). */
export function selectRuntime(model: ModelRequest, namespaced: RuntimeObject[], cluster: RuntimeObject[]): Selection | Failure {
  // the defaulting webhook sets v2 for triton/vllm formats; otherwise an unset protocol stays unset here
  const defaulted = model.format.name === 'triton' || model.format.name === 'vllm' ? 'v2' : undefined;
  const m: ModelRequest = { ...model, protocolVersion: model.protocolVersion ?? defaulted };
  let runtime: RuntimeObject;
  if (m.runtime !== undefined) {
    // GetServingRuntime: the namespace's ServingRuntime first, then the ClusterServingRuntime
    const found = namespaced.find((r) => r.name === m.runtime) ?? cluster.find((r) => r.name === m.runtime);
    if (!found) return failure('RuntimeNotRecognized', 'Waiting for runtime to become available');
    if (found.spec.disabled) return failure('RuntimeDisabled', 'Specified runtime is disabled');
    if (m.protocolVersion !== undefined && !protocolSupported(found.spec, m.protocolVersion)) {
      return failure('NoSupportingRuntime', 'Specified runtime does not support specified protocol version');
    }
    if (!supportsModel(m, found.spec)) return failure('NoSupportingRuntime', 'Specified runtime does not support specified framework/version');
    runtime = found;
  } else {
    const [first] = supportingRuntimes(m, namespaced, cluster);
    if (!first) return failure('NoSupportingRuntime', 'No runtime found to support specified framework/version');
    runtime = first;
  }
  const lowest = protocolPriority(runtime.spec.protocolVersions);
  return { runtime, protocolVersion: m.protocolVersion ?? PROTOCOL_ORDER[lowest - 1] ?? '' };
}

/** A runtime object from a ServingRuntime / ClusterServingRuntime as the API returns it. */
export function runtimeFromObject(o: { kind?: string; metadata: { name: string; creationTimestamp?: string; annotations?: Record<string, string> }; spec?: unknown }): RuntimeObject {
  return {
    name: o.metadata.name,
    cluster: o.kind === 'ClusterServingRuntime',
    creationTimestamp: o.metadata.creationTimestamp,
    annotations: o.metadata.annotations,
    spec: (o.spec ?? {}) as RuntimeSpec,
  };
}
