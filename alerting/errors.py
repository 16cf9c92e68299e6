"""One error handler: JSON to API clients, an HTML page to browsers, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError

from .engine.errors import ValidationError

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/metrics")  # /metrics: Prometheus reads no HTML either
# A database error that passes (locked, a serialization failure, a lock timeout, the
# connection dropped, no pool connection free) is a 503 with this Retry-After, not a 500.
RETRY_AFTER_SECONDS = 1
# The VideoDB-compatible routes answer in that API's own envelope.
VIDEODB_PREFIXES = ("/rtstream", "/collection")


class ApiError(Exception):
    """An error with an HTTP status and a machine-readable code, raised from services or views."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}


def code_for(status: int) -> str:
    return {
        400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
        405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
        414: "uri_too_long", 415: "unsupported_media_type", 422: "validation_error",
        429: "rate_limited", 431: "headers_too_large", 503: "service_unavailable",
    }.get(status, "server_error" if status >= 500 else "error")


def wants_json() -> bool:
    path = request.path
    if path.startswith(API_PREFIXES) or path.startswith(VIDEODB_PREFIXES):
        return True
    return request.accept_mimetypes.best == "application/json"


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    """The response for an error, in the shape the caller's API expects."""
    if request.path.startswith(VIDEODB_PREFIXES):
        response = jsonify({"success": False, "message": message})
    elif wants_json():
        body = {"error": code, "message": message}
        if fields:
            body["fields"] = fields
        response = jsonify(body)
    else:
        response = render_template("error.html", status=status, message=message), status
        return response
    response.status_code = status
    return response


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.fields)

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError):
        return error_response(422, "validation_error", exc.message, exc.fields)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if isinstance(exc, InternalServerError):
            return _internal(exc)
        status = exc.code or 500
        response = error_response(status, code_for(status), exc.description or exc.name)
        if status == 405 and hasattr(response, "headers"):
            allowed = exc.get_response().headers.get("Allow")
            if allowed:
                response.headers["Allow"] = allowed
        return response

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeoutError)
    def _database(exc: Exception):
        if not transient(exc):
            return _internal(exc)
        log.warning("database unavailable on %s %s: %s", request.method, request.path,
                    str(exc).splitlines()[0])
        response = error_response(503, code_for(503),
                                  "The database is busy or unreachable; try again shortly")
        if hasattr(response, "headers"):
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        body, status = response
        return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}

    @app.errorhandler(Exception)
    def _internal(exc: Exception):
        original = getattr(exc, "original_exception", None) or exc
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=original)
        return error_response(500, "server_error", "Internal server error")


def transient(exc: Exception) -> bool:
    """Whether a database error passes when tried again: an operational error, a dropped
    connection, no connection free in the pool."""
    if isinstance(exc, PoolTimeoutError | OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
