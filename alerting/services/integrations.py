"""Integration settings: the MQTT connection and the Frigate instances, the one place the
MQTT subscriber (workers/mqtt_loop.py), backfill and the media route read them from.

The environment gives the defaults (ALERTING_MQTT_URL, ALERTING_MQTT_CLIENT_ID,
ALERTING_MQTT_TOPICS, ALERTING_FRIGATE_PREFIXES, ALERTING_FRIGATE_URL): zero configuration
for the common case. What an admin saves (PUT /api/integrations, the Integrations page) wins
over them, field by field; saving null returns a field to the environment's value. Credentials
(the broker URL, Frigate passwords) are stored encrypted with the secrets box, like the SMTP
password, and never returned.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..engine.timeparse import isoformat_z
from ..extensions import db
from ..ingest.mqtt import frigate_instances, without_credentials
from ..models import IntegrationSettings
from ..notify.redact import redact_url
from ..schemas.common import validate
from ..schemas.integrations import IntegrationsUpdate
from . import audit, secrets_box

log = logging.getLogger(__name__)

ROW_ID = 1


@dataclass(frozen=True)
class FrigateInstance:
    """One Frigate: its topic prefix, its HTTP API's base URL (None: no media links, no
    backfill), and HTTP basic auth credentials when it sits behind them."""

    prefix: str
    base_url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.username, self.password or "") if self.username else None


@dataclass(frozen=True)
class Effective:
    """The settings in force: stored, else the environment's."""

    mqtt_url: str | None = field(repr=False)
    client_id: str
    topics: tuple[str, ...]
    instances: tuple[FrigateInstance, ...]
    mqtt_from: str = "environment"
    frigate_from: str = "environment"

    def by_prefix(self) -> dict[str, FrigateInstance]:
        return {instance.prefix: instance for instance in self.instances}

    def fingerprint(self) -> str:
        """Changes when anything the subscriber uses changes (a hash: no secret kept)."""
        data = [self.mqtt_url, self.client_id, self.topics,
                [(i.prefix, i.base_url, i.username, i.password) for i in self.instances]]
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()


def from_environment(config: Any) -> Effective:
    return Effective(
        mqtt_url=config.get("MQTT_URL"), client_id=config.get("MQTT_CLIENT_ID") or "alerting",
        topics=tuple(config.get("MQTT_TOPICS") or ()),
        instances=tuple(FrigateInstance(prefix, *(without_credentials(url) if url else ()))
                        for prefix, url in frigate_instances(config).items()))


def _readable(token: str | None) -> str | None:
    """A stored secret, or None (logged) when the secret key cannot read it any more: ingest
    goes on with the environment's value rather than stopping."""
    try:
        return secrets_box.decrypt(token)
    except secrets_box.UnreadableSecret as exc:
        log.warning("integrations: %s; using the environment's value", exc)
        return None


def effective(*, strict: bool = False) -> Effective:
    """The settings in force (needs an app context). A database that cannot be read (not
    migrated yet, down) gives the environment's, or with `strict` raises (the subscriber
    keeps what it has rather than switching for a blip)."""
    config = current_app.config
    env = from_environment(config)
    try:
        row = db.session.get(IntegrationSettings, ROW_ID)
    except SQLAlchemyError:
        db.session.rollback()
        if strict:
            raise
        return env
    if row is None:
        return env
    instances = env.instances
    if row.frigate_instances is not None:
        instances = tuple(FrigateInstance(i["prefix"], i.get("base_url"), i.get("username"),
                                          _readable(i.get("password_encrypted")))
                          for i in row.frigate_instances)
    stored_url = _readable(row.mqtt_url_encrypted)
    return Effective(
        mqtt_url=stored_url or env.mqtt_url, client_id=row.mqtt_client_id or env.client_id,
        topics=tuple(row.mqtt_topics) if row.mqtt_topics is not None else env.topics,
        instances=instances, mqtt_from="stored" if stored_url else "environment",
        frigate_from="stored" if row.frigate_instances is not None else "environment")


