"""The tracking store: experiments, runs, metrics, params and tags in SQLite.

Behaviour follows MLflow 3.x's SqlAlchemyStore (mlflow/store/tracking/sqlalchemy_store.py):
experiment 0 "Default" exists from the start, ids count up from 1, artifact locations are
mlflow-artifacts:/<id>, runs get a 32-hex id and a random name, deleting is a lifecycle change.
Responses are built as proto-JSON dicts (fields in proto field-number order, unset fields
absent, int64 as JSON numbers) by the *_json functions.
"""

import math
import random
import sqlite3
import threading
import time
import uuid

import search
import validate
from errors import MlflowError, already_exists, invalid, not_found

SCHEMA = """
CREATE TABLE IF NOT EXISTS experiments (
  experiment_id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, artifact_location TEXT,
  lifecycle_stage TEXT NOT NULL, creation_time INTEGER, last_update_time INTEGER);
CREATE TABLE IF NOT EXISTS experiment_tags (
  experiment_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (experiment_id, key));
CREATE TABLE IF NOT EXISTS runs (
  run_uuid TEXT PRIMARY KEY, name TEXT, experiment_id INTEGER NOT NULL, user_id TEXT,
  status TEXT NOT NULL, start_time INTEGER, end_time INTEGER, artifact_uri TEXT,
  lifecycle_stage TEXT NOT NULL, deleted_time INTEGER);
CREATE TABLE IF NOT EXISTS metrics (
  run_uuid TEXT NOT NULL, key TEXT NOT NULL, value REAL NOT NULL, is_nan INTEGER NOT NULL,
  timestamp INTEGER NOT NULL, step INTEGER NOT NULL,
  PRIMARY KEY (key, timestamp, step, run_uuid, value, is_nan));
CREATE TABLE IF NOT EXISTS latest_metrics (
  run_uuid TEXT NOT NULL, key TEXT NOT NULL, value REAL NOT NULL, is_nan INTEGER NOT NULL,
  timestamp INTEGER NOT NULL, step INTEGER NOT NULL, PRIMARY KEY (key, run_uuid));
CREATE TABLE IF NOT EXISTS params (
  run_uuid TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (key, run_uuid));
CREATE TABLE IF NOT EXISTS tags (
  run_uuid TEXT NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (key, run_uuid));
CREATE TABLE IF NOT EXISTS registered_models (
  name TEXT PRIMARY KEY, creation_time INTEGER, last_updated_time INTEGER, description TEXT);
CREATE TABLE IF NOT EXISTS model_versions (
  name TEXT NOT NULL, version INTEGER NOT NULL, creation_time INTEGER, last_updated_time INTEGER,
  description TEXT, user_id TEXT, current_stage TEXT, source TEXT, storage_location TEXT,
  run_id TEXT, run_link TEXT, status TEXT, status_message TEXT, PRIMARY KEY (name, version));
CREATE TABLE IF NOT EXISTS registered_model_tags (
  name TEXT NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (name, key));
CREATE TABLE IF NOT EXISTS model_version_tags (
  name TEXT NOT NULL, version INTEGER NOT NULL, key TEXT NOT NULL, value TEXT,
  PRIMARY KEY (name, version, key));
CREATE TABLE IF NOT EXISTS registered_model_aliases (
  name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (name, alias));
"""

ACTIVE, DELETED = "active", "deleted"
RUN_STATUS_NAMES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
VIEW_STAGES = {1: (ACTIVE,), 2: (DELETED,), 3: (ACTIVE, DELETED)}
RUN_NAME_TAG = "mlflow.runName"
MAX_DOUBLE = 1.7976931348623157e308
SEARCH_MAX_RESULTS_THRESHOLD = 50000

# random run names, adjective-animal-number as MLflow makes them (its own word lists differ)
_PREDICATES = (
    "able bold brave bright calm clever cool eager fair gentle glad grand happy keen kind "
    "lucky merry neat nice polite proud quick quiet rare shy silent smart swift tidy vast "
    "warm wise"
).split()
_NOUNS = (
    "ant ape asp auk bass bat bear bee bird boar bug calf carp cat cow crab crow deer doe dog "
    "dove duck eel elk fawn finch fish fly foal fowl fox frog gnat gnu goat hare hawk hen hog "
    "jay koi lamb lark loon lynx mink mole moose moth mouse mule newt owl ox panda pig pony "
    "ram rat roo seal shad shark shrew skink slug snail snake squid stag stork swan tern toad "
    "trout turtle vole wasp whale wolf worm wren yak zebra"
).split()


