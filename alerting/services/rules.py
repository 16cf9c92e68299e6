"""Alert rules: the use cases behind both the JSON API and the rule pages."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from sqlalchemy import func, select

from ..errors import ApiError
from ..extensions import db
from ..models import AlertRule
from ..schemas import responses as schemas
from ..schemas.rules import MAX_NAME, RULE_FIELDS, parse_rule
from ..schemas.serialize import serializer
from . import audit
from .modes import check_modes
from .mute_timings import check_names
from .notification_targets import seal_targets

# Sealed targets hold the clear URLs (secrets): the audit log says only that they changed.
SECRET_FIELDS = ("targets_sealed", "escalation_targets_sealed")
# Each field of targets with the column holding its sealed URLs.
SEALED = {"targets": "targets_sealed", "escalation_targets": "escalation_targets_sealed"}

# The 17 fields of the API's AlertRuleResponse, in its order; `targets` is our extension.
RESPONSE_FIELDS = (
    "id", "name", "description", "enabled", "severity", "risk_threshold", "object_types",
    "camera_ids", "zone_ids", "min_confidence", "schedule", "conditions", "dedup_key_template",
    "cooldown_seconds", "channels", "created_at", "updated_at",
)  # then our extensions: `targets`, `mute_timings`, `modes` (arming modes)

rule_json = serializer(schemas.Rule)


def rule_record(rule: AlertRule) -> dict[str, Any]:
    """The stored fields as a plain dict (what engine.types.rule_from_record takes). A
    camera_offline rule is never matched against events (services/cameras.py runs it), so
    the engine sees it disabled."""
    record = {"id": rule.id, **{name: getattr(rule, name) for name in RULE_FIELDS}}
    if record["kind"] == "camera_offline":
        record["enabled"] = False
    return record


def get_rule(rule_id: str) -> AlertRule:
    """The rule, or a 404 (also for an id that is not a UUID at all)."""
    try:
        uuid.UUID(rule_id)
    except (ValueError, AttributeError, TypeError):
        raise ApiError(404, "not_found", f"Alert rule {rule_id!r} not found") from None
    rule = db.session.get(AlertRule, rule_id)
    if rule is None:
        raise ApiError(404, "not_found", f"Alert rule {rule_id!r} not found")
    return rule


def list_rules(*, enabled: bool | None = None, severity: str | None = None, q: str | None = None,
               limit: int = 50, offset: int = 0) -> tuple[list[AlertRule], int]:
    """A page of rules (newest first) and the total count matching the filters."""
    query = select(AlertRule)
    if enabled is not None:
        query = query.where(AlertRule.enabled.is_(enabled))
    if severity:
        query = query.where(AlertRule.severity == severity)
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(func.lower(AlertRule.name).like(pattern)
                            | func.lower(func.coalesce(AlertRule.description, "")).like(pattern))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(AlertRule.created_at.desc(), AlertRule.id).limit(limit).offset(offset)
    )
    return list(rows), total or 0


def create_rule(payload: Any, actor: str, *, rule_id: str | None = None,
                commit: bool = True) -> AlertRule:
    """Validate and store a new rule (422 on bad input). `rule_id`: this id rather than a
    random one; `commit=False`: left to the caller's transaction (rules as code)."""
    values = parse_rule(payload)
    check_names(values["mute_timings"], "mute_timings")
    check_modes(values["modes"])
    sealed = {}
    for name, column in SEALED.items():
        values[name], sealed[column] = seal_targets(values[name], field=name)
    rule = AlertRule(**values, **sealed)
    if rule_id is not None:
        rule.id = rule_id
    db.session.add(rule)
    db.session.flush()
    record_created(rule, actor)
    if commit:
        db.session.commit()
    return rule


def duplicate_rule(rule_id: str, actor: str) -> AlertRule:
    """A copy of a rule under the name "<name> (copy)", disabled so that it does not fire
    twice until it is changed; its targets (secrets included) are copied as stored."""
    source = get_rule(rule_id)
    values = {name: copy.deepcopy(getattr(source, name)) for name in RULE_FIELDS}
    values["name"] = f"{source.name} (copy)"[:MAX_NAME]
    values["enabled"] = False
    rule = AlertRule(**values, targets_sealed=source.targets_sealed)
    db.session.add(rule)
    db.session.flush()
    record_created(rule, actor, duplicate_of=source.id)
    db.session.commit()
    return rule


def record_created(rule: AlertRule, actor: str, **details: Any) -> None:
    """The audit entry of a new rule (flushed, so it has its id): every field as after."""
    audit.record(actor, "rule_create", "alert_rule", rule.id, {"name": rule.name, **details},
                 changes=audit.diff({}, _audited(rule), secret_fields=SECRET_FIELDS))


def _audited(rule: AlertRule) -> dict[str, Any]:
    """The rule's stored fields as the audit log compares them."""
    return {**{name: getattr(rule, name) for name in RULE_FIELDS},
            **{column: getattr(rule, column) for column in SEALED.values()}}


def update_rule(rule_id: str, payload: Any, actor: str, *, commit: bool = True) -> AlertRule:
    """Apply a partial update (only the fields given); `commit=False` as in create_rule."""
    rule = get_rule(rule_id)
    values = parse_rule(payload, partial=True)
    check_names(values.get("mute_timings"), "mute_timings")
    check_modes(values.get("modes"))
    before = _audited(rule)
    changed = {}
    for name, column in SEALED.items():
        if name not in values:
            continue
        # A URL given back as shown keeps its stored secret; a new secret is a change.
        values[name], sealed = seal_targets(values[name], getattr(rule, name),
                                            getattr(rule, column), field=name)
        if sealed != getattr(rule, column):
            changed[name] = values[name]
            setattr(rule, column, sealed)
    for name, value in values.items():
        if getattr(rule, name) != value:
            changed[name] = value
            setattr(rule, name, value)
    audit.record(actor, "rule_update", "alert_rule", rule.id,
                 {"name": rule.name, "changed": sorted(changed)},
                 changes=audit.diff(before, _audited(rule), secret_fields=SECRET_FIELDS))
    if commit:
        db.session.commit()
    return rule


def set_enabled(rule_id: str, enabled: bool, actor: str) -> AlertRule:
    """Enable or disable a rule."""
    return update_rule(rule_id, {"enabled": enabled}, actor)


def delete_rule(rule_id: str, actor: str, *, commit: bool = True) -> None:
    """Delete a rule; its alerts stay in the history. `commit=False` as in create_rule."""
    rule = get_rule(rule_id)
    audit.record(actor, "rule_delete", "alert_rule", rule.id, {"name": rule.name},
                 changes=audit.diff(_audited(rule), {}, secret_fields=SECRET_FIELDS))
    db.session.delete(rule)
    if commit:
        db.session.commit()


def enabled_detection_rules() -> list[AlertRule]:
    """The rules that judge events (enabled, not camera_offline), by name."""
    return list(db.session.scalars(
        select(AlertRule).where(AlertRule.enabled.is_(True), AlertRule.kind == "detection")
        .order_by(AlertRule.name, AlertRule.id)))
