"""The `silences` section: the silences that have not ended (active and pending ones).

Identity: a silence's `id`. The export writes it only when it is not the id the entry would
get without one; an entry without `id` gets an id made from its matchers and comment
(uuid5), so the same file gives the same silence on every apply and an entry's times can be
edited in place. (Should that id belong to a silence that has already ended, the next one
derived from it is used: ended silences are history and are never changed.) An explicit id
of an ended silence is refused.

Ended (expired) silences are history: the backtest and the alerts they silenced refer to
them, so they are neither exported nor changed nor pruned; an entry of the file that has
ended by the time it is applied is shown as kept and skipped. With prune, a silence still
active or pending that the file does not list is expired now (ended, kept as history),
not deleted.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from sqlalchemy import select

from ...engine.errors import ValidationError
from ...engine.silences import silence_from_record
from ...engine.timeparse import isoformat_z
from ...extensions import db
from ...models import Silence, utcnow
from ...schemas.common import refuse
from ...schemas.silences import SilenceCreate
from .. import silences as service
from .base import Change, FieldChange, Section

SILENCE_ID_NAMESPACE = uuid.UUID("0b6f7a8e-3d1c-4e55-9f2a-6c4d8e1b2a37")
FIELDS = ("matchers", "starts_at", "ends_at", "comment")


def _uuid(value: Any) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise refuse("must be a UUID") from None


class SilenceEntry(SilenceCreate):
    """A silence of the file: the body of POST /api/silences, and its `id` (optional: one
    is made from the matchers and comment)."""

    id: Annotated[str, BeforeValidator(_uuid),
                  WithJsonSchema({"type": "string", "format": "uuid"})] | None = None


def derived_id(matchers: list[dict[str, Any]], comment: str, turn: int = 0) -> str:
    """The id of an entry without one (the `turn`-th, when earlier ones have ended)."""
    key = json.dumps({"matchers": sorted((m["field"], m["op"], m["value"]) for m in matchers),
                      "comment": comment, "turn": turn}, sort_keys=True)
    return str(uuid.uuid5(SILENCE_ID_NAMESPACE, key))


def label(matchers: list[dict[str, Any]], comment: str) -> str:
    """How the diff names a silence: its comment, else its matchers."""
    return comment or " ".join(f"{m['field']}{m['op']}{m['value']}" for m in matchers) \
        or "(everything)"


def _times(row: Silence) -> tuple[datetime, datetime]:
    engine = silence_from_record(service.silence_record(row))
    return engine.starts_at, engine.ends_at


def _shown(row: Silence) -> dict[str, Any]:
    start, end = _times(row)
    return {"matchers": list(row.matchers or []), "starts_at": isoformat_z(start),
            "ends_at": isoformat_z(end), "comment": row.comment or ""}


class SilencesSection(Section):
    """Silences not ended yet, each the body of a silence create (with its id)."""

    key = "silences"
    model = list[SilenceEntry]

    def export(self) -> list[dict[str, Any]]:
        now = utcnow()
        rows = db.session.scalars(select(Silence).where(Silence.ends_at > now)
                                  .order_by(Silence.starts_at, Silence.id))
        out = []
        for row in rows:
            shown = _shown(row)
            entry: dict[str, Any] = {}
            if row.id != derived_id(shown["matchers"], shown["comment"]):
                entry["id"] = row.id
            entry["matchers"] = shown["matchers"]
            if not shown["matchers"]:
                entry["confirm_all"] = True
            entry.update(starts_at=shown["starts_at"], ends_at=shown["ends_at"])
            if shown["comment"]:
                entry["comment"] = shown["comment"]
            out.append(entry)
        return out

    def diff(self, desired: list[SilenceEntry], path: str) -> list[Change]:
        now = utcnow()
        rows = {row.id: row for row in db.session.scalars(select(Silence))}
        live = {i for i, row in rows.items() if _times(row)[1] > now}
        seen: dict[str, int] = {}
        changes: list[Change] = []
        for index, entry in enumerate(desired):
            where = f"{path}.{index}"
            values = entry.model_dump(mode="json")
            sid = self._identify(entry, values, rows, live, where)
            if sid in seen:
                raise ValidationError({f"{where}.id" if entry.id else f"{where}.matchers":
                                       f"is the same silence as {path}.{seen[sid]}"})
            seen[sid] = index
            row = rows.get(sid)
            before = _shown(row) if row is not None else None
            start = entry.starts_at or (_times(row)[0] if row is not None else now)
            end = entry.ends_at or (start + timedelta(seconds=entry.duration)
                                    if entry.duration else None)
            if end is None:
                raise ValidationError({f"{where}.ends_at": "is required (or give duration "
                                                           "in seconds)"})
            if end <= start:
                raise ValidationError({f"{where}.ends_at": "must be after starts_at"})
            if not entry.matchers and not entry.confirm_all:
                raise ValidationError({f"{where}.matchers": "a silence without matchers "
                                       "silences every alert; add confirm_all: true to mean it"})
            if end <= now:
                changes.append(Change(self.key, "keep", label(values["matchers"],
                                                              values["comment"]),
                                      [], None, None, where,
                                      note=f"ended {isoformat_z(end)}; skipped"))
                continue
            after = {"matchers": values["matchers"], "starts_at": isoformat_z(start),
                     "ends_at": isoformat_z(end), "comment": values["comment"]}
            payload = {**after, "confirm_all": entry.confirm_all}
            if before is None:
                changes.append(Change(self.key, "create", label(after["matchers"],
                                                                after["comment"]),
                                      [FieldChange(f, None, after[f]) for f in FIELDS
                                       if after[f]], payload, sid, where))
                continue
            fields = [FieldChange(f, before[f], after[f]) for f in FIELDS
                      if before[f] != after[f]]
            if fields:
                changes.append(Change(self.key, "update", label(after["matchers"],
                                                                after["comment"]),
                                      fields, payload, sid, where))
        changes.extend(Change(self.key, "delete", label(rows[sid].matchers or [],
                                                        rows[sid].comment or ""),
                              [], None, sid, path)
                       for sid in sorted(live, key=lambda i: _times(rows[i])) if sid not in seen)
        return changes

    @staticmethod
    def _identify(entry: SilenceEntry, values: dict[str, Any], rows: dict[str, Silence],
                  live: set[str], where: str) -> str:
        if entry.id is not None:
            if entry.id in rows and entry.id not in live:
                raise ValidationError({f"{where}.id": "is a silence that has ended; leave the "
                                                      "id out to make a new one"})
            return entry.id
        turn = 0
        while True:
            sid = derived_id(values["matchers"], values["comment"], turn)
            if sid not in rows or sid in live:
                return sid
            turn += 1

    def apply(self, change: Change, actor: str) -> None:
        if change.action == "create":
            service.create_silence(change.desired, actor, silence_id=change.target,
                                   commit=False)
        elif change.action == "update":
            changed = {f.field: change.desired[f.field] for f in change.fields}
            service.update_silence(change.target, {**changed,
                                                   "confirm_all": change.desired["confirm_all"]},
                                   actor, commit=False)
        elif change.action == "delete":
            service.expire_silence(change.target, actor, commit=False)
