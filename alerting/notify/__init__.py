"""Notification channels, one module each, behind the Notifier protocol and registered by name."""

from __future__ import annotations

from alerting.notify.base import ChannelSettings, Message, Notifier, Outcome
from alerting.notify.email import EmailNotifier
from alerting.notify.push import PushNotifier
from alerting.notify.webhook import WebhookNotifier
from alerting.notify.webpush import WebPushNotifier

NOTIFIERS: dict[str, Notifier] = {
    notifier.name: notifier for notifier in (EmailNotifier(), WebhookNotifier(), PushNotifier(),
                                        WebPushNotifier())
}


def get_notifier(channel: str) -> Notifier:
    """The notifier registered for `channel`; KeyError naming the known ones otherwise."""
    try:
        return NOTIFIERS[channel]
    except KeyError:
        known = ", ".join(sorted(NOTIFIERS))
        raise KeyError(f"unknown notification channel {channel!r} (known: {known})") from None


__all__ = [
    "NOTIFIERS",
    "ChannelSettings",
    "Message",
    "Notifier",
    "Outcome",
    "get_notifier",
]
