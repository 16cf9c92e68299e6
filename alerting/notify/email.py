"""Email over SMTP: a Flask-Mail message with text and HTML bodies rendered from templates/email."""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import time
from collections.abc import Mapping
from datetime import datetime
from email.errors import MessageError
from functools import lru_cache
from pathlib import Path
from typing import Any

import flask_mail
from flask import Flask
from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape

from alerting.notify.base import (
    ACTION_LABELS,
    ChannelSettings,
    Message,
    Outcome,
    unreadable_secret,
    with_notes,
)
from alerting.notify.media import SnapshotResult, embed_snapshots, fetch_snapshots
from alerting.notify.ssrf import outgoing_policy, parse_allow_cidrs

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
MESSAGE_ID_DOMAIN = "alerting.local"
SEVERITY_COLORS = {
    "critical": "#b91c1c",
    "high": "#c2410c",
    "medium": "#a16207",
    "low": "#1d4ed8",
}


@lru_cache(maxsize=1)
def _templates() -> Environment:
    # ChainableUndefined: a context missing a field renders as blank instead of failing delivery.
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(("html",), default_for_string=False),
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=1)
def _mail_app() -> Flask:
    # Flask-Mail's Message reads `current_app.extensions["mail"]` while it renders itself
    # (as_bytes), so it needs an app context. Channels must work without the real app (the
    # dispatcher may run in a worker with none), so a private, empty app is pushed only
    # around rendering. Flask-Mail's Connection is not used to send: it has no timeout and
    # calls starttls()/SMTP_SSL without an SSL context, i.e. without certificate checks.
    app = Flask(__name__)
    flask_mail.Mail(app)
    return app


def _ehlo_name(sender: str) -> str:
    # smtplib's default, socket.getfqdn(), is a reverse DNS lookup on every connection: slow
    # where the resolver is, and traffic to a resolver in a test. Use the host name if it is
    # fully qualified, else the sender's domain.
    host = socket.gethostname()
    if "." in host:
        return host
    domain = sender.rpartition("@")[2].strip(" <>")
    return domain or "localhost"


def message_id(delivery_id: str) -> str:
    """The Message-ID of a delivery: stable across retries, so a resend is the same mail."""
    local = re.sub(r"[^A-Za-z0-9._+-]", "-", delivery_id) or "delivery"
    return f"<{local}@{MESSAGE_ID_DOMAIN}>"


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _first(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "", [], ())), None)


def _format_time(value: Any) -> str | None:
    if isinstance(value, datetime):
        stamp = value.strftime("%Y-%m-%d %H:%M:%S")
        zone = value.tzname()
        return f"{stamp} {zone}" if zone else stamp
    return str(value) if value not in (None, "") else None


def _describe_condition(condition: Any) -> str:
    if isinstance(condition, Mapping):
        name = _first(condition.get("name"), condition.get("condition"), condition.get("field"))
        detail = _first(condition.get("detail"), condition.get("message"), condition.get("value"))
        if name and detail is not None:
            return f"{name}: {detail}"
        return str(name or dict(condition))
    return str(condition)


def action_buttons(actions: Any) -> list[tuple[str, str]]:
    """(label, URL) of each action link but `open` (the alert_url button), in a fixed order."""
    if not isinstance(actions, Mapping):
        return []
    return [(label, actions[name]) for name, label in ACTION_LABELS.items()
            if isinstance(actions.get(name), str)
            and actions[name].startswith(("http://", "https://"))]


def _own_text(text: str, built_in: Any) -> str | None:
    """What the message's text says beyond the facts the email lists: a template's body, or
    an escalation's reason put before the built-in text, which only repeats them."""
    if isinstance(built_in, str) and built_in and text.endswith(built_in):
        text = text[:-len(built_in)]
    return text.strip() or None