def now_ms():
    return int(time.time() * 1000)


def random_run_name():
    for _ in range(10):
        name = f"{random.choice(_PREDICATES)}-{random.choice(_NOUNS)}-{random.randint(0, 999)}"
        if len(name) <= 20:
            return name
    return name[:20]


def _float_json(value, is_nan):
    if is_nan:
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float(value)


class Store:
    def __init__(self, db_path, artifact_root_uri="mlflow-artifacts:/"):
        self.lock = threading.RLock()
        self.db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        self.artifact_root_uri = artifact_root_uri
        if not self.q1("SELECT 1 FROM experiments WHERE experiment_id = 0"):
            t = now_ms()
            self.x(
                "INSERT INTO experiments VALUES (0, 'Default', ?, ?, ?, ?)",
                (self._artifact_location(0), ACTIVE, t, t),
            )

    # ---- SQL helpers
    def q(self, sql, args=()):
        return self.db.execute(sql, args).fetchall()

    def q1(self, sql, args=()):
        return self.db.execute(sql, args).fetchone()

    def x(self, sql, args=()):
        return self.db.execute(sql, args)

    def _artifact_location(self, experiment_id):
        return f"{self.artifact_root_uri.rstrip('/')}/{experiment_id}"

    # ---- experiments
    def _experiment_row(self, experiment_id, stages=(ACTIVE, DELETED)):
        experiment_id = experiment_id or "0"
        try:
            eid = int(experiment_id)
        except (TypeError, ValueError):
            raise invalid(
                f"Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer."
            ) from None
        row = self.q1("SELECT * FROM experiments WHERE experiment_id = ?", (eid,))
        if row is None or row["lifecycle_stage"] not in stages:
            raise not_found(f"No Experiment with id={eid} exists")
        return row

    def experiment_json(self, row):
        out = {
            "experiment_id": str(row["experiment_id"]),
            "name": row["name"],
            "artifact_location": row["artifact_location"],
            "lifecycle_stage": row["lifecycle_stage"],
        }
        if row["last_update_time"]:
            out["last_update_time"] = row["last_update_time"]
        if row["creation_time"]:
            out["creation_time"] = row["creation_time"]
        tags = self.q(
            "SELECT key, value FROM experiment_tags WHERE experiment_id = ? ORDER BY rowid",
            (row["experiment_id"],),
        )
        if tags:
            out["tags"] = [{"key": t["key"], "value": t["value"]} for t in tags]
        return out

    def create_experiment(self, name, artifact_location, tags):
        validate.experiment_name(name)
        with self.lock:
            t = now_ms()
            try:
                self.x("BEGIN")
                cur = self.x(
                    "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time,"
                    " last_update_time) VALUES (?, ?, ?, ?, ?)",
                    (name, artifact_location or None, ACTIVE, t, t),
                )
                eid = cur.lastrowid
                for key, value in tags:
                    self.x("INSERT OR REPLACE INTO experiment_tags VALUES (?, ?, ?)", (eid, key, value))
                if not artifact_location:
                    self.x(
                        "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
                        (self._artifact_location(eid), eid),
                    )
                self.x("COMMIT")
            except sqlite3.IntegrityError:
                self.x("ROLLBACK")
                # worded as MLflow's SQLAlchemy store reports it (its table has a workspace column)
                raise already_exists(
                    f"Experiment(name={name}) already exists. Error: (sqlite3.IntegrityError) UNIQUE constraint "
                    "failed: experiments.workspace, experiments.name\n[SQL: INSERT INTO experiments (name, workspace, "
                    "artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (?, ?, ?, ?, ?, ?)]\n"
                    f"[parameters: ({name!r}, 'default', {artifact_location or ''!r}, 'active', {t}, {t})]\n"
                    "(Background on this error at: https://sqlalche.me/e/21/gkpj)"
                ) from None
            return str(eid)

    def get_experiment(self, experiment_id):
        return self.experiment_json(self._experiment_row(experiment_id))

    def get_experiment_by_name(self, name):
        row = self.q1("SELECT * FROM experiments WHERE name = ?", (name,))
        return self.experiment_json(row) if row else None

    def delete_experiment(self, experiment_id):
        with self.lock:
            row = self._experiment_row(experiment_id, (ACTIVE,))
            t = now_ms()
            self.x(
                "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?",
                (DELETED, t, row["experiment_id"]),
            )
            self.x(
                "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ?",
                (DELETED, t, row["experiment_id"]),
            )

    def restore_experiment(self, experiment_id):
        with self.lock:
            row = self._experiment_row(experiment_id, (DELETED,))
            self.x(
                "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?",
                (ACTIVE, now_ms(), row["experiment_id"]),
            )
            self.x(
                "UPDATE runs SET lifecycle_stage = ?, deleted_time = NULL WHERE experiment_id = ?",
                (ACTIVE, row["experiment_id"]),
            )

    def rename_experiment(self, experiment_id, new_name):
        validate.experiment_name(new_name)
        with self.lock:
            row = self._experiment_row(experiment_id)
            if row["lifecycle_stage"] != ACTIVE:
                raise MlflowError("Cannot rename a non-active experiment.", "INVALID_STATE")
            try:
                self.x(
                    "UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?",
                    (new_name, now_ms(), row["experiment_id"]),
                )
            except sqlite3.IntegrityError as e:
                raise MlflowError(f"(sqlite3.IntegrityError) {e}", "INTERNAL_ERROR") from None

    def set_experiment_tag(self, experiment_id, key, value):
        validate.experiment_tag(key, value)
        validate.tag(key, value)
        with self.lock:
            row = self._experiment_row(experiment_id)
            if row["lifecycle_stage"] != ACTIVE:
                raise invalid(
                    f"The experiment {row['experiment_id']} must be in the 'active' state. "
                    f"Current state is {row['lifecycle_stage']}."
                )
            self.x(
                "INSERT INTO experiment_tags VALUES (?, ?, ?) ON CONFLICT (experiment_id, key)"
                " DO UPDATE SET value = excluded.value",
                (row["experiment_id"], key, value),
            )

    def search_experiments(self, view_type, max_results, filter_string, order_by, token):
        if max_results is None or max_results < 1:
            raise invalid(
                f"Invalid value {max_results} for parameter 'max_results' supplied. It must be "
                "a positive integer"
            )
        if max_results > SEARCH_MAX_RESULTS_THRESHOLD:
            raise invalid(
                f"Invalid value {max_results} for parameter 'max_results' supplied. It must be at "
                f"most {SEARCH_MAX_RESULTS_THRESHOLD}"
            )
        clauses = search.parse_filter(filter_string)
        for entity, key, _, _ in clauses:
            if entity not in ("attribute", "tag") or (
                entity == "attribute" and key not in ("name", "creation_time", "last_update_time")
            ):
                raise invalid(f"Invalid attribute key '{key}' specified. Valid keys are "
                              "'['name', 'creation_time', 'last_update_time']'")
        orders = []
        for clause in order_by or ["creation_time DESC", "experiment_id ASC"]:
            entity, key, asc = search.parse_order_by(clause)
            if entity != "attribute" or key not in ("name", "experiment_id", "creation_time", "last_update_time"):
                raise invalid(f"Invalid order_by entity: {entity}")
            orders.append((key, asc))
        if not any(k == "experiment_id" for k, _ in orders):
            orders.append(("experiment_id", False))
        offset = search.offset_of(token)
        stages = VIEW_STAGES.get(view_type, (ACTIVE,))
        rows = [r for r in self.q("SELECT * FROM experiments") if r["lifecycle_stage"] in stages]
        out = []
        for r in rows:
            tags = dict(
                (t["key"], t["value"])
                for t in self.q("SELECT key, value FROM experiment_tags WHERE experiment_id = ?", (r["experiment_id"],))
            )
            ok = True
            for entity, key, comp, value in clauses:
                actual = tags.get(key) if entity == "tag" else r[key]
                if not search.compare(actual, comp, value):
                    ok = False
                    break
            if ok:
                out.append(r)
        for key, asc in reversed(orders):
            out.sort(key=lambda r, k=key: (r[k] is None, r[k] if r[k] is not None else 0), reverse=not asc)
        page = out[offset : offset + max_results + 1]
        next_token = search.page_token(offset + max_results) if len(page) == max_results + 1 else None
        return [self.experiment_json(r) for r in page[:max_results]], next_token

    # ---- runs
    def _run_row(self, run_id):
        row = self.q1("SELECT * FROM runs WHERE run_uuid = ?", (run_id,))
        if row is None:
            raise not_found(f"Run with id={run_id} not found")
        return row

    def _active_run(self, run_id):
        row = self._run_row(run_id)
        if row["lifecycle_stage"] != ACTIVE:
            raise invalid(
                f"The run {run_id} must be in the 'active' state. Current state is {row['lifecycle_stage']}."
            )
        return row

    def run_info_json(self, row):
        run_name = row["name"]
        if not run_name:
            tag = self.q1("SELECT value FROM tags WHERE run_uuid = ? AND key = ?", (row["run_uuid"], RUN_NAME_TAG))
            run_name = tag["value"] if tag else run_name
        out = {"run_uuid": row["run_uuid"], "experiment_id": str(row["experiment_id"])}
        if run_name is not None:
            out["run_name"] = run_name
        out["user_id"] = row["user_id"] if row["user_id"] is not None else ""
        out["status"] = row["status"]
        out["start_time"] = row["start_time"] if row["start_time"] is not None else 0
        if row["end_time"]:
            out["end_time"] = row["end_time"]
        if row["artifact_uri"]:
            out["artifact_uri"] = row["artifact_uri"]
        out["lifecycle_stage"] = row["lifecycle_stage"]
        out["run_id"] = row["run_uuid"]
        return out

    def run_data_json(self, run_id):
        data = {}
        metrics = self.q("SELECT * FROM latest_metrics WHERE run_uuid = ? ORDER BY rowid", (run_id,))
        if metrics:
            data["metrics"] = [self.metric_json(m) for m in metrics]
        params = self.q("SELECT key, value FROM params WHERE run_uuid = ? ORDER BY rowid", (run_id,))
        if params:
            data["params"] = [{"key": p["key"], "value": p["value"]} for p in params]
        tags = self.q("SELECT key, value FROM tags WHERE run_uuid = ? ORDER BY rowid", (run_id,))
        if tags:
            data["tags"] = [{"key": t["key"], "value": t["value"]} for t in tags]
        return data

    @staticmethod
    def metric_json(m):
        return {
            "key": m["key"],
            "value": _float_json(m["value"], m["is_nan"]),
            "timestamp": m["timestamp"],
            "step": m["step"],
        }

    def run_json(self, row, outputs=True):
        out = {"info": self.run_info_json(row), "data": self.run_data_json(row["run_uuid"]), "inputs": {}}
        if outputs:
            out["outputs"] = {}
        return out

    def create_run(self, experiment_id, user_id, start_time, tags, run_name):
        with self.lock:
            exp = self._experiment_row(experiment_id)
            if exp["lifecycle_stage"] != ACTIVE:
                raise invalid(
                    f"The experiment {exp['experiment_id']} must be in the 'active' state. "
                    f"Current state is {exp['lifecycle_stage']}."
                )
            run_id = uuid.uuid4().hex
            artifact_uri = f"{exp['artifact_location'].rstrip('/')}/{run_id}/artifacts"
            tags = list(tags)
            name_tag = next((v for k, v in reversed(tags) if k == RUN_NAME_TAG), None)
            if run_name and name_tag and run_name != name_tag:
                raise invalid(
                    "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
                    f"different values (run_name='{run_name}', mlflow.runName='{name_tag}')."
                )
            run_name = run_name or name_tag or random_run_name()
            if not name_tag:
                tags.append((RUN_NAME_TAG, run_name))
            self.x("BEGIN")
            self.x(
                "INSERT INTO runs VALUES (?, ?, ?, ?, 'RUNNING', ?, NULL, ?, ?, NULL)",
                (run_id, run_name, exp["experiment_id"], user_id, start_time, artifact_uri, ACTIVE),
            )
            for key, value in tags:
                self.x(
                    "INSERT INTO tags VALUES (?, ?, ?) ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value",
                    (run_id, key, value),
                )
            self.x("COMMIT")
            return self.run_json(self._run_row(run_id), outputs=False)

    def get_run(self, run_id):
        return self.run_json(self._run_row(run_id))

    def update_run_info(self, run_id, status, end_time, run_name):
        with self.lock:
            self._active_run(run_id)
            if status is not None:
                self.x("UPDATE runs SET status = ? WHERE run_uuid = ?", (RUN_STATUS_NAMES[status], run_id))
            if end_time is not None:
                self.x("UPDATE runs SET end_time = ? WHERE run_uuid = ?", (end_time, run_id))
            if run_name:
                self.x("UPDATE runs SET name = ? WHERE run_uuid = ?", (run_name, run_id))
                self.x(
                    "INSERT INTO tags VALUES (?, ?, ?) ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value",
                    (run_id, RUN_NAME_TAG, run_name),
                )
            return self.run_info_json(self._run_row(run_id))

    def delete_run(self, run_id):
        with self.lock:
            self._run_row(run_id)
            self.x("UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_uuid = ?", (DELETED, now_ms(), run_id))

    def restore_run(self, run_id):
        with self.lock:
            self._run_row(run_id)
            self.x("UPDATE runs SET lifecycle_stage = ?, deleted_time = NULL WHERE run_uuid = ?", (ACTIVE, run_id))

    # ---- metrics, params, tags
    def _log_metrics(self, run_id, metrics):
        for key, value, timestamp, step in metrics:
            is_nan = math.isnan(value)
            stored = 0.0 if is_nan else (MAX_DOUBLE if value > MAX_DOUBLE else -MAX_DOUBLE if value < -MAX_DOUBLE else value)
            self.x(
                "INSERT OR IGNORE INTO metrics VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, key, stored, int(is_nan), timestamp, step),
            )
            latest = self.q1("SELECT * FROM latest_metrics WHERE run_uuid = ? AND key = ?", (run_id, key))
            if latest is None:
                self.x(
                    "INSERT INTO latest_metrics VALUES (?, ?, ?, ?, ?, ?)",
                    (run_id, key, stored, int(is_nan), timestamp, step),
                )
            elif (step, timestamp, stored) > (latest["step"], latest["timestamp"], latest["value"]):
                self.x(
                    "UPDATE latest_metrics SET value = ?, is_nan = ?, timestamp = ?, step = ?"
                    " WHERE run_uuid = ? AND key = ?",
                    (stored, int(is_nan), timestamp, step, run_id, key),
                )

    def log_metric(self, run_id, key, value, timestamp, step):
        validate.metric(key, value, timestamp, step)
        with self.lock:
            self._active_run(run_id)
            self._log_metrics(run_id, [(key, value, timestamp, step)])

    def log_param(self, run_id, key, value):
        key, value = validate.param(key, value)
        with self.lock:
            self._active_run(run_id)
            old = self.q1("SELECT value FROM params WHERE run_uuid = ? AND key = ?", (run_id, key))
            if old is None:
                self.x("INSERT INTO params VALUES (?, ?, ?)", (run_id, key, value))
            elif old["value"] != value:
                raise invalid(
                    f"Changing param values is not allowed. Param with key='{key}' was already"
                    f" logged with value='{old['value']}' for run ID='{run_id}'. Attempted logging new value"
                    f" '{value}'."
                )

    def _set_tag(self, run_id, key, value):
        if key == RUN_NAME_TAG:
            self.x("UPDATE runs SET name = ? WHERE run_uuid = ?", (value, run_id))
        self.x(
            "INSERT INTO tags VALUES (?, ?, ?) ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value",
            (run_id, key, value),
        )

    def set_tag(self, run_id, key, value):
        key, value = validate.tag(key, value)
        with self.lock:
            self._active_run(run_id)
            self._set_tag(run_id, key, value)

    def delete_tag(self, run_id, key):
        with self.lock:
            self._active_run(run_id)
            if not self.q1("SELECT 1 FROM tags WHERE run_uuid = ? AND key = ?", (run_id, key)):
                raise not_found(f"No tag with name: {key} in run with id {run_id}")
            self.x("DELETE FROM tags WHERE run_uuid = ? AND key = ?", (run_id, key))

    def log_batch(self, run_id, metrics, params, tags):
        validate.run_id(run_id)
        for i, (key, value, timestamp, step) in enumerate(metrics):
            validate.metric(key, value, timestamp, step, path=f"metrics[{i}]")
        params = [validate.param(k, v, path=f"params[{i}]") for i, (k, v) in enumerate(params)]
        tags = [validate.tag(k, v, path=f"tags[{i}]") for i, (k, v) in enumerate(tags)]
        validate.batch_limits(metrics, params, tags)
        validate.unique_param_keys(params)
        with self.lock:
            self._active_run(run_id)
            existing = {r["key"]: r["value"] for r in self.q("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,))}
            conflicts = [
                {"key": k, "old_value": existing[k], "new_value": v} for k, v in params if k in existing and existing[k] != v
            ]
            if conflicts:
                raise invalid(
                    f"Changing param values is not allowed. Params were already logged='{conflicts}' for run ID='{run_id}'."
                )
            self.x("BEGIN")
            for k, v in params:
                if k not in existing:
                    self.x("INSERT INTO params VALUES (?, ?, ?)", (run_id, k, v))
            self._log_metrics(run_id, metrics)
            for k, v in tags:
                self._set_tag(run_id, k, v)
            self.x("COMMIT")

    def get_metric_history(self, run_id, key, max_results, token):
        offset = search.offset_of(token)
        rows = self.q(
            "SELECT * FROM metrics WHERE run_uuid = ? AND key = ? ORDER BY timestamp, step, value LIMIT ? OFFSET ?",
            (run_id, key, -1 if max_results is None else max_results + 1, offset),
        )
        next_token = None
        if max_results is not None and len(rows) == max_results + 1:
            next_token = search.page_token(offset + max_results)
            rows = rows[:max_results]
        return [self.metric_json(m) for m in rows], next_token

    # ---- search runs
    _RUN_ATTRS = {
        "run_id": "run_uuid",
        "run_name": "name",
        "status": "status",
        "user_id": "user_id",
        "start_time": "start_time",
        "created": "start_time",
        "end_time": "end_time",
        "artifact_uri": "artifact_uri",
        "lifecycle_stage": "lifecycle_stage",
    }

    def _run_value(self, row, entity, key, cache):
        run_id = row["run_uuid"]
        if entity == "attribute":
            col = self._RUN_ATTRS.get(key)
            if col is None:
                raise invalid(
                    f"Invalid attribute key '{key}' specified. Valid keys are '{sorted(self._RUN_ATTRS)}'"
                )
            return row[col]
        table = {"metric": "latest_metrics", "param": "params", "tag": "tags"}[entity]
        values = cache.setdefault((table, run_id), None)
        if values is None:
            values = {
                r["key"]: (float("nan") if table == "latest_metrics" and r["is_nan"] else r["value"])
                for r in self.q(f"SELECT * FROM {table} WHERE run_uuid = ?", (run_id,))
            }
            cache[(table, run_id)] = values
        return values.get(key)

    def search_runs(self, experiment_ids, filter_string, view_type, max_results, order_by, token):
        if max_results is not None and (max_results < 1 or max_results > SEARCH_MAX_RESULTS_THRESHOLD):
            if max_results < 1:
                raise invalid(
                    f"Invalid value {max_results} for parameter 'max_results' supplied. It must be "
                    "a positive integer"
                )
            raise invalid(
                f"Invalid value {max_results} for parameter 'max_results' supplied. It must be at "
                f"most {SEARCH_MAX_RESULTS_THRESHOLD}"
            )
        clauses = search.parse_filter(filter_string)
        orders = [search.parse_order_by(c) for c in order_by or []]
        offset = search.offset_of(token)
        try:
            ids = [int(e) for e in experiment_ids]
        except ValueError as e:
            raise MlflowError(str(e), "INTERNAL_ERROR") from None
        stages = VIEW_STAGES.get(view_type, (ACTIVE,))
        rows = [
            r
            for r in self.q(f"SELECT * FROM runs WHERE experiment_id IN ({','.join('?' * len(ids))})", ids)
            if r["lifecycle_stage"] in stages
        ] if ids else []
        cache = {}
        rows = [
            r for r in rows if all(search.compare(self._run_value(r, e, k, cache), c, v) for e, k, c, v in clauses)
        ]
        keys = list(orders)
        if not any(e == "attribute" and self._RUN_ATTRS.get(k) == "start_time" for e, k, _ in keys):
            keys.append(("attribute", "start_time", False))
        rows.sort(key=lambda r: r["run_uuid"])
        for entity, key, asc in reversed(keys):
            def sort_key(r, e=entity, k=key):
                v = self._run_value(r, e, k, cache)
                return (0, v) if v is not None else (1, 0)
            present = [r for r in rows if self._run_value(r, entity, key, cache) is not None]
            absent = [r for r in rows if self._run_value(r, entity, key, cache) is None]
            present.sort(key=sort_key, reverse=not asc)
            rows = present + absent
        page = rows[offset:] if max_results is None else rows[offset : offset + max_results + 1]
        next_token = None
        if max_results is not None and len(page) == max_results + 1:
            next_token = search.page_token(offset + max_results)
            page = page[:max_results]
        return [self.run_json(r) for r in page], next_token
