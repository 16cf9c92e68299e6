"""Where an alert's deliveries go: a rule's own targets, else the notification defaults.

A webhook or push URL may hold a secret (`user:pass@`, a token). It is kept in two forms: as
shown (redact_url), which is all the API, the pages and the logs ever get, and sealed (the
clear URL encrypted), which only the dispatcher opens, just before it sends. Giving back a
URL as shown (a form or a PUT that round-trips what it read) keeps the stored secret.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from flask import current_app

from ..engine.errors import ValidationError
from ..extensions import db
from ..models import NotificationSettings
from ..notify.redact import MASK, redact_url
from ..notify.ssrf import UnsafeURL, check_host, check_push_url, check_url
from . import secrets_box

# What a delivery whose sealed target cannot be opened (SECRET_KEY changed) is sent to: every
# channel refuses it permanently, so the secret is never guessed at and nothing else is reached.
UNREADABLE_TARGET = "unreadable-target://secret-key-changed"
SETTINGS_ROW_ID = 1  # the one notification settings row (services/notification_settings.py)


class Target(NamedTuple):
    """A delivery target: `shown` is what is displayed and the outbox's per-target key;
    `sealed`, the clear value encrypted, only when `shown` hides a secret."""

    shown: str
    sealed: str | None = None


SHOWN_MAX = 2048  # the column's size; *** for many short query values can make it longer


def seal(value: str) -> Target:
    """The target as shown, and sealed if showing it hid anything."""
    shown = redact_url(value)
    if shown == value:
        return Target(shown)
    return Target(shown[:SHOWN_MAX], secrets_box.encrypt(value))


@lru_cache(maxsize=1024)
def _open(key: str, sealed: str) -> str | None:
    # Deliveries of one rule share its sealed URL: one decryption serves them all.
    try:
        return secrets_box.decrypt(sealed)
    except secrets_box.UnreadableSecret:
        return None


def unseal(shown: str, sealed: str | None) -> str:
    """The clear target a channel sends to (UNREADABLE_TARGET if it cannot be decrypted)."""
    if not sealed:
        return shown
    clear = _open(current_app.config["SECRET_KEY"], sealed)
    return UNREADABLE_TARGET if clear is None else clear


def fixed_allow_cidrs() -> tuple[str, ...]:
    """The allow-list's entries from ALERTING_WEBHOOK_ALLOW_CIDRS (changed only by a restart)."""
    return tuple(current_app.config["WEBHOOK_ALLOW_CIDRS"])


def allow_cidrs(stored: Iterable[str] | None = None) -> tuple[str, ...]:
    """The one allow-list of the outgoing connection policy, for every channel: the
    environment's entries, then the stored ones (the Notifications page's; `stored` when
    the caller holds the settings row, else read from it)."""
    if stored is None:
        row = db.session.get(NotificationSettings, SETTINGS_ROW_ID)
        stored = (row.webhook_allow_cidrs if row is not None else None) or ()
    return tuple(dict.fromkeys((*fixed_allow_cidrs(), *stored)))


# Said with every refusal of a non-public address: where the allow-list is (a home network's
# Home Assistant is the usual case).
ALLOW_LIST_HINT = ("; to allow a network of yours (your Home Assistant, say), add it to "
                   "\"Private networks webhooks may reach\" on the Notifications page "
                   "(/notifications#allow-list) or to webhook_allow_cidrs of "
                   "PUT /api/notification/config")


def _refused(exc: UnsafeURL) -> str:
    hint = ALLOW_LIST_HINT if "address" in exc.reason else ""
    return f"refused: {exc.reason}{hint}"


def check_webhook_url(url: str | None, field: str) -> None:
    """422 naming `field` unless the policy lets the URL's host through."""
    if url:
        try:
            check_url(url, allow_cidrs())
        except UnsafeURL as exc:
            raise ValidationError({field: _refused(exc)}) from None


def check_push_target(url: str, field: str) -> None:
    """422 naming `field` for an Apprise URL whose host the policy refuses."""
    try:
        check_push_url(url, allow_cidrs())
    except UnsafeURL as exc:
        raise ValidationError({field: _refused(exc)}) from None


def check_smtp_host(host: str | None, field: str = "smtp_host") -> None:
    """422 naming `field` unless the policy lets the SMTP host through (checked on port 25:
    the policy judges the address, not the port)."""
    if host:
        try:
            check_host(host, 25, allow_cidrs())
        except UnsafeURL as exc:
            raise ValidationError({field: _refused(exc)}) from None


def stored(pairs: list[tuple[str, str | None]]) -> dict[str, list[str | None]]:
    """Stored (shown, sealed) pairs by how they are shown, in order (several may be shown
    alike, `ntfy://***`)."""
    by_shown: dict[str, list[str | None]] = {}
    for shown, sealed in pairs:
        by_shown.setdefault(shown, []).append(sealed)
    return by_shown


