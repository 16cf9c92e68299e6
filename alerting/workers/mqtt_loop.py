"""The MQTT subscriber: a supervised loop that keeps one connection to the broker, hands
each message to its topic's handler (ingest/mqtt.py's table), and after every (re)connect
backfills each Frigate instance from its HTTP API.

One subscriber per deployment (docs/deploy.md): the messages of one tracked object must be
taken in order, which several subscribers sharing the topics (MQTT 5 shared subscriptions)
would not keep. The session is persistent (clean_session off, a fixed client id, QoS 1
subscriptions, acknowledged only once stored), so a QoS 1 message published while the
subscriber is away, or one whose storing failed, is delivered again by the broker; Frigate's
QoS 0 messages are not kept by the broker, and backfill covers them.

A message that is not what its topic carries is counted and logged with its topic and
skipped; a database error drops the connection (unacknowledged), and the supervisor's
backoff reconnects.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from typing import Any

import paho.mqtt.client as paho
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from .. import metrics
from ..extensions import db
from ..ingest import BadPayload, frigate
from ..ingest.modes import state_topic
from ..ingest.mqtt import Stats, broker, route_for, routes_of, topic_kind
from ..services import integrations, modes
from ..services.alert_pipeline import DATABASE_ERRORS
from .loop import BACKOFF_MAX_SECONDS, SupervisedLoop

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 30
LOOP_SECONDS = 0.2
MAX_BATCH = 200  # messages read before they are stored (a burst: one transaction for many)
CONNACK_SECONDS = 10
BACKFILL_RETRY_SECONDS = 30
SETTINGS_CHECK_SECONDS = 2  # how often the stored integration settings are read again
MODE_STATE_SECONDS = 1.0  # how often the current mode is read, to publish it when it changed


class ConnectionLost(Exception):
    """The broker closed the connection, refused it, or did not answer in time."""


class Subscriber(SupervisedLoop):
    """The MQTT subscriber of this process: the broker, client id, topics and Frigate
    instances of services/integrations.py (stored settings, else the environment's), read
    again every SETTINGS_CHECK_SECONDS; when they change, it reconnects with the new ones.
    `url` and `client_id` given here win over both (`flask mqtt`, tests)."""

    def __init__(self, app: Flask, *, url: str | None = None,
                 client_id: str | None = None, backoff_max: float = BACKOFF_MAX_SECONDS):
        super().__init__("mqtt", backoff_max=backoff_max)
        self.app = app
        self._url = url
        self._client_id = client_id
        self._apply(self._settings())
        self.stats = Stats()
        self.client: paho.Client | None = None
        self._open = False  # a socket to the broker is open (CONNACK or not)
        self._connack_by = 0.0
        self._refused: str | None = None
        self._backfill_due: float | None = None
        self.subscribed = threading.Event()  # the subscriptions of this connection are acked
        self._inbox: list[Any] = []  # messages read, not yet stored
        mode_topic = app.config.get("MQTT_MODE_TOPIC")
        self.mode_state_topic = state_topic(mode_topic) if mode_topic else None
        self._mode_published: str | None = None  # on this connection
        self._mode_check_at = 0.0

    # -- the settings --------------------------------------------------------------------

    def _settings(self, *, strict: bool = False) -> integrations.Effective:
        self._settings_due = time.monotonic() + SETTINGS_CHECK_SECONDS
        with self.app.app_context():
            try:
                return integrations.effective(strict=strict)
            finally:
                db.session.remove()

    def _apply(self, settings: integrations.Effective) -> None:
        self.settings = settings
        url = self._url or settings.mqtt_url
        self.broker = broker(url) if url else None
        self.client_id = self._client_id or settings.client_id
        self.table = routes_of({i.prefix: i.base_url for i in settings.instances},
                               settings.topics, self.app.config.get("MQTT_MODE_TOPIC"))
        self.instances = settings.by_prefix()

    def _check_settings(self) -> None:
        """Reconnect with the new settings when an admin changed them."""
        if time.monotonic() < self._settings_due:
            return
        try:
            settings = self._settings(strict=True)
        except SQLAlchemyError as exc:  # keep the settings in force; read again later
            log.debug("mqtt: the integration settings could not be read: %s", exc)
            return
        if settings.fingerprint() == self.settings.fingerprint():
            return
        log.info("mqtt: the integration settings changed; reconnecting")
        if self._open:
            self._drop()
        self.client = None
        self._apply(settings)

    # -- the connection ------------------------------------------------------------------

    def _new_client(self) -> paho.Client:
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             clean_session=False, manual_ack=True,
                             reconnect_on_failure=False)
        if self.broker.username is not None:
            client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _on_connect(self, client: paho.Client, _userdata: Any, _flags: Any, reason: Any,
                    _properties: Any) -> None:
        if reason.is_failure:
            self._refused = str(reason)
            return
        if self.table:
            client.subscribe([(route.pattern, 1) for route in self.table])
        else:
            self._on_subscribe()
        self.stats.connected = True
        self.stats.connects += 1
        self._mode_published, self._mode_check_at = None, 0.0
        log.info("mqtt: connected to %s:%s, subscribed to %s", self.broker.host,
                 self.broker.port, ", ".join(r.pattern for r in self.table))

    def _on_subscribe(self, *_args: Any) -> None:
        # Only now: what Frigate publishes from here on arrives, so asking its API for what
        # came before leaves no gap.
        self.subscribed.set()
        self._backfill_due = time.monotonic()

    def _connect(self) -> None:
        if self.client is None:
            self.client = self._new_client()
        self._refused = None
        self.client.connect(self.broker.host, self.broker.port, keepalive=KEEPALIVE_SECONDS)
        self._open = True
        self._connack_by = time.monotonic() + CONNACK_SECONDS

    def _drop(self) -> None:
        self._inbox = []  # unacknowledged: the broker sends the QoS 1 ones again
        self.stats.connected = False
        self.subscribed.clear()
        self._open = False
        if self.client is not None:
            try:
                self.client.disconnect()
            except Exception:  # the socket may be gone already
                pass
            self.client.loop(timeout=0)  # closes the socket when the broker did not

    def cycle(self) -> None:
        self._check_settings()
        if self.broker is None:  # no broker configured (any more): wait for one
            time.sleep(LOOP_SECONDS)
            return
        if not self._open:
            self._connect()
        try:
            code = self.client.loop(timeout=LOOP_SECONDS)
            # A burst: read what has arrived already, up to MAX_BATCH, and store it at once.
            while code == paho.MQTT_ERR_SUCCESS and 0 < len(self._inbox) < MAX_BATCH:
                before = len(self._inbox)
                code = self.client.loop(timeout=0)
                if len(self._inbox) == before:
                    break
            if self._inbox:
                self._take()
            if code != paho.MQTT_ERR_SUCCESS:
                raise ConnectionLost(paho.error_string(code))
            if self._refused:
                raise ConnectionLost(f"the broker refused the connection: {self._refused}")
            if not self.stats.connected and time.monotonic() > self._connack_by:
                raise ConnectionLost("no CONNACK from the broker")
        except BaseException:
            self._drop()
            raise
        if self._backfill_due is not None and time.monotonic() >= self._backfill_due:
            self._backfill()
        if self.mode_state_topic and self.stats.connected \
                and time.monotonic() >= self._mode_check_at:
            self._publish_mode()

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        if self.client is not None and self._open:
            self._drop()

    # -- messages ------------------------------------------------------------------------

    def _on_message(self, _client: paho.Client, _userdata: Any, message: Any) -> None:
        self.stats.message()
        metrics.mqtt_message(topic_kind(self.table, message.topic))
        self._inbox.append(message)

    def _take(self) -> None:
        """Store the messages read, in order: consecutive ones of a route that takes a
        batch together; then acknowledge them (stored, or refused for good)."""
        inbox, self._inbox = self._inbox, []
        with self.app.app_context():
            try:
                start = 0
                while start < len(inbox):
                    route = route_for(self.table, inbox[start].topic)
                    end = start + 1
                    if route is not None and route.batch is not None:
                        while end < len(inbox) and route_for(self.table,
                                                             inbox[end].topic) is route:
                            end += 1
                        self._run(route.batch, inbox[start:end])
                    elif route is not None:
                        retained = inbox[start].retain and route.retained is not None
                        self._run(None, inbox[start:end],
                                  route.retained if retained else route.handler)
                    start = end
            finally:
                db.session.remove()
        for message in inbox:
            self.client.ack(message.mid, message.qos)

    def _run(self, batch: Any, messages: list[Any], handler: Any = None) -> None:
        """A batch handler over the messages (or one handler over one): a bad payload is
        counted and skipped, a database error raised (nothing is acknowledged)."""
        pairs = [(m.topic, m.payload) for m in messages]
        try:
            outcomes = batch(pairs) if batch is not None else [handler(*pairs[0])]
        except BadPayload as exc:
            outcomes = [exc]
        except DATABASE_ERRORS:
            raise
        except Exception as exc:
            log.exception("mqtt: a message on %s could not be handled; skipped", pairs[0][0])
            outcomes = [exc] * len(pairs)
        for (topic, _payload), outcome in zip(pairs, outcomes, strict=False):
            if isinstance(outcome, Exception):
                self.stats.bad_payload(topic)
                metrics.mqtt_bad_payload(topic_kind(self.table, topic))
                if isinstance(outcome, BadPayload):
                    log.warning("mqtt: skipped a bad payload on %s: %s", topic, outcome)

    # -- the mode's state topic ---------------------------------------------------------

    def _publish_mode(self) -> None:
        """The current mode, retained on the state topic, when it is not what this
        connection published last (whoever changed it: a page, a key, the schedule, MQTT)."""
        self._mode_check_at = time.monotonic() + MODE_STATE_SECONDS
        with self.app.app_context():
            try:
                mode = modes.current_mode()
            finally:
                db.session.remove()
        if mode != self._mode_published:
            self.client.publish(self.mode_state_topic, mode.encode(), qos=1, retain=True)
            self._mode_published = mode

    # -- backfill ------------------------------------------------------------------------

    def _backfill(self) -> None:
        """Each Frigate instance with a base URL: what it published while we were away."""
        self._backfill_due = None
        for prefix, instance in self.instances.items():
            if not instance.base_url:
                continue
            with self.app.app_context():
                try:
                    self.stats.backfilled += frigate.backfill(prefix, instance.base_url,
                                                              auth=instance.auth)
                except DATABASE_ERRORS:
                    self._backfill_due = time.monotonic() + BACKFILL_RETRY_SECONDS
                    raise
                except Exception as exc:  # Frigate unreachable: tried again later
                    self.stats.backfill_failures += 1
                    self._backfill_due = time.monotonic() + BACKFILL_RETRY_SECONDS
                    log.warning("mqtt: backfill from Frigate (%s) failed: %s; retrying in "
                                "%s s", prefix, exc, BACKFILL_RETRY_SECONDS)
                finally:
                    db.session.remove()
