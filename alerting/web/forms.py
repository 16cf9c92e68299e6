"""WTForms for the pages, and the two helpers every page view uses.

The forms render inputs and carry the CSRF token; they do not validate. A submitted form is
turned into the JSON-shaped payload the API takes and handed to the same service, so the one
validation (the pydantic models of schemas/) decides for both; `place_errors` then
puts each ValidationError path beside the input it came from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import make_response, render_template
from flask_wtf import FlaskForm
from htmx_flask import request
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length

from .. import config as settings
from ..engine.grouping import EACH_ALERT, GROUP_LABELS
from ..engine.vocabulary import (
    CHANNELS,
    CONDITION_FIELDS,
    CONDITION_OPS,
    DAYS,
    PRIORITIES,
    SEVERITIES,
    SOUNDS,
)
from ..notify.templates import PARTS as TEMPLATE_PARTS
from ..schemas.keys import SCOPES
from ..services.rule_summary import DEDUP_PRESETS

try:
    from wtforms import SelectChoice
except ImportError:  # WTForms before 3.3 takes (value, label) tuples
    SelectChoice = None


def choice(value: str, label: str | None = None) -> Any:
    """One option of a select or checkbox group, in the form this WTForms version wants."""
    label = value if label is None else label
    return SelectChoice(value, label) if SelectChoice is not None else (value, label)


DAY_LABELS = {"sun": "Sun", "mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu",
              "fri": "Fri", "sat": "Sat"}
OP_LABELS = {"eq": "equals", "ne": "does not equal", "gt": ">", "gte": "≥", "lt": "<",
             "lte": "≤", "in": "is one of", "not_in": "is none of", "contains": "contains",
             "matches": "matches (regex)"}
SCOPE_HELP = {"read": "list and view", "ingest": "post events only", "admin": "everything",
              "metrics": "read /metrics only"}
NUMERIC = {"inputmode": "decimal", "autocomplete": "off"}


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


# The password's length, as ALERTING_ADMIN_PASSWORD must have it (alerting/config.py).
PASSWORD_MIN, PASSWORD_MAX = settings.PASSWORD_MIN, settings.PASSWORD_MAX


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField("New password", validators=[
        DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)],
        render_kw={"minlength": PASSWORD_MIN, "maxlength": PASSWORD_MAX})
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(), EqualTo("new", "Passwords differ")])


# --- rules ------------------------------------------------------------------------------------


class ConditionForm(Form):
    """One `{field, op, value}` clause: a row of the conditions editor (no CSRF of its own)."""

    field = SelectField("Field",
                        choices=[choice("", "(none)")] + [choice(f) for f in CONDITION_FIELDS])
    op = SelectField("Operator", choices=[choice(op, OP_LABELS[op]) for op in CONDITION_OPS])
    value = StringField("Value", render_kw={"autocomplete": "off"})


TEMPLATE_BOX = {"spellcheck": "false", "autocomplete": "off",
                "placeholder": "the default (Jinja: {{ rule.name }}, {{ camera.name }}, ...)"}


class TemplateFields:
    """The notification templates' parts (notify/templates.py), one box each, named
    templates_<channel>_<part>: on the rule form and, as the site's defaults, on the
    notification settings."""

    templates_email_subject = StringField("Email subject", render_kw=TEMPLATE_BOX)
    templates_email_body = TextAreaField("Email body", render_kw={**TEMPLATE_BOX, "rows": 3})
    templates_push_title = StringField("Push title", render_kw=TEMPLATE_BOX)
    templates_push_body = TextAreaField("Push body", render_kw={**TEMPLATE_BOX, "rows": 2})


def templates_payload(form: Any) -> dict[str, Any] | None:
    """The `templates` the form's boxes describe (blank parts left out), or None."""
    out = {channel: {part: value for part in parts
                     if (value := form[f"templates_{channel}_{part}"].data or "").strip()}
           for channel, parts in TEMPLATE_PARTS.items()}
    return {channel: parts for channel, parts in out.items() if parts} or None


def templates_data(templates: Mapping[str, Any] | None) -> dict[str, str]:
    """Stored templates as the form's data."""
    return {f"templates_{channel}_{part}": ((templates or {}).get(channel) or {}).get(part) or ""
            for channel, parts in TEMPLATE_PARTS.items() for part in parts}


