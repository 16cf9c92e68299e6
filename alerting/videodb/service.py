"""The use cases behind the VideoDB API.

A stream is a camera (its id is the camera_id detectors post with). A scene index is a named
feed of scene records for it: events posted to POST /api/events with that camera_id and the
index's id as scene_index_id. A VideoDB event is a label and its prompt. A VideoDB alert binds
an event to a scene index and a callback URL and/or a WebSocket connection, and is carried out
by an alert rule (origin "videodb") like any other: same matcher, cooldown, outbox and history.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from ..engine.errors import ValidationError
from ..errors import ApiError
from ..extensions import db
from ..models import (
    AlertRule,
    Event,
    VideodbAlert,
    VideodbEvent,
    VideodbSceneIndex,
    VideodbStream,
)
from ..notify.redact import redact_url
from ..schemas.rules import MAX_NAME, parse_rule
from ..schemas.videodb import COLLECTION_ID
from ..services import audit, rules
from ..services.notification_targets import seal_targets
from .payloads import Binding

ORIGIN = "videodb"  # AlertRule.origin of the rules behind VideoDB alerts
ALERT_SEVERITY = "medium"
ALERT_COOLDOWN_SECONDS = 0  # every matching record fires, as on VideoDB


def new_id(prefix: str) -> str:
    """An opaque id in VideoDB's style: "rts-3fd4174feceb6162"."""
    return f"{prefix}-{secrets.token_hex(8)}"


def _not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


# --- the collection ---------------------------------------------------------------------------


def get_collection(collection_id: str) -> str:
    """This server has one collection, "default"."""
    if collection_id != COLLECTION_ID:
        raise _not_found(f"Collection '{collection_id}' not found; this server has one "
                         f"collection, '{COLLECTION_ID}'")
    return collection_id


# --- streams ----------------------------------------------------------------------------------


def create_stream(values: dict[str, Any], actor: str) -> VideodbStream:
    get_collection(values["collection_id"])
    stream = VideodbStream(id=new_id("rts"), status="connected", **values)
    db.session.add(stream)
    audit.record(actor, "videodb_stream_create", "videodb_stream", stream.id,
                 {"name": stream.name}, changes=audit.diff({}, {
                     "name": stream.name, "url": redact_url(stream.url),
                     "status": stream.status}))
    db.session.commit()
    return stream


def get_stream(stream_id: str) -> VideodbStream:
    stream = db.session.get(VideodbStream, stream_id)
    if stream is None:
        raise _not_found(f"RTStream '{stream_id}' not found")
    return stream


_ORDERINGS = {
    "created_at": (VideodbStream.created_at, VideodbStream.id),
    "-created_at": (VideodbStream.created_at.desc(), VideodbStream.id.desc()),
    "name": (VideodbStream.name, VideodbStream.id),
    "-name": (VideodbStream.name.desc(), VideodbStream.id.desc()),
}


def list_streams(*, limit: int, offset: int, ordering: str, status: str | None,
                 name: str | None) -> tuple[list[VideodbStream], int]:
    query = select(VideodbStream)
    if status:
        query = query.where(VideodbStream.status == status)
    if name:
        query = query.where(func.lower(VideodbStream.name).contains(name.lower(),
                                                                    autoescape=True))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(*_ORDERINGS[ordering]).limit(limit).offset(offset))
    return list(rows), total


def set_stream_status(stream_id: str, action: str, actor: str) -> VideodbStream:
    """start / stop. The status is what the SDK shows; records are accepted either way."""
    stream = get_stream(stream_id)
    before = stream.status
    stream.status = "connected" if action == "start" else "stopped"
    audit.record(actor, f"videodb_stream_{action}", "videodb_stream", stream.id,
                 changes=audit.diff({"status": before}, {"status": stream.status}))
    db.session.commit()
    return stream


# --- scene indexes and their records ----------------------------------------------------------


