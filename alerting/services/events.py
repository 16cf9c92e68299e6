"""Detection events as stored: the API's event object, listings, and the engine's view.

(Ingest is services/ingest.py.)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..engine.event_record import event_from_record
from ..engine.types import Event as EngineEvent
from ..errors import ApiError
from ..extensions import db
from ..models import Alert, Detection, Event
from ..schemas import responses as schemas
from ..schemas.serialize import serializer

EVENT_COLUMNS = ("camera_id", "started_at", "ended_at", "risk_score", "risk_level", "summary",
                 "labels", "source", "external_id", "scene_index_id", "attributes", "media")
DETECTION_COLUMNS = ("object_type", "confidence", "zone_ids", "bbox", "track_id", "identity",
                     "identity_score")


def get_event(event_id: int) -> Event:
    """The event with its detections, or a 404."""
    event = db.session.get(Event, event_id, options=[selectinload(Event.detections)])
    if event is None:
        raise ApiError(404, "not_found", f"Event {event_id} not found")
    return event


detection_json = serializer(schemas.Detection)
event_json = serializer(
    schemas.Event,
    object_types=lambda event: sorted({d.object_type for d in event.detections}),
    detections=lambda event: [detection_json(d) for d in event.detections],
    source=lambda event: event.source or None,
)


def engine_event(event: Event) -> EngineEvent:
    """The engine's view of a stored event."""
    record = {name: getattr(event, name) for name in EVENT_COLUMNS}
    record["id"] = event.id
    record["review"] = event.review
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


