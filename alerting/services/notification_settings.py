"""Notification settings: one row, seeded from ALERTING_* on first use, secrets encrypted at
rest and never returned; the API's config view; the signing secret shown once; test sends."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from flask import current_app
from sqlalchemy.exc import IntegrityError

from .. import config as settings_config
from ..engine.errors import ValidationError
from ..engine.timeparse import isoformat_z
from ..errors import ApiError
from ..extensions import db
from ..models import NotificationSettings, utcnow
from ..notify import ChannelSettings, Message, get_notifier
from ..notify.redact import redact_url
from ..notify.webhook import generate_secret
from ..schemas.grouping import GroupingDefaults
from ..schemas.notification_settings import parse_notification_test, parse_settings
from ..schemas.templates import compact as compact_templates
from . import audit, secrets_box, webpush
from .mute_timings import check_names
from .notification_targets import (
    SETTINGS_ROW_ID,
    Defaults,
    Target,
    allow_cidrs,
    check_push_target,
    check_smtp_host,
    check_webhook_url,
    fixed_allow_cidrs,
    keep_or_seal,
    seal,
    stored,
    unseal,
)

ROW_ID = SETTINGS_ROW_ID
# Each stored secret's setting name and encrypted column.
SECRET_COLUMNS = {"smtp_password": "smtp_password_encrypted",
                  "webhook_secret": "webhook_secret_encrypted",
                  "push_urls": "push_urls_encrypted",
                  "default_webhook_url": "default_webhook_url_encrypted"}


def get_row() -> NotificationSettings:
    """The settings row, created from the environment's values the first time."""
    row = db.session.get(NotificationSettings, ROW_ID)
    if row is not None:
        return row
    config = current_app.config
    webhook = seal(config["WEBHOOK_URL"]) if config["WEBHOOK_URL"] else (None, None)
    row = NotificationSettings(
        id=ROW_ID,
        notification_enabled=config["NOTIFICATIONS_ENABLED"],
        smtp_host=config["SMTP_HOST"],
        smtp_port=config["SMTP_PORT"],
        smtp_username=config["SMTP_USERNAME"],
        smtp_password_encrypted=secrets_box.encrypt(config["SMTP_PASSWORD"]),
        smtp_from_address=config["SMTP_FROM_ADDRESS"],
        smtp_use_tls=config["SMTP_USE_TLS"],
        smtp_use_ssl=config["SMTP_USE_SSL"],
        default_email_recipients=list(config["EMAIL_RECIPIENTS"]),
        default_webhook_url=webhook[0],
        default_webhook_url_encrypted=webhook[1],
        webhook_secret_encrypted=secrets_box.encrypt(
            config["WEBHOOK_SECRET"] or generate_secret()),
        webhook_timeout_seconds=config["WEBHOOK_TIMEOUT_SECONDS"],
        push_urls_encrypted=secrets_box.encrypt_list(list(config["PUSH_URLS"])),
    )
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # another thread or process seeded it first
        db.session.rollback()
        row = db.session.get(NotificationSettings, ROW_ID)
    return row


def push_urls(row: NotificationSettings) -> list[str]:
    """The stored Apprise URLs (they may hold tokens, so they are stored encrypted); none
    when the secret key cannot read them (unreadable_secrets says so)."""
    try:
        return secrets_box.decrypt_list(row.push_urls_encrypted)
    except secrets_box.UnreadableSecret:
        return []


def unreadable_secrets(row: NotificationSettings) -> list[str]:
    """The stored secrets the current secret key cannot decrypt, by setting name."""
    unreadable = []
    for name, column in SECRET_COLUMNS.items():
        try:
            secrets_box.decrypt(getattr(row, column))
        except secrets_box.UnreadableSecret:
            unreadable.append(name)
    if webpush.stored_key_unreadable():
        unreadable.append("vapid_private_key")
    return unreadable


def _readable(row: NotificationSettings, name: str) -> str | None:
    try:
        return secrets_box.decrypt(getattr(row, SECRET_COLUMNS[name]))
    except secrets_box.UnreadableSecret:
        return None


def email_configured(row: NotificationSettings) -> bool:
    return bool(row.smtp_host and row.smtp_from_address)


