/**
 * Transport to an MLflow tracking server: axios with MLflow's auth conventions (bearer token
 * from MLFLOW_TRACKING_TOKEN, else basic auth from MLFLOW_TRACKING_USERNAME/PASSWORD), opt-in
 * insecure TLS, a 10 s timeout per request, and MLflow's errors turned into typed ones:
 * - MlflowApiError: the server answered with an error ({error_code, message}, or HTML for a
 *   wrong route), naming the call;
 * - InfraError: no answer at all (refused, timeout, DNS, TLS): the harness cannot reach MLflow.
 * No error or message carries a credential.
 */
import http from 'node:http';
import https from 'node:https';
import axios, { AxiosError, type AxiosInstance, type Method } from 'axios';
import type { z } from 'zod';
import type { MlflowTarget } from '../../helpers/config.ts';
import { InfraError } from '../../helpers/errors.ts';
import { redact } from '../../helpers/redact.ts';
import { ErrorBodySchema } from './schemas.ts';

export class MlflowApiError extends Error {
  constructor(
    readonly call: string,
    readonly status: number,
    /** MLflow's error_code, e.g. RESOURCE_DOES_NOT_EXIST; "HTTP_<status>" for a body without one. */
    readonly errorCode: string,
    readonly detail: string,
  ) {
    super(`MLflow ${call} → HTTP ${status} ${errorCode}${detail ? `: ${detail}` : ''}`);
    this.name = 'MlflowApiError';
  }
}

/** A 2xx body that does not match the response schema of its call. */
export class MlflowSchemaError extends Error {
  constructor(call: string, problem: string) {
    super(`MLflow ${call}: unexpected response (${problem})`);
    this.name = 'MlflowSchemaError';
  }
}

const TIMEOUT_MS = 10_000;
const trim = (s: string) => s.replace(/\s+/g, ' ').slice(0, 300);

export class MlflowHttp {
  private readonly ax: AxiosInstance;
  private readonly secrets: (string | undefined)[];
  constructor(readonly target: MlflowTarget) {
    this.secrets = [target.token, target.password];
    this.ax = axios.create({
      baseURL: target.uri,
      timeout: TIMEOUT_MS,
      proxy: false,
      validateStatus: () => true,
      headers: target.token ? { Authorization: `Bearer ${target.token}` } : {},
      auth: target.username ? { username: target.username, password: target.password ?? '' } : undefined,
      httpAgent: new http.Agent({ keepAlive: true }),
      httpsAgent: new https.Agent({ keepAlive: true, rejectUnauthorized: !target.insecureTls }),
    });
  }

  /** A JSON call of the REST API (`path` under /api/2.0/mlflow/), parsed with `schema`. */
  async json<S extends z.ZodType>(method: Method, path: string, schema: S, body?: object): Promise<z.infer<S>> {
    const isGet = method === 'GET';
    const res = await this.send(path, method, `/api/2.0/mlflow/${path}`, {
      params: isGet ? body : undefined,
      data: isGet ? undefined : JSON.stringify(body ?? {}),
      headers: isGet ? {} : { 'Content-Type': 'application/json' },
      responseType: 'text',
    });
    const parsed = schema.safeParse(parseJson(res.data as string));
    if (!parsed.success) throw new MlflowSchemaError(path, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    return parsed.data;
  }

  /** Bytes through the artifact proxy (/api/2.0/mlflow-artifacts/artifacts/<path>). */
  async artifact(method: 'GET' | 'PUT', path: string, data?: Buffer): Promise<Buffer> {
    const url = `/api/2.0/mlflow-artifacts/artifacts/${path.split('/').map(encodeURIComponent).join('/')}`;
    const res = await this.send(`artifacts ${method} ${path}`, method, url, {
      data,
      headers: data ? { 'Content-Type': 'application/octet-stream' } : {},
      responseType: 'arraybuffer',
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
    });
    return Buffer.from(res.data as ArrayBuffer);
  }

  /** A plain-text endpoint outside the API (/health, /version). */
  async text(path: string): Promise<string> {
    const res = await this.send(path, 'GET', path, { responseType: 'text' });
    return String(res.data).trim();
  }

  private async send(call: string, method: Method, url: string, cfg: Parameters<AxiosInstance['request']>[0]) {
    let res;
    try {
      res = await this.ax.request({ ...cfg, method, url });
    } catch (e) {
      const code = (e as AxiosError).code ?? 'error';
      const why = code === 'ECONNABORTED' || code === 'ETIMEDOUT' ? `no answer within ${TIMEOUT_MS / 1000} s` : code;
      throw new InfraError(
        `MLflow at ${this.target.uri} could not be reached for ${call} (${redact((e as Error).message, this.secrets)}; ${why}). Fix: check MLFLOW_TRACKING_URI and that the tracking server is up.`,
      );
    }
    if (res.status >= 200 && res.status < 300) return res;
    throw this.apiError(call, res.status, res.data);
  }

  private apiError(call: string, status: number, data: unknown): MlflowApiError {
    const text = Buffer.isBuffer(data) || data instanceof ArrayBuffer ? Buffer.from(data as ArrayBuffer).toString('utf8') : String(data ?? '');
    const body = ErrorBodySchema.safeParse(parseJson(text));
    const auth = status === 401 || status === 403 ? ' (check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD)' : '';
    if (body.success) return new MlflowApiError(call, status, body.data.error_code, redact(trim(body.data.message ?? ''), this.secrets) + auth);
    const html = /<title>([^<]*)<\/title>/i.exec(text)?.[1];
    return new MlflowApiError(call, status, `HTTP_${status}`, redact(trim(html ?? text), this.secrets) + auth);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
