"""Camera health: the cameras table (last seen, online / offline), kept from every ingested
event, heartbeats (POST /api/cameras/<id>/heartbeat) and Frigate's status topics
(ingest/frigate_status.py); and the camera_offline rules, run by the camera health worker
(workers/camera_health_loop.py): an alert when a camera is silent too long, a camera_online
one when it returns.

Several workers may run the check at once: an outage is raised by whoever inserts its
camera_outages row first (the row's unique key refuses the others, and their transaction
rolls back with everything it wrote), and resolved by whoever sets its resolved_at first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import Connection, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from .. import metrics
from ..engine.dedup import render_dedup_key
from ..engine.event_record import event_from_record
from ..engine.timeparse import isoformat_z
from ..engine.types import rule_from_record
from ..errors import ApiError
from ..extensions import db
from ..models import AlertRule, Camera, CameraOutage, utcnow
from ..schemas import responses as schemas
from ..schemas.serialize import serializer
from ..storage import insert_returning_ids, write_transaction
from . import audit
from .alert_pipeline import own_alerts
from .rules import rule_record

STATUSES = ("online", "offline", "disabled")
DEFAULT_OFFLINE_AFTER_SECONDS = 300
HEALTH_SOURCE = "camera_health"  # the source of the events camera alerts are raised for
# Ingest writes a camera's last_seen at most this often per process: the hot path pays one
# upsert per camera per interval, not per event. last_seen is that much behind at worst.
SEEN_INTERVAL_SECONDS = 2.0
_SEEN_KEY = "alerting.cameras_seen"
_seen_guard = threading.Lock()

_CAMERAS = Camera.__table__
_OUTAGES = CameraOutage.__table__

camera_json = serializer(schemas.Camera)


# --- what reports a camera --------------------------------------------------------------------


def _upsert(conn: Connection, rows: list[dict[str, Any]], *, online: bool) -> None:
    """Insert or update cameras: `online` rows are a sign of life (last_seen moves forward,
    status online, `since` reset when it was not), else a report of `status`."""
    conn.execute(_upsert_statement(conn.dialect.name, online), rows)


@cache
def _upsert_statement(dialect: str, online: bool) -> Any:
    """Built once per dialect and kind: ingest upserts on every POST whose camera is due."""
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_CAMERAS)
    new = insert.excluded
    changed = _CAMERAS.c.status != new.status
    values: dict[str, Any] = {
        "status": new.status, "source": new.source,
        "since": case((changed, new.since), else_=_CAMERAS.c.since),
    }
    if online:
        values["last_seen"] = case((_CAMERAS.c.last_seen > new.last_seen, _CAMERAS.c.last_seen),
                                   else_=new.last_seen)
    return insert.on_conflict_do_update(index_elements=["id"], set_=values)


def seen_in(conn: Connection, events: Iterable[Mapping[str, Any]]) -> Callable[[], None]:
    """Ingest's hook, in its transaction: the cameras of these stored events are alive,
    as of when they were received (not their started_at: a backfill is no sign of life).
    Returns what to call once the transaction is committed (the throttle then counts it)."""
    latest: dict[str, tuple[datetime, str]] = {}
    for event in events:
        latest[event["camera_id"]] = (event["received_at"], event.get("source") or "api")
    if not latest:
        return _nothing
    written = _recently_written()
    now = time.monotonic()
    due = {camera: value for camera, value in latest.items()
           if now - written.get(camera, -SEEN_INTERVAL_SECONDS) >= SEEN_INTERVAL_SECONDS}
    if not due:
        return _nothing
    _upsert(conn, [{"id": camera, "last_seen": when, "status": "online", "source": source,
                    "since": when} for camera, (when, source) in sorted(due.items())],
            online=True)

    def committed() -> None:
        for camera in due:
            written[camera] = now
            metrics.camera_status(camera, True)

    return committed


def _nothing() -> None:
    return None


def _recently_written() -> dict[str, float]:
    app = current_app._get_current_object()
    written = app.extensions.get(_SEEN_KEY)
    if written is None:
        with _seen_guard:
            written = app.extensions.setdefault(_SEEN_KEY, {})
    return written


def report(camera_ids: Iterable[str], status: str, now: datetime, source: str) -> None:
    """A detector's word on cameras: `online` is a sign of life; `offline` and `disabled`
    leave last_seen as it was. Committed."""
    if status not in STATUSES:
        raise ValueError(f"unknown camera status {status!r}")
    rows = [{"id": camera, "last_seen": now if status == "online" else None, "status": status,
             "source": source, "since": now} for camera in sorted(set(camera_ids))]
    if not rows:
        return
    with write_transaction() as conn:
        _upsert(conn, rows, online=status == "online")
    for row in rows:
        metrics.camera_status(row["id"], status == "online")
    if status == "online":
        _forget_written(rows)


def _forget_written(rows: list[dict[str, Any]]) -> None:
    # A report wrote last_seen itself: ingest's next event may write again at once.
    written = _recently_written()
    for row in rows:
        written.pop(row["id"], None)


def cameras_of_source(source: str) -> list[str]:
    """The cameras last reported by `source` (a Frigate instance's `frigate:<prefix>`)."""
    try:
        return list(db.session.scalars(select(Camera.id).where(Camera.source == source)))
    finally:
        db.session.rollback()


def heartbeat(camera_id: str, name: str | None, actor: str, now: datetime | None = None
              ) -> Camera:
    """POST /api/cameras/<id>/heartbeat: the camera is alive now (and its name, if given)."""
    now = now or utcnow()
    report([camera_id], "online", now, "heartbeat")
    camera = db.session.get(Camera, camera_id, populate_existing=True)
    if camera is None:  # pragma: no cover - the report above stored it
        raise ApiError(404, "not_found", f"Camera {camera_id!r} not found")
    if name is not None and name != camera.name:
        before = camera.name
        camera.name = name
        audit.record(actor, "camera_rename", "camera", camera_id, {"name": name},
                     changes=audit.diff({"name": before}, {"name": name}))
        db.session.commit()
    return camera


def list_cameras(status: str | None = None, *, limit: int = 1000, offset: int = 0
                 ) -> tuple[list[Camera], int]:
    """A page of the known cameras, offline ones first, then by id; and how many match."""
    query = select(Camera)
    if status:
        query = query.where(Camera.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(
        case((Camera.status == "offline", 0), else_=1), Camera.id).limit(limit).offset(offset))
    return list(rows), total


# --- the check the camera health worker runs ----------------------------------------------


def silence_seconds() -> int:
    return int(current_app.config["CAMERA_OFFLINE_SECONDS"])


def check(now: datetime | None = None) -> dict[str, int]:
    """Mark silent cameras offline, raise camera_offline alerts for the outages the rules
    see, and camera_online ones for those that ended. Counts of what it did."""
    now = now or utcnow()
    done = {"marked_offline": _mark_silent(now), "offline": 0, "online": 0}
    rules = list(db.session.scalars(select(AlertRule).where(
        AlertRule.kind == "camera_offline", AlertRule.enabled.is_(True)).order_by(AlertRule.id)))
    cameras = list(db.session.scalars(select(Camera)))
    opened = {(o.rule_id, o.camera_id): o for o in db.session.scalars(
        select(CameraOutage).where(CameraOutage.resolved_at.is_(None)))}
    db.session.rollback()  # nothing read is kept locked while alerts are written
    by_id = {camera.id: camera for camera in cameras}
    for outage in opened.values():
        camera = by_id.get(outage.camera_id)
        if camera is not None and camera.last_seen is not None \
                and camera.last_seen > outage.started_at:
            done["online"] += _resolve(outage, camera, now)
    for rule in rules:
        after = timedelta(seconds=rule.offline_after_seconds or DEFAULT_OFFLINE_AFTER_SECONDS)
        wanted = set(rule.camera_ids) if rule.camera_ids else None
        for camera in cameras:
            if wanted is not None and camera.id not in wanted:
                continue
            start = _silent_since(camera)
            if start is None or now - start < after:
                continue
            outage = opened.get((rule.id, camera.id))
            if outage is not None and (outage.started_at == start
                                       or camera.last_seen is None
                                       or camera.last_seen <= outage.started_at):
                continue  # raised already (and not resolved)
            done["offline"] += _raise_offline(rule, camera, start, now)
    return done


def _silent_since(camera: Camera) -> datetime | None:
    """When the camera's current silence began: when it was reported offline, else when
    it was last seen; None when it is not in an outage that can be judged (disabled)."""
    if camera.status == "disabled":
        return None
    if camera.status == "offline":
        return camera.since
    return camera.last_seen


def _mark_silent(now: datetime) -> int:
    """Cameras silent past CAMERA_OFFLINE_SECONDS: offline, since they were last seen."""
    cutoff = now - timedelta(seconds=silence_seconds())
    with write_transaction() as conn:
        marked = list(conn.execute(
            update(_CAMERAS)
            .where(_CAMERAS.c.status == "online", _CAMERAS.c.last_seen < cutoff)
            .values(status="offline", since=_CAMERAS.c.last_seen)
            .returning(_CAMERAS.c.id)
        ).scalars())
    for camera in marked:
        metrics.camera_status(camera, False)
    return len(marked)


def _engine_rule(rule: AlertRule):
    record = rule_record(rule)
    record["enabled"] = True
    return rule_from_record(record)


def _record(camera_id: str, when: datetime, state: str, summary: str,
            details: dict[str, Any]) -> dict[str, Any]:
    return {"camera_id": camera_id, "started_at": when, "ended_at": None, "risk_score": None,
            "risk_level": None, "summary": summary, "labels": [f"camera_{state}"],
            "source": HEALTH_SOURCE, "external_id": None, "scene_index_id": None,
            "attributes": {"camera_health": state, **details}, "media": None}


def _raise_offline(rule: AlertRule, camera: Camera, start: datetime, now: datetime) -> int:
    """The rule's alert for this outage, unless another worker raised it first: 1 or 0."""
    record = _record(camera.id, start, "offline",
                     f"Camera {camera.name or camera.id} is offline: silent since "
                     f"{isoformat_z(start)}",
                     {"silent_since": isoformat_z(start), "rule_id": rule.id,
                      "offline_after_seconds": rule.offline_after_seconds
                      or DEFAULT_OFFLINE_AFTER_SECONDS})
    engine_event = event_from_record(record)
    key = render_dedup_key(_engine_rule(rule), engine_event, None, start,
                           current_app.config["TIMEZONE"])
    try:
        with own_alerts() as own:
            [outage_id] = insert_returning_ids(own.conn, _OUTAGES, [
                {"rule_id": rule.id, "camera_id": camera.id, "started_at": start}])
            record["external_id"] = f"outage-{outage_id}-offline"
            alert_id = own.raise_alert(rule.id, record, dedup_key=key,
                                       matched_conditions=["camera"])
            own.conn.execute(update(_OUTAGES).where(_OUTAGES.c.id == outage_id)
                             .values(offline_alert_id=alert_id))
    except IntegrityError:
        return 0  # another worker raised this outage first
    return 1


def _resolve(outage: CameraOutage, camera: Camera, now: datetime) -> int:
    """The camera is back: the outage ends, and its camera_online alert (when its offline
    one was raised) goes out, unless another worker resolved it first: 1 or 0."""
    rule = db.session.get(AlertRule, outage.rule_id)
    db.session.rollback()
    with own_alerts() as own:
        ended = own.conn.execute(
            update(_OUTAGES).where(_OUTAGES.c.id == outage.id, _OUTAGES.c.resolved_at.is_(None))
            .values(resolved_at=now)).rowcount
        if not ended or rule is None or outage.offline_alert_id is None:
            return 0
        back = camera.last_seen or now
        silent = int((back - outage.started_at).total_seconds())
        record = _record(camera.id, back, "online",
                         f"Camera {camera.name or camera.id} is back online after {silent} s "
                         "of silence",
                         {"silent_since": isoformat_z(outage.started_at),
                          "back_at": isoformat_z(back), "rule_id": rule.id})
        record["external_id"] = f"outage-{outage.id}-online"
        key = render_dedup_key(_engine_rule(rule), event_from_record(record), None, back,
                               current_app.config["TIMEZONE"]) + ":online"
        alert_id = own.raise_alert(rule.id, record, dedup_key=key,
                                   matched_conditions=["camera"], severity="low",
                                   rule_name=f"{rule.name} · camera online")
        own.conn.execute(update(_OUTAGES).where(_OUTAGES.c.id == outage.id)
                         .values(online_alert_id=alert_id))
    return 1


def outages_of(camera_id: str) -> list[CameraOutage]:
    """A camera's outages as rules saw them, newest first."""
    return list(db.session.scalars(
        select(CameraOutage).where(CameraOutage.camera_id == camera_id)
        .order_by(CameraOutage.started_at.desc(), CameraOutage.id.desc())))