def channel_settings(row: NotificationSettings | None = None) -> ChannelSettings:
    """What the notifiers need, secrets decrypted, for one batch of sends."""
    row = row or get_row()
    config = current_app.config
    return ChannelSettings(
        smtp_host=row.smtp_host,
        smtp_port=row.smtp_port,
        smtp_username=row.smtp_username,
        smtp_password=_readable(row, "smtp_password"),
        smtp_use_tls=row.smtp_use_tls,
        smtp_use_ssl=row.smtp_use_ssl,
        smtp_from_address=row.smtp_from_address,
        smtp_timeout=config["SMTP_TIMEOUT_SECONDS"],
        webhook_secret=_readable(row, "webhook_secret"),
        webhook_timeout_seconds=settings_config.send_deadline(
            row.webhook_timeout_seconds or 30, _lease_seconds()),
        webhook_allow_cidrs=allow_cidrs(row.webhook_allow_cidrs or ()),
        push_urls=tuple(push_urls(row)),
        vapid_private_key=webpush.private_pem(),
        vapid_subject=config["VAPID_SUBJECT"],
        unreadable_secrets=tuple(unreadable_secrets(row)),
    )


def _lease_seconds() -> int:
    return current_app.config["DELIVERY_LEASE_SECONDS"]


def check_stored(row: NotificationSettings) -> list[str]:
    """What a start-up should warn about in the stored settings, as log lines."""
    problems = []
    unreadable = unreadable_secrets(row)
    if unreadable:
        problems.append(
            f"stored secrets cannot be decrypted with this secret key: {', '.join(unreadable)}."
            " ALERTING_SECRET_KEY changed or was lost since they were stored; deliveries "
            "needing them fail (webhooks are never sent unsigned) until the key is restored "
            "or the secrets are set again")
    lease, timeout = _lease_seconds(), row.webhook_timeout_seconds or 30
    if 2 * timeout >= lease:
        problems.append(
            f"the stored webhook_timeout_seconds ({timeout}) is not less than half "
            f"ALERTING_DELIVERY_LEASE_SECONDS ({lease}): webhooks get "
            f"{settings_config.send_deadline(timeout, lease):g} s each instead")
    return problems


def config_json(row: NotificationSettings | None = None) -> dict[str, Any]:
    """GET /api/notification/config, exactly its documented fields (no secret ever)."""
    row = row or get_row()
    email = email_configured(row)
    webhook = bool(row.default_webhook_url)
    push = bool(push_urls(row))
    available = [name for name, ok in (("email", email), ("webhook", webhook), ("push", push))
                 if ok]
    return {
        "notification_enabled": row.notification_enabled,
        "email_configured": email,
        "webhook_configured": webhook,
        "push_configured": push,
        "available_channels": available,
        "smtp_host": row.smtp_host,
        "smtp_port": row.smtp_port,
        "smtp_from_address": row.smtp_from_address,
        "smtp_use_tls": row.smtp_use_tls,
        "default_webhook_url": row.default_webhook_url,
        "webhook_timeout_seconds": row.webhook_timeout_seconds,
        "default_email_recipients": row.default_email_recipients or [],
        "webhook_allow_cidrs": list(row.webhook_allow_cidrs or []),
        "webhook_allow_cidrs_fixed": list(fixed_allow_cidrs()),
    }


def grouping_defaults(row: NotificationSettings | None = None) -> dict[str, Any]:
    """The site-wide grouping defaults in force (stored, else the built-in ones)."""
    row = row or get_row()
    return GroupingDefaults().model_dump() | (row.grouping or {})


def settings_json(row: NotificationSettings | None = None) -> dict[str, Any]:
    """The API's view plus what the settings page shows: which secrets are set, never them."""
    row = row or get_row()
    return {
        **config_json(row),
        "smtp_username": row.smtp_username,
        "smtp_use_ssl": row.smtp_use_ssl,
        "smtp_password_set": bool(row.smtp_password_encrypted),
        "push_urls_count": len(push_urls(row)),
        "webhook_secret_set": bool(row.webhook_secret_encrypted),
        "webhook_secret_revealed": row.webhook_secret_revealed_at is not None,
        "channel_mute_timings": row.channel_mute_timings or {},
        "grouping": grouping_defaults(row),
        "templates": row.templates,
        "updated_at": isoformat_z(row.updated_at) if row.updated_at else None,
    }


