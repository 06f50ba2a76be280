/**
 * A typed MLflow REST client (API 2.0): experiments, runs, metrics, artifacts through the
 * tracking server's artifact proxy, the model registry and its aliases (not the deprecated
 * stages). Pagination is explicit (MLflow's traps: get-history without max_results returns no
 * metrics; experiments/search with no max_results is a 400), and log-batch is chunked to
 * MLflow's per-request limits.
 */
import type { MlflowTarget } from '../../helpers/config.ts';
import { MlflowApiError, MlflowHttp } from './http.ts';
import { Responses as R, type Experiment, type Metric, type ModelVersion, type RegisteredModel, type Run, type RunInfo } from './schemas.ts';

export { MlflowApiError };
export type { Experiment, Metric, ModelVersion, RegisteredModel, Run, RunInfo };
export type Tags = Record<string, string>;

const PAGE = 1000;
/** mlflow/utils/validation.py: MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH. */
const BATCH = { metrics: 1000, params: 100, tags: 100 };
const tagList = (t: Tags = {}) => Object.entries(t).map(([key, value]) => ({ key, value }));
const missing = (e: unknown) => e instanceof MlflowApiError && e.errorCode === 'RESOURCE_DOES_NOT_EXIST';

export class MlflowClient {
  private readonly http: MlflowHttp;
  constructor(readonly target: MlflowTarget) {
    this.http = new MlflowHttp(target);
  }

  /** The server's version text (GET /version), after its health check. */
  async serverVersion(): Promise<string> {
    await this.http.text('/health');
    return this.http.text('/version');
  }

  // ---- experiments
  async createExperiment(name: string, tags?: Tags): Promise<string> {
    return (await this.http.json('POST', 'experiments/create', R.createExperiment, { name, tags: tagList(tags) })).experiment_id;
  }
  async getExperiment(id: string): Promise<Experiment> {
    return (await this.http.json('GET', 'experiments/get', R.experiment, { experiment_id: id })).experiment;
  }
  /** undefined when there is none of that name. */
  async findExperiment(name: string): Promise<Experiment | undefined> {
    return this.http.json('GET', 'experiments/get-by-name', R.experiment, { experiment_name: name }).then(
      (r) => r.experiment,
      (e) => (missing(e) ? undefined : Promise.reject(e)),
    );
  }
  async searchExperiments(filter: string): Promise<Experiment[]> {
    return this.pages(
      (page_token) => this.http.json('POST', 'experiments/search', R.searchExperiments, { filter, max_results: PAGE, page_token }),
      (r) => r.experiments,
    );
  }
  async deleteExperiment(id: string): Promise<void> {
    await this.http.json('POST', 'experiments/delete', R.empty, { experiment_id: id });
  }

