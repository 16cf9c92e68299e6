"""Mute timings: named recurring quiet times, named by rules and by channels.

Outputs are plain dicts (`mute_timing_dict`) and the engine's MuteTiming, so the API, the
pages, an export and a backtest read them the same way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..engine.errors import ValidationError
from ..engine.silences import MuteTiming as EngineMuteTiming
from ..engine.silences import mute_timing_from_record
from ..engine.timeparse import isoformat_z
from ..errors import ApiError
from ..extensions import db
from ..models import AlertRule, MuteTiming, NotificationSettings
from ..schemas.silences import parse_mute_timing
from ..storage import finish
from . import audit


def mute_timing_record(row: MuteTiming) -> dict[str, Any]:
    """The stored fields as a plain dict (what engine.silences.mute_timing_from_record takes)."""
    return {"name": row.name, "intervals": list(row.intervals or []),
            "timezone": row.timezone, "date_ranges": row.date_ranges}


def mute_timing_dict(row: MuteTiming, usage: dict[str, tuple[list[str], list[str]]] | None = None
                     ) -> dict[str, Any]:
    """The API's mute timing: its fields, and the rules and channels that name it."""
    rules, channels = (usage or _usage()).get(row.name, ([], []))
    return {**mute_timing_record(row), "rules": rules, "channels": channels,
            "created_at": isoformat_z(row.created_at), "updated_at": isoformat_z(row.updated_at)}


def _usage() -> dict[str, tuple[list[str], list[str]]]:
    """name -> (ids of rules naming it, channels naming it)."""
    usage: dict[str, tuple[list[str], list[str]]] = {}
    named = select(AlertRule.id, AlertRule.mute_timings).where(
        AlertRule.mute_timings.is_not(None))  # (a JSON null still comes: `or ()` below)
    for rule_id, names in db.session.execute(named):
        for name in names or ():
            usage.setdefault(name, ([], []))[0].append(rule_id)
    settings = db.session.scalar(select(NotificationSettings.channel_mute_timings))
    for channel, names in (settings or {}).items():
        for name in names or ():
            usage.setdefault(name, ([], []))[1].append(channel)
    return usage


def list_mute_timings() -> list[dict[str, Any]]:
    """Every mute timing, by name."""
    usage = _usage()
    return [mute_timing_dict(row, usage)
            for row in db.session.scalars(select(MuteTiming).order_by(MuteTiming.name))]


def get_mute_timing(name: str) -> MuteTiming:
    row = db.session.get(MuteTiming, name) if isinstance(name, str) and len(name) <= 100 else None
    if row is None:
        raise ApiError(404, "not_found", f"Mute timing {name!r} not found")
    return row


def engine_mute_timings() -> dict[str, EngineMuteTiming]:
    """Every mute timing as the engine takes it, by name."""
    return {row.name: mute_timing_from_record(mute_timing_record(row))
            for row in db.session.scalars(select(MuteTiming))}


def check_names(names: list[str] | None, field: str) -> None:
    """A 422 at `field.i` for each name that is not a mute timing."""
    if not names:
        return
    known = set(db.session.scalars(select(MuteTiming.name).where(MuteTiming.name.in_(names))))
    bad = {f"{field}.{i}": f"unknown mute timing {name!r}"
           for i, name in enumerate(names) if name not in known}
    if bad:
        raise ValidationError(bad)


def create_mute_timing(payload: Any, actor: str, *, commit: bool = True) -> MuteTiming:
    """Store a new mute timing; a name already taken is a 409."""
    values = parse_mute_timing(payload)
    if db.session.get(MuteTiming, values["name"]) is not None:
        raise ApiError(409, "conflict", f"Mute timing {values['name']!r} already exists")
    row = MuteTiming(**values)
    db.session.add(row)
    audit.record(actor, "mute_timing_create", "mute_timing", row.name, values,
                 changes=audit.diff({}, mute_timing_record(row)))
    finish(commit)
    return row


def update_mute_timing(name: str, payload: Any, actor: str, *, commit: bool = True
                       ) -> MuteTiming:
    """Change the fields sent (the name stays)."""
    row = get_mute_timing(name)
    values = parse_mute_timing(payload, partial=True)
    before = mute_timing_record(row)
    for key, value in values.items():
        setattr(row, key, value)
    audit.record(actor, "mute_timing_update", "mute_timing", row.name,
                 {"changed": sorted(values)},
                 changes=audit.diff(before, mute_timing_record(row)))
    finish(commit)
    return row


def delete_mute_timing(name: str, actor: str, *, commit: bool = True) -> None:
    """Delete a mute timing no rule or channel names (else a 409 saying which)."""
    row = get_mute_timing(name)
    rules, channels = _usage().get(row.name, ([], []))
    if rules or channels:
        raise ApiError(409, "conflict", f"Mute timing {name!r} is in use",
                       {"rules": ", ".join(rules), "channels": ", ".join(channels)})
    audit.record(actor, "mute_timing_delete", "mute_timing", row.name,
                 changes=audit.diff(mute_timing_record(row), {}))
    db.session.delete(row)
    finish(commit)

