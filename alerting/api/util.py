"""Small helpers shared by the JSON views."""

from __future__ import annotations

from typing import Any

from flask import request

from ..engine.errors import ValidationError
from ..engine.json_body import parse_json_body


def json_body(*, optional: bool = False, required: str = "a JSON body is required") -> Any:
    """The request's JSON, or a 422 naming `body` when it is not JSON at all, too deeply
    nested, or the field holding text no database stores (engine/json_body.py)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return None
        raise ValidationError({"body": required})
    if not request.is_json:
        raise ValidationError({"body": "must be valid JSON sent as application/json"})
    data = parse_json_body(raw)
    if data is None:
        raise ValidationError({"body": "must be valid JSON"})
    return data
