"""Small helpers shared by the JSON views."""

from __future__ import annotations

from typing import Any

from flask import request

from ..engine.errors import ValidationError


def json_body(*, optional: bool = False) -> Any:
    """The request's JSON, or a 422 naming `body` when it is not JSON at all."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return None
        raise ValidationError({"body": "a JSON body is required"})
    data = request.get_json(silent=True)
    if data is None:
        raise ValidationError({"body": "must be valid JSON"})
    return data
