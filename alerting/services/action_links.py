"""Action links: the acknowledge and snooze buttons of a notification, as signed, expiring,
one-use URLs that need no login.

A token is `[action, alert id, token id]` (`acknowledge_group`: the group's id) signed with
itsdangerous' URLSafeTimedSerializer under the app's SECRET_KEY (tokens signed with a key in
SECRET_KEY_FALLBACKS still read, so a key rotation does not break the links already sent). It
is valid for ACTION_LINK_SECONDS and acts once: its token id goes into used_action_tokens in
the transaction that acts, and stays there until the token has expired (`prune_used`, run by
the track timer, workers/track_timer_loop.py).

Reading a link (GET) never acts: mail scanners and chat previews fetch every link. The page
it shows posts back to the same URL, which acts (web/actions.py); a push service that can
POST (ntfy's `http` actions, web push buttons) posts there directly.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from ..errors import ApiError
from ..extensions import db
from ..models import UsedActionToken, utcnow
from ..storage import delete_older
from . import alerts, audit, groups, silences

SALT = "alerting.action-link"
ACTOR = "action link"  # who the audit log and the alert say acted
# The actions a token can carry; `open` is a plain link to the alert's page, not a token.
ACKNOWLEDGE = "acknowledge"
# A group's notification: acknowledge every alert of the group still open (the token names
# the group, not an alert).
ACKNOWLEDGE_GROUP = "acknowledge_group"
# Snoozes: the silence's scope (silences.SNOOZE_SCOPES) and its minutes.
SNOOZES = {"snooze_camera": ("camera", 30), "snooze_rule": ("rule", 60)}
ACTIONS = (ACKNOWLEDGE, *SNOOZES, ACKNOWLEDGE_GROUP)
LABELS = {"acknowledge": "Acknowledge", "snooze_camera": "Snooze this camera for 30 min",
          "snooze_rule": "Snooze this rule for 1 h", "open": "Open the alert",
          "acknowledge_group": "Acknowledge every alert of the group"}
DONE = {"acknowledge": "Alert #{id} acknowledged.",
        "snooze_camera": "Camera {camera} snoozed for 30 minutes (alert #{id}).",
        "snooze_rule": "Rule {rule} snoozed for an hour (alert #{id}).",
        "acknowledge_group": "{count} alert{s} of group #{id} acknowledged."}


@dataclass(frozen=True)
class ActionLink:
    """What a valid token says: do `action` to alert `alert_id` (for `acknowledge_group`,
    the group of that id); `token_id` names the link."""

    action: str
    alert_id: int
    token_id: str
    issued_at: datetime

    @property
    def label(self) -> str:
        return LABELS[self.action]

    @property
    def group_id(self) -> int | None:
        """The group a group link acts on; None for an alert's link."""
        return self.alert_id if self.action == ACKNOWLEDGE_GROUP else None


def _serializer() -> URLSafeTimedSerializer:
    config = current_app.config
    # itsdangerous signs with the last key and reads with any (as Flask's session does).
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=SALT)


