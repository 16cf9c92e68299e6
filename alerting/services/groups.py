"""Notification groups (engine/grouping.py decides): alerts join their group in the
matcher's transaction; the groups worker flushes due groups, writing one delivery row per
target in the outbox, in the same transaction that records the flush and moves the group's
next_flush_at. So a crash before the commit leaves the group due (it flushes after a
restart) and one after it leaves the rows to the dispatcher: nothing lost, nothing twice.
Several workers claim due groups with SKIP LOCKED (PostgreSQL); on SQLite the one writer
serialises them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Connection, bindparam, delete, func, select, update

from .. import signals
from ..engine.grouping import (
    GroupState,
    Timing,
    after_flush,
    decide,
    due_with_new,
    first_flush_at,
    group_key,
)
from ..engine.timeparse import isoformat_z
from ..errors import ApiError
from ..extensions import db
from ..models import Alert, AlertGroup, AlertGroupFlush, Delivery, utcnow
from ..schemas.grouping import effective_timing
from ..storage import in_chunks, insert_returning_ids, write_transaction

FIRING = ("pending", "delivered", "failed")  # neither acknowledged nor dismissed (nor silenced)

_G = AlertGroup.__table__
_F = AlertGroupFlush.__table__
_A = Alert.__table__
_D = Delivery.__table__

_OPEN = select(_G.c.id, _G.c.first_alert_at, _G.c.last_flushed_at, _G.c.next_flush_at,
               _G.c.timing, _G.c.targets).where(_G.c.open_key == bindparam("open_key"))
_DUE = (select(_G).where(_G.c.status == "firing", _G.c.next_flush_at <= bindparam("now"))
        .order_by(_G.c.next_flush_at, _G.c.id).limit(bindparam("limit")))
_DUE_LOCKED = _DUE.with_for_update(skip_locked=True)
_EARLIEST = select(func.min(_G.c.next_flush_at)).where(_G.c.status == "firing")
_NEW = (select(_A.c.id).where(_A.c.group_id == bindparam("group_id"),
                              _A.c.group_flush.is_(None), _A.c.status.in_(FIRING))
        .order_by(_A.c.severity_priority, _A.c.id))
_FIRING_OF = (select(_A.c.id).where(_A.c.group_id == bindparam("group_id"),
                                    _A.c.status.in_(FIRING))
              .order_by(_A.c.severity_priority, _A.c.id))
_ALL_OF = (select(_A.c.id).where(_A.c.group_id == bindparam("group_id"))
           .order_by(_A.c.severity_priority, _A.c.id))
_UNSENT_REPEATS = delete(_D).where(
    _D.c.group_id == bindparam("group_id"), _D.c.status == "pending",
    _D.c.group_flush.in_(select(_F.c.number).where(_F.c.group_id == bindparam("group_id"),
                                                   _F.c.kind == "repeat")))


def timing_of(rule: dict[str, Any], site: dict[str, Any] | None) -> Timing | None:
    """The engine's Timing for a rule's stored grouping fields over the site defaults, or
    None when its alerts are not grouped (the ungrouped path: one alert, one notification)."""
    values = effective_timing(rule, site)
    timing = Timing(group_by=tuple(values["group_by"] or ()), group_wait=values["group_wait"],
                    group_interval=values["group_interval"],
                    repeat_interval=values["repeat_interval"] or None,
                    max_alerts=values["group_max_alerts"])
    return timing if timing.active else None


def _timing_json(timing: Timing) -> dict[str, Any]:
    return {"group_by": list(timing.group_by), "group_wait": timing.group_wait,
            "group_interval": timing.group_interval,
            "repeat_interval": timing.repeat_interval, "max_alerts": timing.max_alerts}


def _timing(stored: dict[str, Any]) -> Timing:
    return Timing(group_by=tuple(stored.get("group_by") or ()),
                  group_wait=stored["group_wait"], group_interval=stored["group_interval"],
                  repeat_interval=stored.get("repeat_interval"),
                  max_alerts=stored["max_alerts"])


def join(conn: Connection, alert: dict[str, Any], timing: Timing, labels: dict[str, Any],
         pairs: list, now: datetime) -> int:
    """In the matcher's open transaction: the id of the open group `alert` (a row about to
    be inserted) joins, opened if need be, with its counters, targets and next flush time
    updated. On PostgreSQL the group's row stays locked until the commit, so a worker
    flushing it meanwhile waits (and sees the new alert) or went first."""
    key, chosen = group_key(labels, timing.group_by, str(alert["event_id"]))
    open_key = f"{alert['rule_id']}|{key}"[:600]
    query = _OPEN.with_for_update() if conn.dialect.name == "postgresql" else _OPEN
    found = conn.execute(query, {"open_key": open_key}).first()
    targets = [[channel, target.shown, target.sealed] for channel, target in pairs]
    if found is None:
        [group_id] = insert_returning_ids(conn, _G, [{
            "rule_id": alert["rule_id"], "rule_name": alert["rule_name"],
            "group_key": key[:512], "open_key": open_key, "labels": chosen,
            "timing": _timing_json(timing), "targets": targets, "status": "firing",
            "first_alert_at": now, "last_alert_at": now,
            "next_flush_at": first_flush_at(now, timing), "last_flushed_at": None,
            "alert_count": 1, "flush_count": 0, "created_at": now, "resolved_at": None}])
        return group_id
    stored = _timing(found.timing)
    due = due_with_new(GroupState(found.first_alert_at, found.last_flushed_at, 1, 1), stored)
    if found.next_flush_at is not None:
        due = min(due, found.next_flush_at)
    values: dict[str, Any] = {"last_alert_at": now, "alert_count": _G.c.alert_count + 1,
                              "next_flush_at": due}
    known = {(c, shown) for c, shown, _s in found.targets}
    added = [t for t in targets if (t[0], t[1]) not in known]
    if added:
        values["targets"] = [*found.targets, *added]
    conn.execute(update(_G).where(_G.c.id == found.id).values(**values))
    return found.id


def flush_due(limit: int = 100, now: datetime | None = None) -> int:
    """Flush (or wait, repeat, resolve) every group due at `now`, each with its delivery
    rows in one transaction. Returns how many notifications were written."""
    now = now or utcnow()
    written = 0
    # Read first: most of the time nothing is due, and on SQLite the write transaction
    # would hold this process's one writer (the matcher and dispatcher wait on it).
    earliest = db.session.connection().scalar(_EARLIEST)
    db.session.rollback()
    if earliest is None or earliest > now:
        return 0
    with write_transaction() as conn:
        query = _DUE_LOCKED if conn.dialect.name == "postgresql" else _DUE
        for group in conn.execute(query, {"now": now, "limit": limit}).all():
            written += _settle_group(conn, group, now)
    if written:
        signals.deliveries_due.send(current_app._get_current_object())
    return written


def _settle_group(conn: Connection, group: Any, now: datetime) -> int:
    timing = _timing(group.timing)
    new = list(conn.execute(_NEW, {"group_id": group.id}).scalars())
    firing = list(conn.execute(_FIRING_OF, {"group_id": group.id}).scalars())
    state = GroupState(group.first_alert_at, group.last_flushed_at, len(new), len(firing))
    decision = decide(state, timing, now)
    values: dict[str, Any]
    if decision.action == "wait":
        values = {"next_flush_at": decision.next_at}
    elif decision.action == "close":
        values = {"status": "resolved", "open_key": None, "next_flush_at": None,
                  "resolved_at": now}
    else:
        number = group.flush_count + 1
        if decision.action == "flush":
            covered, kind, status = new, "flush", "firing"
            conn.execute(update(_A).where(_A.c.id.in_(new)).values(group_flush=number))
        elif decision.action == "repeat":
            covered, kind, status = firing, "repeat", "firing"
        else:
            covered = list(conn.execute(_ALL_OF, {"group_id": group.id}).scalars())
            kind, status = "resolved", "resolved"
            # A repeat not yet sent (its receiver down, say) would say "still firing" after
            # this: taken back out of the outbox, as an acknowledged alert's escalation is.
            conn.execute(_UNSENT_REPEATS, {"group_id": group.id})
        listed = covered[:timing.max_alerts]
        conn.execute(_F.insert().values(
            group_id=group.id, number=number, kind=kind, status=status, alert_ids=listed,
            count=len(covered), truncated=len(covered) > len(listed), at=now))
        if group.targets and listed:
            conn.execute(_D.insert(), [{
                "alert_id": listed[0], "channel": channel, "target": shown,
                "target_sealed": sealed, "group_id": group.id, "group_flush": number}
                for channel, shown, sealed in group.targets])
        values = {"flush_count": number, "last_flushed_at": now}
        if kind == "resolved":
            values.update(status="resolved", open_key=None, next_flush_at=None, resolved_at=now)
        else:
            values["next_flush_at"] = after_flush(now, timing, bool(firing))
    conn.execute(update(_G).where(_G.c.id == group.id).values(**values))
    return 1 if decision.action in ("flush", "repeat", "resolve") and group.targets else 0


def next_due_in(default: float) -> float:
    """Seconds until the earliest open group is due (capped at `default`)."""
    earliest = db.session.connection().scalar(_EARLIEST)
    if earliest is None:
        return default
    return max(0.0, min(default, (earliest - utcnow()).total_seconds()))


def alert_changed(group_id: int | None) -> None:
    """In the session's transaction, after an alert of the group was acknowledged or
    dismissed: the group is looked at now (it may be resolved, or stop repeating)."""
    if group_id is not None:
        alerts_changed([group_id])


def alerts_changed(group_ids: list[int]) -> None:
    """`alert_changed` for alerts of several groups at once (an acknowledge of them all)."""
    now = utcnow()
    for ids in in_chunks(group_ids):
        db.session.execute(update(_G).where(_G.c.id.in_(ids), _G.c.status == "firing")
                           .values(next_flush_at=now))


# -- reading ------------------------------------------------------------------------------------


def group_json(group: AlertGroup) -> dict[str, Any]:
    return {
        "id": group.id, "rule_id": group.rule_id, "rule_name": group.rule_name,
        "group_key": group.group_key, "labels": group.labels or {}, "status": group.status,
        "alert_count": group.alert_count, "flush_count": group.flush_count,
        "first_alert_at": isoformat_z(group.first_alert_at),
        "last_alert_at": isoformat_z(group.last_alert_at),
        "next_flush_at": isoformat_z(group.next_flush_at) if group.next_flush_at else None,
        "last_flushed_at": isoformat_z(group.last_flushed_at) if group.last_flushed_at
        else None,
        "resolved_at": isoformat_z(group.resolved_at) if group.resolved_at else None,
    }


def list_groups(*, status: str | None = None, rule_id: str | None = None, limit: int = 50,
                offset: int = 0) -> tuple[list[AlertGroup], int]:
    """A page of groups, newest first, and the total matching."""
    query = select(AlertGroup)
    if status:
        query = query.where(AlertGroup.status == status)
    if rule_id:
        query = query.where(AlertGroup.rule_id == rule_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(AlertGroup.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def get_group(group_id: int) -> AlertGroup:
    group = db.session.get(AlertGroup, group_id)
    if group is None:
        raise ApiError(404, "not_found", f"Alert group {group_id} not found")
    return group


def group_alerts(group_id: int) -> list[Alert]:
    """The group's alerts, worst severity first, then oldest."""
    return list(db.session.scalars(select(Alert).where(Alert.group_id == group_id)
                                   .order_by(Alert.severity_priority, Alert.id)))


def group_flushes(group_id: int) -> list[AlertGroupFlush]:
    return list(db.session.scalars(select(AlertGroupFlush)
                                   .where(AlertGroupFlush.group_id == group_id)
                                   .order_by(AlertGroupFlush.number)))


def flush_json(flush: AlertGroupFlush) -> dict[str, Any]:
    return {"number": flush.number, "kind": flush.kind, "status": flush.status,
            "alert_ids": list(flush.alert_ids or []), "count": flush.count,
            "truncated": flush.truncated, "at": isoformat_z(flush.at)}

