"""Digests: the configured ones (kept in the notification settings row, targets sealed as
a rule's are), their state, and sending the due ones through the delivery outbox.

A digest is one summary of the alerts created since its last one that match its filter
(silenced ones left out), sent to its channel target; a rule's immediate send of such an
alert to that same target is taken over by the digest (the matcher writes no delivery for
it, and the alert names the digest), while its other targets still get it at once.
Sending is safe with several worker processes and across a crash: one transaction advances
the digest's state (a compare-and-set on its due time, so one process wins) and writes its
delivery row; a digest missed while nothing ran is sent once on start, covering the whole
gap.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Connection, bindparam, delete, insert, select, update

from .. import signals
from ..engine import digest as engine
from ..engine.timeparse import isoformat_z
from ..extensions import db
from ..models import Alert, Delivery, DigestState, Event, utcnow
from ..notify.media import sign_media_path
from ..schemas.digests import parse_digests
from ..storage import write_transaction
from . import audit
from .modes import check_modes, mode_clock
from .notification_settings import get_row
from .notification_targets import (
    check_push_target,
    check_webhook_url,
    keep_or_seal,
    stored,
    unseal,
)

# Alerts are covered up to this long before a digest's send time: an alert's created_at is
# set just before its transaction commits, so a later one is in the next digest, never lost.
SETTLE_SECONDS = 2.0

_S = DigestState.__table__
_A = Alert.__table__
_E = Event.__table__
_D = Delivery.__table__
_STATES = select(_S)
_ADVANCE = (update(_S).where(_S.c.name == bindparam("b_name"),
                             _S.c.next_due_at == bindparam("b_due"))
            .values(covered_until=bindparam("b_until"), next_due_at=bindparam("b_next")))
_SENT = (update(_S).where(_S.c.name == bindparam("b_name"))
         .values(last_sent_at=bindparam("b_sent"), last_count=bindparam("b_count")))
_COVERED = (select(_A.c.id, _A.c.rule_id, _A.c.rule_name, _A.c.camera_id, _A.c.severity,
                   _A.c.event_id, _A.c.event_time, _E.c.media)
            .join_from(_A, _E, _A.c.event_id == _E.c.id)
            .where(_A.c.created_at > bindparam("since"), _A.c.created_at <= bindparam("until"),
                   _A.c.status != "silenced")
            .order_by(_A.c.id))
_EARLIEST = select(_S.c.next_due_at).order_by(_S.c.next_due_at).limit(1)


# --- the configured digests -------------------------------------------------------------------


def configured() -> list[dict[str, Any]]:
    """The digests as stored: each with `target` as shown and `target_sealed`."""
    return list(get_row().digests or [])


def takeovers() -> list[engine.Takeover]:
    """The configured digests as the matcher checks a rule's targets against them."""
    return [engine.Takeover(entry["name"], entry["channel"],
                            unseal(entry["target"], entry.get("target_sealed")),
                            engine.filter_from_record(entry.get("filter")))
            for entry in configured()]


def digests_json() -> dict[str, Any]:
    """GET /api/notification/digests: each digest (target as shown) with its state."""
    states = {row.name: row for row in db.session.execute(_STATES)}
    out = []
    for entry in configured():
        state = states.get(entry["name"])
        out.append({**{k: v for k, v in entry.items() if k != "target_sealed"},
                    "state": None if state is None else {
                        "next_due_at": isoformat_z(state.next_due_at),
                        "covered_until": isoformat_z(state.covered_until),
                        "last_sent_at": state.last_sent_at and isoformat_z(state.last_sent_at),
                        "last_count": state.last_count}})
    return {"digests": out, "count": len(out)}


def replace_all(payload: Any, actor: str, *, commit: bool = True) -> dict[str, Any] | None:
    """Store the digests given (422 naming the field on bad input), audited; a digest
    removed, or whose schedule or filter changed, starts again from now. `commit=False`:
    left to the caller's transaction (rules as code), and nothing returned."""
    digests = parse_digests(payload)["digests"] or []
    row = get_row()
    before = {entry["name"]: entry for entry in row.digests or []}
    entries = []
    for index, digest in enumerate(digests):
        check_modes((digest["filter"] or {}).get("modes"), f"digests.{index}.filter.modes")
        old = before.get(digest["name"]) or {}
        previous = stored([(old["target"], old.get("target_sealed"))]) \
            if old.get("channel") == digest["channel"] and old.get("target") else {}
        field = f"digests.{index}.target"
        if digest["channel"] == "webhook":
            digest["target"], sealed = keep_or_seal(digest["target"], previous, field,
                                                    check_webhook_url)
        elif digest["channel"] == "push":
            digest["target"], sealed = keep_or_seal(digest["target"], previous, field,
                                                    check_push_target)
        else:
            sealed = None
        entries.append({**digest, "target_sealed": sealed})
    after = {entry["name"]: entry for entry in entries}
    restart = [name for name, entry in before.items() if name not in after
               or _timing(entry) != _timing(after[name])]
    if restart:
        db.session.execute(delete(DigestState).where(DigestState.name.in_(restart)))
    audit.record(actor, "digests_update", "notification_settings", "digests",
                 {"names": sorted(after)},
                 changes=audit.diff(_audited(before), _audited(after)))
    row.digests = entries or None
    if not commit:
        db.session.flush()
        return None
    db.session.commit()
    return digests_json()


