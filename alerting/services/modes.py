"""Arming modes: the list, the current mode and its history, the weekly mode schedule, and the
mode at a time for the matcher. Shared by the API, the pages, the schedule worker and (to be
wired) an MQTT command topic `<prefix>/mode/set`, which calls set_current(name, actor, "mqtt").

The current mode is the one the latest recorded change set (by time, then id); before any
change it is `home`. Every change is a row of mode_changes, so the mode at any past time is
known (engine/modes.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..engine import modes as engine
from ..engine.errors import ValidationError
from ..engine.timeparse import isoformat_z
from ..extensions import db
from ..models import AlertRule, Counter, Mode, ModeChange, ModeSettings, utcnow
from ..schemas import responses as schemas
from ..schemas.common import validate
from ..schemas.modes import ModeList, ModeScheduleBody, ModeSet
from ..schemas.serialize import serializer
from ..storage import finish
from . import audit

SETTINGS_ROW = 1
COUNTER = "modes"  # bumped in every transaction that changes a mode, the list or the schedule
_COUNTERS = Counter.__table__
_CHANGES = ModeChange.__table__
_SETTINGS = ModeSettings.__table__
_VERSION = select(_COUNTERS.c.value).where(_COUNTERS.c.name == COUNTER)
# How far past the newest time asked about the schedule's changes are worked out at once.
DERIVE_AHEAD = timedelta(hours=1)


# --- seeding and small reads ------------------------------------------------------------------

def ensure_seeded() -> None:
    """The default modes, the settings row and the counter, when missing (bootstrap)."""
    try:
        if db.session.scalar(select(func.count()).select_from(Mode)) == 0:
            db.session.add_all(Mode(name=name, position=i)
                               for i, name in enumerate(engine.DEFAULT_MODES))
        if db.session.get(ModeSettings, SETTINGS_ROW) is None:
            db.session.add(ModeSettings(id=SETTINGS_ROW, schedule=None))
        if db.session.get(Counter, COUNTER) is None:
            db.session.add(Counter(name=COUNTER, value=1))
        db.session.commit()
    except IntegrityError:  # another process seeded them at the same moment
        db.session.rollback()


def _bump() -> None:
    connection = db.session.connection()
    bump = update(_COUNTERS).where(_COUNTERS.c.name == COUNTER).values(value=_COUNTERS.c.value + 1)
    if connection.execute(bump).rowcount == 0:
        connection.execute(insert(_COUNTERS).values(name=COUNTER, value=1))


def mode_names() -> list[str]:
    """The modes, in their order."""
    return list(db.session.scalars(select(Mode.name).order_by(Mode.position, Mode.name)))


def check_modes(names: list[str] | None, field: str = "modes") -> None:
    """422 naming `field.N` for each name that is not a mode."""
    if not names:
        return
    bad = {f"{field}.{i}": message for i, name in enumerate(names)
           for message in [_unknown(name)] if message}
    if bad:
        raise ValidationError(bad)


def _settings() -> ModeSettings:
    row = db.session.get(ModeSettings, SETTINGS_ROW)
    if row is None:
        ensure_seeded()
        row = db.session.get(ModeSettings, SETTINGS_ROW)
    return row


_LATEST_FIRST = (ModeChange.at.desc(), ModeChange.id.desc())
# The current mode's name (None before any change), without loading the change.
LATEST_MODE_NAME = select(ModeChange.mode).order_by(*_LATEST_FIRST).limit(1)


def latest_change() -> ModeChange | None:
    """The change that made the current mode, or None before any."""
    return db.session.scalars(select(ModeChange).order_by(*_LATEST_FIRST).limit(1)).first()


def current_mode() -> str:
    return mode_or_default(db.session.scalar(LATEST_MODE_NAME))


def mode_or_default(name: str | None) -> str:
    """The mode named by the latest change (LATEST_MODE_NAME), the default before any."""
    return name if name is not None else engine.DEFAULT_MODE


def current() -> dict[str, Any]:
    """The current mode, who or what set it and when, and the list of modes."""
    change = latest_change()
    return {
        "mode": change.mode if change else engine.DEFAULT_MODE,
        "since": change.at if change else None,
        "source": change.source if change else None,
        "changed_by": change.actor if change else None,
        "previous": change.previous if change else None,
        "modes": mode_names(),
    }


def current_json() -> dict[str, Any]:
    body = current()
    body["since"] = isoformat_z(body["since"]) if body["since"] else None
    return body


# --- changes ----------------------------------------------------------------------------------

def source_of(actor: str) -> str:
    """The history's source for an audit actor label ("key:frigate" -> key, else user)."""
    return "key" if actor.startswith("key:") else "user"