def template_field(form: Any, parts: list[str]) -> Any:
    """The box an error at `templates.<channel>.<part>` belongs to, if any."""
    name = "templates_" + "_".join(parts[1:3])
    return form._fields.get(name) if len(parts) >= 3 else None


class RuleForm(TemplateFields, FlaskForm):
    """Every field of a rule. Choices of the seen-value groups are set by the view."""

    name = StringField("Name", render_kw={"autocomplete": "off"})
    description = TextAreaField("Description", render_kw={"rows": 2})
    enabled = BooleanField("Enabled", default=True)
    severity = SelectField("Severity", choices=[choice(s, s.capitalize()) for s in SEVERITIES],
                           default="medium")
    risk_threshold = StringField("Minimum risk score (0–100)", render_kw=NUMERIC)
    min_confidence = StringField("Minimum detection confidence (%)", render_kw=NUMERIC)
    object_types = SelectMultipleField("Object types", choices=[])
    object_types_other = StringField("Other object types (comma-separated)",
                                     render_kw={"autocomplete": "off"})
    camera_ids = SelectMultipleField("Cameras", choices=[])
    camera_ids_other = StringField("Other cameras (comma-separated)",
                                   render_kw={"autocomplete": "off"})
    zone_ids = SelectMultipleField("Zones", choices=[])
    zone_ids_other = StringField("Other zones (comma-separated)",
                                 render_kw={"autocomplete": "off"})
    schedule_on = BooleanField("Only alert inside a schedule")
    schedule_days = SelectMultipleField("Days", choices=[choice(d, DAY_LABELS[d]) for d in DAYS],
                                        default=list(DAYS))
    schedule_start = StringField("From", default="00:00", render_kw={"type": "time"})
    schedule_end = StringField("Until", default="00:00", render_kw={"type": "time"})
    schedule_timezone = StringField("Timezone", render_kw={
        "list": "timezones", "autocomplete": "off"})  # placeholder: the default, by the view
    modes = SelectMultipleField("Arming modes", choices=[])
    conditions = FieldList(FormField(ConditionForm), min_entries=1)
    dedup_preset = RadioField("Count repeats", default="custom",
                              choices=[choice(v, label) for v, label, _ in DEDUP_PRESETS])
    dedup_key_template = StringField("Dedup key template", render_kw={
        "placeholder": "{rule_id}:{camera_id}", "autocomplete": "off", "spellcheck": "false"})
    cooldown_seconds = StringField("Cooldown", default="300", render_kw=NUMERIC)
    cooldown_unit = SelectField("Unit", default="s", choices=[
        choice(unit, label) for unit, label in (("s", "seconds"), ("min", "minutes"),
                                                ("h", "hours"))])
    mute_timings = SelectMultipleField("Mute timings", choices=[])  # names, set by the view
    channels = SelectMultipleField("Channels",
                                   choices=[choice(c, c.capitalize()) for c in CHANNELS])
    email_recipients = StringField("Email recipients (comma-separated)", render_kw={
        "autocomplete": "off", "placeholder": "default recipients"})
    webhook_url = StringField("Webhook URL", render_kw={
        "type": "url", "autocomplete": "off", "placeholder": "default webhook URL"})
    push_urls = TextAreaField("Push URLs (one per line)", render_kw={
        "rows": 2, "placeholder": "default push URLs", "spellcheck": "false"})
    kind = SelectField("Kind", choices=[choice("detection", "Detection events"),
                                        choice("camera_offline", "Camera offline")],
                       default="detection")
    offline_after_seconds = StringField("Offline after (seconds of silence)",
                                        render_kw={**NUMERIC, "placeholder": "300"})
    # Track criteria (README "Tracks"): comma-separated lists, seconds, a count.
    min_dwell_seconds = StringField("Minimum dwell (seconds)", render_kw=NUMERIC)
    dwell_zone_ids = StringField("Dwell zones (comma-separated)", render_kw={
        "autocomplete": "off", "placeholder": "the rule's zones"})
    zone_sequence = StringField("Zone sequence (comma-separated, in order)", render_kw={
        "autocomplete": "off", "placeholder": "street, driveway"})
    sequence_within_seconds = StringField("Sequence within (seconds)", render_kw=NUMERIC)
    stationary_seconds = StringField("Stationary for (seconds)", render_kw=NUMERIC)
    identities = StringField("Identities (comma-separated)", render_kw={
        "autocomplete": "off", "placeholder": "* = any known"})
    exclude_identities = StringField("Exclude identities (comma-separated)", render_kw={
        "autocomplete": "off", "placeholder": "* = only unknown"})
    min_count = StringField("At least this many at once", render_kw=NUMERIC)
    # Grouping (schemas/grouping.py): empty takes the site-wide default.
    group_by = SelectMultipleField("Group by", choices=[
        choice(label, "each alert alone" if label == EACH_ALERT else label)
        for label in (*GROUP_LABELS, EACH_ALERT)])
    group_wait = StringField("Group wait (seconds)",
                             render_kw={**NUMERIC, "placeholder": "site default"})
    group_interval = StringField("Group interval (seconds)",
                                 render_kw={**NUMERIC, "placeholder": "site default"})
    repeat_interval = StringField("Repeat interval (seconds)",
                                  render_kw={**NUMERIC, "placeholder": "site default"})
    group_max_alerts = StringField("Alerts listed per notification",
                                   render_kw={**NUMERIC, "placeholder": "site default"})
    priority = SelectField("Push priority", choices=[choice(p, p.capitalize())
                                                     for p in PRIORITIES], default="normal")
    sound = SelectField("Sound on the live page", choices=[choice(s, s.capitalize())
                                                           for s in SOUNDS], default="default")
    escalate_after = StringField("Escalate after (seconds unacknowledged)",
                                 render_kw={**NUMERIC, "placeholder": "off"})
    escalate_min_severity = SelectField(
        "Only escalate alerts at least this serious", default="",
        choices=[choice("", "Any"), *(choice(s, f"{s.capitalize()} or worse")
                                      for s in SEVERITIES)])
    escalation_email_recipients = StringField("Escalate by email to (comma-separated)",
                                              render_kw={"autocomplete": "off"})
    escalation_webhook_url = StringField("Escalate by posting to (an http or https URL)",
                                         render_kw={"type": "url", "autocomplete": "off"})
    escalation_push_urls = TextAreaField("Escalate by push to (one Apprise URL per line)",
                                         render_kw={"rows": 2, "spellcheck": "false"})


