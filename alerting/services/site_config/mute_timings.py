"""The `mute_timings` section: named recurring quiet times, known by their name.

An entry is the body of POST /api/mute-timings. It comes before `rules` in the file, so a
rule may name a mute timing the same file creates; a rule naming one that is neither stored
nor in the file is refused before anything changes. With prune, a mute timing the file does
not list is deleted after the rules are changed (a rule or channel still naming it refuses).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ...engine.errors import ValidationError
from ...errors import ApiError
from ...extensions import db
from ...models import MuteTiming
from ...schemas.silences import MuteTimingCreate
from .. import mute_timings as service
from .base import Change, FieldChange, Section, named
from .notification_settings import channel_mutes

FIELDS = ("intervals", "timezone", "date_ranges")


def _stored() -> dict[str, dict[str, Any]]:
    rows = db.session.scalars(select(MuteTiming).order_by(MuteTiming.name))
    return {row.name: service.mute_timing_record(row) for row in rows}


def _values(body: MuteTimingCreate) -> dict[str, Any]:
    values = body.model_dump(mode="json")
    if not values.get("date_ranges"):
        values["date_ranges"] = None
    return values


def unknown_names(names: Any, known: set[str], field: str) -> dict[str, str]:
    """`field.i` -> message for each of `names` not in `known`."""
    return {f"{field}.{i}": f"unknown mute timing {name!r}: neither stored nor in the "
                            "file's mute_timings"
            for i, name in enumerate(names or ()) if name not in known}


class MuteTimingsSection(Section):
    """Mute timings, a list of mute timing bodies."""

    key = "mute_timings"
    model = list[MuteTimingCreate]

    def export(self) -> list[dict[str, Any]]:
        out = []
        for name, record in _stored().items():
            entry: dict[str, Any] = {"name": name, "intervals": record["intervals"]}
            for field in ("timezone", "date_ranges"):
                if record[field]:
                    entry[field] = record[field]
            out.append(entry)
        return out

    def diff(self, desired: list[MuteTimingCreate], path: str) -> list[Change]:
        stored = _stored()
        changes: list[Change] = []
        for where, body in named(desired, path):
            values = _values(body)
            before = stored.get(body.name)
            if before is None:
                fields = [FieldChange(f, None, values[f]) for f in FIELDS if values[f]]
                changes.append(Change(self.key, "create", body.name, fields, values, None,
                                      where))
                continue
            fields = [FieldChange(f, before[f], values[f]) for f in FIELDS
                      if before[f] != values[f]]
            if fields:
                changes.append(Change(self.key, "update", body.name, fields, values,
                                      body.name, where))
        changes.extend(Change(self.key, "delete", name, [], None, name, path)
                       for name in stored if name not in {body.name for body in desired})
        return changes

    def check(self, document: Any, changes: list[Change], prune: bool) -> None:
        known = set(_stored())
        desired = getattr(document, self.key)
        if desired is not None:
            known |= {body.name for body in desired}
            known -= {c.name for c in changes if c.section == self.key and c.action == "delete"}
        bad: dict[str, str] = {}
        for i, rule in enumerate(getattr(document, "rules", None) or ()):
            bad.update(unknown_names(rule.mute_timings, known, f"rules.{i}.mute_timings"))
        settings = getattr(document, "notification_settings", None)
        channels = settings.channel_mute_timings if settings is not None else None
        named_by = channel_mutes(channels.model_dump()) if channels is not None else None
        for channel, names in (named_by or {}).items():
            bad.update(unknown_names(names, known, "notification_settings."
                                                   f"channel_mute_timings.{channel}"))
        if bad:
            raise ValidationError(bad)

    def apply(self, change: Change, actor: str) -> None:
        try:
            if change.action == "create":
                service.create_mute_timing(change.desired, actor, commit=False)
            elif change.action == "update":
                service.update_mute_timing(change.target, {f.field: change.desired[f.field]
                                                           for f in change.fields},
                                           actor, commit=False)
            elif change.action == "delete":
                service.delete_mute_timing(change.target, actor, commit=False)
        except ApiError as exc:  # in use (a 409): named where the file meant it
            detail = "; ".join(f"{k}: {v}" for k, v in (exc.fields or {}).items() if v)
            raise ValidationError({change.name or "": exc.message + (
                f" ({detail})" if detail else "")}) from None
