/**
 * The InferenceService status the suite reads: a zod schema for its fields, Ready, one line on why
 * it is not Ready, and whether waiting for Ready is still worth it. Re-exported by ./isvc.ts.
 */
import { z } from 'zod';

const IsvcConditionSchema = z.looseObject({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
  message: z.string().optional(),
  severity: z.string().optional(),
  lastTransitionTime: z.string().optional(),
});

const Addressable = z.looseObject({ url: z.string().optional() });

const IsvcStatusSchema = z.looseObject({
  observedGeneration: z.number().int().optional(),
  /** e.g. Ready, PredictorReady, IngressReady, LatestDeploymentReady. */
  conditions: z.array(IsvcConditionSchema).default([]),
  url: z.string().optional(),
  address: Addressable.optional(),
  modelStatus: z
    .looseObject({
      /** UpToDate | InProgress | BlockedByFailedLoad | InvalidSpec */
      transitionStatus: z.string().optional(),
      states: z
        .looseObject({
          /** "" | Pending | Standby | Loading | Loaded | FailedToLoad */
          activeModelState: z.string(),
          targetModelState: z.string().optional(),
        })
        .optional(),
      lastFailureInfo: z
        .looseObject({
          location: z.string().optional(),
          reason: z.string().optional(),
          message: z.string().optional(),
          modelRevisionName: z.string().optional(),
          time: z.string().optional(),
          exitCode: z.number().int().optional(),
        })
        .optional(),
      copies: z.looseObject({ failedCopies: z.number().int().optional(), totalCopies: z.number().int().optional() }).optional(),
    })
    .optional(),
  /** Per component (predictor, transformer, explainer). */
  components: z
    .record(
      z.string(),
      z.looseObject({
        url: z.string().optional(),
        address: Addressable.optional(),
        latestReadyRevision: z.string().optional(),
        latestCreatedRevision: z.string().optional(),
        latestRolledoutRevision: z.string().optional(),
        traffic: z.array(z.looseObject({ revisionName: z.string().optional(), percent: z.number().optional(), latestRevision: z.boolean().optional(), tag: z.string().optional() })).optional(),
      }),
    )
    .optional(),
});

export type IsvcStatus = z.infer<typeof IsvcStatusSchema>;
type IsvcCondition = z.infer<typeof IsvcConditionSchema>;

/** Validate an InferenceService's status (pass the whole object or just `.status`). Missing status → empty status. */
export function parseIsvcStatus(obj: unknown): IsvcStatus {
  const raw = obj && typeof obj === 'object' && 'kind' in obj ? ((obj as { status?: unknown }).status ?? {}) : (obj ?? {});
  const r = IsvcStatusSchema.safeParse(raw);
  if (!r.success) {
    throw new Error(`InferenceService status is malformed: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

export function getCondition(status: IsvcStatus, type: string): IsvcCondition | undefined {
  return status.conditions.find((c) => c.type === type);
}

/** True when the `Ready` condition is True. */
export function isReady(status: IsvcStatus): boolean {
  return getCondition(status, 'Ready')?.status === 'True';
}

/**
 * A condition's healthy value when it is not True: KServe sets `Stopped=False` on every InferenceService
 * that is not force-stopped (pkg/controller/v1beta1/inferenceservice/controller.go), and True when it is.
 * Ready is derived from PredictorReady and IngressReady (inference_service_status.go conditionSet).
 */
const HEALTHY: Record<string, string> = { Stopped: 'False' };

/** One line explaining why the service is not ready: conditions not at their healthy value, and the last model failure. */
export function describeNotReady(status: IsvcStatus): string {
  // The model's last failure first: it says why; the conditions mostly say that the predictor is not ready.
  const f = status.modelStatus?.lastFailureInfo;
  const parts = f ? [`lastFailure: ${[f.reason, f.message && oneLine(f.message)].filter(Boolean).join(': ')}`] : [];
  for (const c of status.conditions.filter((x) => x.status !== (HEALTHY[x.type] ?? 'True'))) parts.push(`${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`);
  const state = status.modelStatus?.states?.activeModelState;
  if (state !== undefined) parts.push(`activeModelState=${state || '(empty)'}`);
  return parts.length ? parts.join('; ') : 'no conditions reported yet';
}

/** How long BlockedByFailedLoad must hold before a wait gives up (one crash-loop back-off, 10 s, and a restart). */
export const BLOCKED_GRACE_MS = 15_000;

/**
 * Whether waiting for Ready is still worth it. KServe's modelStatus.transitionStatus says when it is not
 * (pkg/apis/serving/v1beta1/inference_service_status.go):
 * - InvalidSpec (UpdateModelTransitionStatus): no runtime supports the model (NoSupportingRuntime),
 *   the named runtime does not exist or is disabled (RuntimeNotRecognized, RuntimeDisabled), or the
 *   predictor spec is invalid. It stays until the spec changes: give up at once.
 * - BlockedByFailedLoad (UpdateModelRevisionStates FailedToLoad): the storage-initializer or the
 *   kserve-container terminated with Error or is in CrashLoopBackOff (ModelLoadFailed). KServe derives
 *   it again on every reconcile, so a container that recovers on restart leaves it: give up once it
 *   has held for `graceMs`.
 * `blockedForMs`: how long the caller has seen BlockedByFailedLoad without a break.
 */
export function readyVerdict(status: IsvcStatus, blockedForMs = 0, graceMs = BLOCKED_GRACE_MS): { state: 'ready' | 'waiting' } | { state: 'failed'; headline: string } {
  if (isReady(status)) return { state: 'ready' };
  const t = status.modelStatus?.transitionStatus;
  if (t !== 'InvalidSpec' && !(t === 'BlockedByFailedLoad' && blockedForMs >= graceMs)) return { state: 'waiting' };
  const f = status.modelStatus?.lastFailureInfo;
  const failure = f ? `lastFailureInfo ${[f.reason ?? '(no reason)', f.message && oneLine(f.message)].filter(Boolean).join(': ')}` : 'no lastFailureInfo';
  const code = f?.exitCode === undefined ? '' : ` (exit code ${f.exitCode})`;
  return { state: 'failed', headline: `cannot become Ready: transitionStatus ${t}, ${failure}${code}` };
}

/**
 * One line of a multi-line failure message: KServe copies a container's termination message, which
 * for the storage-initializer is its log tail (a Python traceback ends with the exception), so the
 * last non-empty line is kept.
 */
function oneLine(s: string): string {
  const lines = s.split('\n').filter((l) => l.trim());
  return lines.length > 1 ? `[...] ${lines[lines.length - 1]!.trim()}` : (lines[0] ?? '');
}
