"""The delivery outbox: claim due rows with a lease, record outcomes, schedule retries,
dead-letter, and keep each alert's status in step with its deliveries."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import joinedload

from .. import signals
from ..engine.timeparse import isoformat_z
from ..errors import ApiError
from ..extensions import db
from ..models import Alert, AlertRule, Delivery, DeliveryAttempt, Event, utcnow
from ..notify import Message, Outcome
from ..videodb import delivery as videodb_delivery
from . import audit
from .alerts import alert_json
from .events import event_json

# Alert statuses the dispatcher may change; a person's acknowledge or dismiss stays.
AUTOMATIC_STATUSES = ("pending", "delivered", "failed")
JITTER = 0.2


@dataclass(frozen=True)
class Claimed:
    """A leased delivery with what its channel needs to send it."""

    id: int
    alert_id: int
    channel: str
    target: str
    token: str
    attempt: int
    message: Message


def retry_delay(attempt: int, schedule: list[float], retry_after: float | None) -> float | None:
    """Seconds until the next try after failed attempt number `attempt` (1-based), or None
    when the schedule is used up. Retry-After wins when it asks for longer."""
    if attempt > len(schedule):
        return None
    base = float(schedule[attempt - 1])
    delay = base * (1 + random.uniform(-JITTER, JITTER))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return max(delay, 0.0)


def webhook_body(alert: Alert, rule: AlertRule | None, event_body: dict[str, Any]) -> dict:
    """The documented webhook JSON (docs/webhooks.md)."""
    return {
        "type": "alert.created",
        "timestamp": isoformat_z(alert.created_at),
        "data": {
            "alert": alert_json(alert),
            "rule": None if rule is None else {
                "id": rule.id, "name": rule.name, "severity": rule.severity,
                "description": rule.description,
            },
            "event": event_body,
            "matched_conditions": alert.matched_conditions or [],
        },
    }


def build_message(delivery: Any, alert: Alert, rule: AlertRule | None,
                  event_body: dict[str, Any]) -> Message:
    """The message every channel renders; identical on every retry of the delivery.
    `delivery` is a Delivery or a row with its `message_id`."""
    objects = ", ".join(event_body.get("object_types") or []) or "activity"
    where = f"camera {alert.camera_id}" + (f", zone {alert.zone_id}" if alert.zone_id else "")
    title = f"[{alert.severity.upper()}] {alert.rule_name}: {objects} ({where})"
    summary = event_body.get("summary")
    text = "\n".join(line for line in (
        f"{alert.rule_name} matched an event on {where}.",
        f"Objects: {objects}. Time: {event_body.get('started_at')}.",
        summary and f"Summary: {summary}",
        f"Matched: {', '.join(alert.matched_conditions or [])}." if alert.matched_conditions
        else None,
    ) if line)
    return Message(
        delivery_id=delivery.message_id,
        severity=alert.severity,
        title=title,
        text=text,
        context={"alert": alert_json(alert), "event": event_body,
                 "rule": {"name": alert.rule_name, "severity": alert.severity},
                 "matched_conditions": alert.matched_conditions or []},
        # A VideoDB RTStream alert's rule posts VideoDB's body (docs/videodb.md).
        webhook_body=(videodb_delivery.webhook_body(alert, rule, event_body)
                      or webhook_body(alert, rule, event_body)),
    )


def claim_due(limit: int, *, per_target: int = 8,
              in_flight: dict[str, int] | None = None) -> list[Claimed]:
    """Lease up to `limit` due deliveries (pending and due, or with an expired lease).

    At most `per_target` deliveries per target are in flight at once, so one slow receiver
    cannot take every sending slot from the others.

    Expired leases and due pending rows are read by two queries, each walking the
    (status, next_attempt_at) index in order: one query with an OR between them makes the
    database read every due row and sort them, for every claim, however long the backlog.
    Candidates are read as plain columns, not ORM objects, and leased with one UPDATE.
    """
    if limit <= 0:
        return []
    now = utcnow()
    lease = timedelta(seconds=int(current_app.config.get("DELIVERY_LEASE_SECONDS", 120)))
    counts = dict(in_flight or {})
    saturated = [target for target, n in counts.items() if n >= per_target]
    columns = (Delivery.id, Delivery.alert_id, Delivery.channel, Delivery.target,
               Delivery.message_id, Delivery.attempts)
    sending_expired = and_(Delivery.status == "sending", Delivery.lease_until < now)
    pending_due = and_(Delivery.status == "pending", Delivery.next_attempt_at <= now)
    chosen: list[Any] = []
    for due in (sending_expired, pending_due):
        want = limit - len(chosen)
        if want <= 0:
            break
        query = select(*columns).where(due)
        if saturated:
            query = query.where(Delivery.target.not_in(saturated))
        query = query.order_by(Delivery.next_attempt_at, Delivery.id).limit(want * 4)
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        for row in db.session.execute(query):
            if counts.get(row.target, 0) >= per_target:
                continue
            counts[row.target] = counts.get(row.target, 0) + 1
            chosen.append(row)
            if len(chosen) == limit:
                break
    if not chosen:
        db.session.rollback()
        return []
    token = str(uuid.uuid4())
    # The UPDATE repeats the due condition and returns what it leased: on SQLite the SELECT
    # above runs outside the write transaction, so another process may have leased a row in
    # between; it is then left out here rather than sent twice.
    leased = dict(db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_([row.id for row in chosen]), or_(sending_expired, pending_due))
        .values(status="sending", lease_until=now + lease, claim_token=token,
                attempts=Delivery.attempts + 1)
        .returning(Delivery.id, Delivery.attempts)
        .execution_options(synchronize_session=False)).all())
    chosen = [row for row in chosen if row.id in leased]
    claimed = _messages(chosen, token, leased) if chosen else []
    db.session.commit()
    return claimed


def _messages(rows: list[Any], token: str, attempts: dict[int, int]) -> list[Claimed]:
    alert_ids = {d.alert_id for d in rows}
    alerts = {a.id: a for a in db.session.scalars(
        select(Alert).options(joinedload(Alert.rule),  # many-to-one: joined, no extra query
                              joinedload(Alert.event).selectinload(Event.detections))
        .where(Alert.id.in_(alert_ids)))}
    events = {a.id: event_json(a.event) for a in alerts.values()}
    return [
        Claimed(d.id, d.alert_id, d.channel, d.target, token, attempts[d.id],
                build_message(d, alerts[d.alert_id], alerts[d.alert_id].rule,
                              events[d.alert_id]))
        for d in rows
    ]


def record_outcomes(results: list[tuple[Claimed, Outcome, datetime]]) -> list[int]:
    """Record a batch of attempts in one transaction; returns the alerts whose status moved."""
    if not results:
        return []
    schedule = list(current_app.config.get("RETRY_SCHEDULE") or [])
    now = utcnow()
    touched: set[int] = set()
    # One query for the batch (not a get per row, each autoflushing the previous row's UPDATE),
    # then one flush: the ORM batches the UPDATEs and the attempt INSERTs.
    rows = {d.id: d for d in db.session.scalars(
        select(Delivery).where(Delivery.id.in_({c.id for c, _o, _s in results})))}
    for claimed, outcome, started in results:
        delivery = rows.get(claimed.id)
        if delivery is None or delivery.claim_token != claimed.token \
                or delivery.status != "sending":
            continue  # the lease expired and someone else owns it now
        db.session.add(DeliveryAttempt(
            delivery_id=delivery.id, started_at=started, duration_ms=outcome.duration_ms,
            ok=outcome.ok, status_code=outcome.status_code, error=outcome.error))
        delivery.last_status_code = outcome.status_code
        delivery.lease_until = None
        delivery.claim_token = None
        if outcome.ok:
            delivery.status = "delivered"
            delivery.delivered_at = now
            delivery.last_error = None
        else:
            delivery.last_error = outcome.error
            delay = retry_delay(delivery.attempts, schedule, outcome.retry_after) \
                if outcome.retryable else None
            if delay is None:
                delivery.status = "dead"
            else:
                delivery.status = "pending"
                delivery.next_attempt_at = now + timedelta(seconds=delay)
        touched.add(delivery.alert_id)
    db.session.flush()
    moved = _settle_alerts(touched)
    db.session.commit()
    app = current_app._get_current_object()
    for alert_id in moved:
        signals.alert_updated.send(app, alert_id=alert_id)
    return moved


def _settle_alerts(alert_ids: Iterable[int]) -> list[int]:
    """pending -> delivered when every delivery succeeded, -> failed when one is dead."""
    ids = list(alert_ids)
    if not ids:
        return []
    rows = db.session.execute(
        select(Delivery.alert_id, Delivery.status, func.count())
        .where(Delivery.alert_id.in_(ids)).group_by(Delivery.alert_id, Delivery.status)
    )
    by_alert: dict[int, dict[str, int]] = {}
    for alert_id, status, count in rows:
        by_alert.setdefault(alert_id, {})[status] = count
    moved = []
    for alert in db.session.scalars(select(Alert).where(Alert.id.in_(ids))):
        if alert.status not in AUTOMATIC_STATUSES:
            continue
        counts = by_alert.get(alert.id, {})
        if counts.get("dead"):
            status = "failed"
        elif set(counts) <= {"delivered"}:
            status = "delivered"
        else:
            status = "pending"
        if status != alert.status:
            alert.status = status
            alert.updated_at = utcnow()
            moved.append(alert.id)
    return moved


def next_due_in(default: float) -> float:
    """Seconds until the earliest pending delivery is due (capped at `default`)."""
    earliest = db.session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(Delivery.status == "pending"))
    if earliest is None:
        return default
    return max(0.0, min(default, (earliest - utcnow()).total_seconds()))


def list_deliveries(*, status: str | None = None, channel: str | None = None,
                    alert_id: int | None = None, limit: int = 50,
                    offset: int = 0) -> tuple[list[Delivery], int]:
    query = select(Delivery)
    if status:
        query = query.where(Delivery.status == status)
    if channel:
        query = query.where(Delivery.channel == channel)
    if alert_id is not None:
        query = query.where(Delivery.alert_id == alert_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(Delivery.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def retry(delivery_id: int, actor: str) -> Delivery:
    """Put a dead delivery back in the queue with a fresh retry schedule."""
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        raise ApiError(404, "not_found", f"Delivery {delivery_id} not found")
    if delivery.status != "dead":
        raise ApiError(409, "conflict", f"Delivery {delivery_id} is {delivery.status}, not dead")
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    audit.record(actor, "delivery_retry", "delivery", delivery.id)
    db.session.flush()
    moved = _settle_alerts([delivery.alert_id])
    db.session.commit()
    app = current_app._get_current_object()
    signals.deliveries_due.send(app)
    for alert_id in moved:
        signals.alert_updated.send(app, alert_id=alert_id)
    return delivery


