/** One instant query against a Prometheus HTTP API, validated with zod. */
import axios from 'axios';
import { z } from 'zod';

const Vector = z.object({
  status: z.literal('success'),
  data: z.object({ resultType: z.string(), result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })) }),
});

/** Values of an instant-vector query, one per series. */
export async function promQuery(baseUrl: string, query: string, opts: { token?: string; timeoutMs?: number } = {}): Promise<{ metric: Record<string, string>; value: number }[]> {
  const r = await axios.get(`${baseUrl.replace(/\/+$/, '')}/api/v1/query`, {
    params: { query },
    timeout: opts.timeoutMs ?? 10_000,
    headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : undefined,
    validateStatus: () => true,
  });
  if (r.status !== 200) throw new Error(`Prometheus answered ${r.status} to ${query}: ${JSON.stringify(r.data).slice(0, 300)}`);
  const v = Vector.parse(r.data);
  return v.data.result.map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
}
