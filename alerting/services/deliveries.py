"""The delivery outbox: claim due rows with a lease, record outcomes, schedule retries,
dead-letter, and keep each alert's status in step with its deliveries."""

from __future__ import annotations

import dataclasses
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask import current_app
from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    case,
    false,
    func,
    insert,
    select,
    tuple_,
    update,
)

from .. import metrics, signals
from ..engine import escalation
from ..engine.timeparse import isoformat_z
from ..errors import ApiError
from ..extensions import db
from ..models import (
    Alert,
    AlertRule,
    Delivery,
    DeliveryAttempt,
    Detection,
    Event,
    UTCDateTime,
    utcnow,
)
from ..notify import Message, Outcome
from ..storage import write_transaction
from ..videodb import delivery as videodb_delivery
from . import action_links, audit, group_messages, notification_content, webpush
from .alerts import alert_json
from .events import event_json
from .notification_targets import unseal

# Alert statuses the dispatcher may change; a person's acknowledge or dismiss stays.
AUTOMATIC_STATUSES = ("pending", "delivered", "failed")
JITTER = 0.2


@dataclass(frozen=True)
class Claimed:
    """A leased delivery with what its channel needs to send it."""

    id: int
    alert_id: int | None  # None: a digest's
    channel: str
    target: str  # as shown: the per-target key, safe to log
    token: str
    attempt: int
    message: Message
    destination: str  # the clear target, which only the channel sees
    settings_version: Any = None  # the notification settings' updated_at the claim read


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


def webhook_body(alert: Any, rule: Any, event_body: dict[str, Any],
                 actions: dict[str, str] | None = None,
                 alert_body: dict[str, Any] | None = None) -> dict:
    """The documented webhook JSON (docs/webhooks.md); `actions`: the alert's action links;
    `alert_body`: alert_json(alert), when the caller has it already."""
    body = dict(alert_json(alert) if alert_body is None else alert_body)
    del body["group_id"]  # the ungrouped body keeps its documented shape (never in a group)
    return {
        "type": "alert.created",
        "timestamp": isoformat_z(alert.created_at),
        "data": {
            "alert": body,
            "rule": None if rule is None else {
                "id": rule.id, "name": rule.name, "severity": rule.severity,
                "description": rule.description,
            },
            "event": event_body,
            "matched_conditions": alert.matched_conditions or [],
            "actions": actions or {},
        },
    }


def build_message(delivery: Any, alert: Any, rule: Any, event_body: dict[str, Any],
                  content: notification_content.ContentSettings | None = None) -> Message:
    """The message every channel renders; identical on every retry of the delivery.
    `delivery` has a `message_id` and a `channel`; `alert` and `rule` are rows (or models)
    of their tables. With `content`: links, the snapshot, the priority and the templates."""
    message = _built_in_message(delivery, alert, rule, event_body)
    if content is None:
        return message
    links = notification_content.media_links(content, alert.event_id, event_body.get("media"))
    click_url = notification_content.alert_url(content, alert.id)
    channel = getattr(delivery, "channel", None)
    snapshot = notification_content.snapshot(content, alert.event_id, event_body.get("media"),
                                             links.get("snapshot"))
    body = message.webhook_body
    if body.get("type") == "alert.created":  # ours, not VideoDB's documented shape
        body["data"]["media"] = links or None
        body["data"]["alert_url"] = click_url
    message = dataclasses.replace(
        message, click_url=click_url,
        priority=getattr(rule, "priority", None) or "normal",
        snapshots=(snapshot,) if snapshot and channel in notification_content.SNAPSHOT_CHANNELS
        else (),
        context={**message.context, "alert_url": click_url})
    return notification_content.apply_templates(
        message, channel, getattr(rule, "templates", None), content.site_templates,
        content.mode)