def create_scene_index(stream_id: str, values: dict[str, Any], actor: str) -> VideodbSceneIndex:
    stream = get_stream(stream_id)
    index = VideodbSceneIndex(id=new_id("idx"), stream_id=stream.id, status="connected",
                              **values)
    db.session.add(index)
    audit.record(actor, "videodb_index_create", "videodb_scene_index", index.id,
                 {"rtstream_id": stream.id, "name": index.name},
                 changes=audit.diff({}, {"rtstream_id": stream.id, "name": index.name,
                                         "status": index.status}))
    db.session.commit()
    return index


def list_scene_indexes(stream_id: str) -> list[VideodbSceneIndex]:
    stream = get_stream(stream_id)
    return list(db.session.scalars(
        select(VideodbSceneIndex).where(VideodbSceneIndex.stream_id == stream.id)
        .order_by(VideodbSceneIndex.created_at, VideodbSceneIndex.id)))


def get_scene_index(stream_id: str, index_id: str) -> VideodbSceneIndex:
    stream = get_stream(stream_id)
    index = db.session.get(VideodbSceneIndex, index_id)
    if index is None or index.stream_id != stream.id:
        raise _not_found(f"Scene index '{index_id}' not found on RTStream '{stream_id}'")
    return index


def set_scene_index_status(stream_id: str, index_id: str, action: str,
                           actor: str) -> VideodbSceneIndex:
    index = get_scene_index(stream_id, index_id)
    before = index.status
    index.status = "connected" if action == "start" else "stopped"
    audit.record(actor, f"videodb_index_{action}", "videodb_scene_index", index.id,
                 changes=audit.diff({"status": before}, {"status": index.status}))
    db.session.commit()
    return index


def scene_records(stream_id: str, index_id: str, *, page: int, page_size: int,
                  start: float | None, end: float | None) -> tuple[list[Event], bool]:
    """A page of the index's records, oldest first, and whether another page follows.
    start / end (Unix seconds, inclusive) filter on when a record started."""
    index = get_scene_index(stream_id, index_id)
    query = select(Event).where(Event.camera_id == index.stream_id,
                                Event.scene_index_id == index.id)
    if start is not None:
        query = query.where(Event.started_at >= datetime.fromtimestamp(start, UTC))
    if end is not None:
        query = query.where(Event.started_at <= datetime.fromtimestamp(end, UTC))
    rows = list(db.session.scalars(
        query.order_by(Event.started_at, Event.id)
        .limit(page_size + 1).offset((page - 1) * page_size)))
    return rows[:page_size], len(rows) > page_size


# --- events (detection definitions) -----------------------------------------------------------


def create_event(values: dict[str, Any], actor: str) -> VideodbEvent:
    event = VideodbEvent(id=new_id("event"), **values)
    db.session.add(event)
    audit.record(actor, "videodb_event_create", "videodb_event", event.id,
                 {"label": event.label}, changes=audit.diff({}, {
                     "label": event.label, "event_prompt": event.event_prompt}))
    db.session.commit()
    return event


def list_events() -> list[VideodbEvent]:
    return list(db.session.scalars(
        select(VideodbEvent).order_by(VideodbEvent.created_at, VideodbEvent.id)))


def get_event(event_id: str) -> VideodbEvent:
    event = db.session.get(VideodbEvent, event_id)
    if event is None:
        raise _not_found(f"Event '{event_id}' not found")
    return event


# --- alerts: rules of origin "videodb" --------------------------------------------------------


def rule_payload(stream: VideodbStream, index: VideodbSceneIndex, event: VideodbEvent,
                 callback_url: str) -> dict[str, Any]:
    """The alert rule that carries out a VideoDB alert: the event's label among a record's
    labels, on the stream's camera. Validated by the same parser as any rule."""
    where = f"{stream.name} / {index.name}" if index.name else stream.name
    return {
        "name": f"VideoDB: {event.label} on {where}"[:MAX_NAME],
        "description": event.event_prompt,
        "severity": ALERT_SEVERITY,
        "camera_ids": [stream.id],
        "conditions": [{"field": "labels", "op": "contains", "value": event.label}],
        "cooldown_seconds": ALERT_COOLDOWN_SECONDS,
        "channels": ["webhook"] if callback_url else [],
        "targets": {"webhook_url": callback_url} if callback_url else None,
    }


