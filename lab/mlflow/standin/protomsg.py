"""Request messages as MLflow's server parses them.

MLflow turns a request into a protobuf message (proto2, mlflow/protos/service.proto and
model_registry.proto) with ``ParseDict(..., ignore_unknown_fields=True)``: unknown keys are
ignored, ``null`` counts as absent, int64 may come as a number or a numeric string, a field of
the wrong type raises a parse error, and the fields converted before the error stay set. The
handler then validates the raw JSON against a schema, checking types only when parsing failed.
This module models that: a message is a set of typed fields with proto2 defaults and presence.
"""

import math

from errors import SEE_DOCS, MlflowError, invalid, invalid_value, missing_value

VIEW_TYPE = {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3}
RUN_STATUS = {"RUNNING": 1, "SCHEDULED": 2, "FINISHED": 3, "FAILED": 4, "KILLED": 5}
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


class ParseError(Exception):
    pass


class UnknownEnumName(ParseError):
    """An enum given by a name it does not have: ignored, as ParseDict(ignore_unknown_fields=True)
    ignores it (the field stays unset and parsing goes on)."""


class Field:
    def __init__(self, name, kind, repeated=False, default=None, enum=None, message=None):
        self.name = name
        self.kind = kind  # string int32 int64 double bool enum message
        self.repeated = repeated
        self.enum = enum
        self.message = message
        if default is None and not repeated:
            default = {"string": "", "int32": 0, "int64": 0, "double": 0.0, "bool": False}.get(kind)
            if kind == "enum":
                default = min(enum.values())
        self.default = default
        parts = name.split("_")
        self.json_name = parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


class Spec:
    def __init__(self, name, *fields):
        self.name = name
        self.fields = list(fields)
        self.by_name = {}
        for f in self.fields:
            self.by_name[f.name] = f
            self.by_name.setdefault(f.json_name, f)


class Message:
    """A parsed message: ``values`` holds the fields that are set."""

    def __init__(self, spec):
        self.spec = spec
        self.values = {}

    def has(self, name):
        return name in self.values

    def get(self, name):
        if name in self.values:
            return self.values[name]
        f = self.spec.by_name[name]
        if f.repeated:
            return []
        if f.kind == "message":
            return Message(f.message)
        return f.default

    def __getattr__(self, name):
        if name in ("spec", "values"):
            raise AttributeError(name)
        return self.get(name)


def _convert_int(value, bounds):
    if isinstance(value, bool):
        raise ParseError(f"Bool value {value} is not acceptable for integer field")
    if isinstance(value, float) and not value.is_integer():
        raise ParseError(f"Couldn't parse integer: {value}")
    if isinstance(value, str) and " " in value:
        raise ParseError(f'Couldn\'t parse integer: "{value}"')
    try:
        out = int(value)
    except (TypeError, ValueError) as e:
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise ParseError(str(e)) from None
        if not f.is_integer():
            raise ParseError(f'Couldn\'t parse non-integer string: "{value}"') from e
        out = int(f)
    if not bounds[0] <= out <= bounds[1]:
        raise ParseError(f"Value out of range: {value}")
    return out


def _convert_double(value):
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ParseError("Couldn't parse NaN or Infinity, use quoted strings")
        return value
    if isinstance(value, (list, dict)) or value is None:
        raise ParseError(f"Couldn't parse float: {value}")
    if value == "nan":
        raise ParseError('Couldn\'t parse float "nan", use "NaN" instead')
    try:
        return float(value)
    except (TypeError, ValueError) as e:
        if value == "-Infinity":
            return float("-inf")
        if value == "Infinity":
            return float("inf")
        if value == "NaN":
            return float("nan")
        raise ParseError(f"Couldn't parse float: {value}") from e


def _convert_scalar(field, value):
    k = field.kind
    if k == "string":
        if not isinstance(value, str):
            raise ParseError(f"Invalid value for string field {field.name}")
        return value
    if k == "int32":
        return _convert_int(value, INT32)
    if k == "int64":
        return _convert_int(value, INT64)
    if k == "double":
        return _convert_double(value)
    if k == "bool":
        if not isinstance(value, bool):
            raise ParseError("Expected true or false without quotes")
        return value
    if k == "enum":
        if isinstance(value, str) and value in field.enum:
            return field.enum[value]
        try:
            number = int(value)
        except ValueError as e:
            raise UnknownEnumName(f"Invalid enum value {value}") from e
        except TypeError as e:
            raise ParseError(f"Invalid enum value {value}") from e
        if number not in field.enum.values():
            raise ParseError(f"Invalid enum value {value}")
        return number
    raise ParseError(f"unsupported kind {k}")


