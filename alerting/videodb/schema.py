"""Validation of the VideoDB request bodies and query strings.

Each parser returns clean values or raises ValidationError naming every bad field (the app's
handler answers 422 in VideoDB's envelope). Keys the SDK may send that this server has no use
for (`ws_connection_id` on a stream or index, `sandbox_id`, ...) are accepted and ignored, so
SDK versions that add fields keep working.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..engine.errors import ValidationError
from ..engine.rule_schema import (
    check_http_url,
    check_int,
    check_list,
    check_optional_text,
    check_text,
    dedupe,
    fail,
    run_checks,
)

COLLECTION_ID = "default"
MEDIA_TYPES = ("video", "audio")
STREAM_ORDERINGS = ("created_at", "-created_at", "name", "-name")
DEFAULT_EXTRACTION_TYPE = "time"

MAX_ID = 64
MAX_NAME = 255
MAX_URL = 2048
MAX_PROMPT = 10_000
MAX_EVENT_PROMPT = 2000  # it becomes the rule's description
MAX_LABEL = 255  # an event label is at most this long (engine/event_schema)
MAX_CONFIG_BYTES = 16 * 1024
MAX_SAMPLE_RATE = 10_000
MAX_PAGE_SIZE = 1000
MAX_OFFSET = 2**63 - 1

_DIGITS = re.compile(r"[0-9]{1,19}")


def _optional_bool(value: object, path: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise fail(path, "must be true, false or null")


def _optional_id(value: object, path: str) -> str | None:
    return check_optional_text(value, path, MAX_ID)


def _config(value: object, path: str) -> dict[str, Any] | None:
    """Null or a JSON object of at most 16 KB, stored as given."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise fail(path, "must be an object or null")
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
        size = len(text.encode("utf-8"))  # lone surrogates fail here
    except (TypeError, ValueError, RecursionError):
        raise fail(path, "must be JSON") from None
    if size > MAX_CONFIG_BYTES:
        raise fail(path, f"must be at most {MAX_CONFIG_BYTES // 1024} KB as JSON")
    return json.loads(text)


def _media_type(value: object, path: str) -> str:
    if isinstance(value, str) and value.strip().lower() in MEDIA_TYPES:
        return value.strip().lower()
    raise fail(path, "must be one of " + ", ".join(MEDIA_TYPES))


def _media_types(value: object, path: str) -> list[str]:
    if value is None:
        return ["video"]
    items = check_list(value, path, _media_type, max_items=8, what="a list of media types")
    if not items:
        raise fail(path, "must list at least one media type")
    return dedupe(items)


def _parse(payload: Mapping[str, Any], checkers: Mapping[str, Callable[[object, str], Any]],
           required: tuple[str, ...] = ()) -> dict[str, Any]:
    errors = {key: "is required" for key in required if key not in payload}
    result = run_checks(payload, checkers, "", errors)
    if errors:
        raise ValidationError(errors)
    return result


_STREAM: dict[str, Callable[[object, str], Any]] = {
    "collection_id": _optional_id,
    "url": lambda v, p: check_text(v, p, MAX_URL, what="a stream URL"),
    "name": lambda v, p: check_text(v, p, MAX_NAME),
    "media_types": _media_types,
    "sample_rate": lambda v, p: None if v is None else check_int(v, p, 1, MAX_SAMPLE_RATE),
    "store": _optional_bool,
    "enable_transcript": _optional_bool,
}


def parse_stream(payload: Mapping[str, Any]) -> dict[str, Any]:
    """POST /rtstream: `url` and `name` required."""
    values = _parse(payload, _STREAM, ("url", "name"))
    return {
        "collection_id": values.get("collection_id") or COLLECTION_ID,
        "url": values["url"],
        "name": values["name"],
        "media_types": values.get("media_types") or ["video"],
        "sample_rate": values.get("sample_rate"),
        "store": bool(values.get("store")),
        "enable_transcript": bool(values.get("enable_transcript")),
    }


_SCENE_INDEX: dict[str, Callable[[object, str], Any]] = {
    "extraction_type": lambda v, p: check_optional_text(v, p, 50),
    "extraction_config": _config,
    "prompt": lambda v, p: check_optional_text(v, p, MAX_PROMPT),
    "model_name": lambda v, p: check_optional_text(v, p, MAX_NAME),
    "model_config": _config,
    "name": lambda v, p: check_optional_text(v, p, MAX_NAME),
}


def parse_scene_index(payload: Mapping[str, Any]) -> dict[str, Any]:
    """POST /rtstream/{id}/index/scene: every field optional."""
    values = _parse(payload, _SCENE_INDEX)
    return {
        "extraction_type": values.get("extraction_type") or DEFAULT_EXTRACTION_TYPE,
        "extraction_config": values.get("extraction_config"),
        "prompt": values.get("prompt"),
        "model_name": values.get("model_name"),
        "model_config": values.get("model_config"),
        "name": values.get("name"),
    }


_EVENT: dict[str, Callable[[object, str], Any]] = {
    "event_prompt": lambda v, p: check_text(v, p, MAX_EVENT_PROMPT),
    "label": lambda v, p: check_text(v, p, MAX_LABEL),
}


