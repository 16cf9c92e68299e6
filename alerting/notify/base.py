"""What every channel shares: the message, the outcome, the settings and the Notifier protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from alerting.notify.media import Snapshot


@dataclass(frozen=True)
class Message:
    """One alert rendered for delivery; the same object is handed to every retry."""

    delivery_id: str
    severity: str
    title: str
    text: str
    context: dict[str, Any] = field(default_factory=dict)
    webhook_body: dict[str, Any] = field(default_factory=dict)
    # The alerts' snapshots, fetched by the channels that carry them (email, push).
    snapshots: tuple[Snapshot, ...] = ()
    # Push priority (engine.vocabulary.PRIORITIES) and the page the notification opens.
    priority: str = "normal"
    click_url: str | None = None
    # What went differently while the message was built (a template that failed and was
    # replaced by the default): recorded with the attempt, whatever its outcome.
    notes: tuple[str, ...] = ()


@dataclass
class Outcome:
    """How one delivery attempt ended, as the dispatcher needs it to schedule the next."""

    ok: bool
    retryable: bool = False
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    duration_ms: float = 0.0
    gone: bool = False  # the target no longer exists (web push 404/410): forget it


def with_notes(outcome: Outcome, *notes: str | None) -> Outcome:
    """`outcome` with `notes` prepended to its error text (which a success records too)."""
    parts = [note for note in (*notes, outcome.error) if note]
    outcome.error = "; ".join(parts) if parts else None
    return outcome


@dataclass(frozen=True)
class ChannelSettings:
    """Everything the channels need, copied out of the app config so no app is required."""

    smtp_host: str | None = None
    smtp_port: int | None = None  # None: 465 with SSL, 587 with STARTTLS, else 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_use_tls: bool = False  # STARTTLS
    smtp_use_ssl: bool = False  # implicit TLS
    smtp_from_address: str | None = None
    smtp_timeout: float = 10.0
    webhook_secret: str | None = None  # "whsec_<base64>"; None or "" sends unsigned
    webhook_timeout_seconds: float = 10.0
    webhook_allow_cidrs: tuple[str, ...] = ()
    push_urls: tuple[str, ...] = ()  # Apprise URLs used when a push target is empty
    vapid_private_key: str | None = None  # web push: PEM
    vapid_subject: str = "mailto:alerting@localhost"
    # Stored secrets the current secret key cannot decrypt ("smtp_password", "webhook_secret",
    # "push_urls"): a channel needing one fails rather than send without it.
    unreadable_secrets: tuple[str, ...] = ()


# The action links (services/action_links.py) a notification shows as buttons, in this
# order, with their labels (`acknowledge_group`: a group's notification); the `open` link is
# the notification's own link to the alert.
ACTION_LABELS = {"acknowledge": "Acknowledge", "snooze_camera": "Snooze camera 30 min",
                 "snooze_rule": "Snooze rule 1 h", "acknowledge_group": "Acknowledge all"}

SECRET_LABELS = {"smtp_password": "SMTP password", "webhook_secret": "webhook signing secret",
                 "push_urls": "push URLs", "default_webhook_url": "default webhook URL",
                 "vapid_private_key": "VAPID key (web push)"}


def unreadable_secret(settings: ChannelSettings, name: str) -> Outcome | None:
    """A failed outcome when the secret `name` is stored but cannot be decrypted, else None.
    Sending without it (unsigned, unauthenticated) is never an option. It is retried on the
    usual schedule, not dead at once: restoring the key (and restarting) or setting the
    secret again before the retries run out still delivers the alert."""
    if name not in settings.unreadable_secrets:
        return None
    label = SECRET_LABELS.get(name, name)
    return Outcome(ok=False, retryable=True, error=(
        f"not sent: the stored {label} cannot be decrypted (the secret key, "
        f"ALERTING_SECRET_KEY, changed or was lost); restore the key or set the {label} again"))


@runtime_checkable
class Notifier(Protocol):
    """A channel. `send` classifies every delivery failure into the Outcome; it never raises."""

    name: str

    def send(self, message: Message, target: str, settings: ChannelSettings) -> Outcome: ...
