// Kubernetes `Status` errors, shaped like the ones k8s.io/apimachinery/pkg/api/errors builds,
// so kubectl prints "Error from server (NotFound): ..." and client libraries can read `reason`.

export interface GroupResource {
  group: string;
  resource: string;
}

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export class ApiError extends Error {
  constructor(
    public readonly code: number,
    public readonly reason: string,
    message: string,
    public readonly details?: Record<string, unknown>,
    public readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    const status: Record<string, unknown> = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }
}

export function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

function details(gr: GroupResource, name: string): Record<string, unknown> {
  const d: Record<string, unknown> = { name, kind: gr.resource };
  if (gr.group) d.group = gr.group;
  return d;
}

export function notFound(gr: GroupResource, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(gr)} "${name}" not found`, details(gr, name));
}

export function alreadyExists(gr: GroupResource, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(gr)} "${name}" already exists`, details(gr, name));
}

export function conflict(gr: GroupResource, name: string, why: string): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`, details(gr, name));
}

export const STALE_OBJECT = 'the object has been modified; please apply your changes to the latest version and try again';

/** 422 Invalid. `kind` is the group-qualified kind, e.g. "Pod" or "InferenceService.serving.kserve.io". */
export function invalid(group: string, kind: string, name: string, causes: StatusCause[]): ApiError {
  const qualified = group ? `${kind}.${group}` : kind;
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const agg = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const d: Record<string, unknown> = { name, kind, causes };
  if (group) d.group = group;
  return new ApiError(422, 'Invalid', `${qualified} "${name}" is invalid: ${agg}`, d);
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function methodNotAllowed(): ApiError {
  return new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

export function forbidden(gr: GroupResource, name: string, why: string): ApiError {
  const what = name ? `${qualifiedResource(gr)} "${name}"` : qualifiedResource(gr);
  return new ApiError(403, 'Forbidden', `${what} is forbidden: ${why}`, details(gr, name));
}

export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got ${contentType || 'none'})`,
  );
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}

export function pathNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {
    causes: [{ reason: 'UnexpectedServerResponse', message: '404 page not found' }],
  });
}
