/**
 * The monitoring check (fixtures/serving-monitoring.ts, helpers/monitoring.ts): its PromQL, its
 * decisions, and the whole check against a fake Prometheus over a fake model server, decided by
 * the lab's own references. Controls: a Prometheus that counts each request twice (two scrape jobs
 * on one pod) fails monitored_requests_ratio; one that never scrapes fails every criterion; a
 * counter reset is named; no Prometheus is N/A.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitoringChecks, MONITORING_CRITERIA } from '../../fixtures/serving-monitoring.ts';
import type { Served } from '../../fixtures/serving.ts';
import { counted, counterProblem, latencyProblem, metricsDialect, monitoringQueries } from '../../helpers/monitoring.ts';
import { evaluate, loadReferences, taskReferences, threshold } from '../../helpers/references.ts';

const svc = { namespace: 'mlv-run-1', name: 'mnist-e2e', modelName: 'mnist' };

test('queries select the predictor pods of the service and the model, with PromQL escaping', () => {
  const q = monitoringQueries('triton', { ...svc, name: 'a.b"c' });
  assert.equal(q.requests, 'sum(nv_inference_request_success{namespace="mlv-run-1",pod=~"a\\\\.b\\"c-predictor-.*",model="mnist"})');
  assert.match(q.latencyMs, /^max\(nv_inference_request_summary_us\{.*quantile="0\.95"\}\) \/ 1000$/);
  assert.equal(q.perJob, 'count by (job) (nv_inference_request_success{namespace="mlv-run-1",pod=~"a\\\\.b\\"c-predictor-.*",model="mnist"})');
  const k = monitoringQueries('kserve', svc);
  assert.equal(k.requests, 'sum(request_predict_seconds_count{namespace="mlv-run-1",pod=~"mnist-e2e-predictor-.*",model_name="mnist"})');
  assert.match(k.latencyMs, /^histogram_quantile\(0\.95, sum by \(le\) \(request_predict_seconds_bucket\{/);
  assert.equal(metricsDialect('kserve-tritonserver'), 'triton');
  assert.equal(metricsDialect('kserve-sklearnserver'), 'kserve');
});

test('decisions: a counter reset, a missing or idle latency series, counted over sent', () => {
  assert.match(counterProblem({ sent: 20, before: 30, after: 4, seconds: 1 })!, /went down \(30 → 4\)/);
  assert.equal(counterProblem({ sent: 20, before: 3, after: 23, seconds: 1 }), null);
  assert.match(latencyProblem('triton', undefined)!, /summary_latencies=true/);
  assert.match(latencyProblem('kserve', NaN)!, /no request observed/);
  assert.equal(latencyProblem('kserve', 4.2), null);
  const c = counted({ sent: 20, before: 7, after: 47, seconds: 2 });
  assert.equal(c.ratio, 2);
  assert.match(c.detail, /counted 40 of 20 requests sent: 7 → 47/);
});

/** A model server and a Prometheus over it: `countEach` series per request, scrapes fresh unless `stale`. */
async function fakeTarget(opts: { countEach: number; stale?: boolean; latencyMs?: number; lateSecondJob?: boolean }) {
  let requests = 7; // before the check (the infer stage's)
  // One series per scrape job (two when each request is counted twice); a late second job shows once the check's requests began, counting from the start.
  const jobs = () => ['kubernetes-pods', 'podmonitor-duplicate'].slice(0, opts.countEach === 2 && !(opts.lateSecondJob && requests <= 7) ? 2 : 1);
  const perJob = () => (opts.countEach === 0 ? 7 : requests);
  const listen = (h: http.RequestListener) =>
    new Promise<http.Server>((r) => {
      const s = http.createServer(h);
      s.listen(0, '127.0.0.1', () => r(s));
    });
  const model = await listen((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"outputs":[]}');
    });
  });
  const pod = 'mnist-e2e-predictor-00001-abc';
  const vectorOf = (result: { metric: Record<string, string>; v: number }[]) => ({
    status: 'success',
    data: { resultType: 'vector', result: result.map((r) => ({ metric: r.metric, value: [Date.now() / 1000, String(r.v)] })) },
  });
  const vector = (v: number, metric: Record<string, string> = {}) => vectorOf([{ metric, v }]);
  const prom = await listen((req, res) => {
    const q = new URL(req.url!, 'http://x').searchParams.get('query') ?? '';
    const now = Date.now() / 1000;
    let body: unknown;
    if (q === 'vector(time())') body = vector(now);
    else if (q.startsWith('min(timestamp(')) body = vector(opts.stale ? now - 3600 : now + 0.001);
    else if (q.startsWith('sum by (pod)')) body = vector(jobs().length * perJob(), { pod });
    else if (q.startsWith('sum(nv_inference_request_success')) body = vector(jobs().length * perJob());
    else if (q.startsWith('nv_inference_request_success{')) body = vectorOf(jobs().map((job) => ({ metric: { job, pod }, v: perJob() })));
    else if (q.startsWith('count by (job)')) body = vectorOf(jobs().map((job) => ({ metric: { job }, v: 1 })));
    else if (q.startsWith('max(nv_inference_request_summary_us')) body = vector(opts.latencyMs ?? 3);
    else body = vectorOf([]);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  const url = (s: http.Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  const served_: Served = { ...svc, runtime: 'kserve-tritonserver', protocol: 'v2', protocols: ['v2'], status: {} as Served['status'], ready: true, coldStartMs: 0, endpoint: { baseUrl: url(model) } };
  return { svc: served_, prometheusUrl: url(prom), close: () => Promise.all([model, prom].map((s) => new Promise((r) => s.close(r)))) };
}

/** Criteria as the fixture's: thresholds decided by the lab's references for MLOPS-5.1. */
function recordingCriteria() {
  const refs = taskReferences(loadReferences('lab'), 'MLOPS-5.1');
  const out: Record<string, { ok: boolean; value?: number; detail?: string }> = {};
  return {
    out,
    criteria: {
      check: async (name: string, ok: boolean, detail?: string) => void (out[name] = { ok, detail }),
      threshold: async (name: string, value: number, _key?: string, detail?: string) => {
        const v = evaluate(name, value, threshold(refs, name));
        out[name] = { ok: v.pass, value, detail };
        return v.pass;
      },
      notApplicable: async (name: string, detail: string) => void (out[name] = { ok: true, detail: `N/A: ${detail}` }),
    },
  };
}

const request = { path: '/v2/models/mnist/infer', body: { inputs: [] }, validate: () => true as const };

/** The whole check on a fake target, decided by the lab's references: what each criterion got. */
async function checkOn(target: Parameters<typeof fakeTarget>[0], ctx: { scrapeWaitMs?: number } = {}) {
  const t = await fakeTarget(target);
  const { out, criteria } = recordingCriteria();
  try {
    await monitoringChecks({ criteria: criteria as never, prometheusUrl: t.prometheusUrl, pollMs: 20, ...ctx }, t.svc, request);
  } finally {
    await t.close();
  }
  return out;
}

for (const [label, countEach, ok] of [
  ['a Prometheus that counts every request once passes', 1, true],
  ['control: two scrape jobs on one pod (every request counted twice) fail monitored_requests_ratio', 2, false],
  ['control: a Prometheus that misses requests fails monitored_requests_ratio', 0, false],
] as const) {
  test(label, async () => {
    const out = await checkOn({ countEach });
    assert.equal(out[MONITORING_CRITERIA.scraped]?.ok, true);
    assert.equal(out[MONITORING_CRITERIA.requests]?.value, countEach);
    assert.equal(out[MONITORING_CRITERIA.requests]?.ok, ok, out[MONITORING_CRITERIA.requests]?.detail);
    assert.match(out[MONITORING_CRITERIA.requests]!.detail!, new RegExp(`counted ${20 * countEach} of 20 requests sent`));
    assert.match(out[MONITORING_CRITERIA.requests]!.detail!, countEach === 2 ? /series by scrape job: kubernetes-pods 1, podmonitor-duplicate 1/ : /series by scrape job: kubernetes-pods 1$/);
    assert.equal(out[MONITORING_CRITERIA.latency]?.ok, true);
  });
}

test("a second scrape job's series that shows up late does not count the requests before the baseline: the check measures again", async () => {
  const out = await checkOn({ countEach: 2, lateSecondJob: true });
  assert.equal(out[MONITORING_CRITERIA.requests]?.value, 2, out[MONITORING_CRITERIA.requests]?.detail);
  assert.match(out[MONITORING_CRITERIA.requests]!.detail!, /counted 40 of 20 requests sent: 54 → 94 .*; measured 2 times: a series appeared during the earlier measurement/);
});

test('control: a slow model fails monitored_p95_latency_ms', async () => {
  const out = await checkOn({ countEach: 1, latencyMs: 500 });
  assert.equal(out[MONITORING_CRITERIA.requests]?.ok, true);
  assert.deepEqual([out[MONITORING_CRITERIA.latency]?.ok, out[MONITORING_CRITERIA.latency]?.value], [false, 500]);
});

test('control: pods never scraped fail all three criteria, naming the wait', async () => {
  const out = await checkOn({ countEach: 1, stale: true }, { scrapeWaitMs: 200 });
  for (const n of Object.values(MONITORING_CRITERIA)) assert.equal(out[n]?.ok, false, n);
  assert.match(out[MONITORING_CRITERIA.scraped]!.detail!, /no sample of sum\(nv_inference_request_success.* scraped in the 0\.2 s/);
});

test('without a Prometheus the criteria are N/A with the reason', async () => {
  const { out, criteria } = recordingCriteria();
  await monitoringChecks({ criteria: criteria as never }, {} as Served, request);
  for (const n of Object.values(MONITORING_CRITERIA)) assert.match(out[n]!.detail!, /^N\/A: MLV_PROMETHEUS_URL is not set/);
});

test('a Prometheus that cannot be reached is an infra error naming its URL without its query or credentials', async () => {
  const { criteria } = recordingCriteria();
  const svc_ = { ...svc, runtime: 'kserve-tritonserver', endpoint: { baseUrl: 'http://127.0.0.1:9' } } as unknown as Served;
  await assert.rejects(monitoringChecks({ criteria: criteria as never, prometheusUrl: 'http://u:pw@127.0.0.1:9/prom?token=s3cret' }, svc_, request), (e: Error) => {
    assert.match(e.message, /^INFRA: Prometheus at http:\/\/127\.0\.0\.1:9\/prom could not be reached \(ECONNREFUSED\)\. Fix: check MLV_PROMETHEUS_URL/);
    assert.ok(!/s3cret|pw/.test(e.message), e.message);
    return true;
  });
});