def _built_in_message(delivery: Any, alert: Any, rule: Any,
                      event_body: dict[str, Any]) -> Message:
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
    # Open, acknowledge, snooze: the same links for every channel (none without PUBLIC_URL).
    actions = action_links.links_for_alert(alert, current_app.config.get("PUBLIC_URL"))
    alert_body = alert_json(alert)
    return Message(
        delivery_id=delivery.message_id,
        severity=alert.severity,
        title=title,
        text=text,
        context={"alert": alert_body, "event": event_body,
                 "rule": {"id": alert.rule_id, "name": alert.rule_name,
                          "severity": alert.severity,
                          "description": getattr(rule, "description", None),
                          "priority": getattr(rule, "priority", None) or "normal",
                          "sound": getattr(rule, "sound", None)},
                 "matched_conditions": alert.matched_conditions or [],
                 # The email lists these facts itself: it leaves out text that only
                 # repeats them (notify/email.py).
                 "built_in_text": text,
                 "actions": actions, "alert_url": actions.get("open")},
        # A VideoDB RTStream alert's rule posts VideoDB's body (docs/videodb.md).
        webhook_body=(videodb_delivery.webhook_body(alert, rule, event_body)
                      or webhook_body(alert, rule, event_body, actions, alert_body)),
    )


def escalated_message(message: Message, after_seconds: int) -> Message:
    """An alert's message as its escalation sends it: the reason first, and the webhook
    body of type "alert.escalated" with an `escalation` object (docs/webhooks.md)."""
    why = escalation.reason(after_seconds)
    body = message.webhook_body
    if body.get("type") == "alert.created":  # a VideoDB body keeps its own shape
        body = {**body, "type": "alert.escalated",
                "data": {**body["data"], "escalation": {"after_seconds": after_seconds,
                                                        "reason": why}}}
    return replace(message, title=f"{why}: {message.title}", text=f"{why}.\n{message.text}",
                   context={**message.context, "escalation": why}, webhook_body=body)


def digest_message(message_id: str, payload: dict[str, Any]) -> Message:
    """A digest's message, rendered when it was written (services/digests.py)."""
    return Message(delivery_id=message_id, severity=payload["severity"],
                   title=payload["title"], text=payload["text"],
                   context={"digest": payload["webhook_body"]["data"]["digest"]},
                   webhook_body=payload["webhook_body"])


# The dispatcher's statements, built once: with the ORM, building and loading cost about
# 3 ms per claim and 2.3 ms per record (about 11 statements), against 0.2 ms in SQLite.
_D = Delivery.__table__
_CANDIDATE = (_D.c.id, _D.c.alert_id, _D.c.kind, _D.c.payload, _D.c.channel, _D.c.target,
              _D.c.target_sealed, _D.c.message_id, _D.c.next_attempt_at, _D.c.group_id,
              _D.c.group_flush)
_SENDING_EXPIRED = and_(_D.c.status == "sending", _D.c.lease_until < bindparam("now"))
_PENDING_DUE = and_(_D.c.status == "pending", _D.c.next_attempt_at <= bindparam("now"))
_EXPIRED = (select(*_CANDIDATE).where(_SENDING_EXPIRED)
            .order_by(_D.c.next_attempt_at, _D.c.id).limit(bindparam("limit")))
_DUE = (select(*_CANDIDATE).where(_PENDING_DUE)
        .order_by(_D.c.next_attempt_at, _D.c.id).limit(bindparam("limit")))
# The first target, in name order, with a due row, and the next one after a given target:
# each a short walk on the index (status, target, next_attempt_at). Not min(target): SQLite
# then reads every row after `after` (20,000 of a slow receiver's backlog took 8 ms).
_FIRST_DUE_TARGET = select(_D.c.target).where(_PENDING_DUE).order_by(_D.c.target).limit(1)
_NEXT_DUE_TARGET = _FIRST_DUE_TARGET.where(_D.c.target > bindparam("after"))
_DUE_OF_TARGET = (select(*_CANDIDATE).where(_PENDING_DUE, _D.c.target == bindparam("target"))
                  .order_by(_D.c.next_attempt_at, _D.c.id).limit(bindparam("limit")))
