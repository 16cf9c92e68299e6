"""The engine's inputs: detection events and alert rules as frozen dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from .vocabulary import DAYS, DEFAULT_COOLDOWN_SECONDS


@dataclass(frozen=True, slots=True)
class Detection:
    """One object seen in an event: what, how sure, in which zones, and who or what the
    detector recognised it as (identity, and how sure)."""

    object_type: str
    confidence: float | None = None
    zone_ids: tuple[str, ...] = ()
    bbox: tuple[float, ...] | None = None
    track_id: str | None = None
    identity: str | None = None
    identity_score: float | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A detection event as the engine sees it. Datetimes are timezone-aware (UTC)."""

    camera_id: str
    started_at: datetime
    id: int | None = None
    ended_at: datetime | None = None
    risk_score: int | None = None
    risk_level: str | None = None
    summary: str | None = None
    labels: tuple[str, ...] = ()
    detections: tuple[Detection, ...] = ()
    source: str | None = None
    external_id: str | None = None
    scene_index_id: str | None = None
    received_at: datetime | None = None  # when it was stored (matching lag); not matched on
    # Revision support (DESIGN.md "Event revisions"): the stored revision this view is of,
    # and the facts a detector or its review item added (conditions may test them).
    revision: int = 0
    identity: str | None = None
    plate: str | None = None
    review_severity: str | None = None
    genai_threat_level: float | None = None
    # The tracks this event belongs to, read at a time (engine/tracks.py); None: unknown.
    tracks: Any = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """Weekly window. start inclusive, end exclusive; start > end is overnight; equal is all day."""

    days: tuple[str, ...]
    start_time: time
    end_time: time
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    """One clause of a rule's `conditions`: `field op value`."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class Rule:
    """An alert rule as the engine sees it. None (or empty) in a filter means 'any'."""

    id: str
    name: str
    severity: str
    enabled: bool = True
    risk_threshold: int | None = None
    object_types: tuple[str, ...] | None = None
    camera_ids: tuple[str, ...] | None = None
    zone_ids: tuple[str, ...] | None = None
    min_confidence: float | None = None
    schedule: Schedule | None = None
    conditions: tuple[Condition, ...] | None = None
    dedup_key_template: str | None = None
    cooldown_seconds: int = 300
    channels: tuple[str, ...] = field(default_factory=tuple)
    modes: tuple[str, ...] | None = None  # arming modes it may fire in; None: any
    # Track criteria (engine/tracks.py); None: not checked.
    min_dwell_seconds: float | None = None
    dwell_zone_ids: tuple[str, ...] | None = None
    zone_sequence: tuple[str, ...] | None = None
    sequence_within_seconds: float | None = None
    stationary_seconds: float | None = None
    identities: tuple[str, ...] | None = None
    exclude_identities: tuple[str, ...] | None = None
    min_count: int | None = None


def _as_time(value: object) -> time:
    if isinstance(value, time):
        return value
    hours, minutes = str(value).split(":")[:2]
    return time(int(hours), int(minutes))


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


def rule_from_record(record: Mapping[str, Any]) -> Rule:
    """The engine's Rule from a stored rule (its validated columns plus "id").

    Assumes the record was validated when it was saved; `targets` has no place in Rule.
    """
    schedule = record.get("schedule")
    conditions = record.get("conditions")
    cooldown = record.get("cooldown_seconds")
    return Rule(
        id=str(record["id"]),
        name=record["name"],
        severity=record["severity"],
        enabled=bool(record.get("enabled", True)),
        risk_threshold=record.get("risk_threshold"),
        object_types=_freeze(record.get("object_types") or None),
        camera_ids=_freeze(record.get("camera_ids") or None),
        zone_ids=_freeze(record.get("zone_ids") or None),
        min_confidence=record.get("min_confidence"),
        schedule=None if not schedule else Schedule(
            days=tuple(schedule.get("days") or DAYS),
            start_time=_as_time(schedule.get("start_time") or "00:00"),
            end_time=_as_time(schedule.get("end_time") or "00:00"),
            timezone=schedule.get("timezone"),
        ),
        conditions=None if not conditions else tuple(
            Condition(field=c["field"], op=c["op"], value=_freeze(c["value"]))
            for c in conditions
        ),
        dedup_key_template=record.get("dedup_key_template"),
        cooldown_seconds=DEFAULT_COOLDOWN_SECONDS if cooldown is None else int(cooldown),
        channels=tuple(record.get("channels") or ()),
        modes=_freeze(record.get("modes") or None),
        **{name: _freeze(record.get(name) or None) for name in TRACK_LISTS},
        **{name: record.get(name) for name in TRACK_NUMBERS},
    )


TRACK_LISTS = ("dwell_zone_ids", "zone_sequence", "identities", "exclude_identities")
TRACK_NUMBERS = ("min_dwell_seconds", "sequence_within_seconds", "stationary_seconds",
                 "min_count")
