"""Web push to browsers: the app's VAPID key pair, the subscriptions people make on their
devices, and which alerts each subscription gets (docs/webpush.md).

A subscription's endpoint is a capability (whoever knows it and the keys can push to the
device) and its auth secret is stored encrypted. A delivery's target is shown as
`webpush:<id>@<push service host>`; the clear subscription (endpoint and keys) is sealed on
the delivery row, as a push URL's secret is, and only the dispatcher opens it.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from flask import current_app
from py_vapid import Vapid02
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..engine.timeparse import isoformat_z
from ..engine.vocabulary import SEVERITY_PRIORITY
from ..errors import ApiError
from ..extensions import db
from ..models import User, WebPushKeys, WebPushSubscription, bump_web_push_version, utcnow
from ..notify.webpush import vapid_key
from ..schemas.webpush import parse_subscription
from ..storage import finish
from . import audit, secrets_box
from .notification_targets import Target, check_webhook_url

log = logging.getLogger(__name__)

CHANNEL = "webpush"
KEYS_ROW = 1
_SUBS = WebPushSubscription.__table__


# -- the VAPID key pair -----------------------------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def vapid() -> Vapid02:
    """The app's VAPID key: ALERTING_VAPID_PRIVATE_KEY, else the stored one, else one made
    now and stored encrypted (at start-up, or the first use; a concurrent first use in
    another process stores first and this one takes it)."""
    configured = current_app.config.get("VAPID_PRIVATE_KEY")
    if configured:
        return vapid_key(configured)
    row = db.session.get(WebPushKeys, KEYS_ROW)
    if row is None:
        key = Vapid02()
        key.generate_keys()
        pem = key.private_pem().decode()
        # Its own session: the first use may come in the middle of a caller's transaction,
        # which this commit must not end.
        with Session(db.engine) as own:
            own.add(WebPushKeys(id=KEYS_ROW, private_key_encrypted=secrets_box.encrypt(pem),
                                public_key=public_key(key)))
            try:
                own.commit()
                return key
            except IntegrityError:  # another process stored its key first: use that one
                own.rollback()
                row = own.get(WebPushKeys, KEYS_ROW)
                stored = row.private_key_encrypted
    else:
        stored = row.private_key_encrypted
    return Vapid02.from_pem(secrets_box.decrypt(stored).encode())


def public_key(key: Vapid02 | None = None) -> str:
    """The public key as `pushManager.subscribe` takes it (applicationServerKey): of `key`,
    else the app's (the stored one is read as stored: no decryption needed)."""
    if key is None and not current_app.config.get("VAPID_PRIVATE_KEY"):
        row = db.session.get(WebPushKeys, KEYS_ROW)
        if row is not None:
            return row.public_key
    key = key or vapid()
    return _b64url(key.public_key.public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint))


def stored_key_unreadable() -> bool:
    """A stored key pair (none configured) the current secret key cannot decrypt."""
    if current_app.config.get("VAPID_PRIVATE_KEY"):
        return False
    row = db.session.get(WebPushKeys, KEYS_ROW)
    try:
        secrets_box.decrypt(row.private_key_encrypted if row else None)
    except secrets_box.UnreadableSecret:
        return True
    return False


def private_pem() -> str | None:
    """The private key as PEM for the notifier; None when the stored one is unreadable."""
    try:
        return vapid().private_pem().decode()
    except secrets_box.UnreadableSecret:
        return None


# -- subscriptions ---------------------------------------------------------------------------


def create_subscription(payload: object, *, user_id: int | None, actor: str,
                        commit: bool = True) -> WebPushSubscription:
    """Store a browser's subscription (422 naming bad fields). The same endpoint again (the
    page subscribing once more) replaces the stored one's keys and filter."""
    values = parse_subscription(payload)
    _check_endpoint(values["endpoint"])
    row = db.session.scalar(select(WebPushSubscription).where(
        WebPushSubscription.endpoint == values["endpoint"]))
    before = _audited(row) if row else {}
    if row is None:
        row = WebPushSubscription(endpoint=values["endpoint"], created_by=actor)
        db.session.add(row)
    row.user_id = user_id
    row.p256dh = values["keys"]["p256dh"]
    row.auth_encrypted = secrets_box.encrypt(values["keys"]["auth"])
    row.label = values["label"]
    row.min_severity = values["min_severity"]
    row.camera_ids = values["camera_ids"]
    db.session.flush()
    action = "web_push_subscription_update" if before else "web_push_subscription_create"
    audit.record(actor, action, "web_push_subscription", row.id,
                 {"push_service": origin(row.endpoint)},
                 changes=audit.diff(before, _audited(row), secret_fields=("keys",)))
    finish(commit)
    return row


def _audited(row: WebPushSubscription) -> dict[str, Any]:
    return {"label": row.label, "user_id": row.user_id, "min_severity": row.min_severity,
            "camera_ids": row.camera_ids, "keys": row.p256dh}


