"""Rule pages: the list (filters, search, enable/disable, delete), the form, the rule test.

The form is only a way to type a rule: it becomes the API's JSON payload and goes to
services.rules, whose validation (schemas.rules) is the only one. Its errors come back as
dotted paths ("schedule.start_time", "conditions.0.value") and are put beside their inputs.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from flask import current_app, flash, make_response, redirect, url_for
from htmx_flask import request
from sqlalchemy import func, select
from wtforms import Field

from ..auth import current_actor, login_required
from ..engine.errors import ValidationError
from ..engine.timeparse import isoformat_z
from ..engine.types import TRACK_LISTS, TRACK_NUMBERS
from ..engine.vocabulary import (
    CONDITION_FIELDS,
    DAYS,
    DEDUP_VARIABLES,
    DEFAULT_COOLDOWN_SECONDS,
    SEVERITIES,
)
from ..extensions import db
from ..models import Alert, AlertRule, Detection, Event, utcnow
from ..schemas.queries import parse_rule_query
from ..schemas.rules import parse_rule
from ..services import backtest, rule_test, rules, template_preview
from ..services.events import recent_events
from ..services.modes import mode_names
from ..services.mute_timings import list_mute_timings
from ..services.rule_presets import PRESETS, preset_payload
from ..services.rule_summary import (
    PRESET_TEMPLATES,
    dedup_preset,
    describe_rule,
    sample_dedup_key,
)
from . import bp
from .forms import (
    RuleForm,
    RuleTestForm,
    choice,
    number_or_text,
    place_errors,
    render,
    split_list,
    template_field,
    templates_data,
    templates_payload,
    wants_fragment,
)

RULES_PER_PAGE = 50
SEEN_LIMIT = 100
TEST_EVENT_CHOICES = 20


# --- the list ---------------------------------------------------------------------------------


@bp.get("/rules")
@login_required
def rules_index():
    """Rules with filters (enabled, severity, search) and their alerts of the last 24 hours."""
    errors: dict[str, str] = {}
    try:
        query = parse_rule_query(request.args)
    except ValidationError as exc:
        errors = exc.fields
        query = parse_rule_query({k: v for k, v in request.args.items() if k not in errors})
    query["limit"] = min(query["limit"], RULES_PER_PAGE)
    rows, total = rules.list_rules(**query)
    return render("rules/index.html", "rules/_list.html", rules=rows, total=total, query=query,
                  counts=alert_counts([r.id for r in rows]), errors=errors,
                  severities=SEVERITIES)


def alert_counts(rule_ids: list[str]) -> dict[str, int]:
    """Alerts created in the last 24 hours, per rule."""
    if not rule_ids:
        return {}
    since = utcnow() - timedelta(hours=24)
    found = db.session.execute(
        select(Alert.rule_id, func.count()).where(Alert.rule_id.in_(rule_ids),
                                                  Alert.created_at >= since)
        .group_by(Alert.rule_id))
    return {rule_id: count for rule_id, count in found}


def _row(rule: AlertRule):
    return render("rules/_rule_row.html", "rules/_rule_row.html", rule=rule,
                  counts=alert_counts([rule.id]))


def _back_to_list():
    response = redirect(url_for("web.rules_index"), 303)
    response.vary.add("HX-Request")
    return response


@bp.post("/rules/<rule_id>/enabled")
@login_required
def rules_toggle(rule_id: str):
    """Enable or disable a rule (the row's switch)."""
    enabled = request.form.get("enabled") == "true"
    rule = rules.set_enabled(rule_id, enabled, current_actor())
    if wants_fragment():
        return _row(rule)
    flash(f"Rule “{rule.name}” {'enabled' if enabled else 'disabled'}.")
    return _back_to_list()


@bp.route("/rules/<rule_id>/delete", methods=["GET", "POST"])
@login_required
def rules_delete(rule_id: str):
    """Ask, then delete a rule (its alerts stay in the history)."""
    rule = rules.get_rule(rule_id)
    if request.method == "GET":
        return render("rules/delete.html", "rules/delete.html", rule=rule)
    name = rule.name
    rules.delete_rule(rule_id, current_actor())
    if wants_fragment():
        return render("rules/_deleted.html", "rules/_deleted.html", name=name)
    flash(f"Rule “{name}” deleted.")
    return _back_to_list()


@bp.post("/rules/<rule_id>/duplicate")
@login_required
def rules_duplicate(rule_id: str):
    """Copy a rule (disabled, "<name> (copy)") and open the copy's form."""
    copy_ = rules.duplicate_rule(rule_id, current_actor())
    flash(f"Rule “{copy_.name}” created, disabled: change it, enable it, save.")
    response = redirect(url_for("web.rules_edit", rule_id=copy_.id), 303)
    response.vary.add("HX-Request")
    return response


# --- create and edit --------------------------------------------------------------------------


@bp.route("/rules/new", methods=["GET", "POST"])
@login_required
def rules_create():
    """The rule form: a new rule (`?preset=person-at-night`: filled from a preset)."""
    if request.method == "POST":
        return _rule_form(RuleForm(), None)
    preset = preset_payload(request.args.get("preset"))
    if preset is not None:
        values = parse_rule(preset)
        data = form_data(AlertRule(**values))
    else:
        data = {"dedup_preset": "camera", **_cooldown_fields(DEFAULT_COOLDOWN_SECONDS)}
    return _rule_form(RuleForm(data=data), None)


@bp.post("/rules/summary")
@login_required
def rules_summary():
    """The rule being typed in plain words, and its dedup key for a sample event (htmx)."""
    payload, _ = rule_payload(RuleForm())
    return render("rules/_summary.html", "rules/_summary.html", **_summary(payload))


def _summary(payload: dict[str, Any]) -> dict[str, Any]:
    zone = current_app.config["TIMEZONE"]
    key, sample = sample_dedup_key(payload, zone)
    return {"summary": describe_rule(payload, zone), "sample_key": key, "sample": sample}


@bp.route("/rules/<rule_id>/edit", methods=["GET", "POST"])
@login_required
def rules_edit(rule_id: str):
    """The rule form: change a rule."""
    rule = rules.get_rule(rule_id)
    form = RuleForm() if request.method == "POST" else RuleForm(data=form_data(rule))
    return _rule_form(form, rule)


def _rule_form(form: RuleForm, rule: AlertRule | None):
    status, general, focus, error_count, noise, preview = 200, [], None, 0, None, None
    if request.method == "POST":
        action = request.form.get("action", "save")
        if action == "add_condition" or action.startswith("remove_condition:"):
            form = _with_condition_rows(form, action)
        else:
            payload, rows = rule_payload(form)
            try:
                if action == "backtest":  # "How noisy would this be?": nothing is saved
                    noise = backtest.backtest_payload(payload, rule.id if rule else None)
                elif action == "preview_templates":  # against a recent alert; nothing saved
                    preview = template_preview.form_preview(payload, rule.id if rule else None)
                elif rule is None:
                    saved = rules.create_rule(payload, current_actor())
                else:
                    saved = rules.update_rule(rule.id, payload, current_actor())
            except ValidationError as exc:
                db.session.rollback()
                _explain_empty_times(form, exc.fields)
                _explain_percent(exc.fields)
                general = place_errors(form, exc.fields, payload, rule_locator(form, rows))
                error_count = len(exc.fields) - len(general)
                focus = first_invalid(form)
                status = 422
            if status == 200 and action not in ("backtest", "preview_templates"):
                flash(f"Rule “{saved.name}” saved.")
                if wants_fragment():
                    # A whole new page: htmx navigates there (and shows the flash).
                    response = make_response("", 204)
                    response.headers["HX-Redirect"] = url_for("web.rules_index")
                    response.vary.add("HX-Request")
                    return response
                return _back_to_list()
    return render("rules/form.html", "rules/_form.html", status, form=form, rule=rule,
                  general=general, focus=focus, error_count=error_count,
                  timezones=timezone_names(), noise=noise, preview=preview, presets=PRESETS,
                  default_timezone=current_app.config["TIMEZONE"],
                  **_summary(rule_payload(form)[0]), **_choices(form))


def _explain_empty_times(form: RuleForm, fields: dict[str, str]) -> None:
    """A cleared From or Until is an error that says so (never a silent 00:00)."""
    for key, field in (("schedule.start_time", form.schedule_start),
                       ("schedule.end_time", form.schedule_end)):
        if key in fields and not (field.data or "").strip():
            fields[key] = (f"{field.label.text} is empty: give a time (From equal to Until "
                           "means the whole day)")


def _with_condition_rows(form: RuleForm, action: str) -> RuleForm:
    """The same form with a condition row added or removed (nothing is saved)."""
    data = dict(form.data)
    data.pop("csrf_token", None)
    conditions = list(data["conditions"])
    if action == "add_condition":
        conditions.append({"field": "", "op": "eq", "value": ""})
    else:
        index = action.partition(":")[2]
        if index.isdigit() and int(index) < len(conditions):
            conditions.pop(int(index))
    data["conditions"] = conditions or [{"field": "", "op": "eq", "value": ""}]
    return RuleForm(formdata=None, data=data)


def _choices(form: RuleForm) -> dict[str, Any]:
    """Offer values already seen in events (and whatever the form holds) as checkboxes."""
    seen = seen_values()
    for name in ("object_types", "camera_ids", "zone_ids"):
        field = form[name]
        values = _dedupe([*seen[name], *(field.data or [])])
        field.choices = [choice(v) for v in values]
    zones_by_camera = dict(seen["zones_by_camera"])
    grouped = {z for found in zones_by_camera.values() for z in found}
    others = [z for z in _dedupe(form.zone_ids.data or []) if z not in grouped]
    if others:
        zones_by_camera[""] = others  # chosen, but not seen on any camera lately
    form.mute_timings.choices = [choice(t["name"]) for t in list_mute_timings()]
    form.modes.choices = [choice(v) for v in _dedupe([*mode_names(), *(form.modes.data or [])])]
    return {"dedup_variables": " ".join("{" + name + "}" for name in DEDUP_VARIABLES),
            "condition_fields": CONDITION_FIELDS, "zones_by_camera": zones_by_camera}


def _dedupe(values: list[str]) -> list[str]:
    out, seen = [], set()
    for value in values:
        if value.casefold() not in seen:
            seen.add(value.casefold())
            out.append(value)
    return out


def seen_values() -> dict[str, list[str]]:
    """Object types, cameras and zones that events have used, for the form to offer."""
    object_types = db.session.scalars(
        select(Detection.object_type).distinct().order_by(Detection.object_type)
        .limit(SEEN_LIMIT))
    cameras = db.session.scalars(
        select(Event.camera_id).distinct().order_by(Event.camera_id).limit(SEEN_LIMIT))
    zones: dict[str, set[str]] = {}
    for camera_id, zone_ids in db.session.execute(
            select(Event.camera_id, Detection.zone_ids).join(Detection.event)
            .order_by(Detection.id.desc()).limit(1000)):
        zones.setdefault(camera_id, set()).update(
            z for z in zone_ids or [] if isinstance(z, str))
    by_camera = {camera: sorted(found) for camera, found in sorted(zones.items()) if found}
    every = sorted({z for found in by_camera.values() for z in found})[:SEEN_LIMIT]
    return {"object_types": _dedupe(list(object_types)), "camera_ids": list(cameras),
            "zone_ids": every, "zones_by_camera": by_camera}


@lru_cache(maxsize=1)
def timezone_names() -> list[str]:
    return sorted(name for name in available_timezones() if "/" in name or name == "UTC")


def first_invalid(form) -> str | None:
    """The name of the first input with an error, to get the focus."""
    for field in form:
        if field.type == "FieldList":
            for entry in field:
                for sub in entry:
                    if sub.errors:
                        return sub.name
            if field.errors:
                return field[0]["field"].name if len(field) else None
        elif field.errors:
            return field.name
    return None


# --- form <-> payload -------------------------------------------------------------------------


def condition_value(field: str, op: str, text: str | None) -> Any:
    """The JSON value of a condition typed as text: a list for in / not_in, numbers for
    number fields."""
    kind = CONDITION_FIELDS.get(field)
    text = (text or "").strip()
    if op in ("in", "not_in"):
        items = split_list(text)
        return [number_or_text(item) for item in items] if kind == "number" else items
    if kind == "number":
        return number_or_text(text)
    return text


def _shown_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_shown_value(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


# The form takes the minimum confidence as a percentage, as every page shows confidence; the
# API and the rule keep the fraction (0 to 1).
PERCENT_RANGE = "must be a percentage from 0 to 100"


def _fraction(value: Any) -> Any:
    """A percentage typed into the form as the rule's fraction (text stays for the schema to
    refuse)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(value / 100, 6)
    return value


def _shown_percent(value: float | None) -> str:
    return "" if value is None else _shown_value(round(value * 100, 4))


def _explain_percent(fields: dict[str, str]) -> None:
    if "min_confidence" in fields:  # (the schema's message speaks of the fraction)
        fields["min_confidence"] = PERCENT_RANGE


def rule_payload(form: RuleForm) -> tuple[dict[str, Any], list[int]]:
    """The API payload the form describes, and the form row of each payload condition."""
    conditions, rows = [], []
    for index, entry in enumerate(form.conditions):
        field, op, value = entry["field"].data, entry["op"].data, entry["value"].data
        if not field and not (value or "").strip():
            continue  # an empty row
        rows.append(index)
        conditions.append({"field": field, "op": op, "value": condition_value(field, op, value)})
    targets = _targets(form, "")
    escalation_targets = _targets(form, "escalation_")
    payload: dict[str, Any] = {
        "name": form.name.data or "",
        "description": (form.description.data or "").strip() or None,
        "enabled": bool(form.enabled.data),
        "severity": form.severity.data,
        "risk_threshold": number_or_text(form.risk_threshold.data),
        "object_types": _merged(form.object_types.data, form.object_types_other.data),
        "camera_ids": _merged(form.camera_ids.data, form.camera_ids_other.data),
        "zone_ids": _merged(form.zone_ids.data, form.zone_ids_other.data),
        "min_confidence": _fraction(number_or_text(form.min_confidence.data)),
        "schedule": {
            "days": list(form.schedule_days.data or []),
            "start_time": form.schedule_start.data or "",
            "end_time": form.schedule_end.data or "",
            "timezone": (form.schedule_timezone.data or "").strip() or None,
        } if form.schedule_on.data else None,
        "conditions": conditions or None,
        "dedup_key_template": PRESET_TEMPLATES.get(form.dedup_preset.data)
        or form.dedup_key_template.data or None,
        "channels": list(form.channels.data or []),
        "targets": targets if any(targets.values()) else None,
        "mute_timings": list(form.mute_timings.data or []) or None,
        "modes": list(form.modes.data or []) or None,
        "kind": form.kind.data or "detection",
        "offline_after_seconds": number_or_text(form.offline_after_seconds.data),
        **{name: number_or_text(form[name].data) for name in TRACK_NUMBERS},
        **{name: split_list(form[name].data) or None for name in TRACK_LISTS},
        "group_by": list(form.group_by.data or []) or None,
        **{name: number_or_text(form[name].data) for name in GROUPING_NUMBERS},
        "priority": form.priority.data or "normal",
        "sound": form.sound.data or "default",
        "templates": templates_payload(form),
        "escalate_after": number_or_text(form.escalate_after.data),
        "escalation_targets": escalation_targets if any(escalation_targets.values()) else None,
        "escalate_min_severity": form.escalate_min_severity.data or None,
    }
    cooldown = number_or_text(form.cooldown_seconds.data)
    if isinstance(cooldown, int | float):
        scaled = cooldown * COOLDOWN_UNITS.get(form.cooldown_unit.data, 1)
        cooldown = int(scaled) if float(scaled).is_integer() else scaled
    if cooldown is not None:
        payload["cooldown_seconds"] = cooldown
    return payload, rows


def _targets(form: RuleForm, prefix: str) -> dict[str, Any]:
    """The targets typed in the form's `prefix` inputs (rule targets or escalation ones)."""
    return {
        "email_recipients": split_list(form[f"{prefix}email_recipients"].data) or None,
        "webhook_url": (form[f"{prefix}webhook_url"].data or "").strip() or None,
        "push_urls": split_list(form[f"{prefix}push_urls"].data) or None,
    }
COOLDOWN_UNITS = {"s": 1, "min": 60, "h": 3600}


def _cooldown_fields(seconds: int) -> dict[str, str]:
    """A cooldown in the largest unit that holds it whole."""
    for unit in ("h", "min"):
        if seconds and seconds % COOLDOWN_UNITS[unit] == 0:
            return {"cooldown_seconds": str(seconds // COOLDOWN_UNITS[unit]),
                    "cooldown_unit": unit}
    return {"cooldown_seconds": str(seconds), "cooldown_unit": "s"}


def _merged(checked: list[str] | None, other: str | None) -> list[str] | None:
    return [*(checked or []), *split_list(other)] or None


def form_data(rule: AlertRule) -> dict[str, Any]:
    """A stored rule as the form's data."""
    schedule = rule.schedule or {}
    targets = rule.targets or {}
    escalation_targets = rule.escalation_targets or {}
    conditions = [{"field": c["field"], "op": c["op"], "value": _shown_value(c["value"])}
                  for c in rule.conditions or []]
    return {
        "name": rule.name,
        "description": rule.description or "",
        "enabled": rule.enabled,
        "severity": rule.severity,
        "risk_threshold": _shown_value(rule.risk_threshold),
        "min_confidence": _shown_percent(rule.min_confidence),
        "object_types": list(rule.object_types or []),
        "camera_ids": list(rule.camera_ids or []),
        "zone_ids": list(rule.zone_ids or []),
        "schedule_on": rule.schedule is not None,
        "schedule_days": list(schedule.get("days") or DAYS),
        "schedule_start": schedule.get("start_time") or "00:00",
        "schedule_end": schedule.get("end_time") or "00:00",
        "schedule_timezone": schedule.get("timezone") or "",
        "conditions": [*conditions, {"field": "", "op": "eq", "value": ""}],
        "dedup_preset": dedup_preset(rule.dedup_key_template),
        "dedup_key_template": rule.dedup_key_template or "",
        **_cooldown_fields(rule.cooldown_seconds),
        "channels": list(rule.channels or []),
        "mute_timings": list(rule.mute_timings or []),
        "email_recipients": ", ".join(targets.get("email_recipients") or []),
        "webhook_url": targets.get("webhook_url") or "",
        "push_urls": "\n".join(targets.get("push_urls") or []),
        "modes": list(rule.modes or []),
        "kind": rule.kind,
        "offline_after_seconds": _shown_value(rule.offline_after_seconds),
        **{name: _shown_value(getattr(rule, name)) for name in TRACK_NUMBERS},
        **{name: ", ".join(getattr(rule, name) or []) for name in TRACK_LISTS},
        "group_by": list(rule.group_by or []),
        **{name: _shown_value(getattr(rule, name)) for name in GROUPING_NUMBERS},
        "priority": rule.priority,
        "sound": rule.sound,
        **templates_data(rule.templates),
        "escalate_after": _shown_value(rule.escalate_after),
        "escalate_min_severity": rule.escalate_min_severity or "",
        "escalation_email_recipients": ", ".join(
            escalation_targets.get("email_recipients") or []),
        "escalation_webhook_url": escalation_targets.get("webhook_url") or "",
        "escalation_push_urls": "\n".join(escalation_targets.get("push_urls") or []),
    }


GROUPING_NUMBERS = ("group_wait", "group_interval", "repeat_interval", "group_max_alerts")


SCHEDULE_INPUTS = {"days": "schedule_days", "start_time": "schedule_start",
                   "end_time": "schedule_end", "timezone": "schedule_timezone"}


def rule_locator(form: RuleForm, rows: list[int]):
    """Which input a rule error path belongs to."""

    def locate(parts: list[str]) -> Field | None:
        head, rest = parts[0], parts[1:]
        if head == "schedule":
            return form[SCHEDULE_INPUTS[rest[0]]] if rest and rest[0] in SCHEDULE_INPUTS \
                else form.schedule_on
        if head == "conditions":
            if rest and rest[0].isdigit() and int(rest[0]) < len(rows):
                entry = form.conditions[rows[int(rest[0])]]
                key = rest[1] if len(rest) > 1 and rest[1] in ("field", "op", "value") \
                    else "value"
                return entry[key]
            return form.conditions
        if head == "templates":
            return template_field(form, parts)
        if head in ("targets", "escalation_targets"):
            if rest and rest[0] in ("email_recipients", "webhook_url", "push_urls"):
                return form[("" if head == "targets" else "escalation_") + rest[0]]
            return None
        if head in ("name", "description", "enabled", "severity", "risk_threshold",
                    "object_types", "camera_ids", "zone_ids", "min_confidence",
                    "dedup_key_template", "cooldown_seconds", "channels", "mute_timings",
                    "modes", "kind", "offline_after_seconds", *TRACK_NUMBERS, *TRACK_LISTS,
                    "group_by", *GROUPING_NUMBERS, "priority", "sound", "escalate_after",
                    "escalate_min_severity"):
            return form[head]
        return None

    return locate


# --- the rule test ----------------------------------------------------------------------------


@bp.route("/rules/<rule_id>/test", methods=["GET", "POST"])
@login_required
def rules_test(rule_id: str):
    """Test a rule against recent (or chosen) events, optionally at another time."""
    rule = rules.get_rule(rule_id)
    form = RuleTestForm()
    recent = recent_events(TEST_EVENT_CHOICES)
    form.event_ids.choices = [choice(str(e.id)) for e in recent]
    result, general, status = None, [], 200
    if request.method == "GET" and request.args.get("event_ids"):
        # A link from an event page ("Test the rule on this event"): filled in and run.
        form.event_ids_other.data = request.args["event_ids"]
    if request.method == "POST" or form.event_ids_other.data:
        ids = [*(form.event_ids.data or []), *split_list(form.event_ids_other.data)]
        payload = {
            "event_ids": [int(i) if i.isdigit() else i for i in ids] or None,
            "test_time": (form.test_time.data or "").strip() or None,
        }
        try:
            result = rule_test.run_rule_test(rule.id, payload)
        except ValidationError as exc:
            general = place_errors(form, exc.fields, payload, lambda parts: {
                "event_ids": form.event_ids_other, "test_time": form.test_time,
            }.get(parts[0]))
            status = 422
    return render("rules/test.html", "rules/_test.html", status, rule=rule, form=form,
                  recent=recent, result=result, general=general,
                  focus=first_invalid(form), isoformat_z=isoformat_z)
