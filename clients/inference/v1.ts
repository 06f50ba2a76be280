/**
 * KServe V1 protocol client.
 *   GET  /v1/models/<m>          → {name, ready}
 *   POST /v1/models/<m>:predict  {instances:[...]} → {predictions:[...]}
 */
import { z } from 'zod';
import type { Endpoint } from './endpoint.ts';
import { InferenceTransport, parseBody, type ClientOptions } from './http.ts';

const V1ModelReadySchema = z.object({ name: z.string(), ready: z.boolean() });
const V1PredictSchema = z.object({ predictions: z.array(z.unknown()) });

type V1ModelReady = z.infer<typeof V1ModelReadySchema>;
type V1PredictResponse = z.infer<typeof V1PredictSchema>;

export class KServeV1Client {
  private readonly t: InferenceTransport;

  constructor(endpoint: Endpoint, opts?: ClientOptions) {
    this.t = new InferenceTransport(endpoint, opts);
  }

  /**
   * Model readiness. A 503 (KServe's "model not ready") gives `{name, ready: false}`
   * without retrying; other non-2xx answers (e.g. 404 unknown model) throw.
   */
  async modelReady(name: string): Promise<V1ModelReady> {
    const res = await this.t.request('GET', `/v1/models/${encodeURIComponent(name)}`, { acceptStatus: [503], retry: false });
    if (res.status === 503) return { name, ready: false };
    return parseBody(V1ModelReadySchema, 'V1 model status', res);
  }

  /** `POST :predict` with `{instances}`; returns the validated `{predictions}`. */
  async predict(name: string, instances: unknown[]): Promise<V1PredictResponse> {
    return this.t.json(V1PredictSchema, 'V1 predict response', 'POST', `/v1/models/${encodeURIComponent(name)}:predict`, {
      body: { instances },
    });
  }

  close(): void {
    this.t.close();
  }
}