_LOCKED = {query: query.with_for_update(skip_locked=True)  # PostgreSQL: dispatchers share
           for query in (_EXPIRED, _DUE, _DUE_OF_TARGET)}
# The UPDATE repeats the due condition and returns what it leased: on SQLite the SELECTs run
# outside the write transaction, so another process may have leased a row in between; it is
# then left out here rather than sent twice. The condition is a CASE, which no index serves:
# written as an OR, SQLite read every due row through the status index (a MULTI-INDEX OR,
# 5-10 ms behind a backlog of 20,000) instead of looking the ids up.
_STILL_DUE = case((_D.c.status == "pending", _D.c.next_attempt_at <= bindparam("now")),
                  (_D.c.status == "sending", _D.c.lease_until < bindparam("now")), else_=false())
_LEASE = (
    update(_D)
    .where(_D.c.id.in_(bindparam("ids", expanding=True)), _STILL_DUE)
    .values(status="sending", lease_until=bindparam("lease_until"),
            claim_token=bindparam("token"), attempts=_D.c.attempts + 1)
    .returning(_D.c.id, _D.c.attempts)
)
_A = Alert.__table__
_E = Event.__table__
_R = AlertRule.__table__
_DET = Detection.__table__
# An alert with its event and rule in one row; their columns prefixed "event__", "rule__".
# Of the rule, only what the bodies use: its other columns are JSON, costly to decode.
_RULE_COLUMNS = [_R.c[name] for name in ("id", "name", "severity", "description", "origin",
                                          "priority", "sound", "templates")]
_ALERTS_OF = (
    select(_A, *(c.label(f"event__{c.name}") for c in _E.c),
           *(c.label(f"rule__{c.name}") for c in _RULE_COLUMNS))
    .join_from(_A, _E, _A.c.event_id == _E.c.id).outerjoin(_R, _A.c.rule_id == _R.c.id)
    .where(_A.c.id.in_(bindparam("ids", expanding=True)))
)
_DETECTIONS_OF = (select(_DET).where(_DET.c.event_id.in_(bindparam("ids", expanding=True)))
                  .order_by(_DET.c.id))
# Recording: first take back the rows whose lease is still ours (one statement, so on SQLite
# it also starts the write transaction before anything is read), returning the token that
# matched, then write each outcome.
_RELEASE = (
    update(_D)
    .where(_D.c.status == "sending",
           tuple_(_D.c.id, _D.c.claim_token).in_(bindparam("pairs", expanding=True)))
    .values(lease_until=None)
    .returning(_D.c.id, _D.c.claim_token, _D.c.alert_id, _D.c.attempts, _D.c.group_id,
               _D.c.group_flush)
)
_SET_OUTCOME = (
    update(_D).where(_D.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), claim_token=None, last_status_code=bindparam("b_code"),
            last_error=bindparam("b_error"), delivered_at=bindparam("b_delivered_at"),
            next_attempt_at=func.coalesce(bindparam("b_next", type_=UTCDateTime),
                                          _D.c.next_attempt_at))
)
_INSERT_ATTEMPTS = insert(DeliveryAttempt.__table__)
# Each alert's status with how many of its deliveries are in each status.
_STATUS_COUNTS = (
    select(_A.c.id, _A.c.status, _D.c.status.label("delivery_status"), func.count())
    .join_from(_A, _D, _D.c.alert_id == _A.c.id)
    .where(_A.c.id.in_(bindparam("ids", expanding=True)))
    .group_by(_A.c.id, _A.c.status, _D.c.status)
)
# The alerts moving from one status to another, in one statement: a batch's alerts mostly
# all move from pending to delivered (an executemany was a statement per alert).
_SET_ALERTS_STATUS = (
    update(_A).where(_A.c.id.in_(bindparam("ids", expanding=True)),
                     _A.c.status == bindparam("b_old"))
    .values(status=bindparam("b_status"), updated_at=bindparam("b_now"))
)
_EARLIEST_PENDING = select(func.min(_D.c.next_attempt_at)).where(_D.c.status == "pending")
_EARLIEST_PENDING_AFTER = _EARLIEST_PENDING.where(_D.c.next_attempt_at > bindparam("after"))


