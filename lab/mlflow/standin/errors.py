"""Errors as MLflow's tracking server reports them.

An API error is a JSON body {"error_code", "message", "sqlstate", "error_class"} with the HTTP
status MLflow derives from the error code (mlflow/exceptions.py and
mlflow/error_classification.py in MLflow 3.x; codes from mlflow/protos/databricks.proto).
Written for the lab from those tables, not copied.
"""

import json

# error_code -> HTTP status (MLflow's ERROR_CODE_TO_HTTP_STATUS)
HTTP_STATUS = {
    "INTERNAL_ERROR": 500,
    "INVALID_STATE": 500,
    "DATA_LOSS": 500,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "CANCELLED": 499,
    "RESOURCE_EXHAUSTED": 429,
    "ABORTED": 409,
    "RESOURCE_CONFLICT": 409,
    "ALREADY_EXISTS": 409,
    "NOT_FOUND": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "PERMISSION_DENIED": 403,
    "CUSTOMER_UNAUTHORIZED": 401,
    "UNAUTHENTICATED": 401,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "INVALID_PARAMETER_VALUE": 400,
}

# error_code -> (sqlstate, error_class) that a server-side MlflowException carries by default
_CLASSIFICATION = {
    "BAD_REQUEST": ("KAM00", "INVALID_PARAMETER_VALUE"),
    "CUSTOMER_UNAUTHORIZED": ("KAM00", "PERMISSION_DENIED"),
    "ENDPOINT_NOT_FOUND": ("KAM00", "RESOURCE_NOT_FOUND"),
    "FEATURE_DISABLED": ("KAM00", "FEATURE_DISABLED"),
    "INTERNAL_ERROR": ("XXM00", "CLIENT_INTERNAL_ERROR"),
    "INVALID_PARAMETER_VALUE": ("KAM00", "INVALID_PARAMETER_VALUE"),
    "INVALID_STATE": ("XXM00", "CLIENT_INTERNAL_ERROR"),
    "NOT_FOUND": ("KAM00", "RESOURCE_NOT_FOUND"),
    "PERMISSION_DENIED": ("KAM00", "PERMISSION_DENIED"),
    "RESOURCE_ALREADY_EXISTS": ("KAM00", "RESOURCE_ALREADY_EXISTS"),
    "RESOURCE_DOES_NOT_EXIST": ("KAM00", "RESOURCE_NOT_FOUND"),
    "TEMPORARILY_UNAVAILABLE": ("XXM00", "CLIENT_INTERNAL_ERROR"),
}


class MlflowError(Exception):
    """An error answered as MLflow's JSON error body."""

    def __init__(self, message, error_code="INTERNAL_ERROR"):
        super().__init__(message)
        self.message = str(message)
        known = error_code in HTTP_STATUS or error_code in _CLASSIFICATION
        self.error_code = error_code if known else "INTERNAL_ERROR"

    @property
    def status(self):
        return HTTP_STATUS.get(self.error_code, 500)

    def body(self):
        out = {"error_code": self.error_code, "message": self.message}
        sqlstate, error_class = _CLASSIFICATION.get(self.error_code, (None, None))
        if sqlstate is not None:
            out["sqlstate"] = sqlstate
        if error_class is not None:
            out["error_class"] = error_class
        return json.dumps(out)


def invalid(message):
    return MlflowError(message, "INVALID_PARAMETER_VALUE")


def not_found(message):
    return MlflowError(message, "RESOURCE_DOES_NOT_EXIST")


def already_exists(message):
    return MlflowError(message, "RESOURCE_ALREADY_EXISTS")


# ---- message texts, worded as MLflow words them (mlflow/utils/validation.py)

SEE_DOCS = " See the API docs for more information about request parameters."


def missing_value(path):
    return f"Missing value for required parameter '{path}'."


def invalid_value(path, value, message=None):
    shown = json.dumps(value, sort_keys=True, separators=(",", ":"))
    if message:
        return f"Invalid value {shown} for parameter '{path}' supplied: {message}"
    return f"Invalid value {shown} for parameter '{path}' supplied."


def exceeds_maximum_length(path, limit):
    return f"'{path}' exceeds the maximum length of {limit} characters"


# ---- HTML bodies of the web framework MLflow runs on (Flask/Werkzeug) for routing errors

NOT_FOUND_HTML = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again.</p>\n"
)

METHOD_NOT_ALLOWED_HTML = (
    "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n"
    "<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n"
)

INTERNAL_ERROR_HTML = (
    "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
    "<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable "
    "to complete your request. Either the server is overloaded or there is an error in the "
    "application.</p>\n"
)
