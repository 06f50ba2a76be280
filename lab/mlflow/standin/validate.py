"""Entity checks MLflow's stores run before writing (mlflow/utils/validation.py, 3.x), written
for the lab from their rules and messages."""

import numbers
import posixpath
import re
import urllib.parse

from errors import exceeds_maximum_length, invalid, invalid_value, missing_value

RUN_ID = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")
ALIAS = re.compile(r"^[\w\-]*$")
ALIAS_VERSION = re.compile(r"^[vV]\d+$")
NAME = re.compile(r"^[/\w.\- :]*$")

MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_KEY_LENGTH = 250
MAX_EXPERIMENT_TAG_VAL_LENGTH = 5000
MAX_ENTITY_KEY_LENGTH = 250
MAX_REGISTRY_TAG_KEY_LENGTH = 250
MAX_REGISTRY_TAG_VALUE_LENGTH = 100_000
MAX_ALIAS_LENGTH = 255

BAD_CHARS = (
    "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ),"
    " colon(:) and slashes (/)."
)


def _bad_path(name):
    return (
        "Names may be treated as files in certain cases, and must not resolve to other names"
        f" when treated as such. This name would resolve to {posixpath.normpath(name)!r}"
    )


def path_not_unique(name):
    norm = posixpath.normpath(name)
    return norm != str(name) or norm == "." or norm.startswith("..") or norm.startswith("/")


def _name(name, path, none_message):
    if name is None:
        raise invalid(none_message)
    if not NAME.match(name):
        raise invalid(invalid_value(path, name, BAD_CHARS))
    if path_not_unique(name):
        raise invalid(invalid_value(path, name, _bad_path(name)))


def join_path(base, value):
    if not base:
        return value
    return f"{base}{value}" if value.startswith("[") else f"{base}.{value}"


def length(entity, limit, value, truncate=False):
    if value is None or len(value) <= limit:
        return value
    if truncate:
        return value[:limit]
    raise invalid(exceeds_maximum_length(entity, limit))


def metric(key, value, timestamp, step, path=""):
    p = join_path(path, "name")
    _name(key, p, invalid_value(p, key, "Metric name cannot be None. A key name must be provided."))
    if value is None:
        raise invalid(missing_value(join_path(path, "value")))
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        raise invalid(
            invalid_value(
                join_path(path, "value"),
                value,
                f"(timestamp={timestamp}). Please specify value as a valid double (64-bit floating point)",
            )
        )
    if not isinstance(timestamp, numbers.Number) or timestamp < 0:
        raise invalid(
            invalid_value(
                join_path(path, "timestamp"),
                timestamp,
                f"metric '{key}' (value={value}). Timestamp must be a nonnegative long (64-bit integer) ",
            )
        )
    if not isinstance(step, numbers.Number):
        raise invalid(
            invalid_value(
                join_path(path, "step"),
                step,
                f"metric '{key}' (value={value}). Step must be a valid long (64-bit integer).",
            )
        )
    length("Metric name", MAX_ENTITY_KEY_LENGTH, key)


def param(key, value, path=""):
    p = join_path(path, "key")
    _name(key, p, invalid_value(p, "", "A key name must be provided."))
    return (
        length("Param key", MAX_ENTITY_KEY_LENGTH, key),
        length("Param value", MAX_PARAM_VAL_LENGTH, value, truncate=True),
    )


def tag_name(name, path="key"):
    _name(name, path, missing_value(path))


def tag(key, value, path=""):
    tag_name(key, join_path(path, "key"))
    return (
        length(join_path(path, "key"), MAX_ENTITY_KEY_LENGTH, key),
        length(join_path(path, "value"), MAX_TAG_VAL_LENGTH, value, truncate=True),
    )


def experiment_tag(key, value):
    tag_name(key)
    length("key", MAX_EXPERIMENT_TAG_KEY_LENGTH, key)
    length("value", MAX_EXPERIMENT_TAG_VAL_LENGTH, value)


def run_id(value, path="run_id"):
    if not RUN_ID.match(value or ""):
        raise invalid(invalid_value(path, value))


def experiment_name(name):
    if name == "" or name is None:
        raise invalid(f"Invalid experiment name: '{name}'")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise invalid(exceeds_maximum_length("name", MAX_EXPERIMENT_NAME_LENGTH))