def claim_due(limit: int, *, per_target: int = 8, in_flight: dict[str, int] | None = None,
              expired: bool = True) -> list[Claimed]:
    """Lease up to `limit` due deliveries (pending and due, or with an expired lease when
    `expired`), oldest first, with at most `per_target` in flight per target, so one slow
    receiver cannot take every sending slot from the others. The candidates are merged
    oldest first and leased with one UPDATE.
    """
    if limit <= 0:
        return []
    now = utcnow()
    conn = db.session.connection()
    counts = dict(in_flight or {})
    locked = conn.dialect.name == "postgresql"
    candidates = list(conn.execute(_LOCKED[_EXPIRED] if locked else _EXPIRED,
                                   {"now": now, "limit": limit * 4})) if expired else []
    candidates += _pending_due(conn, now, limit, per_target, counts)
    chosen: list[Any] = []
    for row in sorted(candidates, key=lambda r: (r.next_attempt_at, r.id)):
        if counts.get(row.target, 0) < per_target:
            counts[row.target] = counts.get(row.target, 0) + 1
            chosen.append(row)
            if len(chosen) == limit:
                break
    if not chosen:
        db.session.rollback()
        return []
    # The messages are built before the lease: once it is committed nothing may fail, or
    # the rows would wait for their leases to expire before anyone sends them.
    content = notification_content.content_settings()
    messages = _messages(conn, chosen, content)
    destinations = {row.id: unseal(row.target, row.target_sealed) for row in chosen}
    token = str(uuid.uuid4())
    lease = timedelta(seconds=current_app.config["DELIVERY_LEASE_SECONDS"])
    with write_transaction() as writer:
        leased = dict(writer.execute(_LEASE, {
            "ids": [row.id for row in chosen], "now": now, "lease_until": now + lease,
            "token": token}).all())
    try:
        db.session.commit()  # SQLite: the read transaction (PostgreSQL: already committed)
    except Exception:  # it only read: what matters, the lease, is committed
        db.session.rollback()
    return [Claimed(row.id, row.alert_id, row.channel, row.target, token, leased[row.id],
                    messages[row.id], destinations[row.id], content.settings_version)
            for row in chosen if row.id in leased]


def _pending_due(conn: Connection, now: datetime, limit: int, per_target: int,
                 counts: dict[str, int]) -> list[Any]:
    """Candidate pending rows, never more of a target than its room. While no target is
    saturated, the oldest due rows, read one by one until `limit` are read or a row's
    target has no room left. From then on (or from the start, when a target is saturated
    already), the due rows of each target with room, each an index range on (status,
    target, next_attempt_at): the saturated target's backlog is never read, however long
    it is (one query filtering it out read all of it on every claim; reading a few times
    `limit` of the oldest rows read 30 rows per delivery when one target has them all)."""
    locked = conn.dialect.name == "postgresql"
    rows: list[Any] = []
    read: Counter[str] = Counter()
    if all(n < per_target for n in counts.values()):
        result = conn.execute(_LOCKED[_DUE] if locked else _DUE, {"now": now, "limit": limit})
        try:
            for row in result:
                if counts.get(row.target, 0) + read[row.target] >= per_target:
                    break
                read[row.target] += 1
                rows.append(row)
            else:  # every due row was read, or `limit` of them
                return rows
        finally:
            result.close()
    seen = {row.id for row in rows}
    target = conn.scalar(_FIRST_DUE_TARGET, {"now": now})
    while target is not None:
        room = per_target - counts.get(target, 0) - read[target]
        if room > 0:  # the rows already read are the target's oldest: asked for again
            rows += [row for row in conn.execute(
                _LOCKED[_DUE_OF_TARGET] if locked else _DUE_OF_TARGET,
                {"now": now, "target": target, "limit": min(room, limit) + read[target]})
                if row.id not in seen]
        target = conn.scalar(_NEXT_DUE_TARGET, {"now": now, "after": target})
    return rows


