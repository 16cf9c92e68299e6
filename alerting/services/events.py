"""Detection events: ingest (idempotent per source + external_id), listing, and engine views."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import signals
from ..engine.errors import ValidationError
from ..engine.event_schema import event_from_record, parse_event_batch
from ..engine.timeparse import isoformat_z
from ..engine.types import Event as EngineEvent
from ..errors import ApiError
from ..extensions import db
from ..models import Alert, Detection, Event, utcnow

EVENT_COLUMNS = ("camera_id", "started_at", "ended_at", "risk_score", "risk_level", "summary",
                 "labels", "source", "external_id", "scene_index_id", "attributes")

def _normalise_identity(item: dict[str, Any]) -> None:
    # external_id is unique per source; "no source" counts as one source of its own.
    if item["external_id"] is not None and item["source"] is None:
        item["source"] = ""


def ingest(payload: Any, now: datetime | None = None) -> tuple[int, dict[str, Any]]:
    """Store one event or a batch. Returns (HTTP status, body).

    One event: 201 with it, 200 with the stored one when it is a repeat, 422 when invalid.
    A batch: 201 when every item is stored (or a repeat), 207 with per-item results otherwise.
    """
    batch = isinstance(payload, dict) and "events" in payload
    parsed = parse_event_batch(payload, now=now or utcnow())
    valid = [(i, item) for i, item in parsed if not isinstance(item, ValidationError)]
    for _, item in valid:
        _normalise_identity(item)
    stored = _store([item for _, item in valid])
    results: list[dict[str, Any]] = []
    by_index = dict(zip([i for i, _ in valid], stored, strict=True))
    for index, item in parsed:
        if isinstance(item, ValidationError):
            results.append({"index": index, "status": 422, "error": "validation_error",
                            "message": item.message, "fields": item.fields})
        else:
            event_id, created = by_index[index]
            results.append({"index": index, "status": 201 if created else 200, "id": event_id,
                            "duplicate": not created})
    new_ids = [event_id for event_id, created in stored if created]
    if new_ids:
        signals.events_stored.send(current_app._get_current_object(), ids=new_ids)
    if not batch:
        only = results[0]
        if only["status"] == 422:
            raise ValidationError(only["fields"], only["message"])
        return only["status"], event_json(get_event(only["id"]))
    failed = sum(1 for r in results if r["status"] == 422)
    body = {"results": results, "created": len(new_ids),
            "duplicates": len(stored) - len(new_ids), "failed": failed}
    if failed == len(results):
        return 422, {**body, "error": "validation_error", "message": "no event was valid"}
    return (207 if failed else 201), body


def _store(items: list[dict[str, Any]]) -> list[tuple[int, bool]]:
    """Insert events and detections in one transaction; (id, created) per item, in order."""
    if not items:
        return []
    for attempt in range(3):
        try:
            return _insert(items)
        except IntegrityError:
            # A concurrent ingest stored the same source + external_id first: look again.
            db.session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _existing(items: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    keys = {(i["source"], i["external_id"]) for i in items if i["external_id"] is not None}
    if not keys:
        return {}
    rows = db.session.execute(
        select(Event.source, Event.external_id, Event.id)
        .where(tuple_(Event.source, Event.external_id).in_(list(keys)))
    )
    return {(source, external): event_id for source, external, event_id in rows}


def _insert(items: list[dict[str, Any]]) -> list[tuple[int, bool]]:
    existing = _existing(items)
    received = utcnow()
    out: list[tuple[int, bool]] = []
    seen: dict[tuple[str, str], int] = {}
    detection_rows: list[dict[str, Any]] = []
    for item in items:
        identity = (item["source"], item["external_id"])
        if item["external_id"] is not None and (identity in existing or identity in seen):
            out.append((existing.get(identity) or seen[identity], False))
            continue
        row = {name: item[name] for name in EVENT_COLUMNS}
        row["received_at"] = received
        event_id = db.session.execute(insert(Event).values(**row)).inserted_primary_key[0]
        if item["external_id"] is not None:
            seen[identity] = event_id
        for det in item["detections"]:
            detection_rows.append({
                "event_id": event_id,
                "object_type": det["object_type"],
                "confidence": det.get("confidence"),
                "zone_ids": det.get("zone_ids") or [],
                "bbox": det.get("bbox"),
                "track_id": det.get("track_id"),
            })
        out.append((event_id, True))
    if detection_rows:
        db.session.execute(insert(Detection), detection_rows)
    db.session.commit()
    return out


def get_event(event_id: int) -> Event:
    """The event with its detections, or a 404."""
    event = db.session.get(Event, event_id, options=[selectinload(Event.detections)])
    if event is None:
        raise ApiError(404, "not_found", f"Event {event_id} not found")
    return event


def detection_json(det: Detection) -> dict[str, Any]:
    return {"object_type": det.object_type, "confidence": det.confidence,
            "zone_ids": det.zone_ids or [], "bbox": det.bbox, "track_id": det.track_id}


def event_json(event: Event) -> dict[str, Any]:
    """The API's event object."""
    return {
        "id": event.id,
        "camera_id": event.camera_id,
        "started_at": isoformat_z(event.started_at),
        "ended_at": isoformat_z(event.ended_at) if event.ended_at else None,
        "risk_score": event.risk_score,
        "risk_level": event.risk_level,
        "summary": event.summary,
        "labels": event.labels or [],
        "object_types": sorted({d.object_type for d in event.detections}),
        "detections": [detection_json(d) for d in event.detections],
        "source": event.source or None,
        "external_id": event.external_id,
        "scene_index_id": event.scene_index_id,
        "attributes": event.attributes,
        "received_at": isoformat_z(event.received_at),
        "processed_at": isoformat_z(event.processed_at) if event.processed_at else None,
    }


def engine_event(event: Event) -> EngineEvent:
    """The engine's view of a stored event."""
    record = {name: getattr(event, name) for name in EVENT_COLUMNS}
    record["id"] = event.id
    record["detections"] = [detection_json(d) for d in event.detections]
    return event_from_record(record)


def list_events(*, camera_id: str | None = None, object_type: str | None = None,
                since: datetime | None = None, until: datetime | None = None,
                risk_level: str | None = None, limit: int = 50,
                offset: int = 0) -> tuple[list[Event], int]:
    """A page of events, newest first, and the total matching the filters."""
    query = select(Event)
    if camera_id:
        query = query.where(Event.camera_id == camera_id)
    if object_type:
        query = query.where(Event.id.in_(
            select(Detection.event_id)
            .where(func.lower(Detection.object_type) == object_type.lower())
        ))
    if since:
        query = query.where(Event.started_at >= since)
    if until:
        query = query.where(Event.started_at < until)
    if risk_level:
        query = query.where(Event.risk_level == risk_level)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.options(selectinload(Event.detections))
        .order_by(Event.started_at.desc(), Event.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), total


def events_by_ids(ids: Iterable[int]) -> list[Event]:
    ids = list(ids)
    if not ids:
        return []
    return list(db.session.scalars(
        select(Event).options(selectinload(Event.detections)).where(Event.id.in_(ids))
    ))


def recent_events(limit: int) -> list[Event]:
    return list(db.session.scalars(
        select(Event).options(selectinload(Event.detections))
        .order_by(Event.started_at.desc(), Event.id.desc()).limit(limit)
    ))


def alerts_for_event(event_id: int) -> list[Alert]:
    return list(db.session.scalars(select(Alert).where(Alert.event_id == event_id)
                                   .order_by(Alert.id)))


