"""The REST handlers: one function per MLflow endpoint the lab covers.

Each handler reads its request the way MLflow's Flask handlers do (mlflow/server/handlers.py):
a GET with a query string is read from the query, anything else from the JSON body (POST and
PUT must say Content-Type: application/json), then parsed into the request message and checked
against the same schema. Success bodies are the response message as MLflow prints it.
"""

import json
import posixpath
import urllib.parse

import protomsg as pm
import validate
from artifacts import mime_type
from errors import MlflowError, invalid
from protomsg import at_most, is_array, is_floatlike, is_intlike, is_string, items_are_strings, required

STANDIN_NAME = "mlv-lab-standin"


class InternalServerError(Exception):
    """An error MLflow does not handle: its web framework answers 500 with an HTML page."""


class Reply:
    def __init__(self, status=200, body=b"", content_type="application/json", headers=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode()
        self.content_type = content_type
        self.headers = headers or {}


def ok(message):
    return Reply(200, json.dumps(message, indent=2))


class Request:
    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query  # dict name -> [values], in the query's order
        self.headers = headers  # lower-case names
        self.body = body

    @property
    def content_type(self):
        return self.headers.get("content-type")


def request_json(req):
    if req.method in ("POST", "PUT"):
        ctype = req.content_type
        if ctype is None:
            raise invalid("Bad Request. Content-Type header is missing.")
        if ctype.split(";")[0] not in ["application/json"]:
            raise invalid("Bad Request. Content-Type must be one of ['application/json'].")
    try:
        js = json.loads(req.body.decode("utf-8")) if req.body else None
    except (UnicodeDecodeError, ValueError):
        js = None
    if isinstance(js, str):
        try:
            js = json.loads(js)
        except ValueError:
            raise InternalServerError("double-encoded JSON body is not JSON") from None
    return {} if js is None else js


def message(req, spec, schema=None):
    if req.method == "GET" and req.query:
        js = pm.from_query(spec, req.query)
    else:
        js = request_json(req)
    if not isinstance(js, dict):
        if any(required in checks for checks in (schema or {}).values()):
            raise InternalServerError("request body is not a JSON object")
        js = {}
    try:
        return pm.parse_request(spec, js, schema)
    except (AttributeError, TypeError) as e:
        raise InternalServerError(str(e)) from None


def _tags(msg):
    return [(t.get("key"), t.get("value")) for t in msg.get("tags")]


class Api:
    def __init__(self, store, registry, artifacts):
        self.store = store
        self.registry = registry
        self.artifacts = artifacts

    # ---- experiments
    def create_experiment(self, req):
        m = message(
            req,
            pm.CreateExperiment,
            {"name": [required, is_string], "artifact_location": [is_string], "tags": [is_array]},
        )
        location = m.artifact_location
        if location:
            parsed = urllib.parse.urlparse(location)
            if parsed.fragment or parsed.params:
                raise invalid("'artifact_location' URL can't include fragments or params.")
            if ".." in urllib.parse.unquote(parsed.query).split("/"):
                raise invalid("Invalid query string")
            if location.startswith("runs:"):
                raise invalid(f"Artifact location cannot be a runs:/ URI. Given: '{location}'")
        return ok({"experiment_id": self.store.create_experiment(m.name, location, _tags(m))})

    def get_experiment(self, req):
        m = message(req, pm.GetExperiment, {"experiment_id": [required, is_string]})
        return ok({"experiment": self.store.get_experiment(m.experiment_id)})

    def get_experiment_by_name(self, req):
        m = message(req, pm.GetExperimentByName, {"experiment_name": [required, is_string]})
        exp = self.store.get_experiment_by_name(m.experiment_name)
        if exp is None:
            raise MlflowError(f"Could not find experiment with name '{m.experiment_name}'", "RESOURCE_DOES_NOT_EXIST")
        return ok({"experiment": exp})

    def delete_experiment(self, req):
        m = message(req, pm.DeleteExperiment, {"experiment_id": [required, is_string]})
        self.store.delete_experiment(m.experiment_id)
        return ok({})

    def restore_experiment(self, req):
        m = message(req, pm.RestoreExperiment, {"experiment_id": [required, is_string]})
        self.store.restore_experiment(m.experiment_id)
        return ok({})

    def update_experiment(self, req):
        m = message(req, pm.UpdateExperiment, {"experiment_id": [required, is_string], "new_name": [is_string, required]})
        if m.new_name:
            self.store.rename_experiment(m.experiment_id, m.new_name)
        return ok({})

    def set_experiment_tag(self, req):
        m = message(
            req,
            pm.SetExperimentTag,
            {"experiment_id": [required, is_string], "key": [required, is_string], "value": [is_string]},
        )
        self.store.set_experiment_tag(m.experiment_id, m.key, m.value)
        return ok({})

    def search_experiments(self, req):
        m = message(
            req,
            pm.SearchExperiments,
            {
                "view_type": [is_intlike],
                "max_results": [is_intlike],
                "order_by": [is_array],
                "filter": [is_string],
                "page_token": [is_string],
            },
        )
        exps, token = self.store.search_experiments(m.view_type, m.max_results, m.filter, m.order_by, m.page_token)
        out = {}
        if exps:
            out["experiments"] = exps
        if token:
            out["next_page_token"] = token
        return ok(out)

    # ---- runs
    def create_run(self, req):
        m = message(req, pm.CreateRun, {"experiment_id": [is_string], "start_time": [is_intlike], "run_name": [is_string]})
        run = self.store.create_run(m.experiment_id, m.user_id, m.start_time, _tags(m), m.run_name)
        return ok({"run": run})

    def update_run(self, req):
        m = message(
            req,
            pm.UpdateRun,
            {"run_id": [required, is_string], "end_time": [is_intlike], "status": [is_string], "run_name": [is_string]},
        )
        info = self.store.update_run_info(
            m.run_id or m.run_uuid,
            m.status if m.has("status") else None,
            m.end_time if m.has("end_time") else None,
            m.run_name if m.has("run_name") else None,
        )
        return ok({"run_info": info})

    def delete_run(self, req):
        m = message(req, pm.DeleteRun, {"run_id": [required, is_string]})
        self.store.delete_run(m.run_id)
        return ok({})

    def restore_run(self, req):
        m = message(req, pm.RestoreRun, {"run_id": [required, is_string]})
        self.store.restore_run(m.run_id)
        return ok({})

    def log_metric(self, req):
        m = message(
            req,
            pm.LogMetric,
            {
                "run_id": [required, is_string],
                "key": [required, is_string],
                "value": [required, is_floatlike],
                "timestamp": [is_intlike, required],
                "step": [is_intlike],
                "model_id": [is_string],
                "dataset_name": [is_string],
                "dataset_digest": [is_string],
            },
        )
        self.store.log_metric(m.run_id or m.run_uuid, m.key, m.value, m.timestamp, m.step)
        return ok({})

    def log_param(self, req):
        m = message(req, pm.LogParam, {"run_id": [required, is_string], "key": [required, is_string], "value": [is_string]})
        self.store.log_param(m.run_id or m.run_uuid, m.key, m.value)
        return ok({})

    def set_tag(self, req):
        m = message(req, pm.SetTag, {"run_id": [required, is_string], "key": [required, is_string], "value": [is_string]})
        self.store.set_tag(m.run_id or m.run_uuid, m.key, m.value)
        return ok({})

    def delete_tag(self, req):
        m = message(req, pm.DeleteTag, {"run_id": [required, is_string], "key": [required, is_string]})
        self.store.delete_tag(m.run_id, m.key)
        return ok({})

    def get_run(self, req):
        m = message(req, pm.GetRun, {"run_id": [required, is_string]})
        return ok({"run": self.store.get_run(m.run_id or m.run_uuid)})

    def search_runs(self, req):
        m = message(
            req,
            pm.SearchRuns,
            {
                "experiment_ids": [is_array],
                "filter": [is_string],
                "max_results": [is_intlike, at_most(50000)],
                "order_by": [is_array, items_are_strings],
            },
        )
        view = m.run_view_type if m.has("run_view_type") else 1
        runs, token = self.store.search_runs(m.experiment_ids, m.filter, view, m.max_results, m.order_by, m.page_token or None)
        out = {}
        if runs:
            out["runs"] = runs
        if token:
            out["next_page_token"] = token
        return ok(out)

    def log_batch(self, req):
        request_json(req)

        def fields_present(name, keys):
            def check(items):
                for i, item in enumerate(items):
                    for k in keys:
                        pm.required_at(item.get(k), f"{name}[{i}].{k}")

            return check

        m = message(
            req,
            pm.LogBatch,
            {
                "run_id": [is_string, required],
                "metrics": [is_array, fields_present("metrics", ("key", "value", "timestamp"))],
                "params": [is_array, fields_present("params", ("key",))],
                "tags": [is_array, fields_present("tags", ("key",))],
            },
        )
        metrics = [(x.key, x.value, x.timestamp, x.step) for x in m.metrics]
        params = [(x.key, x.value) for x in m.params]
        self.store.log_batch(m.run_id, metrics, params, _tags(m))
        return ok({})

    def get_metric_history(self, req):
        m = message(
            req,
            pm.GetMetricHistory,
            {"run_id": [is_string, required], "metric_key": [is_string, required], "page_token": [is_string]},
        )
        metrics, token = self.store.get_metric_history(m.run_id or m.run_uuid, m.metric_key, m.max_results, m.page_token or None)
        out = {}
        if metrics:
            out["metrics"] = metrics
        if token:
            out["next_page_token"] = token
        return ok(out)

    def list_artifacts(self, req):
        m = message(
            req, pm.ListArtifacts, {"run_id": [is_string, required], "path": [is_string], "page_token": [is_string]}
        )
        rel = validate.safe_path(m.path) if m.has("path") else None
        run = self.store.get_run(m.run_id or m.run_uuid)
        root_uri = run["info"].get("artifact_uri", "")
        root_path = urllib.parse.urlparse(root_uri).path.lstrip("/")
        files = []
        for path, is_dir, size in self.artifacts.list(posixpath.join(root_path, rel) if rel is not None else root_path):
            base = posixpath.basename(path)
            entry = {"path": posixpath.join(rel, base) if rel else base, "is_dir": is_dir}
            if size:
                entry["file_size"] = size
            files.append(entry)
        out = {"root_uri": root_uri}
        if files:
            out["files"] = files
        return ok(out)

    # ---- artifact proxy
    def download_artifact(self, req, path):
        data = self.artifacts.download(path)
        name = posixpath.basename(path)
        mt = mime_type(path)
        return Reply(200, data, mt, {"Content-Disposition": f"attachment; filename={name}"})

    def upload_artifact(self, req, path):
        self.artifacts.upload(path, req.body)
        return ok({})

    def delete_artifact(self, req, path):
        message(req, pm.Spec("DeleteArtifact"))
        self.artifacts.delete(path)
        return ok({})

    def list_proxy_artifacts(self, req):
        m = message(req, pm.ListArtifactsProxy)
        rel = validate.safe_path(m.path) if m.has("path") else None
        files = []
        for path, is_dir, size in self.artifacts.list(rel):
            entry = {"path": posixpath.basename(path), "is_dir": is_dir}
            if size:
                entry["file_size"] = size
            files.append(entry)
        return ok({"files": files} if files else {})

    # ---- registered models
    def create_registered_model(self, req):
        m = message(
            req, pm.CreateRegisteredModel, {"name": [is_string, required], "tags": [is_array], "description": [is_string]}
        )
        return ok({"registered_model": self.registry.create_model(m.name, _tags(m), m.description)})

    def get_registered_model(self, req):
        m = message(req, pm.GetRegisteredModel, {"name": [is_string, required]})
        return ok({"registered_model": self.registry.get_model(m.name)})

    def update_registered_model(self, req):
        m = message(req, pm.UpdateRegisteredModel, {"name": [is_string, required], "description": [is_string]})
        return ok({"registered_model": self.registry.update_model(m.name, m.description)})

    def rename_registered_model(self, req):
        m = message(req, pm.RenameRegisteredModel, {"name": [is_string, required], "new_name": [is_string, required]})
        return ok({"registered_model": self.registry.rename_model(m.name, m.new_name)})

    def delete_registered_model(self, req):
        m = message(req, pm.DeleteRegisteredModel, {"name": [is_string, required]})
        self.registry.delete_model(m.name)
        return ok({})

    def search_registered_models(self, req):
        m = message(
            req,
            pm.SearchRegisteredModels,
            {
                "filter": [is_string],
                "max_results": [is_intlike, at_most(1000)],
                "order_by": [is_array, items_are_strings],
                "page_token": [is_string],
            },
        )
        models, token = self.registry.search_models(m.filter, m.max_results, m.order_by, m.page_token or None)
        out = {}
        if models:
            out["registered_models"] = models
        if token:
            out["next_page_token"] = token
        return ok(out)

    def set_registered_model_tag(self, req):
        m = message(
            req, pm.SetRegisteredModelTag, {"name": [is_string, required], "key": [is_string, required], "value": [is_string]}
        )
        self.registry.set_model_tag(m.name, m.key, m.value)
        return ok({})

    def delete_registered_model_tag(self, req):
        m = message(req, pm.DeleteRegisteredModelTag, {"name": [is_string, required], "key": [is_string, required]})
        self.registry.delete_model_tag(m.name, m.key)
        return ok({})

    # ---- model versions
    def create_model_version(self, req):
        m = message(
            req,
            pm.CreateModelVersion,
            {
                "name": [is_string, required],
                "source": [is_string, required],
                "run_id": [is_string],
                "tags": [is_array],
                "run_link": [is_string],
                "description": [is_string],
                "model_id": [is_string],
            },
        )
        tags = _tags(m)
        if any(k == "mlflow.prompt.is_prompt" for k, _ in tags):
            parsed = urllib.parse.urlparse(m.source)
            if parsed.scheme == "file" or (parsed.scheme == "" and m.source.startswith("/")):
                raise invalid(f"Invalid prompt source: '{m.source}'. Local source paths are not allowed for prompts.")
        else:
            if urllib.parse.urlparse(m.source).scheme in ("", "file") and m.run_id:
                self.store.get_run(m.run_id)
            validate.model_version_source(m.source)
        mv = self.registry.create_version(m.name, m.source, m.run_id, tags, m.run_link, m.description)
        return ok({"model_version": mv})

    def get_model_version(self, req):
        m = message(req, pm.GetModelVersion, {"name": [is_string, required], "version": [is_string, required]})
        return ok({"model_version": self.registry.get_version(m.name, m.version)})

    def update_model_version(self, req):
        m = message(
            req,
            pm.UpdateModelVersion,
            {"name": [is_string, required], "version": [is_string, required], "description": [is_string]},
        )
        description = m.description if m.has("description") else None
        return ok({"model_version": self.registry.update_version(m.name, m.version, description)})

    def delete_model_version(self, req):
        m = message(req, pm.DeleteModelVersion, {"name": [is_string, required], "version": [is_string, required]})
        self.registry.delete_version(m.name, m.version)
        return ok({})

    def search_model_versions(self, req):
        m = message(
            req,
            pm.SearchModelVersions,
            {
                "filter": [is_string],
                "max_results": [is_intlike, at_most(200_000)],
                "order_by": [is_array, items_are_strings],
                "page_token": [is_string],
            },
        )
        versions, token = self.registry.search_versions(m.filter, m.max_results, m.order_by, m.page_token or None)
        out = {}
        if versions:
            out["model_versions"] = versions
        if token:
            out["next_page_token"] = token
        return ok(out)

    def get_model_version_download_uri(self, req):
        m = message(req, pm.GetModelVersionDownloadUri)
        return ok({"artifact_uri": self.registry.download_uri(m.name, m.version)})

    def set_model_version_tag(self, req):
        m = message(
            req,
            pm.SetModelVersionTag,
            {
                "name": [is_string, required],
                "version": [is_string, required],
                "key": [is_string, required],
                "value": [is_string],
            },
        )
        self.registry.set_version_tag(m.name, m.version, m.key, m.value)
        return ok({})

    def delete_model_version_tag(self, req):
        m = message(
            req,
            pm.DeleteModelVersionTag,
            {"name": [is_string, required], "version": [is_string, required], "key": [is_string, required]},
        )
        self.registry.delete_version_tag(m.name, m.version, m.key)
        return ok({})

    def set_alias(self, req):
        m = message(
            req,
            pm.SetRegisteredModelAlias,
            {"name": [is_string, required], "alias": [is_string, required], "version": [is_string, required]},
        )
        self.registry.set_alias(m.name, m.alias, m.version)
        return ok({})

    def delete_alias(self, req):
        m = message(req, pm.DeleteRegisteredModelAlias, {"name": [is_string, required], "alias": [is_string, required]})
        self.registry.delete_alias(m.name, m.alias)
        return ok({})

    def get_by_alias(self, req):
        m = message(req, pm.GetModelVersionByAlias, {"name": [is_string, required], "alias": [is_string, required]})
        return ok({"model_version": self.registry.get_by_alias(m.name, m.alias)})

    # ---- the route table: MLflow path (without /api/2.0 or /ajax-api/2.0) -> {method: handler}
    def routes(self):
        return {
            "/mlflow/experiments/create": {"POST": self.create_experiment},
            "/mlflow/experiments/get": {"GET": self.get_experiment},
            "/mlflow/experiments/get-by-name": {"GET": self.get_experiment_by_name},
            "/mlflow/experiments/search": {"POST": self.search_experiments, "GET": self.search_experiments},
            "/mlflow/experiments/delete": {"POST": self.delete_experiment},
            "/mlflow/experiments/restore": {"POST": self.restore_experiment},
            "/mlflow/experiments/update": {"POST": self.update_experiment},
            "/mlflow/experiments/set-experiment-tag": {"POST": self.set_experiment_tag},
            "/mlflow/runs/create": {"POST": self.create_run},
            "/mlflow/runs/update": {"POST": self.update_run},
            "/mlflow/runs/delete": {"POST": self.delete_run},
            "/mlflow/runs/restore": {"POST": self.restore_run},
            "/mlflow/runs/log-metric": {"POST": self.log_metric},
            "/mlflow/runs/log-parameter": {"POST": self.log_param},
            "/mlflow/runs/set-tag": {"POST": self.set_tag},
            "/mlflow/runs/delete-tag": {"POST": self.delete_tag},
            "/mlflow/runs/get": {"GET": self.get_run},
            "/mlflow/runs/search": {"POST": self.search_runs},
            "/mlflow/runs/log-batch": {"POST": self.log_batch},
            "/mlflow/metrics/get-history": {"GET": self.get_metric_history},
            "/mlflow/artifacts/list": {"GET": self.list_artifacts},
            "/mlflow/registered-models/create": {"POST": self.create_registered_model},
            "/mlflow/registered-models/get": {"GET": self.get_registered_model},
            "/mlflow/registered-models/update": {"PATCH": self.update_registered_model},
            "/mlflow/registered-models/rename": {"POST": self.rename_registered_model},
            "/mlflow/registered-models/delete": {"DELETE": self.delete_registered_model},
            "/mlflow/registered-models/search": {"GET": self.search_registered_models},
            "/mlflow/registered-models/set-tag": {"POST": self.set_registered_model_tag},
            "/mlflow/registered-models/delete-tag": {"DELETE": self.delete_registered_model_tag},
            "/mlflow/registered-models/alias": {
                "POST": self.set_alias,
                "DELETE": self.delete_alias,
                "GET": self.get_by_alias,
            },
            "/mlflow/model-versions/create": {"POST": self.create_model_version},
            "/mlflow/model-versions/get": {"GET": self.get_model_version},
            "/mlflow/model-versions/update": {"PATCH": self.update_model_version},
            "/mlflow/model-versions/delete": {"DELETE": self.delete_model_version},
            "/mlflow/model-versions/search": {"GET": self.search_model_versions},
            "/mlflow/model-versions/get-download-uri": {"GET": self.get_model_version_download_uri},
            "/mlflow/model-versions/set-tag": {"POST": self.set_model_version_tag},
            "/mlflow/model-versions/delete-tag": {"DELETE": self.delete_model_version_tag},
            "/mlflow-artifacts/artifacts": {"GET": self.list_proxy_artifacts},
        }

    def artifact_routes(self):
        """/mlflow-artifacts/artifacts/<path>"""
        return {"GET": self.download_artifact, "PUT": self.upload_artifact, "DELETE": self.delete_artifact}


# Routes real MLflow 3.x serves that the stand-in does not: answered 501 NOT_IMPLEMENTED (never a
# fake success, never the 404 of an unknown route), so a test that needs one says so.
NOT_COVERED = {
    "/mlflow/experiments/delete-experiment-tag",
    "/mlflow/metrics/get-history-bulk-interval",
    "/mlflow/runs/log-model",
    "/mlflow/runs/log-inputs",
    "/mlflow/runs/outputs",
    "/mlflow/artifacts/credentials-for-upload",
    "/mlflow/artifacts/credentials-for-download",
    "/mlflow/model-versions/transition-stage",
    "/mlflow/registered-models/get-latest-versions",
    "/mlflow/webhooks",
}
