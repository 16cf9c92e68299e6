"""The `modes` and `mode_schedule` sections: the arming modes (a list of names, in the order
shown) and the weekly mode schedule.

A mode is known by its name. Both sections come before `rules`, so a rule may name a mode
the same file adds; a rule or schedule window naming a mode neither stored nor in the file
is refused before anything changes. New modes are added (and the order set) before the
rules change; with prune, a mode the file does not list is removed after them (the current
mode, and a mode a rule or the schedule still names, refuse). The current mode and its
history are not configuration: they are not in the file.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from ...engine.errors import ValidationError
from ...schemas.common import item_list
from ...schemas.modes import ModeScheduleBody
from ...schemas.rules import MAX_MODES, ModeName
from .. import modes as service
from .base import Change, FieldChange, Section

ModeNames = item_list(ModeName, max_items=MAX_MODES, min_items=1, what="a list of mode names",
                      unique=lambda x: x)


class ModesSection(Section):
    """The arming modes, in their order."""

    key = "modes"
    model = ModeNames

    def export(self) -> list[str]:
        return service.mode_names()

    def diff(self, desired: list[str], path: str) -> list[Change]:
        stored = service.mode_names()
        changes = [Change(self.key, "create", name, [FieldChange("position", None, i)],
                          desired, None, f"{path}.{i}")
                   for i, name in enumerate(desired) if name not in stored]
        common_before = [n for n in stored if n in desired]
        common_after = [n for n in desired if n in stored]
        if common_before != common_after:
            changes.append(Change(self.key, "update", None,
                                  [FieldChange("order", common_before, common_after)],
                                  desired, None, path))
        changes.extend(Change(self.key, "delete", name, [], desired, name, path)
                       for name in stored if name not in desired)
        return changes

    def check(self, document: Any, changes: list[Change], prune: bool) -> None:
        known = set(service.mode_names())
        desired = getattr(document, self.key)
        if desired is not None:
            known |= set(desired)
            known -= {c.name for c in changes if c.section == self.key and c.action == "delete"}
        bad: dict[str, str] = {}
        for i, rule in enumerate(getattr(document, "rules", None) or ()):
            bad.update({f"rules.{i}.modes.{j}": _unknown(name)
                        for j, name in enumerate(rule.modes or ()) if name not in known})
        schedule = getattr(document, "mode_schedule", None)
        for i, window in enumerate(schedule.windows if schedule is not None else ()):
            if window.mode not in known:
                bad[f"mode_schedule.windows.{i}.mode"] = _unknown(window.mode)
        if bad:
            raise ValidationError(bad)

    def apply(self, change: Change, actor: str) -> None:
        names = service.mode_names()
        if change.action == "delete":
            target = [n for n in names if n != change.name]
        else:  # the file's list, the stored ones it does not list kept at the end
            target = list(change.desired) + [n for n in names if n not in change.desired]
        if target == names:
            return  # an earlier change of this file already made it so
        try:
            service.set_modes({"modes": target}, actor, commit=False)
        except ValidationError as exc:
            raise ValidationError({change.name or "": "; ".join(exc.fields.values())}) from None


def _unknown(name: str) -> str:
    return f"unknown mode {name!r}: neither stored nor in the file's modes"


def _stored_schedule() -> dict[str, Any]:
    stored = service.schedule_json()
    return {"timezone": stored["timezone"], "windows": stored["windows"]}


class ModeScheduleSection(Section):
    """The weekly mode schedule: one object, the body of PUT /api/mode/schedule."""

    key = "mode_schedule"
    model = ModeScheduleBody

    def export(self) -> dict[str, Any]:
        return _stored_schedule()

    def diff(self, desired: ModeScheduleBody, path: str) -> list[Change]:
        values = desired.model_dump(mode="json")
        values["timezone"] = values["timezone"] or current_app.config["TIMEZONE"]
        before = _stored_schedule()
        fields = [FieldChange(f, before[f], values[f]) for f in ("timezone", "windows")
                  if before[f] != values[f]]
        return [Change(self.key, "update", None, fields, values, None, path)] if fields else []

    def begin(self, changes: list[Change]) -> None:
        # The old schedule's changes up to now are recorded first (it commits on its own).
        service.apply_schedule()

    def apply(self, change: Change, actor: str) -> None:
        service.set_schedule(change.desired, actor, commit=False)