def update(payload: Any, actor: str, *, commit: bool = True) -> NotificationSettings:
    """Apply a partial update; secrets are write-only. Every host the channels will connect
    to (webhook, push, SMTP) is checked against the outgoing connection policy.
    `commit=False`: left to the caller's transaction (rules as code)."""
    values = parse_settings(payload)
    lease = _lease_seconds()
    if 2 * values.get("webhook_timeout_seconds", 0) >= lease:
        raise ValidationError({"webhook_timeout_seconds": (
            f"must be less than half ALERTING_DELIVERY_LEASE_SECONDS ({lease}), so that a "
            "delivery is never claimed again while it is still sending")})
    row = get_row()
    stored_cidrs = row.webhook_allow_cidrs
    if "webhook_allow_cidrs" in values:
        # Set first: the hosts checked below (webhook, push, SMTP) are judged by the new list.
        row.webhook_allow_cidrs = values["webhook_allow_cidrs"] = \
            values["webhook_allow_cidrs"] or None
    check_smtp_host(values.get("smtp_host"))
    changed = sorted(values)
    if "default_webhook_url" in values:
        url = values.pop("default_webhook_url")
        # Given back as shown (***), it keeps the stored URL and its secret.
        previous = stored([(row.default_webhook_url, row.default_webhook_url_encrypted)]) \
            if row.default_webhook_url else {}
        values["default_webhook_url"], values["default_webhook_url_encrypted"] = keep_or_seal(
            url, previous, "default_webhook_url", check_webhook_url) if url else (None, None)
    if "push_urls" in values:
        urls = values.pop("push_urls")
        for index, url in enumerate(urls):
            keep_or_seal(url, {}, f"push_urls.{index}", check_push_target)
        values["push_urls_encrypted"] = secrets_box.encrypt_list(urls)
    if "channel_mute_timings" in values:
        names = values["channel_mute_timings"] or {}
        for channel, listed in names.items():
            check_names(listed, f"channel_mute_timings.{channel}")
        values["channel_mute_timings"] = {c: n for c, n in names.items() if n} or None
    if "templates" in values:
        values["templates"] = compact_templates(values["templates"])
    if "smtp_password" in values:
        values["smtp_password_encrypted"] = secrets_box.encrypt(values.pop("smtp_password"))
    before = {name: getattr(row, name) for name in values}
    if "webhook_allow_cidrs" in values:
        before["webhook_allow_cidrs"] = stored_cidrs
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    audit.record(actor, "notification_config_update", "notification_settings", ROW_ID,
                 {"changed": changed},
                 changes=audit.diff(before, values, secret_fields=[
                     name for name in values if name.endswith("_encrypted")]))
    if commit:
        db.session.commit()
    return row


def reveal_webhook_secret(actor: str) -> str:
    """The signing secret, once. Later calls are a 409: rotate to see a new one."""
    row = get_row()
    if row.webhook_secret_revealed_at is not None:
        raise ApiError(409, "conflict",
                       "The webhook signing secret was already shown; rotate it to get a new one")
    try:
        secret = secrets_box.decrypt(row.webhook_secret_encrypted) or ""
    except secrets_box.UnreadableSecret:
        raise ApiError(409, "conflict", "The stored webhook signing secret cannot be decrypted "
                       "(the secret key changed or was lost); rotate it to get a new one") from None
    row.webhook_secret_revealed_at = utcnow()
    audit.record(actor, "webhook_secret_reveal", "notification_settings", ROW_ID)
    db.session.commit()
    return secret


def rotate_webhook_secret(actor: str) -> str:
    """A new signing secret, returned this once; deliveries from now on are signed with it."""
    row = get_row()
    secret = generate_secret()
    row.webhook_secret_encrypted = secrets_box.encrypt(secret)
    row.webhook_secret_revealed_at = utcnow()
    audit.record(actor, "webhook_secret_rotate", "notification_settings", ROW_ID,
                 changes={"webhook_secret": {"before": audit.MASK, "after": audit.MASK}})
    db.session.commit()
    return secret