def create_alert(stream_id: str, index_id: str, values: dict[str, Any],
                 actor: str) -> VideodbAlert:
    """The alert and its rule, in one transaction (the matcher never sees one without the
    other). It starts enabled."""
    index = get_scene_index(stream_id, index_id)
    stream = get_stream(stream_id)
    event = get_event(values["event_id"])
    fields = parse_rule(rule_payload(stream, index, event, values["callback_url"]))
    try:  # refused at save, as docs/videodb.md says, like every webhook URL
        fields["targets"], sealed = seal_targets(fields["targets"])
    except ValidationError as exc:
        raise ValidationError({"callback_url": next(iter(exc.fields.values()))}) from None
    rule = AlertRule(**fields, targets_sealed=sealed, origin=ORIGIN)
    db.session.add(rule)
    db.session.flush()
    binding = VideodbAlert(id=new_id("alert"), rule_id=rule.id, stream_id=stream.id,
                           scene_index_id=index.id, event_id=event.id,
                           callback_url=redact_url(values["callback_url"]),
                           ws_connection_id=values["ws_connection_id"])
    db.session.add(binding)
    rules.record_created(rule, actor, origin=ORIGIN)
    placed = {"rule_id": rule.id, "event_id": event.id, "rtstream_id": stream.id,
              "rtstream_index_id": index.id}
    audit.record(actor, "videodb_alert_create", "videodb_alert", binding.id, placed,
                 changes=audit.diff({}, {**placed, "callback_url": binding.callback_url}))
    db.session.commit()
    return binding


def list_alerts(stream_id: str,
                index_id: str) -> list[tuple[VideodbAlert, AlertRule, VideodbEvent]]:
    index = get_scene_index(stream_id, index_id)
    rows = db.session.execute(
        select(VideodbAlert, AlertRule, VideodbEvent)
        .join(AlertRule, VideodbAlert.rule_id == AlertRule.id)
        .join(VideodbEvent, VideodbAlert.event_id == VideodbEvent.id)
        .where(VideodbAlert.scene_index_id == index.id)
        .order_by(VideodbAlert.created_at, VideodbAlert.id))
    return [(binding, rule, event) for binding, rule, event in rows]


def set_alert_enabled(stream_id: str, index_id: str, alert_id: str, enabled: bool,
                      actor: str) -> tuple[VideodbAlert, AlertRule]:
    """Enable or disable the alert: its rule, so the matcher stops or starts firing it."""
    index = get_scene_index(stream_id, index_id)
    binding = db.session.get(VideodbAlert, alert_id)
    if binding is None or binding.scene_index_id != index.id:
        raise _not_found(f"Alert '{alert_id}' not found on scene index '{index_id}'")
    rule = rules.set_enabled(binding.rule_id, enabled, actor)
    return binding, rule


def binding_for_rule(rule_id: str) -> Binding | None:
    """The VideoDB alert a rule carries out, or None for any other rule."""
    row = db.session.execute(
        select(VideodbAlert, VideodbEvent.label)
        .join(VideodbEvent, VideodbAlert.event_id == VideodbEvent.id)
        .where(VideodbAlert.rule_id == rule_id)).first()
    if row is None:
        return None
    binding, label = row
    return Binding(alert_id=binding.id, event_id=binding.event_id, label=label,
                   rtstream_id=binding.stream_id, rtstream_index_id=binding.scene_index_id,
                   callback_url=binding.callback_url,
                   ws_connection_id=binding.ws_connection_id)