def keep_or_seal(url: str, previous: dict[str, list[str | None]], field: str,
                 check: Callable[[str, str], None]) -> Target:
    """`url` sealed, or the stored one when `url` is how that one is shown (taken from
    `previous`). A new URL is checked against the policy; one still holding *** was redacted
    and is refused."""
    if previous.get(url):
        return Target(url, previous[url].pop(0))
    if MASK in url:
        raise ValidationError({field: "holds *** from a redacted URL: give the whole URL, or "
                                      "the URL exactly as shown to keep the stored one"})
    check(url, field)
    return seal(url)


def shown_targets(targets: dict[str, Any] | None) -> dict[str, Any] | None:
    """A rule's targets as given, shown as the API shows stored ones: a webhook URL's
    password and push URLs' tokens as ***."""
    if not targets:
        return targets
    shown = dict(targets)
    if shown.get("webhook_url"):
        shown["webhook_url"] = redact_url(shown["webhook_url"])
    if shown.get("push_urls"):
        shown["push_urls"] = [redact_url(url) for url in shown["push_urls"]]
    return shown


def seal_targets(targets: dict[str, Any] | None, shown_before: dict[str, Any] | None = None,
                 sealed_before: dict[str, Any] | None = None, *, field: str = "targets"
                 ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A rule's targets as given (validated) -> (as shown, sealed), reusing what was stored.
    `field`: the rule field they are (`targets`, `escalation_targets`), for the 422."""
    if not targets:
        return targets, None
    before, sealed_old = shown_before or {}, sealed_before or {}
    shown, sealed = dict(targets), {}
    url = targets.get("webhook_url")
    if url:
        previous = stored([(before["webhook_url"], sealed_old.get("webhook_url"))]) \
            if before.get("webhook_url") else {}
        target = keep_or_seal(url, previous, f"{field}.webhook_url", check_webhook_url)
        shown["webhook_url"], sealed["webhook_url"] = target
    urls = targets.get("push_urls")
    if urls:
        old = before.get("push_urls") or []
        previous = stored(list(zip(old, sealed_old.get("push_urls") or [None] * len(old),
                                   strict=False)))
        kept: list[Target] = []
        for index, url in enumerate(urls):
            # Two stored URLs may be shown alike (`json://user:***@host/a`), and the parser
            # keeps one of identical URLs given: the one given back keeps them all.
            if previous.get(url):
                kept.extend(Target(url, s) for s in previous.pop(url))
            else:
                kept.append(keep_or_seal(url, previous, f"{field}.push_urls.{index}",
                                         check_push_target))
        shown["push_urls"] = [t.shown for t in kept]
        sealed["push_urls"] = [t.sealed for t in kept]
    has_secret = sealed.get("webhook_url") or any(sealed.get("push_urls") or ())
    return shown, (sealed if has_secret else None)


def rule_targets(shown: dict[str, Any] | None,
                 sealed: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored rule's targets as the matcher hands them to targets_for: URLs as Targets."""
    if not shown:
        return None
    sealed = sealed or {}
    webhook = shown.get("webhook_url")
    urls = shown.get("push_urls") or []
    seals = sealed.get("push_urls") or [None] * len(urls)
    return {
        "email_recipients": shown.get("email_recipients"),
        "webhook_url": Target(webhook, sealed.get("webhook_url")) if webhook else None,
        "push_urls": [Target(u, s) for u, s in zip(urls, seals, strict=False)],
    }


@dataclass(frozen=True)
class Defaults:
    """Default targets per channel, and the global switch."""

    enabled: bool
    email_recipients: tuple[str, ...]
    webhook_url: Target | None
    push_urls: tuple[Target, ...]


def escalation_pairs(targets: dict[str, Any] | None) -> list[tuple[str, Target]]:
    """(channel, target) pairs of a rule's escalation targets (rule_targets' form): each
    one given, whatever the rule's channels, and never the defaults."""
    own = targets or {}
    return ([("email", Target(r)) for r in own.get("email_recipients") or ()]
            + ([("webhook", own["webhook_url"])] if own.get("webhook_url") else [])
            + [("push", u) for u in own.get("push_urls") or ()])


def targets_for(channels: list[str], rule_targets: dict[str, Any] | None,
                base: Defaults) -> list[tuple[str, Target]]:
    """(channel, target) pairs: one per email recipient, webhook URL and push URL."""
    if not base.enabled:
        return []
    own = rule_targets or {}
    pairs: list[tuple[str, Target]] = []
    for channel in channels:
        if channel == "email":
            recipients = own.get("email_recipients") or base.email_recipients
            pairs.extend(("email", Target(r)) for r in recipients)
        elif channel == "webhook":
            url = own.get("webhook_url") or base.webhook_url
            if url:
                pairs.append(("webhook", url))
        elif channel == "push":
            urls = own.get("push_urls") or base.push_urls
            pairs.extend(("push", u) for u in urls)
    return pairs
