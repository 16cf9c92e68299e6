"""GET /api/health: is the database reachable, are the background workers running (or one
failing, since when), can the stored secrets be read, and is work waiting longer than it
should (whichever process matches and delivers: a separate `flask worker` included)."""

from flask import current_app, jsonify
from sqlalchemy import func, select, text

from .. import live, serving, workers
from ..auth import public
from ..extensions import db
from ..models import Delivery, Event, NotificationSettings, utcnow
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
        now = utcnow()
        waiting = {  # the oldest of each, by the indexes the matcher and dispatcher read
            # (a new event: a revision's received_at is its first version's, long ago)
            "matching": db.session.scalar(
                select(func.min(Event.received_at))
                .where(Event.processed_at.is_(None), Event.revision == 0)),
            "delivery": db.session.scalar(
                select(func.min(Delivery.next_attempt_at))
                .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)),
        }
        row = db.session.get(NotificationSettings, notification_settings.ROW_ID)
        ages = {what: None if since is None else round(
            max(0.0, (now - since).total_seconds()), 1) for what, since in waiting.items()}
    except Exception as exc:  # any driver error means "unreachable" here
        db.session.rollback()
        return jsonify({"status": "unavailable", "database": "unreachable",
                        "error": type(exc).__name__}), 503
    body = {
        "status": "ok",
        "database": "ok",
        "workers": workers.status(),
        "backlog": {"events_unprocessed": unprocessed, "deliveries_pending": pending,
                    "oldest_unprocessed_seconds": ages["matching"],
                    "oldest_overdue_delivery_seconds": ages["delivery"]},
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
    lag = float(current_app.config["HEALTH_LAG_SECONDS"])
    stalled = [what for what, age in ages.items() if age is not None and age > lag]
    if stalled:  # nothing in this process may say so: the loops may run in another one
        body["stalled"] = stalled
    if stalled or unreadable or any(w["expected"] and w["state"] != "running"
                                    for w in body["workers"].values()):
        body["status"] = "degraded"
    return jsonify(body)