def _view(message: Message) -> dict[str, Any]:
    """Flatten the context into the few fields both templates show."""
    ctx = message.context
    alert, rule, event = ctx.get("alert"), ctx.get("rule"), ctx.get("event")
    objects: list[str] = []
    zones: list[str] = []
    for detection in _get(event, "detections") or ():
        kind = _get(detection, "object_type")
        confidence = _get(detection, "confidence")
        if kind:
            label = f"{kind} {confidence:.0%}" if isinstance(confidence, float) else str(kind)
            if label not in objects:
                objects.append(label)
        for zone in _get(detection, "zone_ids") or ():
            if zone not in zones:
                zones.append(str(zone))
    if not objects:
        objects = [str(label) for label in _get(event, "labels") or ()]
    risk_level, risk_score = _get(event, "risk_level"), _get(event, "risk_score")
    risk = " ".join(str(v) for v in (risk_level, risk_score and f"({risk_score})") if v)
    alert_url = ctx.get("alert_url")
    if not (isinstance(alert_url, str) and alert_url.startswith(("http://", "https://"))):
        alert_url = None
    severity = str(message.severity or _get(rule, "severity") or "").lower()
    return {
        "title": message.title,
        "text": _own_text(message.text, ctx.get("built_in_text")),
        "delivery_id": message.delivery_id,
        "severity": severity,
        "severity_label": severity.upper() or "ALERT",
        "severity_color": SEVERITY_COLORS.get(severity, "#374151"),
        "rule_name": _first(_get(rule, "name"), _get(alert, "rule_name")),
        "camera": _first(
            _get(event, "camera_name"), _get(event, "camera_id"), _get(alert, "camera_id")
        ),
        "when": _format_time(_first(_get(event, "started_at"), _get(alert, "created_at"))),
        "objects": objects,
        "zones": zones,
        "risk": risk,
        "summary": _first(_get(event, "summary"), _get(alert, "summary")),
        "conditions": [_describe_condition(c) for c in ctx.get("matched_conditions") or ()],
        "alert_url": alert_url,
        "action_links": action_buttons(ctx.get("actions")),
    }


def render(message: Message, snapshots: SnapshotResult | None = None) -> tuple[str, str]:
    """The (plain text, HTML) bodies of the alert email (or of the digest's); the HTML shows
    the fetched snapshots inline (by cid), and both say when one could not be attached."""
    env = _templates()
    variables = {**message.context, **_view(message),
                 "snapshots": [snap for snap, _body in snapshots.fetched] if snapshots else [],
                 "snapshot_note": snapshots.note if snapshots else None}
    name = "digest" if "digest" in message.context else "alert"
    text = env.get_template(f"email/{name}.txt").render(variables)
    html = env.get_template(f"email/{name}.html").render(variables)
    return text, html


def _recipients(target: str) -> list[str]:
    return [r.strip() for r in target.replace(";", ",").split(",") if r.strip()]


def _port(settings: ChannelSettings) -> int:
    if settings.smtp_port:
        return settings.smtp_port
    if settings.smtp_use_ssl:
        return 465
    return 587 if settings.smtp_use_tls else 25


class CouldNotConnect(Exception):
    """Connecting to the SMTP server, or reading its greeting, failed. `reason` is one message
    for every network cause: telling a closed port from an open one that does not speak SMTP
    (or from a host that does not answer) would make the test email a port scanner.
    `permanent`: the policy refused the address, or the allow-list is malformed."""

    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


def _connect(settings: ChannelSettings, ehlo: str, context: ssl.SSLContext) -> smtplib.SMTP:
    host, port, timeout = settings.smtp_host or "", _port(settings), settings.smtp_timeout
    client: smtplib.SMTP
    if settings.smtp_use_ssl:
        client = smtplib.SMTP_SSL(local_hostname=ehlo, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(local_hostname=ehlo, timeout=timeout)
    allow = tuple(settings.webhook_allow_cidrs)
    try:
        parse_allow_cidrs(allow)
    except ValueError as exc:
        raise CouldNotConnect(f"bad webhook_allow_cidrs: {exc}", True) from None
    # The connection goes through the same policy as webhooks and push (the allow-list
    # included); connect() also reads the server's greeting.
    with outgoing_policy(allow) as policy:
        try:
            code, _greeting = client.connect(host, port)
            if code != 220:  # not an SMTP server ready for us: the same to the caller
                raise smtplib.SMTPConnectError(code, _greeting)
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
            client.close()
            if policy.refused:
                raise CouldNotConnect("refused by the outgoing connection policy: "
                                      + "; ".join(policy.refused), True) from exc
            raise CouldNotConnect(f"could not connect to an SMTP server at {host}:{port}",
                                  False) from exc
    return client


def _deliver(settings: ChannelSettings, sender: str, recipients: list[str], raw: bytes) -> dict:
    context = ssl.create_default_context()
    client = _connect(settings, _ehlo_name(sender), context)
    try:
        if settings.smtp_use_tls and not settings.smtp_use_ssl:
            client.starttls(context=context)
        if settings.smtp_username:
            client.login(settings.smtp_username, settings.smtp_password or "")
        refused = client.sendmail(sender, recipients, raw)
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            pass  # the message was accepted; a failed QUIT changes nothing
        return refused
    finally:
        client.close()


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}"[:300]


