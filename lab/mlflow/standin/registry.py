"""The model registry: registered models, versions, tags and aliases, in the tracking store's
SQLite database. Behaviour follows MLflow 3.x's registry SqlAlchemyStore
(mlflow/store/model_registry/sqlalchemy_store.py): a version is READY as soon as it is created,
its stage starts as "None", deleting a version redacts it and keeps its number, deleting a model
removes it and its versions."""

import sqlite3
import urllib.parse

import search
import validate
from errors import MlflowError, already_exists, invalid, not_found
from store import now_ms

STAGE_NONE = "None"
STAGE_DELETED = "Deleted_Internal"
STAGES = {"none": "None", "staging": "Staging", "production": "Production", "archived": "Archived"}
PROMPT_TAG = "mlflow.prompt.is_prompt"


class Registry:
    def __init__(self, store):
        self.s = store
        self.lock = store.lock

    # ---- JSON
    def version_json(self, row, aliases=None):
        out = {"name": row["name"], "version": str(row["version"]), "creation_timestamp": row["creation_time"]}
        if row["last_updated_time"] is not None:
            out["last_updated_timestamp"] = row["last_updated_time"]
        if row["user_id"] is not None:
            out["user_id"] = row["user_id"]
        if row["current_stage"] is not None:
            out["current_stage"] = row["current_stage"]
        if row["description"] is not None:
            out["description"] = row["description"]
        if row["source"] is not None:
            out["source"] = row["source"]
        if row["run_id"] is not None:
            out["run_id"] = row["run_id"]
        if row["status"] is not None:
            out["status"] = row["status"]
        if row["status_message"]:
            out["status_message"] = row["status_message"]
        tags = self.s.q(
            "SELECT key, value FROM model_version_tags WHERE name = ? AND version = ? ORDER BY rowid",
            (row["name"], row["version"]),
        )
        if tags:
            out["tags"] = [{"key": t["key"], "value": t["value"]} for t in tags]
        if row["run_link"] is not None:
            out["run_link"] = row["run_link"]
        if aliases:
            out["aliases"] = aliases
        return out

    def _aliases_of(self, name, version):
        return [
            r["alias"]
            for r in self.s.q(
                "SELECT alias FROM registered_model_aliases WHERE name = ? AND version = ? ORDER BY rowid",
                (name, version),
            )
        ]

    def model_json(self, row):
        out = {"name": row["name"]}
        if row["creation_time"] is not None:
            out["creation_timestamp"] = row["creation_time"]
        if row["last_updated_time"]:
            out["last_updated_timestamp"] = row["last_updated_time"]
        if row["description"]:
            out["description"] = row["description"]
        latest = {}
        for mv in self.s.q("SELECT * FROM model_versions WHERE name = ? ORDER BY rowid", (row["name"],)):
            stage = mv["current_stage"]
            if stage != STAGE_DELETED and (stage not in latest or latest[stage]["version"] < mv["version"]):
                latest[stage] = mv
        if latest:
            out["latest_versions"] = [self.version_json(mv) for mv in latest.values()]
        tags = self.s.q("SELECT key, value FROM registered_model_tags WHERE name = ? ORDER BY rowid", (row["name"],))
        if tags:
            out["tags"] = [{"key": t["key"], "value": t["value"]} for t in tags]
        aliases = self.s.q(
            "SELECT alias, version FROM registered_model_aliases WHERE name = ? ORDER BY rowid", (row["name"],)
        )
        if aliases:
            out["aliases"] = [{"alias": a["alias"], "version": str(a["version"])} for a in aliases]
        return out

    # ---- registered models
    def _model_row(self, name):
        validate.model_name(name)
        row = self.s.q1("SELECT * FROM registered_models WHERE name = ?", (name,))
        if row is None:
            raise not_found(f"Registered Model with name={name} not found")
        return row

    def create_model(self, name, tags, description):
        validate.model_name(name)
        for key, value in tags:
            validate.registry_tag(key, value)
        with self.lock:
            t = now_ms()
            try:
                self.s.x("BEGIN")
                self.s.x("INSERT INTO registered_models VALUES (?, ?, ?, ?)", (name, t, t, description))
                for key, value in dict(tags).items():
                    self.s.x("INSERT INTO registered_model_tags VALUES (?, ?, ?)", (name, key, value))
                self.s.x("COMMIT")
            except sqlite3.IntegrityError:
                self.s.x("ROLLBACK")
                existing = dict(
                    (r["key"], r["value"])
                    for r in self.s.q("SELECT key, value FROM registered_model_tags WHERE name = ?", (name,))
                )
                old = "Prompt" if PROMPT_TAG in existing else "Registered Model"
                new = "Prompt" if any(k == PROMPT_TAG for k, _ in tags) else "Registered Model"
                if old != new:
                    raise already_exists(
                        f"Tried to create a {new.lower()} with name {name!r}, but the name is already taken "
                        f"by a {old.lower()}. MLflow does not allow creating a model and a prompt with the same name."
                    ) from None
                raise already_exists(f"{new} (name={name}) already exists.") from None
            return self.model_json(self._model_row(name))

    def get_model(self, name):
        return self.model_json(self._model_row(name))

    def update_model(self, name, description):
        with self.lock:
            self._model_row(name)
            self.s.x(
                "UPDATE registered_models SET description = ?, last_updated_time = ? WHERE name = ?",
                (description, now_ms(), name),
            )
            return self.model_json(self._model_row(name))

    def rename_model(self, name, new_name):
        if new_name is None or str(new_name).strip() == "":
            raise invalid("Missing value for required parameter 'new_name'.")
        validate.model_name(new_name)
        with self.lock:
            self._model_row(name)
            if self.s.q1("SELECT 1 FROM registered_models WHERE name = ?", (new_name,)):
                raise already_exists(f"Registered Model (name={new_name}) already exists.")
            t = now_ms()
            self.s.x("BEGIN")
            for table in ("registered_models", "registered_model_tags", "registered_model_aliases", "model_version_tags"):
                self.s.x(f"UPDATE {table} SET name = ? WHERE name = ?", (new_name, name))
            self.s.x("UPDATE model_versions SET name = ?, last_updated_time = ? WHERE name = ?", (new_name, t, name))
            self.s.x("UPDATE registered_models SET last_updated_time = ? WHERE name = ?", (t, new_name))
            self.s.x("COMMIT")
            return self.model_json(self._model_row(new_name))

    def delete_model(self, name):
        with self.lock:
            self._model_row(name)
            self.s.x("BEGIN")
            for table in (
                "registered_models",
                "registered_model_tags",
                "registered_model_aliases",
                "model_versions",
                "model_version_tags",
            ):
                self.s.x(f"DELETE FROM {table} WHERE name = ?", (name,))
            self.s.x("COMMIT")

    def set_model_tag(self, name, key, value):
        validate.model_name(name)
        validate.registry_tag(key, value)
        with self.lock:
            self._model_row(name)
            self.s.x(
                "INSERT INTO registered_model_tags VALUES (?, ?, ?) ON CONFLICT (name, key)"
                " DO UPDATE SET value = excluded.value",
                (name, key, value),
            )

    def delete_model_tag(self, name, key):
        validate.model_name(name)
        validate.tag_name(key)
        with self.lock:
            self._model_row(name)
            self.s.x("DELETE FROM registered_model_tags WHERE name = ? AND key = ?", (name, key))

    def search_models(self, filter_string, max_results, order_by, token):
        if max_results > 1000:
            raise invalid(
                "Invalid value for request parameter max_results. It must be at most "
                f"1000, but got value {max_results}"
            )
        clauses = search.parse_filter(filter_string)
        for entity, key, comp, _ in clauses:
            if entity == "attribute" and key != "name":
                raise invalid(f"Invalid attribute key '{key}' specified. Valid keys are '{{'name'}}'")
            if entity not in ("attribute", "tag"):
                raise invalid(f"Invalid entity type '{entity}'. Valid values are ['tag', 'attribute']")
        orders = []
        for clause in order_by or []:
            entity, key, asc = search.parse_order_by(clause)
            if key == "name":
                col = "name"
            elif key in ("timestamp", "last_updated_timestamp"):
                col = "last_updated_time"
            else:
                raise invalid(
                    f"Invalid order by key '{key}' specified.Valid keys are "
                    "'['name', 'last_updated_timestamp']'"
                )
            orders.append((col, asc))
        if not any(c == "name" for c, _ in orders):
            orders.append(("name", True))
        offset = search.offset_of(token)
        queries_prompts = any(e == "tag" and k == PROMPT_TAG for e, k, _, _ in clauses)
        rows = []
        for r in self.s.q("SELECT * FROM registered_models"):
            tags = dict(
                (t["key"], t["value"])
                for t in self.s.q("SELECT key, value FROM registered_model_tags WHERE name = ?", (r["name"],))
            )
            if not queries_prompts and tags.get(PROMPT_TAG, "").lower() == "true":
                continue
            if all(
                search.compare(tags.get(k) if e == "tag" else r["name"], c, v) for e, k, c, v in clauses
            ):
                rows.append(r)
        for col, asc in reversed(orders):
            rows.sort(key=lambda r, c=col: (r[c] is None, r[c] or 0) if c != "name" else r[c], reverse=not asc)
        page = rows[offset : offset + max_results + 1]
        next_token = search.page_token(offset + max_results) if len(page) == max_results + 1 else None
        return [self.model_json(r) for r in page[:max_results]], next_token

    # ---- model versions
    def _version_row(self, name, version):
        validate.model_name(name)
        validate.model_version(version)
        row = self.s.q1(
            "SELECT * FROM model_versions WHERE name = ? AND version = ? AND current_stage != ?",
            (name, int(version), STAGE_DELETED),
        )
        if row is None:
            raise not_found(f"Model Version (name={name}, version={version}) not found")
        return row

    def create_version(self, name, source, run_id, tags, run_link, description):
        validate.model_name(name)
        for key, value in tags:
            validate.model_version_tag(key, value)
        storage_location = source
        if urllib.parse.urlparse(source).scheme == "models":
            parts = urllib.parse.urlparse(source).path.strip("/").split("/")
            try:
                storage_location = self.download_uri(parts[0], parts[1])
            except (MlflowError, IndexError) as e:
                raise MlflowError(
                    f"Unable to fetch model from model URI source artifact location '{source}'.Error: {e}"
                ) from None
        with self.lock:
            t = now_ms()
            self._model_row(name)
            top = self.s.q1("SELECT MAX(version) AS v FROM model_versions WHERE name = ?", (name,))["v"]
            version = (top or 0) + 1
            self.s.x("BEGIN")
            self.s.x("UPDATE registered_models SET last_updated_time = ? WHERE name = ?", (t, name))
            self.s.x(
                "INSERT INTO model_versions VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, 'READY', NULL)",
                (name, version, t, t, description, STAGE_NONE, source, storage_location, run_id, run_link),
            )
            for key, value in dict(tags).items():
                self.s.x("INSERT INTO model_version_tags VALUES (?, ?, ?, ?)", (name, version, key, value))
            self.s.x("COMMIT")
            return self.version_json(self._version_row(name, version), self._aliases_of(name, version))

    def get_version(self, name, version):
        row = self._version_row(name, version)
        return self.version_json(row, self._aliases_of(name, row["version"]))

    def update_version(self, name, version, description):
        with self.lock:
            row = self._version_row(name, version)
            self.s.x(
                "UPDATE model_versions SET description = ?, last_updated_time = ? WHERE name = ? AND version = ?",
                (description, now_ms(), name, row["version"]),
            )
            return self.get_version(name, version)

    def delete_version(self, name, version):
        with self.lock:
            row = self._version_row(name, version)
            t = now_ms()
            self.s.x("BEGIN")
            self.s.x("UPDATE registered_models SET last_updated_time = ? WHERE name = ?", (t, name))
            # Upstream compares each alias's (integer) version with the request's version string,
            # which never match: its aliases stay, pointing at the deleted version.
            self.s.x(
                "UPDATE model_versions SET current_stage = ?, last_updated_time = ?, description = NULL,"
                " user_id = NULL, source = 'REDACTED-SOURCE-PATH', run_id = 'REDACTED-RUN-ID',"
                " run_link = 'REDACTED-RUN-LINK', status_message = NULL WHERE name = ? AND version = ?",
                (STAGE_DELETED, t, name, row["version"]),
            )
            self.s.x("COMMIT")

    def download_uri(self, name, version):
        row = self._version_row(name, version)
        return row["storage_location"] or row["source"]

    def search_versions(self, filter_string, max_results, order_by, token):
        if not isinstance(max_results, int) or max_results < 1:
            raise invalid(f"Invalid value for max_results. It must be a positive integer, but got {max_results}")
        if max_results > 200_000:
            raise invalid(
                "Invalid value for request parameter max_results. It must be at most "
                f"200000, but got value {max_results}"
            )
        clauses = search.parse_filter(filter_string)
        attrs = {"name": "name", "run_id": "run_id", "source_path": "source", "version_number": "version"}
        for entity, key, _, _ in clauses:
            if entity == "attribute" and key not in attrs:
                raise invalid(
                    f"Invalid attribute key '{key}' specified. Valid keys are "
                    "'{'name', 'run_id', 'source_path', 'version_number'}'"
                )
            if entity not in ("attribute", "tag"):
                raise invalid(f"Invalid entity type '{entity}'. Valid values are ['tag', 'attribute']")
        cols = {
            "name": "name",
            "version_number": "version",
            "creation_timestamp": "creation_time",
            "last_updated_timestamp": "last_updated_time",
            "run_id": "run_id",
            "source": "source",
            "current_stage": "current_stage",
            "status": "status",
        }
        orders = []
        for clause in order_by or ["last_updated_timestamp DESC", "name ASC", "version_number DESC"]:
            _, key, asc = search.parse_order_by(clause)
            if key not in cols:
                raise invalid(f"Invalid order by key '{key}' specified. Valid keys are {set(cols)}")
            orders.append((cols[key], asc))
        if not any(c == "name" for c, _ in orders):
            orders.append(("name", True))
        if not any(c == "version" for c, _ in orders):
            orders.append(("version", False))
        offset = search.offset_of(token)
        rows = []
        for r in self.s.q("SELECT * FROM model_versions WHERE current_stage != ?", (STAGE_DELETED,)):
            tags = dict(
                (t["key"], t["value"])
                for t in self.s.q(
                    "SELECT key, value FROM model_version_tags WHERE name = ? AND version = ?", (r["name"], r["version"])
                )
            )

            def value(e, k, r=r, tags=tags):
                if e == "tag":
                    return tags.get(k)
                v = r[attrs[k]]
                return str(v) if k == "version_number" else v

            if all(search.compare(value(e, k), c, v if k != "version_number" else str(int(float(v))))
                   for e, k, c, v in clauses):
                rows.append(r)
        for col, asc in reversed(orders):
            rows.sort(key=lambda r, c=col: (r[c] is None, r[c] if r[c] is not None else 0), reverse=not asc)
        page = rows[offset : offset + max_results + 1]
        next_token = search.page_token(offset + max_results) if len(page) == max_results + 1 else None
        return [self.version_json(r) for r in page[:max_results]], next_token

    def set_version_tag(self, name, version, key, value):
        validate.model_name(name)
        validate.model_version(version)
        validate.model_version_tag(key, value)
        with self.lock:
            row = self._version_row(name, version)
            self.s.x(
                "INSERT INTO model_version_tags VALUES (?, ?, ?, ?) ON CONFLICT (name, version, key)"
                " DO UPDATE SET value = excluded.value",
                (name, row["version"], key, value),
            )

    def delete_version_tag(self, name, version, key):
        validate.model_name(name)
        validate.model_version(version)
        validate.tag_name(key)
        with self.lock:
            row = self._version_row(name, version)
            self.s.x(
                "DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?", (name, row["version"], key)
            )

    # ---- aliases
    def set_alias(self, name, alias, version):
        validate.model_name(name)
        validate.alias_name(alias)
        validate.alias_not_reserved(alias)
        validate.model_version(version)
        with self.lock:
            row = self._version_row(name, version)
            self.s.x(
                "INSERT INTO registered_model_aliases VALUES (?, ?, ?) ON CONFLICT (name, alias)"
                " DO UPDATE SET version = excluded.version",
                (name, alias, row["version"]),
            )

    def delete_alias(self, name, alias):
        validate.model_name(name)
        validate.alias_name(alias)
        with self.lock:
            self._model_row(name)
            self.s.x("DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?", (name, alias))

    def get_by_alias(self, name, alias):
        validate.model_name(name)
        validate.alias_name(alias)
        if alias.lower() == "latest":
            model = self.get_model(name)
            versions = model.get("latest_versions") or []
            if not versions:
                raise not_found(f"Latest version not found for model {name}.")
            return self.get_version(name, versions[0]["version"])
        self._model_row(name)
        row = self.s.q1("SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?", (name, alias))
        if row is None:
            raise invalid(f"Registered model alias {alias} not found.")
        return self.get_version(name, row["version"])
