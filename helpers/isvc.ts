/**
 * Typed builder for KServe `serving.kserve.io/v1beta1` InferenceService
 * objects, plus a zod schema for the status fields the suite reads.
 *
 * Model formats:
 * - "onnx", "sklearn", ...: `spec.predictor.model` with `modelFormat.name`.
 * - "pytorch" is **TorchServe**: `storageUri` must be a directory holding
 *   `config/config.properties` and `model-store/<name>.mar`. A bare state_dict
 *   (`.pt`/`.pth`) will not load; export to ONNX (or TorchScript) and use the
 *   matching format instead. The builder rejects a storageUri ending in .pt/.pth.
 * - "huggingface": KServe's HF runtime; pass `--model_name=...`/`--model_id=...`
 *   in `args`, or a `storageUri` (e.g. `hf://org/model` or s3://).
 * - a custom container (`container: {image, args}`): `spec.predictor.containers`
 *   with the conventional name `kserve-container`.
 *
 * The model location is `storageUri` (the real field; `storage.uri` does not
 * exist). KServe mounts it at /mnt/models.
 *
 * Autoscaling: Serverless (Knative KPA) uses `scaleMetric` concurrency|rps
 * (cpu|memory also accepted) with `scaleTarget`. HPA needs
 * `deploymentMode: "RawDeployment"` + `autoscalerClass: "hpa"`, which are
 * written as the `serving.kserve.io/*` annotations, and cpu|memory metrics.
 */
import { isStorageUri, STORAGE_SCHEMES } from './storage-uri.ts';
import { parseQuantity } from './quantity.ts';

type ModelFormat = 'onnx' | 'sklearn' | 'pytorch' | 'huggingface' | 'xgboost' | 'lightgbm' | 'tensorflow' | 'triton' | 'mlflow';
type ScaleMetric = 'concurrency' | 'rps' | 'cpu' | 'memory';
type DeploymentMode = 'Serverless' | 'RawDeployment';
type AutoscalerClass = 'hpa' | 'external' | 'none' | 'keda';
/** KServe's InferenceServiceProtocol values (pkg/constants/constants.go). */
export type ProtocolVersion = 'v1' | 'v2' | 'grpc-v1' | 'grpc-v2';

/** Kubernetes quantities: strings ("500m", "2Gi") or numbers (converted to strings). */
type ResourceMap = { cpu?: string | number; memory?: string | number; 'nvidia.com/gpu'?: string | number } & Record<string, string | number | undefined>;

interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

export interface IsvcSpec {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Model served by a KServe runtime. Exactly one of `model` / `container`. */
  model?: {
    format: ModelFormat;
    /** modelFormat.version, e.g. "1" for onnx. */
    formatVersion?: string;
    /** s3://, gs://, pvc://, http(s)://, hf://, oci:// ... */
    storageUri?: string;
    /** KServe defaults to v1 when unset (unless the format's defaulting says otherwise). */
    protocolVersion?: ProtocolVersion;
    /** A ClusterServingRuntime/ServingRuntime name; unset: KServe auto-selects by format and protocol. */
    runtime?: string;
    args?: string[];
  };
  /** Custom predictor container. */
  container?: { image: string; args?: string[]; port?: number };
  minReplicas?: number;
  maxReplicas?: number;
  scaleMetric?: ScaleMetric;
  scaleTarget?: number;
  resources?: { requests?: ResourceMap; limits?: ResourceMap };
  /** Shortcut: `nvidia.com/gpu` in both requests and limits. */
  gpus?: number;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  serviceAccountName?: string;
  /** Written as the `serving.kserve.io/deploymentMode` annotation. */
  deploymentMode?: DeploymentMode;
  /** Written as the `serving.kserve.io/autoscalerClass` annotation. */
  autoscalerClass?: AutoscalerClass;
}

interface Resources {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export interface InferenceService {
  apiVersion: 'serving.kserve.io/v1beta1';
  kind: 'InferenceService';
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    predictor: {
      minReplicas?: number;
      maxReplicas?: number;
      scaleMetric?: ScaleMetric;
      scaleTarget?: number;
      serviceAccountName?: string;
      nodeSelector?: Record<string, string>;
      tolerations?: Toleration[];
      model?: {
        modelFormat: { name: ModelFormat; version?: string };
        protocolVersion?: ProtocolVersion;
        runtime?: string;
        storageUri?: string;
        args?: string[];
        resources?: Resources;
      };
      containers?: {
        name: 'kserve-container';
        image: string;
        args?: string[];
        ports?: { containerPort: number; protocol: 'TCP' }[];
        resources?: Resources;
      }[];
    };
  };
}