def _messages(conn: Connection, rows: list[Any],
              content: notification_content.ContentSettings) -> dict[int, Message]:
    """The message of each delivery row, by its id: alerts with their events and rules in
    one query, detections in another, as plain rows (event_json and alert_json only read
    attributes)."""
    grouped = [row for row in rows if row.group_id is not None]
    if grouped:
        rows = [row for row in rows if row.group_id is None]
    messages = group_messages.messages(conn, grouped, alert_json, content) if grouped else {}
    if not rows:
        return messages
    alerts, events, rules = {}, {}, {}
    alert_ids = {r.alert_id for r in rows if r.alert_id is not None}
    for row in conn.execute(_ALERTS_OF, {"ids": alert_ids}) if alert_ids else ():
        values = row._mapping
        alerts[row.id] = SimpleNamespace(**{c.name: values[c.name] for c in _A.c})
        events[row.id] = SimpleNamespace(**{c.name: values[f"event__{c.name}"] for c in _E.c},
                                         detections=[])
        if row.rule_id is not None:
            rules[row.id] = SimpleNamespace(**{c.name: values[f"rule__{c.name}"]
                                               for c in _RULE_COLUMNS})
    by_event = {event.id: event for event in events.values()}
    for det in conn.execute(_DETECTIONS_OF, {"ids": set(by_event)}) if by_event else ():
        by_event[det.event_id].detections.append(det)
    bodies = {event_id: event_json(event) for event_id, event in by_event.items()}
    for row in rows:  # beside the groups' messages, when the claim holds both
        if row.kind == "digest":
            messages[row.id] = digest_message(row.message_id, row.payload)
            continue
        alert = alerts[row.alert_id]
        message = build_message(row, alert, rules.get(row.alert_id), bodies[alert.event_id],
                                content)
        if row.kind == "escalation":
            message = escalated_message(message, (row.payload or {}).get("after_seconds", 0))
        messages[row.id] = message
    return messages


def record_outcomes(results: list[tuple[Claimed, Outcome, datetime]]) -> list[int]:
    """Record a batch of attempts in one transaction; returns the alerts whose status moved.

    An outcome whose lease expired meanwhile (the row was claimed again, or recorded) is
    dropped: the row belongs to whoever holds it now."""
    if not results:
        return []
    schedule = list(current_app.config["RETRY_SCHEDULE"])
    now = utcnow()
    with write_transaction() as conn:
        owned = {(row.id, row.claim_token): row for row in conn.execute(
            _RELEASE, {"pairs": [(c.id, c.token) for c, _o, _s in results]})}
        outcomes, attempts, touched, observed = [], [], set(), []
        flushes: set[tuple[int, int]] = set()
        for claimed, outcome, started in results:
            row = owned.pop((claimed.id, claimed.token), None)
            if row is None:
                continue
            if row.group_id is not None:  # a group's notification: its alerts follow it
                flushes.add((row.group_id, row.group_flush))
            elif row.alert_id is not None:  # not a digest (about many alerts)
                touched.add(row.alert_id)
            status, retry_at = "delivered", None
            if not outcome.ok:
                delay = retry_delay(row.attempts, schedule, outcome.retry_after) \
                    if outcome.retryable else None
                status = "dead" if delay is None else "pending"
                retry_at = None if delay is None else now + timedelta(seconds=delay)
            outcomes.append({"b_id": row.id, "b_status": status, "b_code": outcome.status_code,
                             "b_error": None if outcome.ok else outcome.error,
                             "b_delivered_at": now if outcome.ok else None, "b_next": retry_at})
            observed.append((claimed.channel, status if outcome.ok or status == "dead"
                             else "retry", outcome.duration_ms / 1000.0, row.attempts,
                             _since_alert(claimed, now) if outcome.ok else None))
            attempts.append({"delivery_id": row.id, "started_at": started,
                             "duration_ms": outcome.duration_ms, "ok": outcome.ok,
                             "status_code": outcome.status_code, "error": outcome.error})
        if not outcomes:
            return []
        conn.execute(_SET_OUTCOME, outcomes)
        conn.execute(_INSERT_ATTEMPTS, attempts)
        pushed = [(c.target, o) for c, o, _s in results if c.channel == webpush.CHANNEL]
        if pushed:
            webpush.record_results(conn, [t for t, o in pushed if o.ok],
                                   [t for t, o in pushed if o.gone])
        moved = _settle_alerts(conn, touched)
        if flushes:
            moved += group_messages.settle_flushes(conn, flushes, AUTOMATIC_STATUSES)
    for values in observed:
        metrics.delivery_attempted(*values)
    app = current_app._get_current_object()
    for alert_id in moved:
        signals.alert_updated.send(app, alert_id=alert_id)
    return moved


