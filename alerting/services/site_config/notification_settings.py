"""The `notification_settings` section: the settings of PUT /api/notification/config.

Secrets are never written to the file. The SMTP password and the push URLs (which hold
tokens) are exported as references to environment variables, `${ALERTING_SMTP_PASSWORD}`
and `${ALERTING_PUSH_URLS}` (comma-separated, as that variable is read at start-up),
resolved when the file is applied (one of these two unset there keeps the stored secret,
as the export found it; nothing stored, it is an error); a webhook URL with a password is
written as shown (`***`), which keeps the stored one. A key left out of the section is
left as it is. The webhook signing secret is not part of the file (reveal or rotate it on
its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...engine.errors import ValidationError
from ...notify.redact import redact_url
from ...schemas.notification_settings import NotificationSettingsUpdate
from ...schemas.templates import compact as compact_templates
from .. import notification_settings as settings
from .. import secrets_box
from .base import Change, FieldChange, Section
from .yaml_lines import KEEP_STORED, escape_all

REFERENCES = {"smtp_password": "ALERTING_SMTP_PASSWORD", "push_urls": "ALERTING_PUSH_URLS"}
SMTP_PASSWORD_REFERENCE = "${" + REFERENCES["smtp_password"] + "}"
PUSH_URLS_REFERENCE = "${" + REFERENCES["push_urls"] + "}"
SECRETS = ("smtp_password", "push_urls")
PLAIN = ("notification_enabled", "smtp_host", "smtp_port", "smtp_username",
         "smtp_from_address", "smtp_use_tls", "smtp_use_ssl", "default_email_recipients",
         "default_webhook_url", "webhook_timeout_seconds", "channel_mute_timings", "grouping",
         "templates", "webhook_allow_cidrs")
LISTS = ("default_email_recipients", "webhook_allow_cidrs")  # null is stored as, and means, []


def channel_mutes(value: Any) -> dict[str, list[str]] | None:
    """Channel -> mute timing names, the channels naming none left out (as stored)."""
    return {c: list(n) for c, n in (value or {}).items() if n} or None


def _current(name: str) -> Any:
    row = settings.get_row()
    if name == "smtp_password":
        try:
            return secrets_box.decrypt(row.smtp_password_encrypted)
        except secrets_box.UnreadableSecret:
            return None
    if name == "push_urls":
        return settings.push_urls(row)
    value = getattr(row, name)
    if name == "channel_mute_timings":
        return channel_mutes(value)
    return list(value or []) if name in LISTS else value


class NotificationSettingsSection(Section):
    """Notification settings: one object, partial (keys left out are kept)."""

    key = "notification_settings"
    model = NotificationSettingsUpdate
    references = REFERENCES

    def export(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in PLAIN:
            value = _current(name)
            out[name] = escape_all(value)
        row = settings.get_row()
        if row.smtp_password_encrypted:
            out["smtp_password"] = SMTP_PASSWORD_REFERENCE
        if row.push_urls_encrypted and settings.push_urls(row):
            out["push_urls"] = PUSH_URLS_REFERENCE
        return out

    def prepare(self, raw: Any, lines: Mapping[tuple[str, ...], int]) -> Any:
        # The export's reference, its variable unset here (a secret set on the page, not in
        # the environment): the stored secret is kept, as a key left out is; none stored,
        # the variable was needed.
        if isinstance(raw, Mapping) and KEEP_STORED in raw.values():
            for name, variable in REFERENCES.items():
                if raw.get(name) is KEEP_STORED and not _current(name):
                    raise ValidationError({f"{self.key}.{name}": f"the environment variable "
                                                                 f"{variable} is not set"})
            raw = {k: v for k, v in raw.items() if v is not KEEP_STORED}
        # ${ALERTING_PUSH_URLS} gives one comma-separated string: a list, as at start-up.
        if isinstance(raw, Mapping) and isinstance(raw.get("push_urls"), str):
            urls = [u.strip() for u in raw["push_urls"].split(",") if u.strip()]
            return {**raw, "push_urls": urls}
        return raw

    def diff(self, desired: NotificationSettingsUpdate, path: str) -> list[Change]:
        values = desired.model_dump(exclude_unset=True)
        fields = []
        for name, after in values.items():
            before = _current(name)
            if name == "push_urls" or name in LISTS:
                after = list(after or [])
            elif name == "channel_mute_timings":
                after = channel_mutes(after)
            elif name == "templates":
                after = compact_templates(after)
            if before != after:
                if name == "default_webhook_url" and after:
                    after = redact_url(after)  # shown as stored ones are; applied whole
                fields.append(FieldChange(name, before, after, secret=name in SECRETS))
        if not fields:
            return []
        return [Change(self.key, "update", None, fields,
                       {f.field: values[f.field] for f in fields}, None, path)]

    def apply(self, change: Change, actor: str) -> None:
        settings.update(change.desired, actor, commit=False)