def set_current(name: str, actor: str, source: str | None = None) -> ModeChange | None:
    """Make `name` the current mode, now; recorded with who (`actor`) and what (`source`:
    user, key, schedule, mqtt; default from the actor). None when it already is current.
    An unknown mode is a ValidationError naming `mode`."""
    source = source or source_of(actor)
    if source not in engine.SOURCES:
        raise ValueError(f"unknown source {source!r}; one of {', '.join(engine.SOURCES)}")
    name = validate(ModeSet, {"mode": name}).mode
    message = _unknown(name)
    if message:
        raise ValidationError({"mode": message})
    previous = current_mode()
    if previous == name:
        db.session.rollback()
        return None
    change = ModeChange(at=utcnow(), mode=name, previous=previous, source=source, actor=actor)
    db.session.add(change)
    _bump()
    db.session.flush()
    audit.record(actor, "mode_set", "mode", change.id,
                 {"mode": name, "previous": previous, "source": change.source},
                 changes=audit.diff({"mode": previous}, {"mode": name}))
    db.session.commit()
    return change


def history(limit: int = 50, offset: int = 0) -> tuple[list[ModeChange], int]:
    """A page of the changes, newest first, and how many there are."""
    total = db.session.scalar(select(func.count()).select_from(ModeChange)) or 0
    rows = db.session.scalars(select(ModeChange).order_by(
        ModeChange.at.desc(), ModeChange.id.desc()).limit(limit).offset(offset))
    return list(rows), total


change_json = serializer(schemas.ModeChange)


# --- the list of modes ------------------------------------------------------------------------

def set_modes(payload: Any, actor: str, *, commit: bool = True) -> list[str]:
    """Replace the list of modes (their order too). The current mode, and every mode a rule
    or the schedule names, must stay: 422 naming `modes` otherwise."""
    names = validate(ModeList, payload).modes
    before = mode_names()
    removed = [name for name in before if name not in names]
    if removed:
        _check_unused(removed)
    for row in db.session.scalars(select(Mode)):
        if row.name in removed:
            db.session.delete(row)
    existing = {row.name: row for row in db.session.scalars(select(Mode))}
    for i, name in enumerate(names):
        row = existing.get(name)
        if row is None:
            db.session.add(Mode(name=name, position=i))
        else:
            row.position = i
    _bump()
    audit.record(actor, "modes_update", "mode", None, {"modes": names, "removed": removed},
                 changes=audit.diff({"modes": before}, {"modes": names}))
    finish(commit)
    return mode_names()


def _check_unused(removed: list[str]) -> None:
    current_name = current_mode()
    if current_name in removed:
        raise ValidationError({"modes": f"must keep the current mode {current_name!r}"})
    schedule = _settings().schedule or {}
    for window in schedule.get("windows") or ():
        if window["mode"] in removed:
            raise ValidationError({"modes": f"must keep {window['mode']!r}: the mode "
                                            "schedule uses it"})
    for rule in db.session.scalars(select(AlertRule).where(AlertRule.modes.is_not(None))):
        used = [name for name in rule.modes or () if name in removed]
        if used:
            raise ValidationError({"modes": f"must keep {used[0]!r}: rule {rule.name!r} "
                                            "uses it"})


# --- the schedule -----------------------------------------------------------------------------

def schedule_json() -> dict[str, Any]:
    """The stored schedule (timezone defaulted) and the time it is applied through."""
    row = _settings()
    stored = row.schedule or {}
    return {
        "timezone": stored.get("timezone") or current_app.config["TIMEZONE"],
        "windows": list(stored.get("windows") or ()),
        "applied_through": isoformat_z(row.applied_through) if row.applied_through else None,
    }


def set_schedule(payload: Any, actor: str, *, commit: bool = True) -> dict[str, Any]:
    """Replace the mode schedule. The old one's changes are recorded up to now first; the
    new one acts from now on (it does not rewrite the past). `commit=False` (inside a
    caller's transaction): the caller has called apply_schedule() before it began."""
    body = validate(ModeScheduleBody, payload)
    bad = {f"windows.{i}.mode": message for i, w in enumerate(body.windows)
           for message in [_unknown(w.mode)] if message}
    if bad:
        raise ValidationError(bad)
    if commit:
        apply_schedule()
    row = _settings()
    before = dict(row.schedule or {})
    stored = {"timezone": body.timezone or current_app.config["TIMEZONE"],
              "windows": [w.model_dump() for w in body.windows]}
    row.schedule = stored
    row.applied_through = utcnow()
    _bump()
    audit.record(actor, "mode_schedule_update", "mode_schedule", SETTINGS_ROW, stored,
                 changes=audit.diff(before, stored, fields=("timezone", "windows")))
    finish(commit)
    return schedule_json()



def _unknown(name: str) -> str | None:
    names = mode_names()
    return None if name in names else f"unknown mode {name!r}; modes are {', '.join(names)}"