def _check_endpoint(endpoint: str) -> None:
    """422 for an endpoint at an address the outgoing policy refuses. Only a literal address
    is checked here (the browser resolved the push service's name; this server may not be
    able to): every send is checked by the policy again, names included."""
    host = urlsplit(endpoint).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    check_webhook_url(endpoint, "endpoint")


def list_subscriptions(*, limit: int = 100,
                       offset: int = 0) -> tuple[list[WebPushSubscription], int]:
    """The subscriptions, newest first, and how many there are."""
    query = select(WebPushSubscription)
    total = db.session.scalar(select(db.func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(WebPushSubscription.id.desc())
                              .limit(limit).offset(offset)).all()
    return list(rows), total


def get_subscription(subscription_id: int) -> WebPushSubscription:
    """The subscription, or a 404."""
    row = db.session.get(WebPushSubscription, subscription_id)
    if row is None:
        raise ApiError(404, "not_found", f"Web push subscription {subscription_id} not found")
    return row


def delete_subscription(subscription_id: int, actor: str, *, commit: bool = True) -> None:
    """Revoke a subscription: no more alerts go to that device."""
    row = get_subscription(subscription_id)
    audit.record(actor, "web_push_subscription_delete", "web_push_subscription", row.id,
                 {"push_service": origin(row.endpoint)},
                 changes=audit.diff(_audited(row), {}, secret_fields=("keys",)))
    db.session.delete(row)
    finish(commit)


def origin(endpoint: str) -> str:
    """The push service of an endpoint: what may be shown of it."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def subscription_dict(row: WebPushSubscription) -> dict[str, Any]:
    """A subscription as the API answers it: never the endpoint's path or the keys."""
    user = db.session.get(User, row.user_id) if row.user_id is not None else None
    return {"id": row.id, "user": user.username if user else None,
            "endpoint_origin": origin(row.endpoint), "label": row.label,
            "min_severity": row.min_severity, "camera_ids": row.camera_ids,
            "created_by": row.created_by, "created_at": isoformat_z(row.created_at),
            "last_success_at": row.last_success_at and isoformat_z(row.last_success_at)}


# -- which alerts go where (the matcher) ------------------------------------------------------


@dataclass(frozen=True)
class Subscriber:
    """One subscription as the matcher filters alerts for it."""

    max_priority: int  # the alert's severity priority must be at most this
    cameras: frozenset[str] | None
    target: Target

    def wants(self, severity: str, camera_id: str | None) -> bool:
        return (SEVERITY_PRIORITY[severity] <= self.max_priority
                and (self.cameras is None or camera_id in self.cameras))


def shown_target(row: Any) -> str:
    """A subscription's delivery target as shown (and the outbox's per-target key)."""
    return f"{CHANNEL}:{row.id}@{urlsplit(row.endpoint).hostname}"


def subscription_of(shown: str) -> int | None:
    """The subscription id in a shown target, or None."""
    head, _, rest = shown.partition(":")
    number = rest.partition("@")[0]
    return int(number) if head == CHANNEL and number.isdigit() else None


def load_subscribers(conn: Connection) -> list[Subscriber]:
    """Every subscription, its clear subscription info sealed once for all its deliveries.
    One whose auth secret cannot be decrypted (the secret key changed) is left out."""
    found = []
    for row in conn.execute(select(_SUBS)):
        try:
            auth = secrets_box.decrypt(row.auth_encrypted)
        except secrets_box.UnreadableSecret:
            log.warning("web push subscription %s: its auth secret cannot be decrypted", row.id)
            continue
        info = json.dumps({"endpoint": row.endpoint, "keys": {"p256dh": row.p256dh,
                                                               "auth": auth}})
        found.append(Subscriber(
            SEVERITY_PRIORITY.get(row.min_severity, 3),
            frozenset(row.camera_ids) if row.camera_ids else None,
            Target(shown_target(row), secrets_box.encrypt(info))))
    return found


def targets(subscribers: list[Subscriber], severity: str,
            camera_id: str | None) -> list[tuple[str, Target]]:
    """(channel, target) for every subscription wanting an alert of this severity and camera."""
    return [(CHANNEL, s.target) for s in subscribers if s.wants(severity, camera_id)]


def record_results(conn: Connection, delivered: list[str], gone: list[str]) -> None:
    """In the dispatcher's transaction: when each subscription last took a notification,
    and the subscriptions the push service said are gone (404/410) removed."""
    now = utcnow()
    ids = {subscription_of(t) for t in delivered} - {None}
    if ids:
        conn.execute(update(_SUBS).where(_SUBS.c.id.in_(ids)).values(last_success_at=now))
    gone_ids = {subscription_of(t) for t in gone} - {None}
    if gone_ids:
        conn.execute(delete(_SUBS).where(_SUBS.c.id.in_(gone_ids)))
        bump_web_push_version(conn)
        log.info("web push subscriptions %s removed: the push service says they are gone",
                 sorted(gone_ids))
