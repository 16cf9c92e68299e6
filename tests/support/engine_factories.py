"""Plain factories for engine dataclasses: sensible defaults, lists accepted where tuples go."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from alerting.engine.types import Condition, Detection, Event, Rule, Schedule

# A Monday, noon UTC.
MONDAY_NOON = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _time(value: time | str) -> time:
    return time.fromisoformat(value) if isinstance(value, str) else value


def make_detection(
    object_type: str = "person", confidence: float | None = 0.9, **kw: Any
) -> Detection:
    """A detection; zone_ids may be a list."""
    kw["zone_ids"] = _tuple(kw.get("zone_ids", ()))
    return Detection(object_type=object_type, confidence=confidence, **kw)


def make_event(**kw: Any) -> Event:
    """An event on cam-1 at MONDAY_NOON, risk 50, one 0.9 person; detections may be dicts."""
    detections = kw.pop("detections", [make_detection()])
    kw["detections"] = tuple(make_detection(**d) if isinstance(d, dict) else d for d in detections)
    kw["labels"] = _tuple(kw.get("labels", ()))
    kw.setdefault("camera_id", "cam-1")
    kw.setdefault("started_at", MONDAY_NOON)
    kw.setdefault("risk_score", 50)
    return Event(**kw)


def make_schedule(
    days: Any = ("sun", "mon", "tue", "wed", "thu", "fri", "sat"),
    start: time | str = "00:00",
    end: time | str = "00:00",
    timezone: str | None = None,
) -> Schedule:
    """A schedule from "HH:MM" strings; every day, all day, unless told."""
    return Schedule(
        days=_tuple(days), start_time=_time(start), end_time=_time(end), timezone=timezone
    )


def make_condition(field: str, op: str, value: Any) -> Condition:
    """One conditions clause."""
    return Condition(field=field, op=op, value=value)


def make_rule(**kw: Any) -> Rule:
    """A rule with no filters (matches everything) unless told; list arguments become tuples."""
    for name in ("object_types", "camera_ids", "zone_ids", "channels", "modes"):
        if name in kw:
            kw[name] = _tuple(kw[name])
    if isinstance(kw.get("schedule"), dict):
        kw["schedule"] = make_schedule(**kw["schedule"])
    if isinstance(kw.get("conditions"), list):
        kw["conditions"] = tuple(
            make_condition(*c) if isinstance(c, tuple) else c for c in kw["conditions"]
        )
    kw.setdefault("id", "rule-1")
    kw.setdefault("name", "Test rule")
    kw.setdefault("severity", "high")
    return Rule(**kw)
