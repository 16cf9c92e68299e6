"""How much history is kept: events (with their detections, alerts, deliveries and delivery
attempts, which reference them with cascading foreign keys) for EVENT_RETENTION_DAYS after
they were received (not after their start: a backfill of last year's events keeps them that
long too), the notification groups and digests of that time with them, and the audit log for
AUDIT_RETENTION_DAYS. 0 keeps them for ever.

Pruned by the track timer (workers/track_timer_loop.py) a bounded batch of each at a time, in
short write transactions, so that a first run on a large database does not hold the writer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from ..models import AlertGroup, AuditLog, Delivery, Event, utcnow
from ..storage import delete_older

KINDS = ("events", "groups", "digests", "audit entries")


def prune(now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Delete up to `limit` rows of each kind past its retention, oldest first; how many of
    each (a full batch means more is left)."""
    now = now or utcnow()
    pruned = dict.fromkeys(KINDS, 0)
    days = int(current_app.config["EVENT_RETENTION_DAYS"])
    if days:
        before = now - timedelta(days=days)
        pruned["events"] = delete_older(Event.received_at, before, limit)
        # A group and a digest outlive none of the alerts they told of.
        pruned["groups"] = delete_older(AlertGroup.last_alert_at, before, limit)
        pruned["digests"] = delete_older(Delivery.created_at, before, limit,
                                         Delivery.kind == "digest")
    days = int(current_app.config["AUDIT_RETENTION_DAYS"])
    if days:
        pruned["audit entries"] = delete_older(AuditLog.at, now - timedelta(days=days), limit)
    return pruned
