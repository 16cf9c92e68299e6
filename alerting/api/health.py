"""GET /api/health: is the database reachable, are the background workers running (or one
failing, since when), can the stored secrets be read."""

from flask import current_app, jsonify
from sqlalchemy import func, select, text

from .. import live, serving, workers
from ..auth import public
from ..extensions import db
from ..models import Delivery, Event, NotificationSettings
from ..schemas import responses as R
from ..schemas.openapi import operation as op
from ..services import notification_settings
from . import bp


@bp.get("/health")
@op("health", {200: (R.Health, "Healthy or degraded"),
    503: (R.Health, "The database is unreachable")})
@public
def health():
    """Database, workers and backlog sizes; no secrets. 503 when the database is unreachable."""
    try:
        db.session.execute(text("SELECT 1"))
        unprocessed = db.session.scalar(
            select(func.count()).select_from(Event).where(Event.processed_at.is_(None))
        )
        pending = db.session.scalar(
            select(func.count()).select_from(Delivery)
            .where(Delivery.status.in_(("pending", "sending")))
        )
        row = db.session.get(NotificationSettings, notification_settings.ROW_ID)
    except Exception as exc:  # any driver error means "unreachable" here
        db.session.rollback()
        return jsonify({"status": "unavailable", "database": "unreachable",
                        "error": type(exc).__name__}), 503
    body = {
        "status": "ok",
        "database": "ok",
        "workers": workers.status(),
        "backlog": {"events_unprocessed": unprocessed, "deliveries_pending": pending},
        # This process's WebSockets (open, caps, refused, dropped) and slow clients cut off.
        "connections": {"websockets": live.stats(), **serving.counters()},
    }
    subscriber = current_app.extensions.get("alerting.mqtt")
    if subscriber is not None:  # this process runs the MQTT subscriber
        body["mqtt"] = subscriber.stats.snapshot()
    unreadable = notification_settings.unreadable_secrets(row) if row is not None else []
    body["secrets"] = "unreadable" if unreadable else "ok"
    if unreadable:  # names only: deliveries needing them fail until the key is restored
        body["unreadable_secrets"] = unreadable
    if unreadable or any(w["expected"] and w["state"] != "running"
                         for w in body["workers"].values()):
        body["status"] = "degraded"
    return jsonify(body)
