"""The blueprint, its key check, and VideoDB's response envelope.

Errors need nothing here: alerting.errors answers every path under /rtstream and /collection
with `{"success": false, "message": ...}` and the real HTTP status, which the SDK turns into
AuthenticationError (401) or InvalidRequestError (anything else).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, jsonify

from ..api.util import json_body
from ..auth import authenticate_api_request
from ..engine.errors import ValidationError

bp = Blueprint("videodb", __name__)
# x-access-token with this app's API keys: GETs need `read`, everything else `admin`.
bp.before_request(authenticate_api_request)


def ok(data: dict[str, Any]):
    """VideoDB's success envelope. `data` is always an object, and no top-level `status`
    (the SDK would start polling for a job)."""
    return jsonify({"success": True, "data": data})


def json_object() -> Mapping[str, Any]:
    """The request's JSON object. The SDK sends Content-Type: application/json on every
    request, GETs included, so only the views that take a body call this."""
    data = json_body(required="a JSON object is required")
    if not isinstance(data, dict):
        raise ValidationError({"body": "must be a JSON object"})
    return data