def _classify(exc: Exception) -> Outcome:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in exc.recipients.values()]
        detail = "; ".join(f"{r}: {_reply(c, t)}" for r, (c, t) in exc.recipients.items())
        return Outcome(
            ok=False,
            retryable=any(400 <= c < 500 for c in codes),
            status_code=max(codes) if codes else None,
            error=f"all recipients refused: {detail}",
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        return Outcome(
            ok=False,
            # 5xx is a permanent refusal; 4xx and odd codes (-1: no reply) are worth a retry.
            retryable=not 500 <= code < 600,
            status_code=code if code > 0 else None,
            error=f"SMTP {_reply(code, exc.smtp_error)}",
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return Outcome(ok=False, retryable=True, error=f"SMTP server disconnected: {exc}")
    if isinstance(exc, smtplib.SMTPException):
        # STARTTLS or AUTH not offered, no usable AUTH method: configuration, not luck.
        return Outcome(ok=False, retryable=False, error=f"SMTP: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Outcome(ok=False, retryable=False, error=f"TLS certificate rejected: {exc}")
    if isinstance(exc, UnicodeError):
        return Outcome(ok=False, retryable=False, error="address not ASCII (SMTPUTF8 not used)")
    if isinstance(exc, TimeoutError):
        return Outcome(ok=False, retryable=True, error="SMTP timed out")
    if isinstance(exc, socket.gaierror):
        return Outcome(ok=False, retryable=True, error=f"cannot resolve SMTP host: {exc}")
    return Outcome(ok=False, retryable=True, error=f"{type(exc).__name__}: {exc}")


class EmailNotifier:
    """Send the alert email to an address or a comma-separated list of addresses."""

    name = "email"

    def send(self, message: Message, target: str, settings: ChannelSettings) -> Outcome:
        """Deliver once; SMTP 5xx is permanent, 4xx and network failures retryable."""
        started = time.perf_counter()
        outcome = self._send(message, target, settings)
        outcome.duration_ms = (time.perf_counter() - started) * 1000.0
        return outcome

    def _send(self, message: Message, target: str, settings: ChannelSettings) -> Outcome:
        if not settings.smtp_host:
            return Outcome(ok=False, retryable=False, error="email not configured: no SMTP host")
        if not settings.smtp_from_address:
            return Outcome(ok=False, retryable=False, error="email not configured: no from address")
        recipients = _recipients(target or "")
        if not recipients:
            return Outcome(ok=False, retryable=False, error="no email recipients")
        failed = settings.smtp_username and unreadable_secret(settings, "smtp_password")
        if failed:
            return failed
        snapshots = fetch_snapshots(message.snapshots)
        text, html = render(message, snapshots)
        mail = flask_mail.Message(
            subject=" ".join(message.title.split()),  # one line, whatever the caller passed
            recipients=list(recipients),
            body=text,
            html=html,
            sender=settings.smtp_from_address,
            date=time.time(),
            extra_headers={
                "Auto-Submitted": "auto-generated",  # no vacation or out-of-office replies to it
                "X-Alerting-Severity": " ".join(str(message.severity).split()),
                "X-Alerting-Delivery-Id": " ".join(message.delivery_id.split()),
            },
        )
        mail.msgId = message_id(message.delivery_id)
        if mail.has_bad_headers():
            return Outcome(ok=False, retryable=False, error="newline in a sender or recipient")
        try:
            with _mail_app().app_context():
                raw = mail.as_bytes()
        except (TypeError, ValueError, MessageError) as exc:
            # Python's header folding fails on some addresses (a local part starting with a
            # dot, next to others: TypeError from its parser), stored before the schema
            # refused them: the attempt fails and says so, it never raises.
            return Outcome(ok=False, retryable=False,
                           error=f"a sender or recipient address cannot be written in an "
                                 f"email header: {type(exc).__name__}")
        if snapshots.fetched:
            raw = embed_snapshots(raw, snapshots.fetched)
        return with_notes(self._deliver(settings, recipients, raw), snapshots.note)

    def _deliver(self, settings: ChannelSettings, recipients: list[str], raw: bytes) -> Outcome:
        try:
            refused = _deliver(settings, settings.smtp_from_address, recipients, raw)
        except CouldNotConnect as exc:
            return Outcome(ok=False, retryable=not exc.permanent, error=exc.reason)
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
            return _classify(exc)
        if refused:
            # Some recipients got it: a retry would send them a duplicate, so this is a success
            # that names who was refused.
            detail = "; ".join(f"{r}: {_reply(c, t)}" for r, (c, t) in refused.items())
            return Outcome(ok=True, error=f"some recipients refused: {detail}")
        return Outcome(ok=True)
