"""The `rules` section: alert rules by name.

A rule is known by its name, in the file and in the database (the names must be unique
there); a rule the file creates gets an id made from its name (uuid5), so the same file
gives the same ids on every instance. The file lists a rule's fields that differ from a new
rule's defaults; a field left out is set to its default. Rules made through the
VideoDB-compatible API (origin "videodb") belong to it and are neither exported nor pruned.
Targets are written as the API shows them: a URL given back with its `***` keeps the stored
secret; for another instance write `${VAR}` instead.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from ...engine.errors import ValidationError
from ...extensions import db
from ...models import AlertRule
from ...schemas.rules import RULE_FIELDS, RuleCreate, parse_rule
from .. import backtest, rules
from ..notification_targets import shown_targets
from .base import Change, FieldChange, Section, named, replay_window
from .yaml_lines import escape_all

# uuid5 namespace of the ids of rules created from a file (any fixed UUID would do).
RULE_ID_NAMESPACE = uuid.UUID("6f1c3c52-7d4e-4b8e-9a43-2f7c1d0e5a11")
_DEFAULTS = parse_rule({"name": "-", "severity": "low"})


def stable_id(name: str) -> str:
    """The id a rule created from a file gets: the same for the same name everywhere."""
    return str(uuid.uuid5(RULE_ID_NAMESPACE, name))


def managed_rules() -> list[AlertRule]:
    """The rules a file manages: all but those of another API (by name)."""
    return list(db.session.scalars(
        select(AlertRule).where(AlertRule.origin.is_(None)).order_by(AlertRule.name,
                                                                       AlertRule.id)))


def _by_name(rows: list[AlertRule]) -> dict[str, AlertRule]:
    found: dict[str, AlertRule] = {}
    twice = []
    for row in rows:
        if row.name in found:
            twice.append(row.name)
        found[row.name] = row
    if twice:
        raise ValidationError({"rules": "rule names must be unique to be managed as code; "
                                        "rename: " + ", ".join(sorted(set(twice)))})
    return found


def _shown(field: str, value: Any) -> Any:
    """A field's value as the diff and the audit show it: targets redacted, as stored ones
    are shown (the value applied stays whole)."""
    return shown_targets(value) if field in rules.SEALED else value


def stored_values(row: AlertRule) -> dict[str, Any]:
    """A stored rule's writable fields (targets as shown)."""
    return {name: getattr(row, name) for name in RULE_FIELDS}


class RulesSection(Section):
    """Alert rules, a list of rule bodies (those of POST /api/alerts/rules)."""

    key = "rules"
    model = list[RuleCreate]

    def export(self) -> list[dict[str, Any]]:
        out = []
        for name, row in _by_name(managed_rules()).items():
            values = stored_values(row)
            entry = {"name": name, "severity": values["severity"]}
            for field in RULE_FIELDS:
                if field not in entry and values[field] != _DEFAULTS[field]:
                    entry[field] = values[field]
            out.append(escape_all(entry))
        return out

    def diff(self, desired: list[RuleCreate], path: str) -> list[Change]:
        stored = _by_name(managed_rules())
        changes: list[Change] = []
        for where, body in named(desired, path):
            values = body.values()
            row = stored.get(body.name)
            if row is None:
                fields = [FieldChange(f, None, _shown(f, values[f])) for f in RULE_FIELDS
                          if f in ("name", "severity") or values[f] != _DEFAULTS[f]]
                changes.append(Change(self.key, "create", body.name, fields, values, None,
                                      where))
                continue
            before = stored_values(row)
            fields = [FieldChange(f, before[f], _shown(f, values[f])) for f in RULE_FIELDS
                      if before[f] != values[f]]
            if fields:
                changes.append(Change(self.key, "update", body.name, fields, values, row.id,
                                      where))
        listed = {body.name for body in desired}
        for name, row in stored.items():
            if name not in listed:
                changes.append(Change(self.key, "delete", name, [], None, row.id, path))
        return changes

    def apply(self, change: Change, actor: str) -> None:
        if change.action == "create":
            rule_id = stable_id(change.name or "")
            if db.session.get(AlertRule, rule_id) is not None:  # a renamed rule kept it
                rule_id = None
            rules.create_rule(change.desired, actor, rule_id=rule_id, commit=False)
        elif change.action == "update":
            rules.update_rule(change.target, {f.field: change.desired[f.field]
                                              for f in change.fields}, actor, commit=False)
        elif change.action == "delete":
            rules.delete_rule(change.target, actor, commit=False)
        db.session.flush()

    def replay(self, change: Change) -> dict[str, Any]:
        since, until = replay_window()
        rule = backtest.draft_rule(change.desired, change.target or stable_id(change.name))
        result = backtest.run(rule, since, until, limit=0, rule_id=change.target,
                              mute_timings=change.desired.get("mute_timings"))
        return {"section": self.key, "name": change.name, "alerts": result["alerts"],
                "silenced": result["silenced"], "disarmed": result["disarmed"],
                "per_day": result["per_day"]}