def _since_alert(claimed: Claimed, now: datetime) -> float | None:
    """Seconds from the delivery's alert being created to `now` (for the metrics); None
    for an escalation or a digest, which are late on purpose."""
    if "escalation" in claimed.message.context:
        return None
    created = claimed.message.context.get("alert", {}).get("created_at")
    try:
        return (now - datetime.fromisoformat(created)).total_seconds() if created else None
    except (TypeError, ValueError):
        return None


def _settle_alerts(conn: Connection, alert_ids: Iterable[int]) -> list[int]:
    """pending -> delivered when every delivery succeeded, -> failed when one is dead."""
    ids = list(alert_ids)
    if not ids:
        return []
    by_alert: dict[tuple[int, str], dict[str, int]] = {}
    for alert_id, current, status, count in conn.execute(_STATUS_COUNTS, {"ids": ids}):
        by_alert.setdefault((alert_id, current), {})[status] = count
    changes: dict[tuple[str, str], list[int]] = {}
    for (alert_id, current), counts in by_alert.items():
        if current not in AUTOMATIC_STATUSES:
            continue
        if counts.get("dead"):
            status = "failed"
        elif set(counts) <= {"delivered"}:
            status = "delivered"
        else:
            status = "pending"
        if status != current:
            changes.setdefault((current, status), []).append(alert_id)
    now = utcnow()
    for (current, status), moving in changes.items():
        conn.execute(_SET_ALERTS_STATUS, {"ids": moving, "b_old": current, "b_status": status,
                                          "b_now": now})
    return [alert_id for moving in changes.values() for alert_id in moving]


def next_due_in(default: float, after: datetime | None = None) -> float:
    """Seconds until the earliest pending delivery is due (capped at `default`); with
    `after`, of those that became due after it (the ones due before were there to claim)."""
    conn = db.session.connection()
    earliest = conn.scalar(_EARLIEST_PENDING) if after is None else conn.scalar(
        _EARLIEST_PENDING_AFTER, {"after": after})
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


# The navigation's dead-letter badge is on every page: counted at most every few seconds per
# process and database (one indexed COUNT), not on every request.
DEAD_COUNT_TTL = 10.0
_dead_counts: dict[str, tuple[float, int]] = {}


def dead_count() -> int:
    """How many deliveries are dead-lettered (cached for DEAD_COUNT_TTL seconds)."""
    key, now = str(db.engine.url), time.monotonic()
    until, value = _dead_counts.get(key, (0.0, 0))
    if until <= now:
        value = db.session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status == "dead")) or 0
        _dead_counts[key] = (now + DEAD_COUNT_TTL, value)
    return value


def forget_dead_count() -> None:
    """Count again at the next page (after a retry, say)."""
    _dead_counts.pop(str(db.engine.url), None)


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
    audit.record(actor, "delivery_retry", "delivery", delivery.id,
                 changes={"status": {"before": "dead", "after": "pending"}})
    db.session.flush()
    moved = _settle_alerts(db.session.connection(),
                           [delivery.alert_id] if delivery.alert_id is not None else [])
    db.session.commit()
    forget_dead_count()
    app = current_app._get_current_object()
    signals.deliveries_due.send(app)
    for alert_id in moved:
        signals.alert_updated.send(app, alert_id=alert_id)
    return delivery


