"""Validation of notification settings and of a notification test request (API and pages)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import ValidationError
from .rule_schema import (
    MAX_EMAIL_RECIPIENTS,
    MAX_PUSH_URLS,
    _check_push_url,
    check_email,
    check_http_url,
    check_int,
    check_list,
    check_object,
    check_optional_text,
    dedupe,
    fail,
    run_checks,
)
from .vocabulary import CHANNELS

SETTINGS_FIELDS = (
    "notification_enabled", "smtp_host", "smtp_port", "smtp_username", "smtp_password",
    "smtp_from_address", "smtp_use_tls", "smtp_use_ssl", "default_email_recipients",
    "default_webhook_url", "webhook_timeout_seconds", "push_urls",
)
TEST_FIELDS = ("channel", "email_recipients", "webhook_url", "push_urls")


def _bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise fail(path, "must be true or false")
    return value


def _recipients(value: object, path: str) -> list[str]:
    if value is None:
        return []
    items = check_list(value, path, check_email, max_items=MAX_EMAIL_RECIPIENTS,
                       what="a list of email addresses")
    return dedupe(items, str.lower)


def _push_urls(value: object, path: str) -> list[str]:
    if value is None:
        return []
    return dedupe(check_list(value, path, _check_push_url, max_items=MAX_PUSH_URLS,
                             what="a list of notification URLs"))


def _optional_url(value: object, path: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return check_http_url(value, path)


def _optional_email(value: object, path: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return check_email(value, path)


_SETTINGS_CHECKERS: dict[str, Callable[[object, str], Any]] = {
    "notification_enabled": _bool,
    "smtp_host": lambda v, p: check_optional_text(v, p, 255),
    "smtp_port": lambda v, p: None if v is None else check_int(v, p, 1, 65535),
    "smtp_username": lambda v, p: check_optional_text(v, p, 255),
    # A password is kept as typed (no stripping); "" or null clears it.
    "smtp_password": lambda v, p: None if v in (None, "") else _password(v, p),
    "smtp_from_address": _optional_email,
    "smtp_use_tls": _bool,
    "smtp_use_ssl": _bool,
    "default_email_recipients": _recipients,
    "default_webhook_url": _optional_url,
    "webhook_timeout_seconds": lambda v, p: check_int(v, p, 1, 120),
    "push_urls": _push_urls,
}


def _password(value: object, path: str) -> str:
    if not isinstance(value, str) or len(value) > 512 or "\x00" in value:
        raise fail(path, "must be a string of at most 512 characters")
    return value


def parse_settings(payload: object) -> dict[str, Any]:
    """A partial update of the notification settings: only the keys given come back."""
    if not isinstance(payload, Mapping):
        raise fail("body", "must be a JSON object")
    body, errors = check_object(payload, "", SETTINGS_FIELDS)
    result = run_checks(body, _SETTINGS_CHECKERS, "", errors)
    if result.get("smtp_use_tls") and result.get("smtp_use_ssl"):
        errors["smtp_use_ssl"] = "choose STARTTLS (smtp_use_tls) or SSL, not both"
    if errors:
        raise ValidationError(errors)
    return result


def parse_notification_test(payload: object) -> dict[str, Any]:
    """POST /api/notification/test: a channel, and optional targets overriding the defaults."""
    if not isinstance(payload, Mapping):
        raise fail("body", "must be a JSON object")
    body, errors = check_object(payload, "", TEST_FIELDS)
    channel = body.get("channel")
    if "channel" not in body:
        errors["channel"] = "is required"
    elif not isinstance(channel, str) or channel.lower() not in CHANNELS:
        errors["channel"] = f"must be one of {', '.join(CHANNELS)}"
    checkers = {"email_recipients": _recipients, "webhook_url": _optional_url,
                "push_urls": _push_urls}
    result = run_checks(body, checkers, "", errors)
    if errors:
        raise ValidationError(errors)
    return {
        "channel": channel.lower(),
        "email_recipients": result.get("email_recipients") or [],
        "webhook_url": result.get("webhook_url"),
        "push_urls": result.get("push_urls") or [],
    }
