/** One instant query against a Prometheus HTTP API, validated with zod. */
import axios from 'axios';
import { z } from 'zod';
import { InfraError } from '../helpers/errors.ts';

const Vector = z.object({
  status: z.literal('success'),
  data: z.object({ resultType: z.string(), result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })) }),
});

/** The URL for messages: no credentials, no query (it may hold an access token). */
const shown = (baseUrl: string) => {
  const u = new URL(baseUrl);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
};

/** The query endpoint under a base URL: its path extended, its own query (an access token) kept. */
export function queryEndpoint(baseUrl: string): string {
  const u = new URL(baseUrl);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/api/v1/query`;
  return u.toString();
}

/** Values of an instant-vector query, one per series. */
export async function promQuery(baseUrl: string, query: string, opts: { token?: string; timeoutMs?: number } = {}): Promise<{ metric: Record<string, string>; value: number }[]> {
  const where = shown(baseUrl);
  const r = await axios
    .get(queryEndpoint(baseUrl), {
      params: { query },
      timeout: opts.timeoutMs ?? 10_000,
      headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : undefined,
      validateStatus: () => true,
    })
    .catch((e: Error & { code?: string }) => {
      throw new InfraError(`Prometheus at ${where} could not be reached (${e.code ?? e.message}). Fix: check MLV_PROMETHEUS_URL and that Prometheus is up.`);
    });
  if (r.status !== 200) throw new InfraError(`Prometheus at ${where} answered ${r.status} to ${query}: ${JSON.stringify(r.data).slice(0, 300)}`);
  const v = Vector.parse(r.data);
  return v.data.result.map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
}
