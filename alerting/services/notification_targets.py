"""Where an alert's deliveries go: a rule's own targets, else the notification defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .notification_settings import get_row, push_urls, unreadable_secrets


@dataclass(frozen=True)
class Defaults:
    """Default targets per channel, and the global switch."""

    enabled: bool
    email_recipients: tuple[str, ...]
    webhook_url: str | None
    push_urls: tuple[str, ...]


def defaults() -> Defaults:
    """The notification settings' defaults (seeded from ALERTING_* on first use)."""
    row = get_row()
    # Unreadable push URLs give one push delivery with an empty target (the defaults), which
    # fails saying why: not none at all, which would drop the alert's push silently.
    urls = tuple(push_urls(row)) or (
        ("",) if row.push_urls_encrypted and "push_urls" in unreadable_secrets(row) else ())
    return Defaults(row.notification_enabled, tuple(row.default_email_recipients or ()),
                    row.default_webhook_url, urls)


def targets_for(channels: list[str], rule_targets: dict[str, Any] | None,
                base: Defaults) -> list[tuple[str, str]]:
    """(channel, target) pairs: one per email recipient, webhook URL and push URL."""
    if not base.enabled:
        return []
    own = rule_targets or {}
    pairs: list[tuple[str, str]] = []
    for channel in channels:
        if channel == "email":
            recipients = own.get("email_recipients") or base.email_recipients
            pairs.extend(("email", r) for r in recipients)
        elif channel == "webhook":
            url = own.get("webhook_url") or base.webhook_url
            if url:
                pairs.append(("webhook", url))
        elif channel == "push":
            urls = own.get("push_urls") or base.push_urls
            pairs.extend(("push", u) for u in urls)
    return pairs
