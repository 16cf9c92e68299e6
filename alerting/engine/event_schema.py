"""Validation of detection events sent by detectors (POST /api/events), one or a batch."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from .errors import ValidationError
from .rule_schema import (
    check_fraction,
    check_int,
    check_list,
    check_object,
    check_optional_text,
    check_storable,
    check_string_list,
    check_text,
    fail,
    is_list,
    is_number,
    run_checks,
)
from .timeparse import ensure_utc, parse_datetime, parse_event_time
from .types import Detection, Event
from .vocabulary import RISK_LEVELS, risk_level_for

EVENT_FIELDS = (
    "camera_id", "started_at", "ended_at", "risk_score", "risk_level", "summary", "labels",
    "detections", "source", "external_id", "scene_index_id", "attributes",
)
DETECTION_FIELDS = ("object_type", "confidence", "zone_ids", "bbox", "track_id")

MAX_CAMERA_ID = 255
MAX_SUMMARY = 10_000
MAX_LABELS = 100
MAX_LABEL = 255
MAX_DETECTIONS = 500
MAX_OBJECT_TYPE = 100
MAX_ZONE_IDS = 100
MAX_ZONE_ID = 255
MAX_TRACK_ID = 255
MAX_SOURCE = 100
MAX_EXTERNAL_ID = 255
MAX_SCENE_INDEX_ID = 255
MAX_ATTRIBUTES_BYTES = 16 * 1024
MAX_ATTRIBUTES_DEPTH = 32
MAX_BATCH = 1000


# --- detections ------------------------------------------------------------------------------


def _check_zone_ids(value: object, path: str) -> list[str]:
    if value is None:
        return []
    return check_string_list(
        value, path, max_items=MAX_ZONE_IDS, max_length=MAX_ZONE_ID, nullable=True
    )


def _check_bbox(value: object, path: str) -> list[float] | None:
    if value is None:
        return None
    message = "must be a list of 4 numbers or null"
    if not is_list(value) or len(value) != 4:  # type: ignore[arg-type]
        raise fail(path, message)
    try:
        box = [float(v) for v in value if is_number(v)]  # type: ignore[union-attr, arg-type]
    except OverflowError:  # an integer too large for a float
        raise fail(path, message) from None
    if len(box) != 4:
        raise fail(path, message)
    return box


def _check_track_id(value: object, path: str) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= 10**MAX_TRACK_ID:
            raise fail(path, f"must be at most {MAX_TRACK_ID} characters")
        return str(value)
    if value is None or isinstance(value, str):
        return check_optional_text(value, path, MAX_TRACK_ID)
    raise fail(path, "must be a string, an integer or null")


_DETECTION_CHECKERS: dict[str, Callable[[object, str], Any]] = {
    "object_type": lambda v, p: check_text(v, p, MAX_OBJECT_TYPE, what="a non-empty string"),
    "confidence": lambda v, p: None if v is None else check_fraction(v, p),
    "zone_ids": _check_zone_ids,
    "bbox": _check_bbox,
    "track_id": _check_track_id,
}


def _check_detection(value: object, path: str) -> dict[str, Any]:
    detection, errors = check_object(value, path, DETECTION_FIELDS)
    if "object_type" not in detection:
        errors[f"{path}.object_type"] = "is required"
    result = run_checks(detection, _DETECTION_CHECKERS, path, errors)
    if errors:
        raise ValidationError(errors)
    return {
        "object_type": result["object_type"],
        "confidence": result.get("confidence"),
        "zone_ids": result.get("zone_ids", []),
        "bbox": result.get("bbox"),
        "track_id": result.get("track_id"),
    }


def _check_detections(value: object, path: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    return check_list(
        value, path, _check_detection, max_items=MAX_DETECTIONS, what="a list of detections"
    )


# --- free-form attributes --------------------------------------------------------------------


def _check_attributes(value: object, path: str) -> dict[str, Any] | None:
    """Null or a JSON object of at most 16 KB whose strings a database will store."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise fail(path, "must be an object or null")
    # Walk without recursion: a deeply nested document must not raise RecursionError.
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_ATTRIBUTES_DEPTH:
            raise fail(path, f"must not nest deeper than {MAX_ATTRIBUTES_DEPTH} levels")
        if isinstance(node, Mapping):
            for key, child in node.items():
                if not isinstance(key, str):
                    raise fail(path, "must have string keys")
                check_storable(key, path)
                stack.append((child, depth + 1))
        elif is_list(node):
            stack.extend((child, depth + 1) for child in node)  # type: ignore[union-attr]
        elif isinstance(node, str):
            check_storable(node, path)
        elif not (node is None or isinstance(node, bool) or is_number(node)):
            raise fail(path, "must hold only JSON values (no NaN or Infinity)")
    try:
        dumped = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        raise fail(path, "must be JSON") from None
    if len(dumped.encode("utf-8")) > MAX_ATTRIBUTES_BYTES:
        raise fail(path, f"must be at most {MAX_ATTRIBUTES_BYTES // 1024} KB as JSON")
    return json.loads(dumped)  # a plain, independent copy


# --- events ----------------------------------------------------------------------------------