def sample_message(channel: str) -> Message:
    """A realistic sample alert, so a test shows what a real one will look like."""
    now = isoformat_z(utcnow())
    alert = {"id": 0, "rule_name": "Test notification", "camera_id": "test-camera",
             "severity": "low", "status": "pending", "created_at": now, "test": True}
    event = {"camera_id": "test-camera", "started_at": now, "risk_score": 10, "risk_level": "low",
             "summary": "This is a test notification from alerting.", "labels": ["test"],
             "detections": [{"object_type": "person", "confidence": 0.9, "zone_ids": ["porch"]}]}
    rule = {"id": None, "name": "Test notification", "severity": "low"}
    return Message(
        delivery_id=f"test-{uuid.uuid4()}",
        severity="low",
        title="[TEST] alerting notification test",
        text="This is a test notification from alerting. If you can read it, "
             f"the {channel} channel works.",
        context={"alert": alert, "rule": rule, "event": event, "matched_conditions": []},
        webhook_body={"type": "test", "timestamp": now,
                      "data": {"alert": alert, "rule": rule, "event": event,
                               "matched_conditions": []}},
    )


def send_test(payload: Any, actor: str) -> dict[str, Any]:
    """POST /api/notification/test: send one test message now; the API's result shape.
    Every test is audited, the failed ones too."""
    options = parse_notification_test(payload)
    result = _send_test(options)
    audit.record(actor, "notification_test", "notification_settings", ROW_ID,
                 {key: result[key] for key in ("channel", "success", "error")})
    db.session.commit()
    return result


def _send_test(options: dict[str, Any]) -> dict[str, Any]:
    channel = options["channel"]
    row = get_row()
    settings = channel_settings(row)
    if channel == "email":
        targets = options["email_recipients"] or list(row.default_email_recipients or [])
        if not email_configured(row):
            return _result(channel, False, "Email is not configured (missing SMTP settings)",
                           "Please configure SMTP settings (host, from address) to enable "
                           "email notifications")
        if not targets:
            return _result(channel, False, "No email recipients",
                           "Give email_recipients or configure default recipients")
        target = ", ".join(targets)
    elif channel == "webhook":
        target = options["webhook_url"]
        if target == row.default_webhook_url or not target:  # the default, maybe as shown
            target = unseal(row.default_webhook_url, row.default_webhook_url_encrypted) \
                if row.default_webhook_url else None
        if not target:
            return _result(channel, False, "Webhook is not configured (no URL)",
                           "Give webhook_url or configure a default webhook URL")
    else:
        urls = options["push_urls"] or list(settings.push_urls)
        if not urls:
            return _result(channel, False, "Push is not configured (no Apprise URLs)",
                           "Configure push URLs (Apprise URLs such as ntfy://topic)")
        settings, target = replace(settings, push_urls=tuple(urls)), ""
    outcome = get_notifier(channel).send(sample_message(channel), target, settings)
    if not outcome.ok:
        return _result(channel, False, outcome.error or "delivery failed",
                       f"Test {channel} notification failed", outcome.status_code)
    shown = redact_url(target) if channel == "webhook" else target if channel == "email" \
        else f"{len(settings.push_urls)} push URL(s)"
    return _result(channel, True, None, f"Test {channel} sent successfully to {shown}",
                   outcome.status_code)


def _result(channel: str, success: bool, error: str | None, message: str,
            status_code: int | None = None) -> dict[str, Any]:
    body = {"channel": channel, "success": success, "error": error, "message": message}
    if status_code is not None:
        body["status_code"] = status_code
    return body


def defaults() -> Defaults:
    """The notification settings' defaults (seeded from ALERTING_* on first use)."""
    row = get_row()
    webhook = Target(row.default_webhook_url, row.default_webhook_url_encrypted) \
        if row.default_webhook_url else None
    # Unreadable push URLs give one push delivery with an empty target (the defaults), which
    # fails saying why: not none at all, which would drop the alert's push silently.
    urls = tuple(seal(u) for u in push_urls(row)) or (
        (Target(""),) if row.push_urls_encrypted and "push_urls" in unreadable_secrets(row)
        else ())
    return Defaults(row.notification_enabled, tuple(row.default_email_recipients or ()),
                    webhook, urls)