def _timeline_since(since: datetime, default: str = engine.DEFAULT_MODE) -> engine.ModeTimeline:
    """The recorded changes from `since` on, with the last one before it (what was current)."""
    rows = list(db.session.scalars(select(ModeChange).where(ModeChange.at >= since)
                                   .order_by(ModeChange.at, ModeChange.id)))
    before = db.session.scalars(select(ModeChange).where(ModeChange.at < since).order_by(
        ModeChange.at.desc(), ModeChange.id.desc()).limit(1)).first()
    return engine.ModeTimeline((_engine_change(r) for r in ([before] if before else []) + rows),
                               default)


def _engine_change(row: ModeChange) -> engine.ModeChange:
    return engine.ModeChange(row.at, row.mode, row.previous, row.source, row.actor)


def apply_schedule(now: datetime | None = None) -> list[ModeChange]:
    """Record the schedule's changes due since it was last applied, each at its scheduled
    time (so after downtime the missed ones are caught up), and move `applied_through` to
    now. Commits; on PostgreSQL the settings row is locked meanwhile, so two workers do
    not both record them (and scheduled_key is unique besides)."""
    now = now or utcnow()
    row = db.session.scalars(select(ModeSettings).where(ModeSettings.id == SETTINGS_ROW)
                             .with_for_update()).first()
    if row is None:
        ensure_seeded()
        return []
    if row.applied_through is None or row.applied_through >= now:
        if row.applied_through is None:  # the first start: nothing before it to catch up
            row.applied_through = now
        db.session.commit()
        return []
    schedule = engine.schedule_from_record(row.schedule)
    made: list[ModeChange] = []
    if schedule.windows:
        timeline = _timeline_since(row.applied_through - engine.LOOKBACK)
        for change in engine.scheduled_changes(timeline, schedule, row.applied_through, now):
            entry = ModeChange(at=change.at, mode=change.mode, previous=change.previous,
                               source="schedule", actor=change.actor,
                               scheduled_key=isoformat_z(change.at))
            db.session.add(entry)
            made.append(entry)
    row.applied_through = now
    try:
        if made:
            _bump()
            db.session.flush()
            for entry in made:
                audit.record("schedule", "mode_set", "mode", entry.id,
                             {"mode": entry.mode, "previous": entry.previous,
                              "source": "schedule", "at": isoformat_z(entry.at)},
                             changes=audit.diff({"mode": entry.previous},
                                                {"mode": entry.mode}))
        db.session.commit()
    except IntegrityError:  # another worker (SQLite: no row lock) recorded them first
        db.session.rollback()
        return []
    return made


# --- the mode at a time, for the matcher and the rule tester ---------------------------------

class ModeClock:
    """The history and schedule as last read, answering the mode at a time. Times after
    `applied_through` get the schedule's changes worked out here, the same ones the worker
    will record."""

    def __init__(self, changes: list[engine.ModeChange], schedule: engine.ModeSchedule,
                 applied_through: datetime | None, version: Any = None) -> None:
        self.version = version
        self.recorded = engine.ModeTimeline(changes)
        self.schedule = schedule
        self.applied_through = applied_through
        self._ahead: engine.ModeTimeline | None = None
        self._ahead_until: datetime | None = None
        self._lock = threading.Lock()

    def mode_at(self, when: datetime) -> str:
        """The arming mode at `when`."""
        start = self.applied_through
        if start is None or not self.schedule.windows or when <= start:
            return self.recorded.mode_at(when)
        ahead, until = self._ahead, self._ahead_until
        now = utcnow()
        # A far-future time (a detector's skewed clock) is read at most a day past now.
        probe = min(when, now + timedelta(days=1))
        if ahead is None or until is None or probe > until:
            until = max(probe, now) + DERIVE_AHEAD
            extra = engine.scheduled_changes(self.recorded, self.schedule, start, until)
            ahead = engine.ModeTimeline([*self.recorded.changes, *extra])
            with self._lock:
                self._ahead, self._ahead_until = ahead, until
        return ahead.mode_at(when)


def load_clock(conn: Connection, version: Any = None) -> ModeClock:
    """A ModeClock from the database, through `conn`."""
    changes = [engine.ModeChange(r.at, r.mode, r.previous, r.source, r.actor)
               for r in conn.execute(select(_CHANGES).order_by(_CHANGES.c.at, _CHANGES.c.id))]
    settings = conn.execute(select(_SETTINGS).where(_SETTINGS.c.id == SETTINGS_ROW)).first()
    schedule = engine.schedule_from_record(settings.schedule if settings else None)
    return ModeClock(changes, schedule, settings.applied_through if settings else None, version)


def mode_clock(conn: Connection) -> Callable[[datetime], str]:
    """The mode at a time, from this process's cached clock, read again when the modes'
    counter moved (one small query)."""
    version = conn.execute(_VERSION).scalar()
    extensions = current_app.extensions
    clock = extensions.get("alerting.mode_clock")
    if clock is None or clock.version != version or version is None:
        clock = extensions["alerting.mode_clock"] = load_clock(conn, version)
    return clock.mode_at
