/**
 * Which KServe deployment mode an InferenceService runs in, decided as KServe decides it
 * (kserve/kserve pkg/controller/v1beta1/inferenceservice/utils/utils.go GetDeploymentMode,
 * pkg/constants/constants.go ParseDeploymentMode, read at aaac4e29): status.deploymentMode
 * first, then the `serving.kserve.io/deploymentMode` annotation (only a known value), then
 * the `deploy` key's defaultDeploymentMode in the `inferenceservice-config` ConfigMap of
 * KServe's namespace. KServe >= 0.15 names the modes Knative and Standard; the older
 * Serverless and RawDeployment still parse to them.
 *
 * The mode decides which autoscaler a scale check meets: Knative's KPA (concurrency, rps)
 * or KServe's HPA (pkg/controller/v1beta1/inferenceservice/reconcilers/hpa: cpu by
 * default, memory; any other scaleMetric gives an HPA without that metric).
 */
import { z } from 'zod';

export type DeploymentMode = 'Knative' | 'Standard' | 'ModelMesh';

export const DEPLOYMENT_MODE_ANNOTATION = 'serving.kserve.io/deploymentMode';
export const ISVC_CONFIG_MAP = 'inferenceservice-config';
/** constants.KServeNamespace (POD_NAMESPACE, default kserve); Kubeflow installs use kubeflow. */
export const KSERVE_NAMESPACES = ['kserve', 'kubeflow'] as const;

export interface ModeFinding {
  /** undefined: nothing said which mode */
  mode?: DeploymentMode;
  source: 'status.deploymentMode' | `annotation ${typeof DEPLOYMENT_MODE_ANNOTATION}` | `ConfigMap ${string}` | 'unknown';
  /** the value as written, e.g. "Serverless" */
  raw?: string;
}

/** ParseDeploymentMode: the legacy names to the current ones; other values unknown here. */
export function normaliseMode(v: string | undefined): DeploymentMode | undefined {
  switch (v) {
    case 'Serverless':
    case 'Knative':
      return 'Knative';
    case 'RawDeployment':
    case 'Standard':
      return 'Standard';
    case 'ModelMesh':
      return 'ModelMesh';
    default:
      return undefined;
  }
}

const DeployConfig = z.object({ defaultDeploymentMode: z.string() }).passthrough();

/** defaultDeploymentMode from the ConfigMap's data (`deploy` is a JSON string); undefined if absent or unreadable. */
export function defaultModeFromConfigMap(data: Record<string, string> | undefined): string | undefined {
  const deploy = data?.deploy;
  if (!deploy) return undefined;
  try {
    const parsed = DeployConfig.safeParse(JSON.parse(deploy));
    return parsed.success ? parsed.data.defaultDeploymentMode : undefined;
  } catch {
    return undefined;
  }
}

export interface ModeInputs {
  statusDeploymentMode?: string;
  annotations?: Record<string, string>;
  /** the inferenceservice-config ConfigMap found, with its namespace */
  configMap?: { namespace: string; data?: Record<string, string> };
}

export function detectDeploymentMode(i: ModeInputs): ModeFinding {
  const fromStatus = normaliseMode(i.statusDeploymentMode);
  if (i.statusDeploymentMode && fromStatus) return { mode: fromStatus, source: 'status.deploymentMode', raw: i.statusDeploymentMode };
  const ann = i.annotations?.[DEPLOYMENT_MODE_ANNOTATION];
  const fromAnn = normaliseMode(ann);
  if (fromAnn) return { mode: fromAnn, source: `annotation ${DEPLOYMENT_MODE_ANNOTATION}`, raw: ann };
  const dflt = defaultModeFromConfigMap(i.configMap?.data);
  const fromCm = normaliseMode(dflt);
  if (fromCm && i.configMap) return { mode: fromCm, source: `ConfigMap ${i.configMap.namespace}/${ISVC_CONFIG_MAP}`, raw: dflt };
  return { mode: undefined, source: 'unknown' };
}

/** The words the matrix and the report show. */
export function modeLabel(f: ModeFinding): string {
  switch (f.mode) {
    case 'Knative':
      return 'Serverless (Knative KPA)';
    case 'Standard':
      return 'RawDeployment (Standard, HPA)';
    case 'ModelMesh':
      return 'ModelMesh';
    default:
      return 'unknown (no status.deploymentMode, annotation or inferenceservice-config)';
  }
}

const HPA_METRICS = new Set(['cpu', 'memory']);

/**
 * Why a "scaled up under load" check does not apply in this mode with this scaleMetric,
 * or undefined when it does (Knative; Standard with cpu/memory; an unknown mode is checked).
 */
export function scaleCheckNotApplicable(f: ModeFinding, scaleMetric: string | undefined): string | undefined {
  const metric = scaleMetric ?? 'concurrency';
  if (f.mode === 'Standard' && !HPA_METRICS.has(metric)) {
    return `the InferenceService runs in RawDeployment mode (${f.source}): KServe's HPA scales on cpu, not ${metric}; the references' scaleMetric ${metric} has no effect there (set scaleMetric: cpu in the references for a CPU scale check)`;
  }
  if (f.mode === 'ModelMesh') return `the InferenceService runs in ModelMesh mode (${f.source}): models share ModelMesh pods, no per-InferenceService autoscaler`;
  return undefined;
}
