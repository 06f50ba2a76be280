/**
 * The lab's MLflow stand-in (lab/mlflow/standin) speaks MLflow 3.x's REST wire format. First the
 * suite's whole MLflow pass (tests/mlflow-scenario.ts) against the stand-in, each exchange held to
 * a real MLflow server's recording (tests/recorded/mlflow): status, content type, error codes and
 * body shapes, every difference listed; with a control that an altered recorded body is reported.
 * Then direct checks of what the scenario does not reach, read from MLflow's sources (required
 * fields, content type, routing errors, the pagination traps, refused names and values).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { shapeDiff } from '../../helpers/shape-diff.ts';
import { mlflowScenario } from '../mlflow-scenario.ts';
import { recordingProxy, type Exchange } from '../mlflow-recorder.ts';
import { startStandIn, type StandIn } from '../mlflow-standin-process.ts';

type Json = Record<string, unknown>;
interface Answer {
  status: number;
  type: string;
  text: string;
  json?: Json;
}

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers = { 'Content-Type': 'application/json', ...headers };
  }
  const r = await fetch(base + path, init);
  const text = await r.text();
  const type = r.headers.get('content-type') ?? '';
  return { status: r.status, type, text, json: type.startsWith('application/json') ? (JSON.parse(text) as Json) : undefined };
}

const RECORDING = 'tests/recorded/mlflow/mlflow-3.11.2.dev0.json';
const rec = JSON.parse(readFileSync(RECORDING, 'utf8')) as { server: { version: string }; suffix: string; errors: string[]; exchanges: Exchange[] };
/** values compared as well as shapes (the rest, ids and times, differ between servers) */
const EQUAL_AT = new Set(['error_code', 'error_class', 'status', 'bytes', 'lifecycle_stage', 'current_stage', 'key', 'version', 'name', 'is_dir', 'file_size']);
/** The one intended difference: GET /version names the stand-in instead of an MLflow version. */
const VERSION_EXCHANGE = (e: Exchange) => e.method === 'GET' && e.path === '/version';
const template = (p: string) =>
  p
    .split('?')[0]!
    .replace(/[0-9a-f]{32}/g, '<run>')
    .replace(/\/artifacts\/\d+\//, '/artifacts/<exp>/');

/** Every difference between the recorded exchanges and the stand-in's, one line each. */
export function exchangeDiffs(want: Exchange[], have: Exchange[]): string[] {
  const out = want.flatMap((w, i) => {
    const h = have[i];
    const at = `#${i} ${w.method} ${template(w.path)}`;
    if (!h) return [`${at}: no such request to the stand-in`];
    if (h.method !== w.method || template(h.path) !== template(w.path)) return [`${at}: the stand-in got ${h.method} ${template(h.path)}`];
    const head = [...(h.status !== w.status ? [`${at}: HTTP ${h.status}, real ${w.status}`] : []), ...(h.contentType !== w.contentType ? [`${at}: ${h.contentType}, real ${w.contentType}`] : [])];
    const equalAt = VERSION_EXCHANGE(w) ? new Set<string>() : EQUAL_AT;
    return [...head, ...shapeDiff(w.body, h.body, equalAt).map((d) => `${at} ${d}`)];
  });
  return have.length > want.length ? [...out, `${have.length - want.length} request(s) more than the recording`] : out;
}

describe(`the MLflow stand-in against the recording of MLflow ${rec.server.version}`, () => {
  let s: StandIn;
  const got: Exchange[] = [];
  let errors: string[] = [];
  before(async () => {
    s = await startStandIn();
    const proxy = await recordingProxy(s.url, got);
    try {
      errors = await mlflowScenario(proxy.url, rec.suffix);
    } finally {
      proxy.close();
    }
  });
  after(async () => {
    await s?.stop();
  });

  it('the scenario meets the same errors (status and error_code) as on the real server', () => {
    assert.deepEqual(errors, rec.errors);
  });

  it('each exchange has the real status, content type, error codes and body shape', () => {
    const diffs = exchangeDiffs(rec.exchanges, got);
    assert.deepEqual(diffs, [], `the stand-in differs from MLflow ${rec.server.version} in ${diffs.length} place(s):\n${diffs.join('\n')}`);
  });

  it('GET /version names the stand-in, so a report can tell it from MLflow', () => {
    const v = got.find(VERSION_EXCHANGE);
    assert.equal(v?.status, 200);
    assert.deepEqual(v?.body, { bytes: 'mlv-lab-standin'.length });
  });

  it('control: a recorded body with a key removed, a value changed or a status changed is reported', () => {
    const altered = structuredClone(rec.exchanges);
    const run = altered.find((e) => template(e.path).endsWith('/runs/get') && e.status === 200)!;
    delete (run.body as { run: { info: { run_name?: string } } }).run.info.run_name;
    const create = altered.find((e) => template(e.path).endsWith('/experiments/create') && e.status === 400)!;
    (create.body as { error_code: string }).error_code = 'INVALID_PARAMETER_VALUE';
    altered.find((e) => template(e.path).endsWith('/registered-models/alias') && e.status === 400)!.status = 404;
    const diffs = exchangeDiffs(altered, got);
    assert.equal(diffs.length, 3, diffs.join('\n'));
    assert.match(diffs[0]!, /experiments\/create body\.error_code: "RESOURCE_ALREADY_EXISTS" where the real server sends "INVALID_PARAMETER_VALUE"/);
    assert.match(diffs[1]!, /runs\/get body\.run\.info\.run_name: present \(string\), the real server does not send it/);
    assert.match(diffs[2]!, /registered-models\/alias: HTTP 400, real 404/);
  });
});

describe('the MLflow stand-in, what the scenario does not reach (from the MLflow 3.x sources)', () => {
  let s: StandIn;
  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => call(s.url, method, `/api/2.0${path}`, body, headers);
  const newRun = async (name: string) => {
    const exp = (await api('POST', '/mlflow/experiments/create', { name })).json?.experiment_id;
    const run = (await api('POST', '/mlflow/runs/create', { experiment_id: exp, start_time: 1700000000000 })).json?.run as { info: Json; data: Json; inputs: Json };
    return { exp: String(exp), run, runId: String(run.info.run_id) };
  };
  before(async () => {
    s = await startStandIn();
  });
  after(async () => {
    await s?.stop();
  });

  it('names itself on /version (text, 200) and answers /health "OK"', async () => {
    const v = await call(s.url, 'GET', '/version');
    assert.deepEqual([v.status, v.text], [200, 'mlv-lab-standin']);
    const h = await call(s.url, 'GET', '/health');
    assert.deepEqual([h.status, h.text], [200, 'OK']);
  });

  it('requests: no JSON content type 400, a missing required field 400, unknown route 404 HTML, wrong method 405 HTML', async () => {
    const noJson: Record<string, string>[] = [{ 'Content-Type': 'text/plain' }, {}];
    for (const headers of noJson) {
      const r = await call(s.url, 'POST', '/api/2.0/mlflow/experiments/create', undefined, headers);
      assert.deepEqual([r?.status, r?.json?.error_code], [400, 'INVALID_PARAMETER_VALUE'], JSON.stringify(headers));
    }
    const missing = await api('POST', '/mlflow/experiments/create', {});
    assert.deepEqual(
      [missing.status, missing.json?.error_code, missing.json?.message],
      [400, 'INVALID_PARAMETER_VALUE', "Missing value for required parameter 'name'. See the API docs for more information about request parameters."],
    );
    const badId = await api('GET', '/mlflow/experiments/get?experiment_id=abc');
    assert.deepEqual([badId.status, badId.json?.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    const nf = await api('GET', '/mlflow/no-such-route');
    assert.equal(nf.status, 404);
    assert.match(nf.type, /^text\/html/);
    assert.match(nf.text, /<title>404 Not Found<\/title>/);
    const wm = await api('GET', '/mlflow/runs/create');
    assert.equal(wm.status, 405);
    assert.match(wm.text, /<title>405 Method Not Allowed<\/title>/);
  });

  it('pagination traps: experiments/search {} is 400; get-history without max_results has only a next_page_token', async () => {
    const search = await api('POST', '/mlflow/experiments/search', {});
    assert.deepEqual([search.status, search.json?.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    const { runId } = await newRun('direct-pages');
    await api('POST', '/mlflow/runs/log-batch', { run_id: runId, metrics: [{ key: 'loss', value: 0.5, timestamp: 1, step: 0 }] });
    const trap = await api('GET', `/mlflow/metrics/get-history?run_id=${runId}&metric_key=loss`);
    assert.deepEqual(Object.keys(trap.json ?? {}), ['next_page_token']);
    const one = await api('POST', '/mlflow/experiments/search', { max_results: 1 });
    assert.equal((one.json?.experiments as unknown[]).length, 1);
    assert.equal(typeof one.json?.next_page_token, 'string');
  });

  it('refused values: a non-numeric metric, a numeric run status, a model name with /, a reserved alias', async () => {
    const { runId } = await newRun('direct-refused');
    const metric = await api('POST', '/mlflow/runs/log-metric', { run_id: runId, key: 'm', value: 'abc', timestamp: 1 });
    assert.deepEqual([metric.status, metric.json?.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    const negative = await api('POST', '/mlflow/runs/log-batch', { run_id: runId, metrics: [{ key: 'm', value: 1, timestamp: -1 }] });
    assert.deepEqual([negative.status, negative.json?.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    const status = await api('POST', '/mlflow/runs/update', { run_id: runId, status: 99 });
    assert.deepEqual([status.status, status.json?.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    const slash = await api('POST', '/mlflow/registered-models/create', { name: 'a/b' });
    assert.deepEqual([slash.status, slash.json?.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    await api('POST', '/mlflow/registered-models/create', { name: 'direct-model' });
    await api('POST', '/mlflow/model-versions/create', { name: 'direct-model', source: 'mlflow-artifacts:/1/x/artifacts/model' });
    const latest = await api('POST', '/mlflow/registered-models/alias', { name: 'direct-model', alias: 'latest', version: '1' });
    assert.deepEqual([latest.status, latest.json?.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    const local = await api('POST', '/mlflow/model-versions/create', { name: 'direct-model', source: '/etc' });
    assert.deepEqual([local.status, local.json?.error_code], [400, 'INVALID_PARAMETER_VALUE']);
  });

  it('accepted as MLflow accepts it: an unknown run status *name* is ignored (ParseDict drops unknown enum names)', async () => {
    const { runId } = await newRun('direct-enum');
    const r = await api('POST', '/mlflow/runs/update', { run_id: runId, status: 'BOGUS', end_time: 1700000001000 });
    assert.equal(r.status, 200);
    const info = r.json?.run_info as Json;
    assert.deepEqual([info.status, info.end_time], ['RUNNING', 1700000001000]);
  });
});
