"""Silences: create, change, expire, extend, recreate, preview, and snooze from an alert.

Outputs are plain dicts (`silence_dict`) and the engine's Silence (`engine_silences`), so the
API, the pages, an export and a backtest read them the same way. A silence never changes an
alert already created: it is read only when a new match is turned into an alert.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import selectinload

from ..engine.errors import ValidationError
from ..engine.silences import Facts, Matcher, compile_matcher, silence_from_record, silence_state
from ..engine.silences import Silence as EngineSilence
from ..engine.timeparse import isoformat_z
from ..errors import ApiError
from ..extensions import db
from ..models import Alert, Event, Silence, utcnow
from ..schemas.common import validate
from ..schemas.silences import (
    SilenceExtend,
    SilencePreview,
    SilenceRecreate,
    parse_silence,
)
from ..storage import finish
from . import audit

# Snooze scopes: the matchers a one-click snooze copies from the alert.
SNOOZE_SCOPES = {
    "camera": ("camera_id",),
    "rule": ("rule_id",),
    "camera_object": ("camera_id", "object_type"),
}
SNOOZE_LABELS = {"camera": "this camera", "rule": "this rule",
                 "camera_object": "this camera + object"}
SNOOZE_MINUTES = (15, 60, 480)
PREVIEW_LIMIT = 100
PREVIEW_SCAN = 5000  # alerts read at most, newest first


def silence_record(row: Silence) -> dict[str, Any]:
    """The stored fields as a plain dict (what engine.silences.silence_from_record takes)."""
    return {"id": row.id, "matchers": list(row.matchers or []), "starts_at": row.starts_at,
            "ends_at": row.ends_at}


def silence_dict(row: Silence, now: datetime | None = None) -> dict[str, Any]:
    """The API's silence, with its state at `now`."""
    engine = silence_from_record(silence_record(row))
    return {"id": row.id, "matchers": list(row.matchers or []),
            "starts_at": isoformat_z(engine.starts_at), "ends_at": isoformat_z(engine.ends_at),
            "comment": row.comment or "", "created_by": row.created_by,
            "created_at": isoformat_z(row.created_at), "updated_at": isoformat_z(row.updated_at),
            "state": silence_state(engine, now or utcnow())}


def _state_filter(state: str, now: datetime):
    if state == "pending":
        return Silence.starts_at > now
    if state == "active":
        return and_(Silence.starts_at <= now, Silence.ends_at > now)
    return Silence.ends_at <= now


def list_silences(*, state: str | None = None, limit: int = 100, offset: int = 0,
                  now: datetime | None = None) -> tuple[list[Silence], int]:
    """A page of silences (ending last first) and the total in that state."""
    now = now or utcnow()
    query = select(Silence)
    if state:
        query = query.where(_state_filter(state, now))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(Silence.ends_at.desc(), Silence.id)
                              .limit(limit).offset(offset))
    return list(rows), total


def get_silence(silence_id: str) -> Silence:
    """The silence, or a 404 (also for an id that is not a UUID)."""
    try:
        uuid.UUID(silence_id)
    except (ValueError, AttributeError, TypeError):
        raise ApiError(404, "not_found", f"Silence {silence_id!r} not found") from None
    row = db.session.get(Silence, silence_id)
    if row is None:
        raise ApiError(404, "not_found", f"Silence {silence_id!r} not found")
    return row


def engine_silences(*, ending_after: datetime | None = None,
                    covering: datetime | None = None) -> list[EngineSilence]:
    """Stored silences as the engine takes them: those ending after `ending_after`, or those
    whose window holds `covering` (all when neither is given)."""
    query = select(Silence)
    if ending_after is not None:
        query = query.where(Silence.ends_at > ending_after)
    if covering is not None:
        query = query.where(Silence.starts_at <= covering, Silence.ends_at > covering)
    return [silence_from_record(silence_record(r)) for r in db.session.scalars(query)]


def _later(start: datetime, seconds: float) -> datetime:
    """`seconds` after `start`; a 422 on `duration` when that is past the year 9999."""
    try:
        return start + timedelta(seconds=seconds)
    except OverflowError:
        raise ValidationError({"duration": "puts the end past the year 9999"}) from None


def _window(values: dict[str, Any], start: datetime, end: datetime | None,
            now: datetime) -> tuple[datetime, datetime]:
    if values.get("starts_at") is not None:
        start = values["starts_at"]
    if values.get("duration") is not None:
        end = _later(start, values["duration"])
    elif values.get("ends_at") is not None:
        end = values["ends_at"]
    if end is None:
        raise ValidationError({"ends_at": "is required (or give duration in seconds)"})
    if end <= start:
        raise ValidationError({"ends_at": "must be after starts_at"})
    if end <= now:
        raise ValidationError({"ends_at": "must be in the future"})
    return start, end


def _check_matchers(matchers: list[dict[str, Any]], confirm_all: bool) -> None:
    if not matchers and not confirm_all:
        raise ValidationError({"matchers": "a silence without matchers silences every alert; "
                                           "send confirm_all: true to mean it"})


