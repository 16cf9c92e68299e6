"""The matcher's unit of work: unprocessed events in, alerts and their outbox rows out.

An event is marked processed in the same transaction that writes its alerts and their
delivery rows, so a crash at any point either loses nothing or leaves the event to be
matched again; none is matched twice.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from .. import signals
from ..engine.cooldown import CooldownLedger
from ..engine.dedup import dedup_zone
from ..engine.index import RuleIndex
from ..engine.rule_schema import rule_from_record
from ..engine.vocabulary import SEVERITY_PRIORITY
from ..extensions import db
from ..models import Alert, AlertRule, Delivery, Event, utcnow
from .events import engine_event
from .notification_targets import defaults, targets_for
from .rules import rule_record


class RuleCache:
    """The rule index of this process, rebuilt when the rules table changes."""

    def __init__(self) -> None:
        self.index = RuleIndex()
        self.rules: dict[str, dict[str, Any]] = {}
        self.version: tuple | None = None
        self.ledger = CooldownLedger()
        self.lock = threading.Lock()

    def refresh(self) -> None:
        """Rebuild when any rule was added, changed or removed (cheap check per batch)."""
        version = tuple(db.session.execute(
            select(func.count(), func.max(AlertRule.updated_at))).one())
        if version == self.version:
            return
        rows = db.session.scalars(select(AlertRule)).all()
        self.rules = {r.id: {"name": r.name, "severity": r.severity, "channels": r.channels or [],
                             "targets": r.targets, "cooldown": r.cooldown_seconds,
                             "zones": tuple(r.zone_ids) if r.zone_ids else None} for r in rows}
        self.index = RuleIndex(rule_from_record(rule_record(r)) for r in rows)
        self.ledger = CooldownLedger()  # a cooldown edit must not be judged by stale entries
        self.version = version


def _cache() -> RuleCache:
    return current_app.extensions.setdefault("alerting.rule_cache", RuleCache())


def _suppressed(ledger: CooldownLedger, rule_id: str, key: str, when, cooldown: int) -> bool:
    if cooldown <= 0:
        return False
    if ledger.suppresses(rule_id, key, when, cooldown):
        return True
    window = timedelta(seconds=cooldown)
    nearby = db.session.scalar(
        select(Alert.id).where(
            Alert.rule_id == rule_id, Alert.dedup_key == key,
            Alert.event_time > when - window, Alert.event_time < when + window,
        ).limit(1)
    )
    return nearby is not None


def match_pending(batch_size: int = 500) -> int:
    """Match up to `batch_size` unprocessed events, oldest first. Returns how many."""
    cache = _cache()
    with cache.lock:
        query = (
            select(Event).where(Event.processed_at.is_(None)).order_by(Event.id)
            .limit(batch_size).options(selectinload(Event.detections))
        )
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=Event)
        events = db.session.scalars(query).all()
        if not events:
            db.session.rollback()
            return 0
        cache.refresh()
        timezone = current_app.config.get("TIMEZONE") or "UTC"
        base = None
        created: list[Alert] = []
        for event in events:
            view = engine_event(event)
            for verdict in cache.index.match_all(view, default_timezone=timezone):
                rule = cache.rules[verdict.rule_id]
                key = verdict.dedup_key or ""
                if _suppressed(cache.ledger, verdict.rule_id, key, view.started_at,
                               rule["cooldown"]):
                    continue
                base = base or defaults()
                detection = verdict.detection
                alert = Alert(
                    rule_id=verdict.rule_id, rule_name=rule["name"], event_id=event.id,
                    camera_id=event.camera_id, severity=rule["severity"],
                    severity_priority=SEVERITY_PRIORITY[rule["severity"]], dedup_key=key,
                    matched_conditions=verdict.matched_conditions,
                    object_type=detection.object_type if detection else None,
                    zone_id=dedup_zone(rule["zones"], detection) or None,
                    event_time=view.started_at,
                )
                alert.deliveries = [Delivery(channel=channel, target=target)
                                    for channel, target in targets_for(
                                        rule["channels"], rule["targets"], base)]
                if not alert.deliveries:
                    alert.status = "delivered"  # nothing to send: recorded and shown live
                db.session.add(alert)
                cache.ledger.record(verdict.rule_id, key, view.started_at)
                created.append(alert)
        db.session.execute(
            update(Event).where(Event.id.in_([e.id for e in events]))
            .values(processed_at=utcnow())
        )
        db.session.flush()
        alert_ids = [a.id for a in created]
        db.session.commit()
    if alert_ids:
        signals.alerts_created.send(current_app._get_current_object(), alert_ids=alert_ids)
    return len(events)
