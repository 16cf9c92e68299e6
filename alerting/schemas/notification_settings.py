"""Notification settings (PUT /api/notification/config and the settings page) and a
notification test request (POST /api/notification/test)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, model_validator

from ..engine.vocabulary import CHANNELS
from ._fields import EmailList, OptionalEmail, OptionalHttpUrl, PushUrlList
from .common import (
    NO_NUL,
    Body,
    CidrList,
    Flag,
    Says,
    choice,
    integer,
    null_means,
    nullable,
    optional_text,
    parser,
    refuse,
)
from .grouping import GroupingDefaults
from .rules import MuteTimingNames
from .templates import Templates


class ChannelMuteTimings(Body):
    """Mute timings per channel: nothing is sent on a channel inside one of its own."""

    WHAT: ClassVar[str] = "an object with email, webhook, push and webpush lists, or null"

    email: MuteTimingNames | None = None
    webhook: MuteTimingNames | None = None
    push: MuteTimingNames | None = None
    webpush: MuteTimingNames | None = None


# Kept as typed (no stripping); "" or null clears it.
Password = Annotated[null_means(None, Annotated[str, Field(max_length=512, pattern=NO_NUL)] | None),
                     Says(default="must be a string of at most 512 characters")]


class NotificationSettingsUpdate(Body):
    """A partial update of the notification settings: only the fields given change.
    Secrets (smtp_password, URLs holding credentials) are write-only."""

    notification_enabled: Flag = None  # type: ignore[assignment]
    smtp_host: optional_text(255) = None
    smtp_port: nullable(integer(1, 65535)) = None
    smtp_username: optional_text(255) = None
    smtp_password: Password = None
    smtp_from_address: OptionalEmail = None
    smtp_use_tls: Flag = None  # type: ignore[assignment]
    smtp_use_ssl: Flag = None  # type: ignore[assignment]
    default_email_recipients: EmailList = None  # type: ignore[assignment]
    default_webhook_url: OptionalHttpUrl = None
    webhook_timeout_seconds: integer(1, 120) = None
    push_urls: PushUrlList = None  # type: ignore[assignment]
    # Private networks webhooks, push and SMTP may reach, on top of ALERTING_WEBHOOK_ALLOW_CIDRS.
    webhook_allow_cidrs: CidrList = None  # type: ignore[assignment]
    channel_mute_timings: ChannelMuteTimings | None = None
    # The rules' grouping defaults (schemas/grouping.py); null: the built-in ones.
    grouping: GroupingDefaults | None = None
    # The site's default notification templates (a rule's own parts win).
    templates: Templates | None = None

    @model_validator(mode="after")
    def _one_tls_mode(self) -> NotificationSettingsUpdate:
        if self.smtp_use_tls and self.smtp_use_ssl:
            raise refuse("choose STARTTLS (smtp_use_tls) or SSL, not both", at="smtp_use_ssl")
        return self


class NotificationTest(Body):
    """A test send on one channel, to the given targets or else the configured defaults."""

    channel: choice(CHANNELS)
    email_recipients: EmailList = []  # type: ignore[assignment]
    webhook_url: OptionalHttpUrl = None
    push_urls: PushUrlList = []  # type: ignore[assignment]


parse_settings = parser(NotificationSettingsUpdate, exclude_unset=True)  # only the keys given
parse_notification_test = parser(NotificationTest)