export class IsvcSpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid InferenceService spec: ${problems.join('; ')}`);
    this.name = 'IsvcSpecError';
  }
}

const GPU = 'nvidia.com/gpu';
/** KServe requires a DNS-1123 label that starts with a letter. */
const ISVC_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PROTOCOLS: readonly ProtocolVersion[] = ['v1', 'v2', 'grpc-v1', 'grpc-v2'];

/** Build a plain InferenceService object; throws `IsvcSpecError` listing every problem. */
export function buildInferenceService(s: IsvcSpec): InferenceService {
  const problems = validate(s);
  if (problems.length) throw new IsvcSpecError(problems);

  const annotations: Record<string, string> = { ...s.annotations };
  if (s.deploymentMode) annotations['serving.kserve.io/deploymentMode'] = s.deploymentMode;
  if (s.autoscalerClass) annotations['serving.kserve.io/autoscalerClass'] = s.autoscalerClass;
  const resources = buildResources(s);

  const predictor: InferenceService['spec']['predictor'] = compact({
    minReplicas: s.minReplicas,
    maxReplicas: s.maxReplicas,
    scaleMetric: s.scaleMetric,
    scaleTarget: s.scaleTarget,
    serviceAccountName: s.serviceAccountName,
    nodeSelector: s.nodeSelector,
    tolerations: s.tolerations,
  });
  if (s.model) {
    predictor.model = compact({
      modelFormat: compact({ name: s.model.format, version: s.model.formatVersion }),
      protocolVersion: s.model.protocolVersion,
      runtime: s.model.runtime,
      storageUri: s.model.storageUri,
      args: s.model.args,
      resources,
    });
  } else if (s.container) {
    const c = s.container;
    predictor.containers = [
      compact({
        name: 'kserve-container' as const,
        image: c.image,
        args: c.args,
        ports: c.port === undefined ? undefined : [{ containerPort: c.port, protocol: 'TCP' as const }],
        resources,
      }),
    ];
  }
  return {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: compact({
      name: s.name,
      namespace: s.namespace,
      labels: s.labels && Object.keys(s.labels).length ? { ...s.labels } : undefined,
      annotations: Object.keys(annotations).length ? annotations : undefined,
    }),
    spec: { predictor },
  };
}

function validate(s: IsvcSpec): string[] {
  const p: string[] = [];
  if (!ISVC_NAME.test(s.name) || s.name.length > 63) {
    p.push(`name ${JSON.stringify(s.name)} must be a DNS-1123 label starting with a letter: lowercase a-z, 0-9 and '-', at most 63 characters`);
  }
  if (s.namespace !== undefined && (!DNS1123_LABEL.test(s.namespace) || s.namespace.length > 63)) {
    p.push(`namespace ${JSON.stringify(s.namespace)} must be a DNS-1123 label (lowercase a-z, 0-9, '-', at most 63 characters)`);
  }
  if (!s.model === !s.container) p.push('give exactly one of `model` (a KServe runtime) or `container` (a custom image)');
  if (s.model) {
    const uri = s.model.storageUri;
    if (uri === undefined && s.model.format !== 'huggingface') p.push(`model format ${s.model.format} needs a storageUri`);
    if (uri !== undefined) {
      if (!isStorageUri(uri)) {
        p.push(`storageUri ${JSON.stringify(uri)} must use one of ${STORAGE_SCHEMES.map((x) => `${x}://`).join(' ')} (a path on the HPC filesystem is not reachable from the cluster)`);
      }
      if (s.model.format === 'pytorch' && /\.(pt|pth)$/i.test(uri)) {
        p.push(
          'modelFormat pytorch is TorchServe: storageUri must be a directory with config/config.properties and model-store/*.mar; a bare state_dict (.pt/.pth) will not load. Export to ONNX and use format onnx',
        );
      }
    }
  }
  if (s.model?.runtime !== undefined && (!DNS1123_SUBDOMAIN.test(s.model.runtime) || s.model.runtime.length > 253)) {
    p.push(`runtime ${JSON.stringify(s.model.runtime)} must be a ServingRuntime name (a DNS-1123 subdomain: lowercase a-z, 0-9, '-', '.')`);
  }
  if (s.model?.protocolVersion !== undefined && !PROTOCOLS.includes(s.model.protocolVersion)) {
    p.push(`protocolVersion ${JSON.stringify(s.model.protocolVersion)} must be one of ${PROTOCOLS.join(', ')}`);
  }
  if (s.container && !s.container.image) p.push('container.image is required');
  for (const [k, v] of [
    ['minReplicas', s.minReplicas],
    ['maxReplicas', s.maxReplicas],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) p.push(`${k} must be an integer >= 0, got ${v}`);
  }
  if (s.maxReplicas !== undefined && s.maxReplicas < 1) p.push(`maxReplicas must be >= 1, got ${s.maxReplicas}`);
  if (s.minReplicas !== undefined && s.maxReplicas !== undefined && s.minReplicas > s.maxReplicas) {
    p.push(`minReplicas (${s.minReplicas}) must not exceed maxReplicas (${s.maxReplicas})`);
  }
  if (s.scaleTarget !== undefined && (!Number.isInteger(s.scaleTarget) || s.scaleTarget < 1)) p.push(`scaleTarget must be an integer >= 1, got ${s.scaleTarget}`);
  if (s.scaleTarget !== undefined && s.scaleMetric === undefined) p.push('scaleTarget needs a scaleMetric');
  if (s.autoscalerClass === 'hpa' && s.deploymentMode !== 'RawDeployment') {
    p.push('autoscalerClass "hpa" needs deploymentMode "RawDeployment" (Serverless uses the Knative KPA)');
  }
  if (s.deploymentMode === 'RawDeployment' && (s.scaleMetric === 'concurrency' || s.scaleMetric === 'rps')) {
    p.push(`scaleMetric ${s.scaleMetric} is a Knative KPA metric; RawDeployment (HPA) supports cpu or memory`);
  }
  if (s.gpus !== undefined && (!Number.isInteger(s.gpus) || s.gpus < 1)) p.push(`gpus must be an integer >= 1, got ${s.gpus}`);
  p.push(...validateResources(s));
  return p;
}

function validateResources(s: IsvcSpec): string[] {
  const p: string[] = [];
  const req = s.resources?.requests ?? {};
  const lim = s.resources?.limits ?? {};
  for (const [where, map] of [
    ['requests', req],
    ['limits', lim],
  ] as const) {
    for (const [k, v] of Object.entries(map)) {
      if (v !== undefined && parseQuantity(String(v)) === null) p.push(`resources.${where}.${k} ${JSON.stringify(v)} is not a Kubernetes quantity`);
    }
  }
  if (req[GPU] !== undefined && lim[GPU] === undefined) p.push(`${GPU} must be set in limits (extended resources cannot be requested without a limit)`);
  if (req[GPU] !== undefined && lim[GPU] !== undefined && String(req[GPU]) !== String(lim[GPU])) {
    p.push(`${GPU} requests (${req[GPU]}) must equal limits (${lim[GPU]})`);
  }
  if (s.gpus !== undefined && (req[GPU] !== undefined || lim[GPU] !== undefined)) p.push(`give gpus or resources.*.${GPU}, not both`);
  for (const k of ['cpu', 'memory'] as const) {
    const r = req[k] === undefined ? null : parseQuantity(String(req[k]));
    const l = lim[k] === undefined ? null : parseQuantity(String(lim[k]));
    if (r !== null && l !== null && r > l) p.push(`resources.requests.${k} (${req[k]}) exceeds limits.${k} (${lim[k]})`);
  }
  return p;
}

function buildResources(s: IsvcSpec): Resources | undefined {
  const toStrings = (m: ResourceMap | undefined) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m ?? {})) if (v !== undefined) out[k] = String(v);
    return out;
  };
  const requests = toStrings(s.resources?.requests);
  const limits = toStrings(s.resources?.limits);
  if (s.gpus !== undefined) {
    requests[GPU] = String(s.gpus);
    limits[GPU] = String(s.gpus);
  }
  const r = compact({
    requests: Object.keys(requests).length ? requests : undefined,
    limits: Object.keys(limits).length ? limits : undefined,
  });
  return Object.keys(r).length ? r : undefined;
}

function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

// The status side (schema, Ready, why not, when to stop waiting) lives in ./isvc-status.ts.
export * from './isvc-status.ts';
