/**
 * Where and how to reach an InferenceService.
 *
 * Two ways in:
 * - directly at `status.url` (DNS resolves to the ingress), or
 * - through a configured ingress base URL (e.g. `http://127.0.0.1:31080`) with
 *   the `Host` header set to `status.url`'s host: the Istio/Knative convention,
 *   since the gateway routes on the virtual host. `status.url`'s path is kept
 *   (path-based routing). For https ingresses the TLS SNI name defaults to the
 *   same host.
 *
 * Field names match `LoadOptions` in clients/loadgen.ts, so an Endpoint can be
 * spread into a load run: `runLoad({ ...ep, url: endpointUrl(ep, path), ... })`.
 */
import { redact } from '../../helpers/redact.ts';

export interface Endpoint {
  /** Base URL without trailing slash; request paths are appended to it. */
  baseUrl: string;
  /** `Host` header override (virtual host), when going through an ingress. */
  hostHeader?: string;
  /** TLS SNI name for https. */
  servername?: string;
  /** PEM CA bundle; TLS verification is always on. */
  ca?: string | Buffer;
  /** Sent as `Authorization: Bearer <token>`, to this endpoint only (no redirects are followed); never logged. */
  bearerToken?: string;
  /** The target opted in (MLV_INFERENCE_TOKEN_OVER_HTTP=yes) to sending the token over plain http. */
  tokenOverHttp?: boolean;
}

/** The part of an InferenceService status needed to resolve its endpoint. */
interface StatusUrls {
  url?: string;
}

interface ResolveOptions {
  /** Ingress base URL; when set, requests go there with `Host: <status.url host>`. */
  ingressBaseUrl?: string;
  ca?: string | Buffer;
  bearerToken?: string;
  tokenOverHttp?: boolean;
}

/** Resolve the endpoint of an InferenceService from its status. */
export function resolveEndpoint(status: StatusUrls | undefined, o: ResolveOptions = {}): Endpoint {
  const tls = compact({ ca: o.ca, bearerToken: o.bearerToken, tokenOverHttp: o.tokenOverHttp || undefined });
  const statusUrl = status?.url;
  if (!statusUrl) throw new Error('InferenceService has no status.url yet (is it Ready?)');
  const u = parseHttpUrl(statusUrl, 'status.url');
  if (!o.ingressBaseUrl) return checkTokenTransport({ baseUrl: trimSlash(u.href), ...tls });
  const ingress = parseHttpUrl(o.ingressBaseUrl, 'ingressBaseUrl');
  const path = trimSlash(u.pathname);
  return checkTokenTransport({
    baseUrl: trimSlash(ingress.origin + trimSlash(ingress.pathname) + path),
    hostHeader: u.host,
    servername: ingress.protocol === 'https:' ? u.hostname : undefined,
    ...tls,
  });
}

/** A bearer token goes over https only, unless the target opted in; the refusal names the key and the opt-in. */
export function checkTokenTransport(ep: Endpoint): Endpoint {
  const e = compact(ep);
  if (e.bearerToken && !e.baseUrl.startsWith('https:') && !e.tokenOverHttp) {
    throw new Error(
      `MLV_INFERENCE_TOKEN would be sent over plain http to ${redactUrl(e.baseUrl)}. Fix: use an https endpoint (MLV_INGRESS_URL=https://...), or set MLV_INFERENCE_TOKEN_OVER_HTTP=yes to allow it (a lab or a private network).`,
    );
  }
  return e;
}

/** Join the endpoint base URL and a path starting with "/". */
export function endpointUrl(ep: Endpoint, path: string): string {
  return ep.baseUrl + (path.startsWith('/') ? path : `/${path}`);
}

/** URL safe to log: the one redaction (userinfo and token-like query values masked). */
export function redactUrl(raw: string): string {
  return redact(raw).replace(/^([a-z][a-z0-9+.-]*:\/\/)\*\*\*@/i, '$1');
}

function parseHttpUrl(raw: string, what: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`${what} is not a valid URL: ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${what} must be http(s), got ${u.protocol}`);
  return u;
}

/** Drop undefined-valued keys (keeps resolved endpoints tidy and comparable). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}
