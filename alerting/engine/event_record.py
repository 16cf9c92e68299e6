"""The engine's Event from a stored event record (a row's values, or ingest's parsed event)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from .timeparse import ensure_utc, parse_datetime
from .types import Detection, Event


def _as_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return ensure_utc(value)  # SQLite hands back naive datetimes, stored as UTC
    return parse_datetime(value, "datetime")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _field(detection: Any, name: str) -> Any:
    return detection.get(name) if isinstance(detection, Mapping) else getattr(
        detection, name, None)


def detection_identity(detections: Iterable[Any] | None) -> tuple[str | None, float | None]:
    """(name, score) of the identity the detections name (mappings, rows or objects with
    `identity` and `identity_score`): the best-scored one's (no score counts as 0; on a tie
    the first); (None, None) when none names one."""
    name, score = None, None
    for det in detections or ():
        found, found_score = _text(_field(det, "identity")), _number(
            _field(det, "identity_score"))
        if found is not None and (name is None or (found_score or 0.0) > (score or 0.0)):
            name, score = found, found_score
    return name, score


def attributes_identity(attributes: object) -> tuple[str | None, float | None]:
    """(name, score) of the identity an event's `attributes` name: `identity` as
    {"name", "score"}, or a bare name."""
    identity = attributes.get("identity") if isinstance(attributes, Mapping) else None
    if isinstance(identity, Mapping):
        return _text(identity.get("name")), _number(identity.get("score"))
    return _text(identity), None


def identity_of(attributes: object, detections: Iterable[Any] | None = None) -> str | None:
    """An event's identity: its detections' (detection_identity), else the one its
    `attributes` name (attributes_identity)."""
    return detection_identity(detections)[0] or attributes_identity(attributes)[0]


def event_facts(record: Mapping[str, Any]) -> dict[str, Any]:
    """What conditions may test beyond the columns: the identity (identity_of: a detection's
    `identity`, else `attributes.identity.name`), `attributes.plate` (a detector's, or the
    Frigate adapter's), and the review item's severity and GenAI threat level (`review`).
    Read defensively: attributes are the detector's free-form JSON."""
    attributes = record.get("attributes")
    attributes = attributes if isinstance(attributes, Mapping) else {}
    plate = attributes.get("plate")
    review = record.get("review")
    review = review if isinstance(review, Mapping) else {}
    return {
        "identity": identity_of(attributes, record.get("detections")),
        "plate": _text(plate.get("value") if isinstance(plate, Mapping) else plate),
        "review_severity": _text(review.get("severity")),
        "genai_threat_level": _number(review.get("threat_level")),
    }


def event_from_record(record: Mapping[str, Any]) -> Event:
    """The engine's Event from a stored record (the parsed event's keys plus "id", and
    optionally "revision" and "review").

    Of `attributes` only the identity and plate are read (see event_facts); a detection's
    identity comes before the attributes' one.
    """
    ended_at = record.get("ended_at")
    event_id = record.get("id")
    received_at = record.get("received_at")
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
                identity=_text(d.get("identity")),
                identity_score=_number(d.get("identity_score")),
            )
            for d in record.get("detections") or ()
        ),
        source=record.get("source"),
        external_id=record.get("external_id"),
        scene_index_id=record.get("scene_index_id"),
        received_at=None if received_at is None else _as_datetime(received_at),
        revision=int(record.get("revision") or 0),
        **event_facts(record),
    )
