"""Web push to browsers (RFC 8030) with VAPID (RFC 8292) and encrypted payloads (RFC 8291),
through pywebpush. The target is the clear subscription info (endpoint and keys) as JSON;
the page's service worker (static/sw.js) shows the payload built here."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import requests
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

from alerting.notify.base import (
    ACTION_LABELS,
    ChannelSettings,
    Message,
    Outcome,
    unreadable_secret,
)
from alerting.notify.ssrf import outgoing_policy

# How long a push service keeps a notification for a device that is offline: an alert an
# hour old is still worth seeing; a day-old one is in the alert list.
TTL_SECONDS = 3600
# RFC 8291: a push service takes at least 4096 bytes of ciphertext; what is left of it
# after the aes128gcm header, padding delimiter and tag is kept for the JSON, with room.
MAX_PAYLOAD = 3000
MAX_BODY = 1000
_URGENCY = {"critical": "high", "high": "high", "medium": "normal", "low": "low"}
# A rule's push priority (engine.vocabulary.PRIORITIES) as the Urgency header; `normal`, the
# default, leaves it to the severity.
_PRIORITY_URGENCY = {"low": "low", "high": "high", "urgent": "high"}
_GONE = (404, 410)  # the subscription expired or was unsubscribed: never try it again


def vapid_key(key: str) -> Vapid02:
    """A VAPID key from PEM, or from the raw (or DER) key base64url-encoded (ValueError if it
    is neither)."""
    key = key.strip()
    if "-----BEGIN" in key:
        return Vapid02.from_pem(key.encode())
    return Vapid02.from_string(key)


def alert_url(alert_id: Any) -> str:
    return f"/alerts/{alert_id}"


def notification_actions(alert: Mapping[str, Any],
                         links: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """The notification's buttons: {action, title, url[, method]}. With the alert's signed
    action links (services/action_links.py, absolute on ALERTING_PUBLIC_URL): acknowledge,
    snooze the camera, snooze the rule, in that order, as POSTs to their path on the app's
    own origin (the service worker's fetch stays same-origin; the token is the credential).
    Browsers show the first two; a click on the notification itself opens the alert.
    Without links: one button opening the alert."""
    buttons = [{"action": name, "title": title, "url": urlsplit(links[name]).path,
                "method": "POST"} for name, title in ACTION_LABELS.items()
               if (links or {}).get(name)]
    return buttons or [{"action": "open", "title": "Open", "url": alert_url(alert.get("id"))}]


def snapshot_url(message: Message) -> str | None:
    """The image the notification shows: the snapshot's signed media link when there is one
    (ALERTING_PUBLIC_URL set: it loads without a session), else the app's media route
    (served to the logged-in browser); for a group, the worst alert's."""
    if message.snapshots:
        first = message.snapshots[0]
        return first.link or f"/media/events/{first.event_id}/snapshot.jpg"
    event = message.context.get("event") or {}
    if not (event.get("media") or {}).get("snapshot_url") or event.get("id") is None:
        return None
    return f"/media/events/{event['id']}/snapshot.jpg"


def urgency(message: Message) -> str:
    """The Urgency header (RFC 8030): the rule's priority when it is not `normal`, else the
    severity's."""
    return _PRIORITY_URGENCY.get(message.priority) or \
        _URGENCY.get(str(message.severity).lower(), "normal")


def payload(message: Message) -> dict[str, Any]:
    """What the service worker gets: the notification's text, links and options."""
    context = message.context
    alert = context.get("alert") or {}
    rule = context.get("rule") or {}
    body = message.text if len(message.text) <= MAX_BODY else message.text[:MAX_BODY - 1] + "…"
    found: dict[str, Any] = {
        "title": message.title[:200],
        "body": body,
        "severity": message.severity,
        "priority": message.priority,
        "alert_id": alert.get("id"),
        "url": alert_url(alert.get("id")),
        "snapshot_url": snapshot_url(message),
        "actions": notification_actions(alert, context.get("actions")),
        "tag": f"alert-{alert.get('id')}",
        "timestamp": int(time.time() * 1000),
    }
    if rule.get("sound"):
        found["sound"] = rule["sound"]
    return found


def encoded(message: Message) -> str:
    """The payload as JSON, the body shortened until it fits one push message."""
    found = payload(message)
    text = json.dumps(found, separators=(",", ":"))
    while len(text.encode()) > MAX_PAYLOAD and found["body"]:
        found["body"] = found["body"][: len(found["body"]) // 2]
        text = json.dumps(found, separators=(",", ":"))
    return text


@lru_cache(maxsize=4)
def _key(pem: str) -> Vapid02:
    return Vapid02.from_pem(pem.encode())


class WebPushNotifier:
    """Send one alert to one browser subscription through its push service."""

    name = "webpush"

    def send(self, message: Message, target: str, settings: ChannelSettings) -> Outcome:
        """Deliver once. 404/410: the subscription is gone (removed, never retried); 429 and
        5xx and network failures are retried; other refusals are not."""
        started = time.perf_counter()
        outcome = self._send(message, target, settings)
        outcome.duration_ms = (time.perf_counter() - started) * 1000.0
        return outcome

    def _send(self, message: Message, target: str, settings: ChannelSettings) -> Outcome:
        try:
            info = json.loads(target)
            info["endpoint"], info["keys"]["p256dh"], info["keys"]["auth"]  # noqa: B018
        except (ValueError, TypeError, KeyError):
            return Outcome(ok=False, retryable=False, error=(
                "not sent: the subscription cannot be read (the secret key, "
                "ALERTING_SECRET_KEY, changed or was lost)"))
        if not settings.vapid_private_key:
            return unreadable_secret(settings, "vapid_private_key") or Outcome(
                ok=False, retryable=True, error="not sent: no VAPID key")
        claims = {"sub": settings.vapid_subject}
        headers = {"Urgency": urgency(message),
                   "Topic": f"alert-{(message.context.get('alert') or {}).get('id')}"[:32]}
        try:
            with outgoing_policy(tuple(settings.webhook_allow_cidrs)) as policy:
                response = webpush(info, encoded(message),
                                   vapid_private_key=_key(settings.vapid_private_key),
                                   vapid_claims=claims, ttl=TTL_SECONDS, headers=headers,
                                   timeout=settings.webhook_timeout_seconds)
        except ValueError as exc:  # a malformed allow-list entry
            return Outcome(ok=False, retryable=False, error=f"bad webhook_allow_cidrs: {exc}")
        except WebPushException as exc:
            return _refused(exc)
        except requests.RequestException as exc:
            if policy.refused:  # permanent: the same address is refused next time
                return Outcome(ok=False, retryable=False, error="refused by the outgoing "
                               "connection policy: " + "; ".join(policy.refused))
            return Outcome(ok=False, retryable=True,
                           error=f"push service unreachable: {type(exc).__name__}")
        return Outcome(ok=True, status_code=getattr(response, "status_code", None))


def _refused(exc: WebPushException) -> Outcome:
    response = exc.response
    status = getattr(response, "status_code", None)
    reason = (getattr(response, "text", "") or "")[:300]
    error = f"push service answered {status}" + (f": {reason}" if reason else "")
    if status in _GONE:
        return Outcome(ok=False, retryable=False, status_code=status, gone=True,
                       error=error + " (subscription gone: removed)")
    retry_after = None
    header = (getattr(response, "headers", None) or {}).get("Retry-After")
    if header and str(header).isdigit():
        retry_after = float(header)
    retryable = status is None or status == 429 or status >= 500
    return Outcome(ok=False, retryable=retryable, status_code=status, error=error,
                   retry_after=retry_after)