def _timing(entry: dict[str, Any]) -> tuple:
    return entry.get("schedule"), entry.get("filter")


def _audited(entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The digests by name, sealed targets left out (the shown target says what changed)."""
    return {name: {k: v for k, v in entry.items() if k != "target_sealed"}
            for name, entry in entries.items()}


# --- sending ------------------------------------------------------------------------------------


def send_due(now: datetime | None = None) -> list[str]:
    """Send each digest that is due (a summary delivery, or nothing for an empty period
    unless `send_empty`) and advance it; the names of those sent. A digest seen for the
    first time starts collecting now."""
    now = now or utcnow()
    entries = configured()
    states = {row.name: row for row in db.session.execute(_STATES)}
    db.session.rollback()  # no read transaction held (SQLite: the writer goes next)
    timezone = current_app.config["TIMEZONE"]
    sent: list[str] = []
    for entry in entries:
        schedule = engine.schedule_from_record(entry["schedule"])
        state = states.get(entry["name"])
        if state is None:
            _start(entry["name"], now, engine.next_due(schedule, now, timezone))
        elif state.next_due_at <= now and _send(entry, state, schedule, now, timezone):
            sent.append(entry["name"])
    if sent:
        signals.deliveries_due.send(current_app._get_current_object())
    return sent


def _start(name: str, now: datetime, due: datetime) -> None:
    with write_transaction() as conn:
        if conn.execute(select(_S.c.name).where(_S.c.name == name)).first() is None:
            conn.execute(insert(_S).values(name=name, covered_until=now, next_due_at=due,
                                           last_count=0))


def _send(entry: dict[str, Any], state: Any, schedule: engine.Schedule, now: datetime,
          timezone: str) -> bool:
    """Advance one due digest and write its delivery, in one transaction; False when
    another process advanced it first or there was nothing to send."""
    since = state.covered_until
    until = max(since, now - timedelta(seconds=SETTLE_SECONDS))
    with write_transaction() as conn:
        won = conn.execute(_ADVANCE, {"b_name": entry["name"], "b_due": state.next_due_at,
                                      "b_until": until,
                                      "b_next": engine.next_due(schedule, now, timezone)})
        if won.rowcount != 1:
            return False
        alerts = _covered(conn, entry, since, until)
        if not alerts and not entry.get("send_empty"):
            return False
        message = engine.render(entry["name"], engine.summarize(alerts), since, until,
                                _links(since))
        conn.execute(_SENT, {"b_name": entry["name"], "b_sent": now, "b_count": len(alerts)})
        conn.execute(insert(_D).values(alert_id=None, kind="digest", payload=message,
                                       channel=entry["channel"], target=entry["target"],
                                       target_sealed=entry.get("target_sealed")))
    return True


def _covered(conn: Connection, entry: dict[str, Any], since: datetime,
             until: datetime) -> list[engine.AlertFacts]:
    """The alerts created in (since, until] that the digest's filter takes."""
    digest_filter = engine.filter_from_record(entry.get("filter"))
    mode_at = mode_clock(conn) if digest_filter.modes else None
    facts = []
    for row in conn.execute(_COVERED, {"since": since, "until": until}):
        alert = engine.AlertFacts(
            id=row.id, rule_id=row.rule_id, rule_name=row.rule_name, camera_id=row.camera_id,
            severity=row.severity, event_id=row.event_id, event_time=row.event_time,
            mode=mode_at(row.event_time) if mode_at else None,
            has_snapshot=bool((row.media or {}).get("snapshot_url")))
        if engine.matches(digest_filter, alert):
            facts.append(alert)
    return facts


def _links(since: datetime) -> dict[str, Any]:
    """The alerts page for the period and each event's snapshot: the app's media route,
    signed and expiring as an alert's media links are (ALERTING_MEDIA_LINK_SECONDS), so
    that it opens from the email or the receiver without a session; under
    ALERTING_PUBLIC_URL when set, else as paths."""
    config = current_app.config
    base, key = config.get("PUBLIC_URL") or "", str(current_app.secret_key)
    lifetime = int(config["MEDIA_LINK_SECONDS"])
    return {"alerts": f"{base}/alerts?since={isoformat_z(since)}",
            "snapshot": lambda event_id: base + sign_media_path(
                key, f"/media/events/{event_id}/snapshot.jpg", lifetime)}


def next_due() -> datetime | None:
    """The earliest due time of any digest, or None."""
    return db.session.connection().scalar(_EARLIEST)