class RuleTestForm(FlaskForm):
    """Which events to test a rule against, and at what time."""

    event_ids = SelectMultipleField("Recent events", choices=[], coerce=str)
    event_ids_other = StringField("Or event ids (comma-separated)",
                                  render_kw={"inputmode": "numeric", "autocomplete": "off"})
    test_time = StringField("Test time (UTC, optional)", render_kw={"type": "datetime-local"})


# --- notifications, keys -----------------------------------------------------------------------


class AllowListForm(FlaskForm):
    """The stored allow-list of the outgoing connection policy (webhook_allow_cidrs)."""

    webhook_allow_cidrs = TextAreaField("Networks (one per line, CIDR form)", render_kw={
        "rows": 3, "autocomplete": "off", "spellcheck": "false",
        "placeholder": "192.168.1.10/32"})


class DigestForm(FlaskForm):
    """One digest (schemas/digests.py): saved under its name, replacing one of that name."""

    name = StringField("Name", render_kw={"autocomplete": "off", "placeholder": "Morning"})
    channel = SelectField("Channel", choices=[choice(c, c.capitalize()) for c in CHANNELS],
                          default="email")
    target = StringField("Send to: an address, or a URL for webhook or push",
                         render_kw={"autocomplete": "off", "spellcheck": "false"})
    at = StringField("At (HH:MM)", render_kw={"type": "time"})
    days = SelectMultipleField("On", choices=[choice(d, DAY_LABELS[d]) for d in DAYS],
                               default=list(DAYS))
    timezone = StringField("Timezone", render_kw={
        "list": "timezones", "autocomplete": "off", "placeholder": "server default"})
    every_seconds = StringField("Or every (seconds)", render_kw={**NUMERIC,
                                                                "placeholder": "3600"})
    min_severity = SelectField("Severity at least", default="", choices=[
        choice("", "Any"), *(choice(s, s.capitalize()) for s in SEVERITIES)])
    max_severity = SelectField("Severity at most", default="", choices=[
        choice("", "Any"), *(choice(s, s.capitalize()) for s in SEVERITIES)])
    modes = StringField("While the mode is (comma-separated)",
                        render_kw={"autocomplete": "off", "placeholder": "any"})
    cameras = StringField("Cameras (comma-separated)",
                          render_kw={"autocomplete": "off", "placeholder": "any"})
    rules = StringField("Rules, by name or id (comma-separated)",
                        render_kw={"autocomplete": "off", "placeholder": "any"})
    send_empty = BooleanField("Send a summary when there were no alerts too")


