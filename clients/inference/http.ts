/**
 * Shared HTTP transport for the inference clients: axios over a keep-alive
 * Agent, Host header / SNI / CA / bearer token from an `Endpoint`, a request
 * timeout, and a small bounded retry on connection errors and HTTP 503 only.
 *
 * Errors:
 * - `InferenceHttpError`: a non-2xx answer (status, method, url, trimmed body).
 * - `InferenceConnectionError`: no answer (refused, reset, timeout, TLS...).
 * - `InferenceSchemaError`: a 2xx body that is not JSON or fails its zod schema.
 * None of them carries the token: urls are redacted and headers are never copied.
 *
 * Environment proxies (HTTP_PROXY...) are ignored on purpose: the suite talks to
 * the endpoint it was given.
 */
import http from 'node:http';
import https from 'node:https';
import axios, { AxiosError, type AxiosInstance, type Method } from 'axios';
import type { z } from 'zod';
import { checkTokenTransport, endpointUrl, redactUrl, type Endpoint } from './endpoint.ts';

export interface ClientOptions {
  /** Whole-request timeout in ms (default 30 000). */
  timeoutMs?: number;
  /** Retries after the first attempt, on connection errors and 503 only (default 3). */
  retries?: number;
  /** First backoff in ms, doubled each retry (default 200). */
  retryBaseMs?: number;
  /** Backoff cap in ms (default 2 000). */
  retryMaxMs?: number;
}

const BODY_LIMIT = 500;
const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

export class InferenceHttpError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly url: string,
    /** Response body, whitespace-collapsed and trimmed to 500 characters. */
    readonly body: string,
  ) {
    super(`${method} ${url} → HTTP ${status}${body ? `: ${body}` : ''}`);
    this.name = 'InferenceHttpError';
  }
}

export class InferenceConnectionError extends Error {
  constructor(
    readonly code: string,
    readonly method: string,
    readonly url: string,
    detail: string,
  ) {
    super(`${method} ${url} → ${code}: ${detail}`);
    this.name = 'InferenceConnectionError';
  }
}

export class InferenceSchemaError extends Error {
  constructor(
    readonly what: string,
    readonly url: string,
    readonly issues: string[],
    /** Offending body, trimmed to 500 characters. */
    readonly body: string,
  ) {
    super(`${what} from ${url} is malformed: ${issues.join('; ')} (body: ${body})`);
    this.name = 'InferenceSchemaError';
  }
}

interface RawResponse {
  status: number;
  /** Raw body text. */
  text: string;
  /** Redacted request URL. */
  url: string;
  method: string;
}

interface RequestOptions {
  body?: unknown;
  /** Statuses returned instead of thrown (2xx always are). */
  acceptStatus?: number[];
  /** Set false to disable retries (e.g. readiness probes that expect 503). */
  retry?: boolean;
}

/** One keep-alive connection pool to one endpoint. Call `close()` when done. */
export class InferenceTransport {
  private readonly axios: AxiosInstance;
  private readonly agent: http.Agent | https.Agent;
  private readonly retries: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;

  constructor(
    readonly endpoint: Endpoint,
    opts: ClientOptions = {},
  ) {
    checkTokenTransport(endpoint);
    const isHttps = endpoint.baseUrl.startsWith('https:');
    this.agent = isHttps
      ? new https.Agent({
          keepAlive: true,
          ca: endpoint.ca,
          servername: endpoint.servername,
        })
      : new http.Agent({ keepAlive: true });
    const headers: Record<string, string> = { accept: 'application/json' };
    if (endpoint.hostHeader) headers['host'] = endpoint.hostHeader;
    if (endpoint.bearerToken) headers['authorization'] = `Bearer ${endpoint.bearerToken}`;
    this.axios = axios.create({
      timeout: opts.timeoutMs ?? 30_000,
      headers,
      httpAgent: isHttps ? undefined : this.agent,
      httpsAgent: isHttps ? this.agent : undefined,
      proxy: false,
      maxRedirects: 0,
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
      validateStatus: () => true,
    });
    this.retries = opts.retries ?? 3;
    this.retryBaseMs = opts.retryBaseMs ?? 200;
    this.retryMaxMs = opts.retryMaxMs ?? 2000;
  }

  /** Send a request; throws on non-2xx (unless accepted) and on connection errors. */
  async request(method: Method, path: string, o: RequestOptions = {}): Promise<RawResponse> {
    const url = endpointUrl(this.endpoint, path);
    const shown = redactUrl(url);
    const verb = method.toUpperCase();
    const maxAttempts = o.retry === false ? 1 : this.retries + 1;
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= maxAttempts;
      try {
        const res = await this.axios.request<string>({
          method,
          url,
          data: o.body === undefined ? undefined : JSON.stringify(o.body),
          headers: o.body === undefined ? undefined : { 'content-type': 'application/json' },
        });
        const text = typeof res.data === 'string' ? res.data : String(res.data ?? '');
        if (res.status === 503 && !last && !o.acceptStatus?.includes(503)) {
          await this.backoff(attempt);
          continue;
        }
        if ((res.status >= 200 && res.status < 300) || o.acceptStatus?.includes(res.status)) {
          return { status: res.status, text, url: shown, method: verb };
        }
        throw new InferenceHttpError(res.status, verb, shown, trimBody(text));
      } catch (e) {
        if (!(e instanceof AxiosError)) throw e;
        const code = connectionCode(e);
        if (RETRYABLE_CODES.has(code) && !last) {
          await this.backoff(attempt);
          continue;
        }
        throw new InferenceConnectionError(code, verb, shown, e.message);
      }
    }
  }

  /** `request` + JSON.parse + zod validation. */
  async json<S extends z.ZodType>(schema: S, what: string, method: Method, path: string, o: RequestOptions = {}): Promise<z.output<S>> {
    const res = await this.request(method, path, o);
    return parseBody(schema, what, res);
  }

  /** Destroy the keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }

  private backoff(attempt: number): Promise<void> {
    const ms = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (attempt - 1));
    return new Promise((r) => setTimeout(r, ms));
  }
}

/** Parse a response body as JSON and validate it; throws `InferenceSchemaError` with every issue path. */
export function parseBody<S extends z.ZodType>(schema: S, what: string, res: Pick<RawResponse, 'text' | 'url'>): z.output<S> {
  let data: unknown;
  try {
    data = JSON.parse(res.text);
  } catch {
    throw new InferenceSchemaError(what, res.url, ['body is not valid JSON'], trimBody(res.text));
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new InferenceSchemaError(what, res.url, issues, trimBody(res.text));
  }
  return parsed.data;
}

function trimBody(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > BODY_LIMIT ? `${t.slice(0, BODY_LIMIT)}…` : t;
}

function connectionCode(e: AxiosError): string {
  const cause = (e as { cause?: { code?: string } }).cause;
  return e.code ?? cause?.code ?? 'ERR_UNKNOWN';
}