def parse_into(msg, js):
    """ParseDict: converts ``js`` into ``msg`` in the JSON's key order; raises ParseError at the
    first bad field, leaving the fields converted before it set."""
    if not isinstance(js, dict):
        raise ParseError("Expected a JSON object")
    for key, value in js.items():
        field = msg.spec.by_name.get(key)
        if field is None:
            continue
        msg.values.pop(field.name, None)
        if value is None:
            continue
        if field.repeated:
            if not isinstance(value, list):
                raise ParseError(f"repeated field {key} must be in [] which is {value}")
            items = msg.values.setdefault(field.name, [])
            for item in value:
                if item is None:
                    raise ParseError("null is not allowed to be used as an element in a repeated field")
                if field.kind == "message":
                    sub = Message(field.message)
                    items.append(sub)
                    parse_into(sub, item)
                else:
                    try:
                        items.append(_convert_scalar(field, item))
                    except UnknownEnumName:
                        pass
            if not items:
                msg.values.pop(field.name, None)
        elif field.kind == "message":
            sub = Message(field.message)
            msg.values[field.name] = sub
            parse_into(sub, value)
        else:
            try:
                msg.values[field.name] = _convert_scalar(field, value)
            except UnknownEnumName:
                pass


# ---- the schema check MLflow's handlers run on the raw request JSON


def required(value):
    assert value is not None
    assert value != ""


def is_string(value):
    assert isinstance(value, str)


def is_intlike(value):
    try:
        value = int(value)
    except (TypeError, ValueError):
        pass
    assert isinstance(value, int)