def trusted_base_urls() -> list[str]:
    """The Frigate base URLs the media route trusts (the person who runs the app named
    them): every effective instance's."""
    if not has_app_context():
        return []
    return [i.base_url for i in effective().instances if i.base_url]


def basic_auth(username: str | None, password: str | None) -> dict[str, str]:
    """The Authorization header of HTTP basic auth (none without a username)."""
    if not username:
        return {}
    token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def auth_headers(url: str) -> dict[str, str]:
    """The credentials of the Frigate instance whose base URL `url` is under, if any."""
    if not has_app_context():
        return {}
    for instance in effective().instances:
        if instance.base_url and instance.username and url.startswith(instance.base_url + "/"):
            return basic_auth(instance.username, instance.password)
    return {}


def _row() -> IntegrationSettings:
    row = db.session.get(IntegrationSettings, ROW_ID)
    if row is not None:
        return row
    db.session.add(IntegrationSettings(id=ROW_ID))
    try:
        db.session.commit()
    except IntegrityError:  # another thread or process created it first
        db.session.rollback()
    return db.session.get(IntegrationSettings, ROW_ID)


def settings_json() -> dict[str, Any]:
    """The effective settings, credentials masked (GET /api/integrations)."""
    now = effective()
    row = db.session.get(IntegrationSettings, ROW_ID)
    return {
        "mqtt": {"url": redact_url(now.mqtt_url) if now.mqtt_url else None,
                 "client_id": now.client_id, "topics": list(now.topics),
                 "url_from": now.mqtt_from},
        "frigate": [{"prefix": i.prefix, "base_url": i.base_url, "username": i.username,
                     "password_set": bool(i.password)} for i in now.instances],
        "frigate_from": now.frigate_from,
        "updated_at": isoformat_z(row.updated_at) if row is not None else None,
    }


def _audited(now: Effective) -> dict[str, Any]:
    return {"mqtt_url": redact_url(now.mqtt_url) if now.mqtt_url else None,
            "mqtt_client_id": now.client_id, "mqtt_topics": list(now.topics),
            "frigate": [{"prefix": i.prefix, "base_url": i.base_url, "username": i.username,
                         "password": "***" if i.password else None} for i in now.instances]}


def update(body: object, actor: str) -> dict[str, Any]:
    """Apply a partial update (IntegrationsUpdate); audited with secrets masked. A Frigate
    instance given without a password keeps the one stored for its prefix."""
    data = validate(IntegrationsUpdate, body)
    given = data.model_fields_set
    before = effective()
    row = _row()
    if "mqtt" in given and data.mqtt is not None:
        mqtt = data.mqtt
        if "url" in mqtt.model_fields_set:
            row.mqtt_url_encrypted = secrets_box.encrypt(mqtt.url)
        if "client_id" in mqtt.model_fields_set:
            row.mqtt_client_id = mqtt.client_id
        if "topics" in mqtt.model_fields_set:
            row.mqtt_topics = mqtt.topics
    if "frigate" in given:
        if data.frigate is None:
            row.frigate_instances = None
        else:
            kept = {i.prefix: i for i in before.instances}
            instances: dict[str, dict[str, Any]] = {}
            for item in data.frigate:
                password = item.password if "password" in item.model_fields_set else (
                    kept[item.prefix].password if item.prefix in kept else None)
                instances[item.prefix] = {
                    "prefix": item.prefix, "base_url": item.base_url,
                    "username": item.username,
                    "password_encrypted": secrets_box.encrypt(password)}
            row.frigate_instances = list(instances.values())
    db.session.flush()
    after = effective()
    changes = audit.diff(_audited(before), _audited(after))
    if changes:
        audit.record(actor, "integrations_update", "integration_settings", ROW_ID,
                     changes=changes)
    db.session.commit()
    return settings_json()
