"""Alerts: listing, detail, and the lifecycle a person drives (acknowledge, dismiss)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from .. import signals
from ..engine.timeparse import isoformat_z
from ..errors import ApiError
from ..extensions import db
from ..models import Alert, Delivery, utcnow
from ..schemas import responses as schemas
from ..schemas.serialize import serializer
from ..storage import in_chunks
from . import audit, groups

# What a person may do from each status (DESIGN.md: anything else is a 409).
TRANSITIONS = {
    "acknowledge": {"pending", "delivered", "failed"},
    "dismiss": {"pending", "delivered", "failed", "acknowledged", "silenced"},
    "restore": {"dismissed"},  # the undo of a dismissal: back to the status it replaced
}
OPEN_STATUSES = ("pending", "delivered", "failed")
PINNED_SEVERITIES = ("critical", "high")  # open ones are pinned on top of the live page


def _next_attempt_at(delivery: Delivery) -> str | None:
    due = delivery.next_attempt_at if delivery.status == "pending" else None
    return isoformat_z(due) if due else None


def _attempt_log(delivery: Delivery) -> list[dict[str, Any]]:
    return [_attempt_json(a) for a in delivery.attempt_log]


_attempt_json = serializer(schemas.Attempt, duration_ms=lambda a: round(a.duration_ms, 2))
_delivery_json = serializer(schemas.Delivery, next_attempt_at=_next_attempt_at)
_delivery_with_attempts = serializer(schemas.DeliveryWithAttempts,
                                     next_attempt_at=_next_attempt_at,
                                     attempt_log=_attempt_log)
alert_json = serializer(schemas.Alert)


def delivery_json(delivery: Delivery, *, attempts: bool = False) -> dict[str, Any]:
    """The API's delivery object, with its attempt log when `attempts`."""
    return (_delivery_with_attempts if attempts else _delivery_json)(delivery)


def get_alert(alert_id: int) -> Alert:
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        raise ApiError(404, "not_found", f"Alert {alert_id} not found")
    return alert


def list_alerts(*, status: str | None = None, severity: str | None = None,
                rule_id: str | None = None, camera_id: str | None = None,
                since: datetime | None = None, after_id: int | None = None,
                limit: int = 50, offset: int = 0) -> tuple[list[Alert], int]:
    """A page of alerts, most severe first then newest, and the total matching."""
    query = select(Alert)
    if status:
        query = query.where(Alert.status == status)
    if severity:
        query = query.where(Alert.severity == severity)
    if rule_id:
        query = query.where(Alert.rule_id == rule_id)
    if camera_id:
        query = query.where(Alert.camera_id == camera_id)
    if since:
        query = query.where(Alert.created_at >= since)
    if after_id is not None:
        query = query.where(Alert.id > after_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Alert.severity_priority, Alert.created_at.desc(), Alert.id.desc())
        .limit(limit).offset(offset)
    )
    return list(rows), total


def alert_detail(alert_id: int) -> dict[str, Any]:
    from .events import event_json, get_event

    alert = db.session.get(Alert, alert_id, options=[
        selectinload(Alert.deliveries).selectinload(Delivery.attempt_log)])
    if alert is None:
        raise ApiError(404, "not_found", f"Alert {alert_id} not found")
    return {
        **alert_json(alert),
        "event": event_json(get_event(alert.event_id)),
        "deliveries": [delivery_json(d, attempts=True) for d in alert.deliveries],
    }


def transition(alert_id: int, action: str, actor: str) -> Alert:
    """Acknowledge, dismiss, or restore (undo a dismissal); 409 when the alert's status does
    not allow it."""
    alert = get_alert(alert_id)
    if alert.status not in TRANSITIONS[action]:
        raise ApiError(409, "conflict", f"Alert {alert_id} is {alert.status}; cannot {action} it")
    _apply(alert, action, actor)
    groups.alert_changed(alert.group_id)  # stops its group's repeats, may resolve it
    db.session.commit()
    _changed([alert.id], grouped=alert.group_id is not None)
    return alert


def acknowledge_group(group_id: int, actor: str) -> list[int]:
    """Acknowledge every alert of the group that is still open, in one transaction, as
    `transition` does one; the ids acknowledged. 409 when none is open; 404 when the group
    is gone."""
    groups.get_group(group_id)
    open_alerts = [alert for alert in groups.group_alerts(group_id)
                   if alert.status in TRANSITIONS["acknowledge"]]
    if not open_alerts:
        raise ApiError(409, "conflict",
                       f"Alert group {group_id} has no open alert to acknowledge")
    for alert in open_alerts:
        _apply(alert, "acknowledge", actor)
    groups.alert_changed(group_id)
    db.session.commit()
    _changed([alert.id for alert in open_alerts], grouped=True)
    return [alert.id for alert in open_alerts]