def is_floatlike(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        pass
    assert isinstance(value, float)


def is_bool(value):
    assert isinstance(value, bool)


def is_array(value):
    assert isinstance(value, list)


def items_are_strings(value):
    assert all(isinstance(v, str) for v in value)


def at_most(limit):
    def check(value):
        if int(value) > limit:
            raise AssertionError()

    return check


TYPE_CHECKS = {is_string, is_intlike, is_floatlike, is_bool, is_array, items_are_strings}


def validate(request_json, schema, parsed_ok):
    for key, checks in schema.items():
        if key not in request_json and required not in checks:
            continue
        value = request_json.get(key)
        if key == "run_id" and value is None and "run_uuid" in request_json:
            value = request_json.get("run_uuid")
        for check in checks:
            if check in TYPE_CHECKS and parsed_ok:
                continue
            try:
                check(value)
            except AssertionError as e:
                if e.args:
                    message = e.args[0]
                elif check is required:
                    message = missing_value(key)
                else:
                    message = invalid_value(key, value, f" Hint: Value was of type '{type(value).__name__}'.")
                raise invalid(message + SEE_DOCS) from None
            except (TypeError, ValueError) as e:
                raise MlflowError(str(e), "INTERNAL_ERROR") from None


def required_at(value, path):
    """_assert_required with a JSON path, as log-batch checks its metrics, params and tags."""
    if value is None or value == "":
        raise AssertionError(missing_value(path))


def from_query(spec, args):
    """A GET request's query string as MLflow reads it: for each field of the message (in
    declaration order), a repeated field takes every value, another the first."""
    out = {}
    for f in spec.fields:
        if f.name not in args:
            continue
        out[f.name] = list(args[f.name]) if f.repeated else args[f.name][0]
    return out


def parse_request(spec, request_json, schema=None):
    msg = Message(spec)
    parsed_ok = True
    try:
        parse_into(msg, request_json)
    except ParseError:
        parsed_ok = False
    validate(request_json, schema or {}, parsed_ok)
    return msg


_TAG = Spec("Tag", Field("key", "string"), Field("value", "string"))
_METRIC = Spec(
    "Metric",
    Field("key", "string"),
    Field("value", "double"),
    Field("timestamp", "int64"),
    Field("step", "int64"),
    Field("dataset_name", "string"),
    Field("dataset_digest", "string"),
    Field("model_id", "string"),
    Field("run_id", "string"),
)


def _s(name):
    return Field(name, "string")


def _tags(name="tags"):
    return Field(name, "message", repeated=True, message=_TAG)


CreateExperiment = Spec("CreateExperiment", _s("name"), _s("artifact_location"), _tags())
SearchExperiments = Spec(
    "SearchExperiments",
    Field("max_results", "int64"),
    _s("page_token"),
    _s("filter"),
    Field("order_by", "string", repeated=True),
    Field("view_type", "enum", enum=VIEW_TYPE),
)
GetExperiment = Spec("GetExperiment", _s("experiment_id"))
GetExperimentByName = Spec("GetExperimentByName", _s("experiment_name"))
DeleteExperiment = Spec("DeleteExperiment", _s("experiment_id"))
RestoreExperiment = Spec("RestoreExperiment", _s("experiment_id"))
UpdateExperiment = Spec("UpdateExperiment", _s("experiment_id"), _s("new_name"))
SetExperimentTag = Spec("SetExperimentTag", _s("experiment_id"), _s("key"), _s("value"))
CreateRun = Spec(
    "CreateRun", _s("experiment_id"), _s("user_id"), _s("run_name"), Field("start_time", "int64"), _tags()
)
UpdateRun = Spec(
    "UpdateRun",
    _s("run_id"),
    _s("run_uuid"),
    Field("status", "enum", enum=RUN_STATUS),
    Field("end_time", "int64"),
    _s("run_name"),
)
DeleteRun = Spec("DeleteRun", _s("run_id"))
RestoreRun = Spec("RestoreRun", _s("run_id"))
LogMetric = Spec(
    "LogMetric",
    _s("run_id"),
    _s("run_uuid"),
    _s("key"),
    Field("value", "double"),
    Field("timestamp", "int64"),
    Field("step", "int64"),
    _s("model_id"),
    _s("dataset_name"),
    _s("dataset_digest"),
)
LogParam = Spec("LogParam", _s("run_id"), _s("run_uuid"), _s("key"), _s("value"))
SetTag = Spec("SetTag", _s("run_id"), _s("run_uuid"), _s("key"), _s("value"))
DeleteTag = Spec("DeleteTag", _s("run_id"), _s("key"))
GetRun = Spec("GetRun", _s("run_id"), _s("run_uuid"))
SearchRuns = Spec(
    "SearchRuns",
    Field("experiment_ids", "string", repeated=True),
    _s("filter"),
    Field("run_view_type", "enum", enum=VIEW_TYPE, default=1),
    Field("max_results", "int32", default=1000),
    Field("order_by", "string", repeated=True),
    _s("page_token"),
)
ListArtifacts = Spec("ListArtifacts", _s("run_id"), _s("run_uuid"), _s("path"), _s("page_token"))
GetMetricHistory = Spec(
    "GetMetricHistory", _s("run_id"), _s("run_uuid"), _s("metric_key"), _s("page_token"), Field("max_results", "int32")
)
LogBatch = Spec(
    "LogBatch",
    _s("run_id"),
    Field("metrics", "message", repeated=True, message=_METRIC),
    Field("params", "message", repeated=True, message=_TAG),
    _tags(),
)

CreateRegisteredModel = Spec(
    "CreateRegisteredModel", _s("name"), _tags(), _s("description"), _s("deployment_job_id")
)
RenameRegisteredModel = Spec("RenameRegisteredModel", _s("name"), _s("new_name"))
UpdateRegisteredModel = Spec("UpdateRegisteredModel", _s("name"), _s("description"), _s("deployment_job_id"))
DeleteRegisteredModel = Spec("DeleteRegisteredModel", _s("name"))
GetRegisteredModel = Spec("GetRegisteredModel", _s("name"))
SearchRegisteredModels = Spec(
    "SearchRegisteredModels",
    _s("filter"),
    Field("max_results", "int64", default=100),
    Field("order_by", "string", repeated=True),
    _s("page_token"),
)
SetRegisteredModelTag = Spec("SetRegisteredModelTag", _s("name"), _s("key"), _s("value"))
DeleteRegisteredModelTag = Spec("DeleteRegisteredModelTag", _s("name"), _s("key"))
CreateModelVersion = Spec(
    "CreateModelVersion",
    _s("name"),
    _s("source"),
    _s("run_id"),
    _tags(),
    _s("run_link"),
    _s("description"),
    _s("model_id"),
)
UpdateModelVersion = Spec("UpdateModelVersion", _s("name"), _s("version"), _s("description"))
DeleteModelVersion = Spec("DeleteModelVersion", _s("name"), _s("version"))
GetModelVersion = Spec("GetModelVersion", _s("name"), _s("version"))
SearchModelVersions = Spec(
    "SearchModelVersions",
    _s("filter"),
    Field("max_results", "int64", default=200000),
    Field("order_by", "string", repeated=True),
    _s("page_token"),
)
GetModelVersionDownloadUri = Spec("GetModelVersionDownloadUri", _s("name"), _s("version"))
SetModelVersionTag = Spec("SetModelVersionTag", _s("name"), _s("version"), _s("key"), _s("value"))
DeleteModelVersionTag = Spec("DeleteModelVersionTag", _s("name"), _s("version"), _s("key"))
SetRegisteredModelAlias = Spec("SetRegisteredModelAlias", _s("name"), _s("alias"), _s("version"))
DeleteRegisteredModelAlias = Spec("DeleteRegisteredModelAlias", _s("name"), _s("alias"))
GetModelVersionByAlias = Spec("GetModelVersionByAlias", _s("name"), _s("alias"))
ListArtifactsProxy = Spec("ListArtifacts", _s("path"))