def create_silence(payload: Any, actor: str, *, now: datetime | None = None,
                   recreated_from: str | None = None, silence_id: str | None = None,
                   commit: bool = True) -> Silence:
    """Validate and store a silence (422 on bad input); the start defaults to now.
    `recreated_from`: the expired silence this one repeats (audited as silence_recreate).
    `silence_id`: its id (rules as code), else a random one."""
    now = now or utcnow()
    values = parse_silence(payload)
    _check_matchers(values["matchers"], values["confirm_all"])
    start, end = _window(values, now, None, now)
    row = Silence(id=silence_id or str(uuid.uuid4()), matchers=values["matchers"], starts_at=start,
                  ends_at=end, comment=values["comment"] or "", created_by=actor)
    db.session.add(row)
    details = {"matchers": row.matchers, "starts_at": isoformat_z(start),
               "ends_at": isoformat_z(end), "comment": row.comment}
    if recreated_from is not None:
        details["recreated_from"] = recreated_from
    audit.record(actor, "silence_recreate" if recreated_from else "silence_create", "silence",
                 row.id, details,
                 changes=audit.diff({}, _audited(row)))
    finish(commit)
    return row


def _audited(row: Silence) -> dict[str, Any]:
    """What the audit log compares of a silence (before -> after)."""
    return {"matchers": list(row.matchers or []), "starts_at": row.starts_at,
            "ends_at": row.ends_at, "comment": row.comment or ""}


def _not_expired(row: Silence, now: datetime, doing: str) -> None:
    if silence_state(silence_from_record(silence_record(row)), now) == "expired":
        raise ApiError(409, "conflict", f"Silence {row.id} has expired; cannot {doing} it "
                                        "(recreate it instead)")


def update_silence(silence_id: str, payload: Any, actor: str, *, commit: bool = True
                   ) -> Silence:
    """Change the fields sent of a silence that has not expired."""
    row = get_silence(silence_id)
    now = utcnow()
    values = parse_silence(payload, partial=True)
    _not_expired(row, now, "change")
    matchers = values.get("matchers", row.matchers)
    _check_matchers(matchers, values.get("confirm_all", False) or (
        "matchers" not in values and not row.matchers))
    start, end = _window(values, row.starts_at, row.ends_at, now)
    changed = sorted(k for k in values if k != "confirm_all")
    before = _audited(row)
    row.matchers, row.starts_at, row.ends_at = matchers, start, end
    if values.get("comment") is not None:
        row.comment = values["comment"]
    audit.record(actor, "silence_update", "silence", row.id, {"changed": changed},
                 changes=audit.diff(before, _audited(row)))
    finish(commit)
    return row


def delete_silence(silence_id: str, actor: str, *, commit: bool = True) -> None:
    """Delete a silence (the alerts it silenced keep its id)."""
    row = get_silence(silence_id)
    audit.record(actor, "silence_delete", "silence", row.id, {"matchers": row.matchers},
                 changes=audit.diff(_audited(row), {}))
    db.session.delete(row)
    finish(commit)


def expire_silence(silence_id: str, actor: str, *, commit: bool = True) -> Silence:
    """End a pending or active silence now (409 when it has already expired)."""
    row = get_silence(silence_id)
    now = utcnow()
    _not_expired(row, now, "expire")
    before = _audited(row)
    row.ends_at = now
    if row.starts_at > now:
        row.starts_at = now
    audit.record(actor, "silence_expire", "silence", row.id,
                 changes=audit.diff(before, _audited(row)))
    finish(commit)
    return row


def extend_silence(silence_id: str, payload: Any, actor: str) -> Silence:
    """Move the end of a silence that has not expired: to `ends_at`, or `duration` later."""
    row = get_silence(silence_id)
    now = utcnow()
    values = validate(SilenceExtend, payload).model_dump()
    _not_expired(row, now, "extend")
    end = values["ends_at"] or _later(row.ends_at, values["duration"])
    if end <= max(now, row.starts_at):
        raise ValidationError({"ends_at": "must be after now and after starts_at"})
    _move_end(row, end, actor)
    db.session.commit()
    return row


def _move_end(row: Silence, end: datetime, actor: str, **details: Any) -> None:
    previous = row.ends_at
    row.ends_at = end
    audit.record(actor, "silence_extend", "silence", row.id,
                 {"from": isoformat_z(previous), "to": isoformat_z(end), **details},
                 changes=audit.diff({"ends_at": previous}, {"ends_at": end}))


def recreate_silence(silence_id: str, payload: Any, actor: str) -> Silence:
    """A new silence with the matchers of an expired one, from now, for `duration` seconds
    (default: as long as the old one). 409 when it has not expired."""
    old = get_silence(silence_id)
    now = utcnow()
    values = validate(SilenceRecreate, {} if payload is None else payload).model_dump()
    if silence_state(silence_from_record(silence_record(old)), now) != "expired":
        raise ApiError(409, "conflict", f"Silence {old.id} has not expired; extend it instead")
    seconds = values["duration"] or max(60, int((old.ends_at - old.starts_at).total_seconds()))
    return create_silence({"matchers": old.matchers, "duration": seconds,
                           "comment": old.comment if values["comment"] is None
                           else values["comment"], "confirm_all": not old.matchers},
                          actor, now=now, recreated_from=old.id)