def _apply(alert: Alert, action: str, actor: str) -> None:
    """The change of one transition (the status allows it), with its audit entry; not
    committed."""
    now = utcnow()
    before = alert.status
    if action == "acknowledge":
        alert.status, alert.acknowledged_at, alert.acknowledged_by = "acknowledged", now, actor
    elif action == "dismiss":
        alert.status, alert.dismissed_at, alert.dismissed_by = "dismissed", now, actor
        alert.dismissed_from = before
    else:
        # An alert dismissed before dismissed_from was kept: acknowledged if someone did, else
        # delivered (its deliveries' outcome is not re-derived here).
        alert.status = alert.dismissed_from or (
            "acknowledged" if alert.acknowledged_at else "delivered")
        alert.dismissed_at = alert.dismissed_by = alert.dismissed_from = None
    alert.updated_at = now
    _stop_escalations([alert])
    audit.record(actor, f"alert_{action}", "alert", alert.id,
                 changes=audit.diff({"status": before}, {"status": alert.status}))


def _stop_escalations(settled: list[Alert]) -> None:
    """Stops the escalation of alerts a person just settled, at once: the escalation worker
    claims only alerts whose escalate_at is still set (and rechecks the status in the same
    statement), and an escalation already written but not yet being sent is taken back out of
    the outbox. Not committed."""
    for alert in settled:
        alert.escalate_at = None
    for ids in in_chunks([alert.id for alert in settled]):
        db.session.execute(delete(Delivery).where(
            Delivery.alert_id.in_(ids), Delivery.kind == "escalation",
            Delivery.status == "pending"))


def _changed(alert_ids: list[int], *, grouped: bool) -> None:
    """Tell the live page and (when an alert of a group changed) the groups worker, after the
    commit."""
    app = current_app._get_current_object()
    for alert_id in alert_ids:
        signals.alert_updated.send(app, alert_id=alert_id)
    if grouped:
        signals.groups_due.send(app)


def triage_query(*, severity: str | None = None, camera_id: str | None = None,
                 hide_low: bool = False):
    """The alerts a live-page filter shows (schemas.queries.TriageFilter), dismissed ones
    left out, as a select to order and limit."""
    query = select(Alert).where(Alert.status != "dismissed")
    if severity:
        query = query.where(Alert.severity == severity)
    if camera_id:
        query = query.where(Alert.camera_id == camera_id)
    if hide_low:
        query = query.where(Alert.severity != "low")
    return query


def acknowledge_all(payload: Any, actor: str) -> list[int]:
    """Acknowledge every open alert of a filter (schemas.alerts.AcknowledgeAll) in one
    transaction, audited as one entry; the ids acknowledged."""
    from ..schemas.alerts import parse_acknowledge_all

    options = parse_acknowledge_all(payload)
    rows = list(db.session.scalars(
        triage_query(**options).where(Alert.status.in_(OPEN_STATUSES)).order_by(Alert.id)))
    before = ", ".join(sorted({alert.status for alert in rows})) or None
    now = utcnow()
    for alert in rows:
        alert.status, alert.acknowledged_at, alert.acknowledged_by = "acknowledged", now, actor
        alert.updated_at = now
    # As one acknowledge does: their escalations stop, their groups stop repeating.
    _stop_escalations(rows)
    group_ids = sorted({alert.group_id for alert in rows if alert.group_id is not None})
    groups.alerts_changed(group_ids)
    ids = [alert.id for alert in rows]
    audit.record(actor, "alert_acknowledge_all", "alert", None,
                 {**options, "alert_ids": ids[:1000], "count": len(ids)},
                 changes=audit.diff({"status": before}, {"status": "acknowledged"}))
    db.session.commit()
    _changed(ids, grouped=bool(group_ids))
    return ids


def without_deliveries(alerts: Iterable[Any]) -> set[int]:
    """The ids of those of these delivered alerts (rows or models) that have no delivery at
    all: their rule has no channels. What every alert row's status word reads
    (`_alert_row.html`'s `no_channels`), however the row reached the page."""
    alert_ids = [alert.id for alert in alerts if alert.status == "delivered"]
    if not alert_ids:
        return set()
    with_some = set(db.session.scalars(
        select(Delivery.alert_id).where(Delivery.alert_id.in_(alert_ids)).distinct()))
    return set(alert_ids) - with_some
