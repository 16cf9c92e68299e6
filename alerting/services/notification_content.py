"""What a notification shows beyond the built-in text: links (the alert page, signed media
links), the snapshot to carry, the push priority, and the rule's or the site's templates.

Built in the app context when deliveries are claimed (services/deliveries.py), so the
channels, which run without one, get everything ready in the Message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import IntegrationSettings, NotificationSettings
from ..notify import Message
from ..notify import templates as notify_templates
from ..notify.media import Snapshot, SnapshotUnavailable, sign_media_path
from . import media, modes
from .integrations import ROW_ID as INTEGRATIONS_ROW
from .notification_settings import ROW_ID

# The channels that carry snapshots, and how many of a group's: email its strip (the worst
# alerts first, each size-capped as a single alert's is: ALERTING_NOTIFY_SNAPSHOT_MAX_BYTES),
# push the worst alert's attached, web push the worst alert's by its link.
STRIP_MAX = 6
SNAPSHOT_CHANNELS = {"email": STRIP_MAX, "push": 1, "webpush": 1}


@dataclass(frozen=True)
class ContentSettings:
    """The settings the content needs, read once per batch of messages."""

    public_url: str | None
    secret_key: str
    link_seconds: int
    site_templates: Mapping[str, Any] | None
    policy: media.FetchPolicy
    mode: str | None = None  # the arming mode when the batch was built
    # The notification settings row's updated_at as read with these: the dispatcher's
    # channel settings (the same row) are read again when it moves, with no query of its own.
    settings_version: Any = None


# The rows the content settings come from, by their versions, and the current mode: one
# small query per batch of messages. Reading the rows themselves (two ORM loads, a
# decryption, the latest mode change) cost about 2 ms per batch, the dispatcher's largest
# cost after its own statements.
_VERSIONS = select(
    select(NotificationSettings.updated_at)
    .where(NotificationSettings.id == ROW_ID).scalar_subquery(),
    select(IntegrationSettings.updated_at)
    .where(IntegrationSettings.id == INTEGRATIONS_ROW).scalar_subquery(),
    modes.LATEST_MODE_NAME.scalar_subquery())
_CACHE = "alerting.content_settings"


def content_settings() -> ContentSettings:
    """The app's content settings (in an app context), read again only when the settings
    rows they come from changed."""
    *versions, mode = db.session.connection().execute(_VERSIONS).one()
    cached = current_app.extensions.get(_CACHE)
    if cached is None or cached[0] != versions:
        cached = current_app.extensions[_CACHE] = (versions, _read_content_settings())
    return dataclasses.replace(cached[1], mode=modes.mode_or_default(mode),
                               settings_version=versions[0])


def _read_content_settings() -> ContentSettings:
    config = current_app.config
    row = db.session.get(NotificationSettings, ROW_ID)
    policy = dataclasses.replace(media.policy_from(config),
                                 max_bytes=int(config["NOTIFY_SNAPSHOT_MAX_BYTES"]),
                                 timeout=float(config["NOTIFY_SNAPSHOT_TIMEOUT_SECONDS"]))
    return ContentSettings(public_url=config.get("PUBLIC_URL"),
                           secret_key=str(current_app.secret_key),
                           link_seconds=int(config["MEDIA_LINK_SECONDS"]),
                           site_templates=row.templates if row is not None else None,
                           policy=policy)


def alert_url(settings: ContentSettings, alert_id: Any) -> str | None:
    """The alert's page, absolute; None without ALERTING_PUBLIC_URL."""
    if not settings.public_url or alert_id is None:
        return None
    return f"{settings.public_url}/alerts/{alert_id}"


def media_links(settings: ContentSettings, event_id: Any,
                event_media: Mapping[str, Any] | None) -> dict[str, str]:
    """Signed, expiring links to the media the event has, by kind ("snapshot", "clip")."""
    if not settings.public_url or event_id is None:
        return {}
    links = {}
    for name in media.available(event_media):
        path = f"/media/events/{event_id}/{name}"
        links[name.split(".")[0]] = settings.public_url + sign_media_path(
            settings.secret_key, path, settings.link_seconds)
    return links


def snapshot(settings: ContentSettings, event_id: Any,
             event_media: Mapping[str, Any] | None, link: str | None) -> Snapshot | None:
    """The event's snapshot for email and push, fetched when sent; None when it has none."""
    url = (event_media or {}).get("snapshot_url")
    if not url or event_id is None:
        return None
    from .integrations import auth_headers

    headers, policy = auth_headers(url), settings.policy

    def fetch() -> bytes:
        try:
            return media.fetch_bytes(url, policy, expect="image/", headers=headers).body
        except media.MediaUnavailable as exc:
            raise SnapshotUnavailable(exc.reason) from None

    return Snapshot(event_id=int(event_id), fetch=fetch, link=link)


def variables(context: Mapping[str, Any], links: Mapping[str, Any],
              mode: str | None = None) -> dict[str, Any]:
    """The templates' variables (notify.templates.VARIABLES) from a message's context."""
    event = context.get("event") or {}
    alert = context.get("alert") or {}
    camera_id = event.get("camera_id") or alert.get("camera_id")
    return {"alert": alert, "rule": context.get("rule") or {}, "event": event,
            "detections": event.get("detections") or [],
            "camera": {"id": camera_id, "name": event.get("camera_name") or camera_id},
            "mode": mode, "links": dict(links)}


DEFAULT_PARTS = {"email": ("title", "text"), "push": ("title", "text")}
_MESSAGE_FIELD = {"subject": "title", "title": "title", "body": "text"}


def apply_templates(message: Message, channel: str, rule_templates: Mapping[str, Any] | None,
                    site_templates: Mapping[str, Any] | None, mode: str | None = None) -> Message:
    """`message` with its title and text from the channel's templates, where there are any;
    a template that fails leaves the default and a note on the message."""
    chosen = notify_templates.merged(rule_templates, site_templates, channel)
    if not chosen:
        return message
    defaults = {part: getattr(message, _MESSAGE_FIELD[part])
                for part in notify_templates.PARTS[channel]}
    links = {"alert": message.click_url,
             **((message.webhook_body.get("data") or {}).get("media") or {})}
    rendered = notify_templates.render_parts(channel, chosen,
                                             variables(message.context, links, mode), defaults)
    changes = {_MESSAGE_FIELD[part]: text for part, text in rendered.parts.items()}
    return dataclasses.replace(message, **changes,
                               notes=(*message.notes, *rendered.notes))