def issue(action: str, alert_id: int) -> str:
    """A new token for `action` on the alert, with its own token id."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return _serializer().dumps([action, int(alert_id), secrets.token_urlsafe(12)])


def read(token: str) -> ActionLink:
    """The link a token carries. ApiError 410 when it has expired, 400 when it is not one of
    ours (altered, cut short, signed with a key no longer accepted)."""
    try:
        payload, signed_at = _serializer().loads(
            token, max_age=current_app.config["ACTION_LINK_SECONDS"], return_timestamp=True)
    except SignatureExpired:
        raise ApiError(410, "link_expired", "This link has expired. Open the alert and act "
                                            "from its page instead.") from None
    except BadData:
        raise ApiError(400, "invalid_link", "This link is not valid: it may have been cut "
                                            "short or changed.") from None
    match payload:
        case [str(action), int(alert_id), str(token_id)] if action in ACTIONS:
            return ActionLink(action, alert_id, token_id, signed_at.astimezone(UTC))
    raise ApiError(400, "invalid_link", "This link is not valid.")


# A used token's row is kept while the token could still read as valid: ACTION_LINK_SECONDS
# after its use (it was signed before it was used, its time in whole seconds), plus this
# margin for the clocks of several processes that do not quite agree.
PRUNE_MARGIN_SECONDS = 3600


def prune_used(now: datetime | None = None, limit: int = 500) -> int:
    """Forget up to `limit` used tokens that have expired since (their links answer 410,
    used or not), oldest first. How many."""
    now = now or utcnow()
    kept = current_app.config["ACTION_LINK_SECONDS"] + 1 + PRUNE_MARGIN_SECONDS
    return delete_older(UsedActionToken.__table__.c.used_at, now - timedelta(seconds=kept),
                        limit)


def _used() -> ApiError:
    return ApiError(409, "link_used", "This link has already been used; it does nothing again.")


def check(token: str) -> ActionLink:
    """The link of a token that can still act (read, and not used yet); ApiError otherwise."""
    link = read(token)
    if db.session.get(UsedActionToken, link.token_id) is not None:
        raise _used()
    return link


def act(token: str) -> tuple[ActionLink, str]:
    """Do what the link says, once: (the link, what was done). The use, the audit entry and
    the change commit together; when the change is refused (the alert was acknowledged
    meanwhile, say) nothing is kept and the link stays unused."""
    link = check(token)
    if link.group_id is not None:
        return link, _act_on_group(link)
    alert = alerts.get_alert(link.alert_id)  # 404 when it is gone
    _use(link, "alert", alert.id)
    try:
        if link.action == ACKNOWLEDGE:
            alerts.transition(alert.id, ACKNOWLEDGE, ACTOR)  # the page's and API's acknowledge
        else:
            scope, minutes = SNOOZES[link.action]
            silences.snooze_for(alert, scope, minutes, ACTOR)
    except Exception:
        db.session.rollback()
        raise
    done = DONE[link.action].format(id=alert.id, camera=alert.camera_id, rule=alert.rule_name)
    return link, done


def _use(link: ActionLink, target_type: str, target_id: int) -> None:
    """Mark the link used and audit it; a concurrent use of the same link fails here."""
    db.session.add(UsedActionToken(token_id=link.token_id, action=link.action,
                                   alert_id=target_id))
    audit.record(ACTOR, "action_link_use", target_type, target_id,
                 {"action": link.action, f"{target_type}_id": target_id,
                  "token_id": link.token_id})
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise _used() from None


def _act_on_group(link: ActionLink) -> str:
    """Acknowledge the group's open alerts, with the link's use, in one transaction."""
    group = groups.get_group(link.alert_id)  # 404 when it is gone
    _use(link, "alert_group", group.id)
    try:
        done = alerts.acknowledge_group(group.id, ACTOR)
    except Exception:
        db.session.rollback()
        raise
    return DONE[ACKNOWLEDGE_GROUP].format(count=len(done), s="" if len(done) == 1 else "s",
                                          id=group.id)


def links_for_group(group_id: int, base_url: str | None) -> dict[str, str]:
    """A group notification's link that acknowledges every open alert of the group,
    absolute on `base_url` (ALERTING_PUBLIC_URL); none without it."""
    if not base_url:
        return {}
    from ..live import URLS

    urls = current_app.extensions[URLS]
    return {ACKNOWLEDGE_GROUP: base_url.rstrip("/") + urls.build(
        "web.action_confirm", {"token": issue(ACKNOWLEDGE_GROUP, group_id)})}


def links_for_alert(alert: Any, base_url: str | None) -> dict[str, str]:
    """The action links of an alert's notification, by name (`open`, `acknowledge`,
    `snooze_camera`, `snooze_rule`), absolute on `base_url` (ALERTING_PUBLIC_URL); none
    without it. `alert` is a row or model with `id`, `camera_id` and `rule_id`. Every
    channel (email, webhook, push) takes its links from here."""
    if not base_url:
        return {}
    from ..live import URLS  # the URL map bound once, usable outside a request

    urls = current_app.extensions[URLS]
    base = base_url.rstrip("/")
    links = {"open": base + urls.build("web.alerts_show", {"alert_id": alert.id})}
    for action in ACTIONS:
        if action == ACKNOWLEDGE_GROUP:
            continue
        if action == "snooze_camera" and not alert.camera_id:
            continue
        if action == "snooze_rule" and not alert.rule_id:
            continue
        links[action] = base + urls.build("web.action_confirm",
                                          {"token": issue(action, alert.id)})
    return links
