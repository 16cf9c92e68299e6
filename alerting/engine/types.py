"""The engine's inputs: detection events and alert rules as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any


@dataclass(frozen=True, slots=True)
class Detection:
    """One object seen in an event: what, how sure, and in which zones."""

    object_type: str
    confidence: float | None = None
    zone_ids: tuple[str, ...] = ()
    bbox: tuple[float, ...] | None = None
    track_id: str | None = None


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