# --- which alerts a silence covers -------------------------------------------------------------


def alert_facts(alert: Alert) -> Facts:
    """What matchers see of a stored alert (labels from its event)."""
    event = alert.event
    identity = None if event is None else event.identity
    return Facts(camera_id=alert.camera_id, rule_id=alert.rule_id or "",
                 severity=alert.severity, object_type=alert.object_type or "",
                 zone_id=alert.zone_id or "", identity=identity or "",
                 labels=tuple(event.labels or ()) if event is not None else ())


def _preview_window(draft: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
    """A draft that gives `starts_at` is previewed over its own window (up to now: what it
    would have covered had it been there); any other over the last `hours`."""
    if draft["starts_at"] is None:
        return now - timedelta(hours=draft["hours"]), now
    start = draft["starts_at"]
    if start >= now:
        raise ValidationError({"starts_at": "must be in the past to preview what it covers "
                                            "(or leave it out to look back `hours`)"})
    end = (_later(start, draft["duration"]) if draft["duration"] is not None
           else draft["ends_at"] or now)
    if end <= start:
        raise ValidationError({"ends_at": "must be after starts_at"})
    return start, min(end, now)


def preview(payload: Any) -> dict[str, Any]:
    """The alerts that a draft silence's matchers cover: within its own window when it gives
    `starts_at`, else of the last `hours`. Writes nothing."""
    draft = validate(SilencePreview, payload).model_dump()
    _check_matchers(draft["matchers"], draft["confirm_all"])
    tests = [compile_matcher(Matcher(**m)) for m in draft["matchers"]]
    since, until = _preview_window(draft, utcnow())
    rows = db.session.scalars(
        select(Alert).where(Alert.event_time >= since, Alert.event_time < until)
        .order_by(Alert.id.desc()).limit(PREVIEW_SCAN)
        .options(selectinload(Alert.event).selectinload(Event.detections)))
    covered = []
    for alert in rows:
        if all(test(alert_facts(alert)) for test in tests):
            covered.append(alert)
            if len(covered) >= PREVIEW_LIMIT:
                break
    return {"alerts": [{"id": a.id, "rule_id": a.rule_id, "rule_name": a.rule_name,
                        "camera_id": a.camera_id, "object_type": a.object_type,
                        "zone_id": a.zone_id, "severity": a.severity, "status": a.status,
                        "event_time": isoformat_z(a.event_time)} for a in covered],
            "count": len(covered), "since": isoformat_z(since), "until": isoformat_z(until)}


def snooze_matchers(alert: Alert, scope: str) -> list[dict[str, str]]:
    """The matchers of a one-click snooze of this alert: its camera, its rule, or its camera
    and object type. ValidationError for an unknown scope or a value the alert lacks."""
    fields = SNOOZE_SCOPES.get(scope)
    if fields is None:
        raise ValidationError({"scope": "must be one of " + ", ".join(SNOOZE_SCOPES)})
    matchers = []
    for name in fields:
        value = getattr(alert, name)
        if not value:
            raise ValidationError({"scope": f"the alert has no {name} to snooze"})
        matchers.append({"field": name, "op": "=", "value": value})
    return matchers


def snooze(alert: Alert, scope: str, minutes: int, actor: str) -> Silence:
    """A silence from now for `minutes`, pre-filled from the alert."""
    if minutes not in SNOOZE_MINUTES:
        raise ValidationError({"minutes": "must be one of "
                                          + ", ".join(str(m) for m in SNOOZE_MINUTES)})
    return snooze_for(alert, scope, minutes, actor)


def snooze_for(alert: Alert, scope: str, minutes: int, actor: str, *,
               commit: bool = True) -> Silence:
    """A silence from now for any number of `minutes`, pre-filled from the alert (the page's
    snooze offers SNOOZE_MINUTES; a notification's action link has its own durations).

    An active silence with the very same matchers (the alert's email and its escalation's
    both snoozed, or two people at once) is that silence, its end moved to the later of the
    two, not a second one beside it."""
    payload = {"matchers": snooze_matchers(alert, scope), "duration": minutes * 60,
               "comment": f"Snoozed from alert #{alert.id} ({SNOOZE_LABELS[scope]})"}
    now = utcnow()
    matchers = parse_silence(payload)["matchers"]
    same = [row for row in db.session.scalars(
                select(Silence).where(_state_filter("active", now))
                .order_by(Silence.ends_at.desc()))
            if list(row.matchers or []) == matchers]
    if not same:
        return create_silence(payload, actor, now=now, commit=commit)
    row, end = same[0], _later(now, minutes * 60)
    if row.ends_at < end:
        _move_end(row, end, actor, snoozed_from_alert=alert.id)
    finish(commit)
    return row