def _check_risk_level(value: object, path: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() in RISK_LEVELS:
        return value.strip().lower()
    raise fail(path, "must be one of " + ", ".join(RISK_LEVELS) + " or null")


def _check_labels(value: object, path: str) -> list[str]:
    if value is None:
        return []
    return check_string_list(
        value, path, max_items=MAX_LABELS, max_length=MAX_LABEL, nullable=True
    )


def _optional_text(max_length: int) -> Callable[[object, str], str | None]:
    return lambda v, p: check_optional_text(v, p, max_length)


_EVENT_CHECKERS: dict[str, Callable[[object, str], Any]] = {
    "camera_id": lambda v, p: check_text(v, p, MAX_CAMERA_ID, what="a non-empty string"),
    "started_at": lambda v, p: None if v is None else parse_event_time(v, p),
    "ended_at": lambda v, p: None if v is None else parse_event_time(v, p),
    "risk_score": lambda v, p: None if v is None else check_int(v, p, 0, 100),
    "risk_level": _check_risk_level,
    "summary": _optional_text(MAX_SUMMARY),
    "labels": _check_labels,
    "detections": _check_detections,
    "source": _optional_text(MAX_SOURCE),
    "external_id": _optional_text(MAX_EXTERNAL_ID),
    "scene_index_id": _optional_text(MAX_SCENE_INDEX_ID),
    "attributes": _check_attributes,
}


def parse_event(payload: object, *, now: datetime) -> dict[str, Any]:
    """A detector's event, validated and normalised; every key of EVENT_FIELDS is returned.

    started_at defaults to `now`; risk_level, when missing or null, is derived from risk_score.
    Datetimes come back as aware UTC.
    """
    if not isinstance(payload, Mapping):
        raise fail("body", "must be a JSON object")
    event, errors = check_object(payload, "", EVENT_FIELDS)
    if "camera_id" not in event:
        errors["camera_id"] = "is required"
    result = run_checks(event, _EVENT_CHECKERS, "", errors)
    started_at = result.get("started_at") or ensure_utc(now)
    ended_at = result.get("ended_at")
    if ended_at is not None and "started_at" not in errors and ended_at < started_at:
        errors["ended_at"] = "must not be before started_at"
    if errors:
        raise ValidationError(errors)
    risk_score = result.get("risk_score")
    risk_level = result.get("risk_level")
    return {
        "camera_id": result["camera_id"],
        "started_at": started_at,
        "ended_at": ended_at,
        "risk_score": risk_score,
        "risk_level": risk_level if risk_level is not None else risk_level_for(risk_score),
        "summary": result.get("summary"),
        "labels": result.get("labels", []),
        "detections": result.get("detections", []),
        "source": result.get("source"),
        "external_id": result.get("external_id"),
        "scene_index_id": result.get("scene_index_id"),
        "attributes": result.get("attributes"),
    }


def parse_event_batch(
    payload: object, *, now: datetime
) -> list[tuple[int, dict[str, Any] | ValidationError]]:
    """One event object, or {"events": [...]} with 1..1000 of them, each parsed on its own.

    Returns (index, parsed event or its ValidationError) per item, error paths relative to the
    item, so one bad event does not sink the others. A body that is neither shape, or a bad
    `events` list, raises ValidationError.
    """
    if not isinstance(payload, Mapping):
        raise fail("body", 'must be an event object or {"events": [...]}')
    if "events" not in payload:
        items: list[object] = [payload]
    else:
        unknown = {str(key)[:100]: "unknown field" for key in payload if key != "events"}
        if unknown:
            raise ValidationError(unknown)
        events = payload["events"]
        if not is_list(events):
            raise fail("events", "must be a list of events")
        if len(events) > MAX_BATCH:
            raise fail("events", f"at most {MAX_BATCH} events per request")
        if not events:
            raise fail("events", "must have at least one event")
        items = list(events)
    results: list[tuple[int, dict[str, Any] | ValidationError]] = []
    for index, item in enumerate(items):
        try:
            results.append((index, parse_event(item, now=now)))
        except ValidationError as exc:
            results.append((index, exc))
    return results


def _as_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return ensure_utc(value)  # SQLite hands back naive datetimes, stored as UTC
    return parse_datetime(value, "datetime")


def event_from_record(record: Mapping[str, Any]) -> Event:
    """The engine's Event from a stored record (parse_event's keys plus "id").

    `attributes` has no place in Event and is left out.
    """
    ended_at = record.get("ended_at")
    event_id = record.get("id")
    return Event(
        camera_id=record["camera_id"],
        started_at=_as_datetime(record["started_at"]),
        id=None if event_id is None else int(event_id),
        ended_at=None if ended_at is None else _as_datetime(ended_at),
        risk_score=record.get("risk_score"),
        risk_level=record.get("risk_level"),
        summary=record.get("summary"),
        labels=tuple(record.get("labels") or ()),
        detections=tuple(
            Detection(
                object_type=d["object_type"],
                confidence=None if d.get("confidence") is None else float(d["confidence"]),
                zone_ids=tuple(d.get("zone_ids") or ()),
                bbox=None if d.get("bbox") is None else tuple(float(x) for x in d["bbox"]),
                track_id=None if d.get("track_id") is None else str(d["track_id"]),
            )
            for d in record.get("detections") or ()
        ),
        source=record.get("source"),
        external_id=record.get("external_id"),
        scene_index_id=record.get("scene_index_id"),
    )