def batch_limits(metrics, params, tags):
    def check(entity, limit, n):
        if n > limit:
            raise invalid(
                f"A batch logging request can contain at most {limit} {entity}. Got {n} {entity}. "
                f"Please split up {entity} across multiple requests and try again."
            )

    check("metrics", MAX_METRICS_PER_BATCH, len(metrics))
    check("params", MAX_PARAMS_TAGS_PER_BATCH, len(params))
    check("tags", MAX_PARAMS_TAGS_PER_BATCH, len(tags))
    check("metrics, params, and tags", MAX_ENTITIES_PER_BATCH, len(metrics) + len(params) + len(tags))


def unique_param_keys(params):
    seen, dupes = [], []
    for key, _ in params:
        (dupes if key in seen else seen).append(key)
    if dupes:
        raise invalid(
            f"Duplicate parameter keys have been submitted: {dupes}. Please ensure "
            "the request contains only one param value per param key."
        )


def model_name(name):
    if name is None or name.strip() == "":
        raise invalid(missing_value("name"))
    if "/" in name or ":" in name:
        raise invalid(f"Invalid model name '{name}'. Names cannot contain '/' or ':'.")
    if path_not_unique(name):
        raise invalid(invalid_value("name", name, _bad_path(name)))


def model_version(version):
    try:
        return int(version)
    except (TypeError, ValueError):
        raise invalid(f"Parameter 'version' must be an integer, got '{version}'.") from None


def registry_tag(key, value):
    tag_name(key)
    length("key", MAX_REGISTRY_TAG_KEY_LENGTH, key)
    length("value", MAX_REGISTRY_TAG_VALUE_LENGTH, value)


def model_version_tag(key, value):
    tag_name(key)
    if value is None:
        raise invalid("Tag value cannot be None")
    length("key", MAX_REGISTRY_TAG_KEY_LENGTH, key)
    length("value", MAX_REGISTRY_TAG_VALUE_LENGTH, value)


def alias_name(alias):
    if alias is None or alias == "":
        raise invalid("Registered model alias name cannot be empty.")
    if not ALIAS.match(alias):
        raise invalid(
            f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
        )
    length("Registered model alias name", MAX_ALIAS_LENGTH, alias)


def alias_not_reserved(alias):
    if alias.lower() == "latest":
        raise invalid("'latest' alias name (case insensitive) is reserved.")
    if ALIAS_VERSION.match(alias):
        raise invalid(f"Version alias name '{alias}' is reserved.")


def safe_path(path):
    """validate_path_is_safe: no '..', no absolute path, no backslash, no '#'."""
    for _ in range(10):
        decoded = urllib.parse.unquote(path)
        if decoded == path:
            break
        path = decoded
    path = "".join(f"%{ord(c):02x}" if ord(c) < 32 or ord(c) == 127 else c for c in path)
    if (
        "#" in path
        or "\\" in path
        or ".." in path.split("/")
        or path.startswith("/")
        or (len(path) >= 2 and path[1] == ":")
    ):
        raise invalid("Invalid path")
    return path


def model_version_source(source, run_artifact_uri=None):
    """A model version's source: a local path is refused (the lab serves mlflow-artifacts, so no
    run's artifact root is local), and a URI may not hold relative references."""
    message = (
        f"Invalid model version source: '{source}'. If supplying a source as an http, https, "
        "local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be "
        "provided without relative path references present. Please provide an absolute path."
    )
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme in ("", "file"):
        shown = posixpath.normpath(parsed.path or source) if (parsed.path or source) else source
        raise invalid(
            f"Invalid model version source: '{shown}'. To use a local path as a model version "
            "source, the run_id request parameter has to be specified and the local path has to be "
            "contained within the artifact directory of the run specified by the run_id."
        )
    while (unquoted := urllib.parse.unquote_plus(source)) != source:
        source = unquoted
    source_path = re.sub(r"/+", "/", urllib.parse.urlparse(source).path.rstrip("/"))
    if "\x00" in source_path or any(p == ".." for p in source.split("/")):
        raise invalid(message)
    # pathlib's resolve(): an empty path resolves to the server's working directory
    resolved = posixpath.normpath(source_path) if source_path.startswith("/") else None
    if resolved != source_path:
        raise invalid(message)
