"""Rules as code: the site's configuration exported to one YAML file, and a file applied
back, shown first as a diff, validated whole through the schema layer, then changed in one
transaction with an audit entry for each change.

The file is made of sections, one top-level key each (`rules`, `notification_settings`,
...). A section is a small class (see `Section`) registered in SECTIONS: it exports its
part, says how the file's part differs from what is stored, and applies that difference.
A section missing from a file is left as it is. Sections are registered at the end of
this module, in file order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...engine.errors import ValidationError
from ...extensions import db
from ...schemas.common import Body, validate
from ...schemas.site_config import FORMAT_VERSION, document_model
from .. import audit
from .base import REPLAY_DAYS, Change, FieldChange, Section
from .yaml_lines import ConfigFileError, References, dump, load, substitute

SECTIONS: dict[str, Section] = {}


def register(section: Section) -> Section:
    """Add a section (in file order) and rebuild the file's model."""
    SECTIONS[section.key] = section
    global SiteConfig
    SiteConfig = document_model({key: s.model for key, s in SECTIONS.items()})
    return section


SiteConfig: type[Body] = document_model({})


@dataclass
class Plan:
    """A validated file and what applying it would change."""

    changes: list[Change]
    source: str
    prune: bool

    @property
    def effective(self) -> list[Change]:
        """The changes applying makes (a stored object not in the file is a `delete` with
        prune, else a `keep`)."""
        return [c for c in self.changes if c.action != "keep"]


def export_document() -> dict[str, Any]:
    """The site configuration as the file holds it."""
    document: dict[str, Any] = {"version": FORMAT_VERSION}
    for key, section in SECTIONS.items():
        document[key] = section.export()
    return document


def export_yaml() -> str:
    return dump(export_document())


def read(text: str, source: str, environ: Mapping[str, str] | None = None, *,
         remote: bool = False) -> tuple[Any, dict[tuple[str, ...], int]]:
    """A YAML (or JSON) file as plain values with the line of each path. `remote`: sent
    over the API or the Config page (only the export's own references are read)."""
    return load(text, source, _references(environ, remote))


def read_parsed(data: Any, source: str, environ: Mapping[str, str] | None = None, *,
                remote: bool = False) -> Any:
    """A document already parsed (a JSON body) with its `${VAR}` references read, as
    `read` does for a YAML file."""
    return substitute(data, source, _references(environ, remote))


def _references(environ: Mapping[str, str] | None, remote: bool) -> References:
    """How the file's references are read; the export's own: path -> the variable."""
    kept = {(key, field): name for key, section in SECTIONS.items()
            for field, name in section.references.items()}
    return References(os.environ if environ is None else environ, kept, remote)


def plan(data: Any, *, source: str = "<config>", prune: bool = False,
         lines: Mapping[tuple[str, ...], int] | None = None) -> Plan:
    """Validate the whole file, then work out every change. Nothing is written. Raises
    ConfigFileError (ValidationError with file and line) when any part is invalid."""
    lines = lines or {}
    try:
        if isinstance(data, Mapping):
            data = {key: (SECTIONS[key].prepare(value, lines) if key in SECTIONS else value)
                    for key, value in data.items()}
        document = validate(SiteConfig, data)
        changes: list[Change] = []
        for key, section in SECTIONS.items():
            desired = getattr(document, key)
            if desired is not None:
                changes.extend(section.diff(desired, key))
        for change in changes:
            if change.action == "delete" and not prune:
                change.action = "keep"
        for section in SECTIONS.values():
            section.check(document, changes, prune)
    except ConfigFileError:
        raise
    except ValidationError as exc:
        raise ConfigFileError(exc.fields, lines, source) from None
    return Plan(changes, source, prune)


def apply(the_plan: Plan, actor: str, lines: Mapping[tuple[str, ...], int] | None = None
          ) -> list[Change]:
    """Make the plan's changes in one transaction, with their audit entries; on any error
    nothing is changed (ConfigFileError names where in the file)."""
    done = the_plan.effective
    for key, section in SECTIONS.items():
        mine = [c for c in done if c.section == key]
        if mine:
            section.begin(mine)
    try:
        _make(the_plan, done, actor, lines)
        if done:
            counts = {a: sum(1 for c in done if c.action == a)
                      for a in ("create", "update", "delete")}
            audit.record(actor, "config_apply", "site_config", None,
                         {"source": the_plan.source, **counts}, changes=_changes(done))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return done