class NotificationForm(TemplateFields, FlaskForm):
    """The notification settings; secrets are write-only (blank keeps the stored one)."""

    notification_enabled = BooleanField("Send notifications")
    smtp_host = StringField("SMTP host", render_kw={"autocomplete": "off"})
    smtp_port = StringField("SMTP port", render_kw={"inputmode": "numeric", "autocomplete": "off"})
    smtp_username = StringField("SMTP username", render_kw={"autocomplete": "off"})
    smtp_password = PasswordField("SMTP password", render_kw={"autocomplete": "new-password"})
    smtp_password_clear = BooleanField("Remove the stored password")
    smtp_from_address = StringField("From address", render_kw={"type": "email"})
    smtp_use_tls = BooleanField("STARTTLS")
    smtp_use_ssl = BooleanField("SSL/TLS from the start")
    default_email_recipients = StringField("Email recipients (comma-separated)",
                                           render_kw={"autocomplete": "off"})
    default_webhook_url = StringField("Webhook URL", render_kw={"type": "url",
                                                                "autocomplete": "off"})
    webhook_timeout_seconds = StringField("Webhook timeout (seconds)",
                                          render_kw={"inputmode": "numeric"})
    push_urls = TextAreaField("Push URLs (one per line; Apprise URLs such as ntfy://topic)",
                              render_kw={"rows": 2, "spellcheck": "false",
                                         "autocomplete": "off"})
    push_urls_clear = BooleanField("Remove the stored push URLs")


class KeyForm(FlaskForm):
    """A new API key: a name and a scope."""

    name = StringField("Name", render_kw={"autocomplete": "off", "maxlength": 100})
    scope = SelectField("Scope", choices=[choice(s, f"{s}: {SCOPE_HELP[s]}") for s in SCOPES],
                        default="read")


# --- helpers ----------------------------------------------------------------------------------


def wants_fragment() -> bool:
    """An htmx request that swaps part of a page (not a history restore, which needs it all)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def render(full: str, fragment: str, status: int = 200, **context: Any):
    """The full page, or only its fragment for htmx; `Vary: HX-Request` either way."""
    template = fragment if wants_fragment() else full
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def split_list(text: str | None) -> list[str]:
    """Items of a comma- or newline-separated input, blanks dropped."""
    return [part.strip() for part in (text or "").replace("\n", ",").split(",") if part.strip()]


def number_or_text(text: str | None) -> Any:
    """A number typed into an input, None when blank, else the text itself: the schema, not
    the form, says what is wrong with it."""
    text = (text or "").strip()
    if not text:
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _describe(payload: Any, path: list[str]) -> str | None:
    """The offending value at `path` in payload, when it is short text worth quoting."""
    value = payload
    for key in path:
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value)
        return text if len(text) <= 60 else text[:57] + "…"
    return None


def place_errors(
    form: FlaskForm,
    errors: Mapping[str, str],
    payload: Any,
    locate: Callable[[list[str]], Field | None],
) -> list[str]:
    """Put each error (dotted path -> message) on the form field `locate` names for it.

    An error about one item of a list ("object_types.2") quotes the item. Errors no field
    claims come back, to be shown at the top of the form, so none is ever lost.
    """
    unplaced = []
    for path, message in errors.items():
        parts = path.split(".")
        target = locate(parts)
        text = message
        if parts[-1].isdigit():
            shown = _describe(payload, parts)
            text = f"“{shown}” {message}" if shown is not None else f"item {int(parts[-1]) + 1} "\
                f"{message}"
        if target is None:
            unplaced.append(f"{path}: {message}")
        else:
            target.errors = [*(target.errors or []), text]
    return unplaced


def simple_locator(form: FlaskForm, aliases: Mapping[str, str] | None = None):
    """A `locate` for flat payloads: the top-level key (or its alias) names the field."""
    aliases = aliases or {}

    def locate(parts: list[str]) -> Field | None:
        name = aliases.get(parts[0], parts[0])
        return form._fields.get(name) if name != "csrf_token" else None

    return locate