  // ---- runs
  async createRun(experimentId: string, runName: string, tags?: Tags): Promise<RunInfo> {
    const r = await this.http.json('POST', 'runs/create', R.run, { experiment_id: experimentId, run_name: runName, start_time: Date.now(), tags: tagList(tags) });
    return r.run.info;
  }
  async endRun(runId: string, status: 'FINISHED' | 'FAILED' | 'KILLED'): Promise<void> {
    await this.http.json('POST', 'runs/update', R.updateRun, { run_id: runId, status, end_time: Date.now() });
  }
  /** Metrics, params and tags in as few log-batch calls as MLflow's limits allow. */
  async logBatch(runId: string, data: { metrics?: Omit<Metric, 'timestamp'>[]; params?: Tags; tags?: Tags }): Promise<void> {
    const now = Date.now();
    const metrics = (data.metrics ?? []).map((m) => ({ ...m, timestamp: now, step: m.step ?? 0 }));
    const params = tagList(data.params);
    const tags = tagList(data.tags);
    for (let i = 0; i === 0 || i * BATCH.metrics < metrics.length || i * BATCH.params < params.length || i * BATCH.tags < tags.length; i++) {
      const chunk = {
        metrics: metrics.slice(i * BATCH.metrics, (i + 1) * BATCH.metrics),
        params: params.slice(i * BATCH.params, (i + 1) * BATCH.params),
        tags: tags.slice(i * BATCH.tags, (i + 1) * BATCH.tags),
      };
      await this.http.json('POST', 'runs/log-batch', R.empty, { run_id: runId, ...chunk });
    }
  }
  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.http.json('POST', 'runs/set-tag', R.empty, { run_id: runId, key, value });
  }
  async logParam(runId: string, key: string, value: string): Promise<void> {
    await this.http.json('POST', 'runs/log-parameter', R.empty, { run_id: runId, key, value });
  }
  async getRun(runId: string): Promise<Run> {
    return (await this.http.json('GET', 'runs/get', R.run, { run_id: runId })).run;
  }
  async searchRuns(experimentIds: string[], filter = ''): Promise<Run[]> {
    return this.pages(
      (page_token) => this.http.json('POST', 'runs/search', R.searchRuns, { experiment_ids: experimentIds, filter, max_results: PAGE, page_token }),
      (r) => r.runs,
    );
  }
  async deleteRun(runId: string): Promise<void> {
    await this.http.json('POST', 'runs/delete', R.empty, { run_id: runId });
  }
  async metricHistory(runId: string, key: string): Promise<Metric[]> {
    return this.pages(
      (page_token) => this.http.json('GET', 'metrics/get-history', R.metricHistory, { run_id: runId, metric_key: key, max_results: PAGE, page_token }),
      (r) => r.metrics,
    );
  }

  // ---- artifacts (through the tracking server's proxy: the run's artifact_uri is mlflow-artifacts:/...)
  async uploadArtifact(run: RunInfo, path: string, bytes: Buffer): Promise<void> {
    await this.http.artifact('PUT', `${proxyRoot(run)}/${path}`, bytes);
  }
  async downloadArtifact(run: RunInfo, path: string): Promise<Buffer> {
    return this.http.artifact('GET', `${proxyRoot(run)}/${path}`);
  }
  /** A model version's source (mlflow-artifacts:/<path>) as bytes of one file under it. */
  async downloadUri(uri: string, file: string): Promise<Buffer> {
    return this.http.artifact('GET', `${proxyPath(uri)}/${file}`);
  }
  async listArtifacts(runId: string, path = ''): Promise<{ path: string; isDir: boolean; size?: number }[]> {
    const r = await this.http.json('GET', 'artifacts/list', R.listArtifacts, { run_id: runId, path });
    return (r.files ?? []).map((f) => ({ path: f.path, isDir: !!f.is_dir, size: f.file_size ?? undefined }));
  }

  // ---- registry
  async createRegisteredModel(name: string, tags?: Tags, description?: string): Promise<RegisteredModel> {
    return (await this.http.json('POST', 'registered-models/create', R.registeredModel, { name, tags: tagList(tags), description })).registered_model;
  }
  /** undefined when there is none of that name. */
  async getRegisteredModel(name: string): Promise<RegisteredModel | undefined> {
    return this.http.json('GET', 'registered-models/get', R.registeredModel, { name }).then(
      (r) => r.registered_model,
      (e) => (missing(e) ? undefined : Promise.reject(e)),
    );
  }
  async searchRegisteredModels(filter: string): Promise<RegisteredModel[]> {
    return this.pages(
      (page_token) => this.http.json('GET', 'registered-models/search', R.searchRegisteredModels, { filter, max_results: PAGE, page_token }),
      (r) => r.registered_models,
    );
  }
  async deleteRegisteredModel(name: string): Promise<void> {
    await this.http.json('DELETE', 'registered-models/delete', R.empty, { name });
  }
  async createModelVersion(name: string, source: string, runId: string, tags?: Tags): Promise<ModelVersion> {
    return (await this.http.json('POST', 'model-versions/create', R.modelVersion, { name, source, run_id: runId, tags: tagList(tags) })).model_version;
  }
  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    return (await this.http.json('GET', 'model-versions/get', R.modelVersion, { name, version })).model_version;
  }
  async searchModelVersions(filter: string): Promise<ModelVersion[]> {
    return this.pages(
      (page_token) => this.http.json('GET', 'model-versions/search', R.searchModelVersions, { filter, max_results: 200_000, page_token }),
      (r) => r.model_versions,
    );
  }
  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.http.json('POST', 'model-versions/set-tag', R.empty, { name, version, key, value });
  }
  async deleteModelVersion(name: string, version: string): Promise<void> {
    await this.http.json('DELETE', 'model-versions/delete', R.empty, { name, version });
  }
  /** Poll until READY; throws with the status message on FAILED_REGISTRATION or at the timeout. */
  async waitVersionReady(name: string, version: string, timeoutMs: number): Promise<ModelVersion> {
    const end = Date.now() + timeoutMs;
    for (let wait = 200; ; wait = Math.min(wait * 2, 2000)) {
      const v = await this.getModelVersion(name, version);
      if (v.status === 'READY') return v;
      if (v.status === 'FAILED_REGISTRATION') throw new Error(`model version ${name}/${version} FAILED_REGISTRATION: ${v.status_message ?? 'no message'}`);
      if (Date.now() + wait > end) throw new Error(`model version ${name}/${version} still ${v.status} after ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  // ---- aliases
  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.http.json('POST', 'registered-models/alias', R.empty, { name, alias, version });
  }
  async versionByAlias(name: string, alias: string): Promise<ModelVersion> {
    return (await this.http.json('GET', 'registered-models/alias', R.modelVersion, { name, alias })).model_version;
  }
  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.http.json('DELETE', 'registered-models/alias', R.empty, { name, alias });
  }

  private async pages<T, P extends { next_page_token?: string | null }>(call: (token?: string) => Promise<P>, items: (p: P) => T[] | null | undefined): Promise<T[]> {
    const out: T[] = [];
    let token: string | undefined;
    do {
      const p = await call(token);
      out.push(...(items(p) ?? []));
      token = p.next_page_token || undefined;
    } while (token);
    return out;
  }
}

/** The artifact proxy path of a run's artifact root (mlflow-artifacts:/<exp>/<run>/artifacts). */
function proxyRoot(run: RunInfo): string {
  return proxyPath(run.artifact_uri ?? '');
}

function proxyPath(uri: string): string {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.+?)\/*$/.exec(uri);
  if (!m) throw new Error(`artifact URI ${JSON.stringify(uri)} is not served by the tracking server's artifact proxy (mlflow-artifacts:/...); start the server with --serve-artifacts`);
  return m[1]!;
}