def rehearse(the_plan: Plan, actor: str,
             lines: Mapping[tuple[str, ...], int] | None = None) -> None:
    """For a dry run: make the plan's changes as `apply` does, then roll them back, so that
    what only the services refuse (a webhook URL the outgoing policy refuses, a webhook
    timeout too long for the lease) is found before applying. Raises ConfigFileError."""
    try:
        _make(the_plan, the_plan.effective, actor, lines)
    finally:
        db.session.rollback()


def _make(the_plan: Plan, done: list[Change], actor: str,
          lines: Mapping[tuple[str, ...], int] | None) -> None:
    """Each change in the open transaction; a refusal as a ConfigFileError at its line."""
    for change in _in_apply_order(done):
        try:
            SECTIONS[change.section].apply(change, actor)
        except ValidationError as exc:
            prefix = change.path + "." if change.path else ""
            raise ConfigFileError({prefix + k: v for k, v in exc.fields.items()},
                                  lines or {}, the_plan.source) from None


def _in_apply_order(changes: list[Change]) -> list[Change]:
    """Creations and updates in file order (a mute timing or mode before the rules naming
    it), then deletions in reverse file order (rules before the mute timings they named)."""
    order = list(SECTIONS)
    kept = [c for c in changes if c.action != "delete"]
    deleted = [c for c in changes if c.action == "delete"]
    deleted.sort(key=lambda c: -order.index(c.section))  # stable: file order within one
    return kept + deleted


def _changes(done: list[Change]) -> dict[str, dict[str, Any]]:
    """The audit entry's before -> after, one key per object's field ("rules.Porch.severity";
    an object created or deleted without fields shows its action); secrets masked."""
    changes: dict[str, dict[str, Any]] = {}
    for change in done:
        where = ".".join(p for p in (change.section, change.name) if p)
        for field in change.fields:
            changes.update(audit.diff({f"{where}.{field.field}": field.before},
                                      {f"{where}.{field.field}": field.after},
                                      secret_fields=[f"{where}.{field.field}"]
                                      if field.secret else ()))
        if not change.fields:
            changes[where] = {"before": None if change.action == "create" else "exists",
                              "after": None if change.action == "delete" else change.action}
    return changes


def replays(the_plan: Plan) -> list[dict[str, Any]]:
    """For a dry run: what each section shows of its changes (rules: their replay)."""
    out = []
    for change in the_plan.changes:
        if change.action in ("create", "update"):
            shown = SECTIONS[change.section].replay(change)
            if shown is not None:
                out.append(shown)
    return out


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def render(the_plan: Plan, replayed: list[dict[str, Any]] | None = None) -> str:
    """The plan as text: per section, + create, ~ update, - delete, field by field."""
    lines: list[str] = []
    marks = {"create": "+", "update": "~", "delete": "-", "keep": "="}
    for key in SECTIONS:
        changes = [c for c in the_plan.changes if c.section == key]
        if not changes:
            continue
        lines.append(f"{key}:")
        for change in changes:
            label = f' "{change.name}"' if change.name else ""
            if change.action == "keep":
                note = change.note or "not in the file; --prune deletes it"
                lines.append(f"  = keep{label} ({note})")
                continue
            lines.append(f"  {marks[change.action]} {change.action}{label}")
            for f in change.fields:
                if f.secret:
                    lines.append(f"      {f.field}: (secret) changed")
                elif change.action == "create":
                    lines.append(f"      {f.field}: {_shown(f.after)}")
                elif change.action == "update":
                    lines.append(f"      {f.field}: {_shown(f.before)} -> {_shown(f.after)}")
    if not the_plan.effective:
        lines.append("No changes.")
    for shown in replayed or ():
        days = ", ".join(f"{d['date']}: {d['alerts']}" for d in shown["per_day"])
        quiet = "".join(f', {shown[k]} {k}' for k in ("silenced", "disarmed")
                        if shown.get(k))
        lines.append(f'replay "{shown["name"]}" over the last {REPLAY_DAYS} days: '
                     f'{shown["alerts"]} alerts{quiet} ({days})')
    return "\n".join(lines) + "\n"


__all__ = ["SECTIONS", "Change", "ConfigFileError", "FieldChange", "Plan", "Section",
           "SiteConfig", "apply", "export_document", "export_yaml", "plan", "read",
           "read_parsed", "register", "rehearse", "render", "replays"]

# The sections, in file order. A new section: a module with a Section subclass, added here.
from . import digests, modes, mute_timings, notification_settings, rules, silences  # noqa: E402

for _section in (mute_timings.MuteTimingsSection(), modes.ModesSection(),
                 modes.ModeScheduleSection(), rules.RulesSection(),
                 silences.SilencesSection(),
                 notification_settings.NotificationSettingsSection(),
                 digests.DigestsSection()):
    register(_section)
