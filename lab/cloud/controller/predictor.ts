/**
 * Reading an InferenceService's predictor: the `model` form (modelFormat +
 * storageUri) or the older per-framework form, the serving runtime KServe
 * would select for it, the CPU and memory its resources ask for, and the
 * lab-only slowdown annotation.
 */
import { cpus } from 'node:os';
import { parseQuantity } from '../../../helpers/quantity.ts';
import { SLOWDOWN_ANNOTATION, parseSlowdown, type SlowdownSetting } from '../runtime/slowdown.ts';
import type { KObject } from './informer.ts';
import { selectRuntime, type ModelRequest, type RuntimeObject } from './runtimes.ts';
import { ts, type Failure, type PredictorSpec, type RuntimeFlavor } from './types.ts';

/** A resource amount (cpu cores, memory bytes) from a Kubernetes quantity; undefined when absent, malformed or negative. */
function resourceAmount(q: unknown): number | undefined {
  if (q === undefined || q === null) return undefined;
  const n = parseQuantity(String(q));
  return n === null || n < 0 ? undefined : n;
}

const parseCpu = resourceAmount;

export function parseMemory(q: unknown): number | undefined {
  return resourceAmount(q);
}

const LEGACY_FRAMEWORKS = ['onnx', 'sklearn', 'xgboost', 'lightgbm', 'tensorflow', 'pytorch', 'triton', 'pmml', 'paddle', 'huggingface'];
/** inference_service_defaults.go: the older onnx, triton and huggingface forms default to protocol v2. */
const LEGACY_V2 = new Set(['onnx', 'triton', 'huggingface']);

/** spec.predictor and its model (or framework) entry, as read below: unchecked, so every field is optional and its leaves unknown. */
interface Predictor {
  model?: Impl;
  resources?: unknown;
  serviceAccountName?: unknown;
  annotations?: unknown;
  [framework: string]: unknown;
}
interface Impl {
  modelFormat?: { name?: unknown; version?: unknown };
  storageUri?: unknown;
  resources?: unknown;
  runtime?: unknown;
  protocolVersion?: unknown;
}

/** The serving runtimes the selection looks at: the namespace's ServingRuntimes and the ClusterServingRuntimes. */
export interface RuntimeCatalog {
  namespaced: RuntimeObject[];
  cluster: RuntimeObject[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The lab process a selected runtime runs: its lab.mlv.io/runtime annotation, else Triton for a tritonserver, else a KServe Python server. */
export function labFlavor(r: RuntimeObject): RuntimeFlavor {
  const a = r.annotations ?? {};
  const types: Record<string, RuntimeFlavor> = { tritonserver: 'triton', huggingfaceserver: 'huggingface' };
  const flavor = a['lab.mlv.io/runtime'] ?? types[a['serving.kserve.io/server-type'] ?? ''] ?? 'python';
  return flavor === 'triton' || flavor === 'huggingface' ? flavor : 'python';
}

/**
 * Read the predictor (the `model` form, or the older per-framework form converted as KServe's
 * defaulting does) and select its serving runtime from `runtimes` as KServe does (./runtimes.ts).
 */
export function predictorSpec(isvc: KObject, runtimes: RuntimeCatalog): PredictorSpec | Failure {
  const p = isvc.spec?.predictor as Predictor | undefined;
  const fail = (reason: string, message: string): Failure => ({ reason, message, time: ts() });
  if (!p || typeof p !== 'object') return fail('InvalidPredictorSpec', 'spec.predictor is required');
  let model: ModelRequest;
  let impl: Impl;
  if (p.model) {
    impl = p.model;
    const name = str(impl.modelFormat?.name);
    if (!name) return fail('InvalidPredictorSpec', 'spec.predictor.model.modelFormat.name is required');
    model = { format: { name, version: str(impl.modelFormat?.version) }, runtime: str(impl.runtime), protocolVersion: str(impl.protocolVersion) };
  } else {
    const fw = LEGACY_FRAMEWORKS.find((f) => p[f]);
    if (!fw) return fail('InvalidPredictorSpec', 'spec.predictor needs model (modelFormat + storageUri) or a framework such as onnx');
    impl = p[fw] as Impl;
    model = { format: { name: fw }, runtime: str(impl.runtime), protocolVersion: str(impl.protocolVersion) ?? (LEGACY_V2.has(fw) ? 'v2' : undefined) };
  }
  const selected = selectRuntime(model, runtimes.namespaced, runtimes.cluster);
  if ('reason' in selected) return selected;
  const storageUri = impl.storageUri;
  if (typeof storageUri !== 'string' || !storageUri) return fail('InvalidPredictorSpec', 'storageUri is required (spec.predictor.model.storageUri)');
  const resources = (impl.resources ?? p.resources ?? {}) as Record<string, unknown>;
  const runtime = { name: selected.runtime.name, cluster: selected.runtime.cluster, flavor: labFlavor(selected.runtime), protocolVersion: selected.protocolVersion };
  const annotations = (o: unknown) => (o && typeof o === 'object' ? (o as Record<string, string>) : {});
  const podAnnotations = { ...annotations(isvc.metadata.annotations), ...annotations(p.annotations) };
  const serviceAccountName = str(p.serviceAccountName);
  return { storageUri, format: model.format.name, resources, runtime, ...(serviceAccountName && { serviceAccountName }), ...(Object.keys(podAnnotations).length && { podAnnotations }) };
}

/** Runtime threads (the CPU request, else limit, else 1; at least 1, at most the host's cores) and the memory limit. */
export function replicaSizing(resources: Record<string, unknown>): { threads: number; memoryLimitBytes?: number } {
  const res = resources as { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  const cpu = parseCpu(res.requests?.cpu) ?? parseCpu(res.limits?.cpu) ?? 1;
  const threads = Math.max(1, Math.min(cpus().length, Math.floor(cpu)));
  return { threads, memoryLimitBytes: parseMemory(res.limits?.memory) };
}

/**
 * The lab-only fault knob `lab.mlv.io/slowdown` (metadata or spec.predictor annotations, metadata
 * wins, as for the autoscaling ones): every runtime of the revision answers that many times slower
 * than it computed. Absent = 1; invalid = 1 with a warning.
 */
export function slowdownFromIsvc(isvc: { metadata?: { annotations?: Record<string, string> }; spec?: { predictor?: { annotations?: Record<string, string> } } }): SlowdownSetting {
  const v = isvc.metadata?.annotations?.[SLOWDOWN_ANNOTATION] ?? isvc.spec?.predictor?.annotations?.[SLOWDOWN_ANNOTATION];
  return parseSlowdown(v);
}