def parse_event(payload: Mapping[str, Any]) -> dict[str, Any]:
    """POST /rtstream/event: `event_prompt` and `label` required."""
    return _parse(payload, _EVENT, ("event_prompt", "label"))


def _callback_url(value: object, path: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    return check_http_url(value, path)


_ALERT: dict[str, Callable[[object, str], Any]] = {
    "event_id": lambda v, p: check_text(v, p, MAX_ID),
    "callback_url": _callback_url,
    "ws_connection_id": _optional_id,
}


def parse_alert(payload: Mapping[str, Any]) -> dict[str, Any]:
    """POST /rtstream/{id}/index/{iid}/alert: `event_id`, and a callback URL or a WebSocket
    connection id (or both). An empty `callback_url` means none."""
    values = _parse(payload, _ALERT, ("event_id",))
    callback_url = values.get("callback_url") or ""
    connection_id = values.get("ws_connection_id")
    if not callback_url and not connection_id:
        raise fail("callback_url", "is required unless ws_connection_id is given")
    return {"event_id": values["event_id"], "callback_url": callback_url,
            "ws_connection_id": connection_id}


def parse_start_stop(payload: Mapping[str, Any]) -> str:
    """PATCH .../status of a stream or a scene index: {"action": "start" | "stop"}."""
    action = payload.get("action")
    if isinstance(action, str) and action.strip().lower() in ("start", "stop"):
        return action.strip().lower()
    raise fail("action", 'must be "start" or "stop"')


_ENABLE = {"enable": True, "disable": False}
_STATUS = {"enabled": True, "disabled": False}


def parse_alert_status(payload: Mapping[str, Any]) -> bool:
    """PATCH .../alert/{aid}/status: the SDK's {"action": "enable" | "disable"} or the API
    reference's {"status": "enabled" | "disabled"}. True means enabled."""
    errors: dict[str, str] = {}
    wanted: list[bool] = []
    for key, choices in (("action", _ENABLE), ("status", _STATUS)):
        if key not in payload:
            continue
        value = payload[key]
        word = value.strip().lower() if isinstance(value, str) else None
        if word in choices:
            wanted.append(choices[word])
        else:
            errors[key] = "must be " + " or ".join(f'"{c}"' for c in choices)
    if errors:
        raise ValidationError(errors)
    if not wanted:
        raise fail("action", 'is required: "enable" or "disable" '
                             '(or give status "enabled" or "disabled")')
    if len(set(wanted)) > 1:
        raise fail("status", "contradicts action")
    return wanted[0]


# --- query strings ---------------------------------------------------------------------------


def _query_int(args: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    raw = args.get(key)
    if raw is None or not str(raw).strip():
        return default
    text = str(raw).strip()
    value: object = int(text) if _DIGITS.fullmatch(text) else None
    return check_int(value, key, low, high)


def _query_number(args: Mapping[str, Any], key: str) -> float | None:
    raw = args.get(key)
    if raw is None or not str(raw).strip():
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value < 253402300800:  # before year 10000
        raise fail(key, "must be a Unix timestamp in seconds")
    return value


def _collect(*parsers: Callable[[], Any]) -> list[Any]:
    """Run each parser, gathering every error before raising."""
    errors: dict[str, str] = {}
    results: list[Any] = []
    for parse in parsers:
        try:
            results.append(parse())
        except ValidationError as exc:
            errors.update(exc.fields)
            results.append(None)
    if errors:
        raise ValidationError(errors)
    return results


def parse_stream_query(args: Mapping[str, Any]) -> dict[str, Any]:
    """GET /rtstream: limit (1..1000, default 1000), offset, status, name (a part of the
    name, any case), ordering (created_at, name, either with a leading "-"; default
    -created_at)."""

    def ordering() -> str:
        value = (args.get("ordering") or "").strip() or "-created_at"
        if value not in STREAM_ORDERINGS:
            raise fail("ordering", "must be one of " + ", ".join(STREAM_ORDERINGS))
        return value

    limit, offset, order, status, name = _collect(
        lambda: _query_int(args, "limit", MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE),
        lambda: _query_int(args, "offset", 0, 0, MAX_OFFSET),
        ordering,
        lambda: check_optional_text(args.get("status"), "status", 20),
        lambda: check_optional_text(args.get("name"), "name", MAX_NAME),
    )
    return {"limit": limit, "offset": offset, "ordering": order, "status": status,
            "name": name}


def parse_scene_query(args: Mapping[str, Any]) -> dict[str, Any]:
    """GET /rtstream/{id}/index/scene/{iid}: page (from 1), page_size (1..1000, default 100),
    start and end (Unix seconds, optional)."""
    page, page_size, start, end = _collect(
        lambda: _query_int(args, "page", 1, 1, 10**9),
        lambda: _query_int(args, "page_size", 100, 1, MAX_PAGE_SIZE),
        lambda: _query_number(args, "start"),
        lambda: _query_number(args, "end"),
    )
    if start is not None and end is not None and end < start:
        raise fail("end", "must not be before start")
    return {"page": page, "page_size": page_size, "start": start, "end": end}
