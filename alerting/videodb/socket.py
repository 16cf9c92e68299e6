"""VideoDB's WebSocket: GET /collection/{cid}/websocket hands out a URL with a short-lived
token; /ws/videodb sends {"connection_id": ...} first, then an alert frame for each alert
created for a VideoDB alert bound to that connection id.

The SDK opens the URL with no headers, so the credential is the token: signed with the app's
SECRET_KEY, valid for TOKEN_SECONDS, naming the key that asked for it (a key revoked since is
refused). Like /ws/events, each connection belongs to the live loop after its handshake (no
thread held); one relay thread per process turns the hub's alerts into each connection's
frames, and the loop writes them.
Delivery here is at-most-once, as on VideoDB: a client that reconnects gets a new connection
id and the alerts it should receive must be bound to it.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from flask import Flask, current_app, g, jsonify, request, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import selectinload

from ..auth import ANONYMOUS_ADMIN, auth_enabled, public
from ..extensions import db, sock
from ..live import LiveMessage, hand_over, hub, loop, origin_allowed, release_request
from ..live.loop import Connection
from ..models import ApiKey, Event
from ..schemas import responses as R
from ..schemas.openapi import operation as op
from ..services.events import event_json
from ..services.keys import Principal
from . import payloads, service
from .blueprint import bp, ok
from .payloads import Binding

log = logging.getLogger(__name__)

TOKEN_SALT = "alerting.videodb.websocket"
TOKEN_SECONDS = 300
POLL_SECONDS = 1.0
ENDPOINT = "videodb.alerts_socket"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def issue_token(principal: Principal) -> str:
    """A token naming the principal: the API key's id (or "anonymous" when auth is off)."""
    return _serializer().dumps({"kind": principal.kind, "id": principal.id})


@bp.get("/collection/<collection_id>/websocket")
@op("videodb", ok=R.WebSocketUrl, errors=(404,), envelope=True,
    summary="A WebSocket URL (with a short-lived token) for alert frames")
def websocket_url(collection_id: str):
    service.get_collection(collection_id)
    return ok({"websocket_url": url_for(ENDPOINT, token=issue_token(g.principal),
                                        _external=True)})


def _refuse(status: int, message: str):
    response = jsonify({"success": False, "message": message})
    response.status_code = status
    return response


def _principal(token: str) -> Principal | str:
    """The principal the token names, as its key is now, or why it is refused."""
    try:
        claims = _serializer().loads(token, max_age=TOKEN_SECONDS)
        kind, key_id = claims["kind"], claims["id"]
    except SignatureExpired:
        return "The WebSocket token has expired: get a new websocket_url"
    except (BadSignature, KeyError, TypeError):
        return "Invalid WebSocket token"
    if kind == "key" and isinstance(key_id, int):
        key = db.session.get(ApiKey, key_id)
        if key is None or key.revoked_at is not None:
            return "The API key behind this token was revoked"
        return Principal("key", key.id, key.name, key.scope)
    if kind == ANONYMOUS_ADMIN.kind and not auth_enabled():
        return ANONYMOUS_ADMIN
    return "Invalid WebSocket token"  # e.g. issued while authentication was off


@bp.before_request
def _admit():
    """Check the handshake before upgrading: another site's page or a bad token is refused."""
    if request.endpoint != ENDPOINT:
        return None
    if not origin_allowed(request.headers.get("Origin"), request.host):
        return _refuse(403, "WebSocket connections from other sites are refused")
    token = request.args.get("token")
    if not token:
        return _refuse(401, "A token is required: connect to the websocket_url of "
                            "GET /collection/default/websocket")
    principal = _principal(token)
    db.session.close()  # hold no connection while streaming
    if isinstance(principal, str):
        return _refuse(401, principal)
    if not principal.allows("read"):
        return _refuse(403, f"This key's scope '{principal.scope}' may not read alerts")
    g.principal = principal
    return None


class _Frames:
    """Turns this connection's share of alert_created messages into alert frames. Which
    rule is bound to this connection is looked up once per rule: a binding never changes."""

    def __init__(self, connection_id: str):
        self.connection_id = connection_id
        self.bindings: dict[str, Binding | None] = {}

    def binding(self, rule_id: str) -> Binding | None:
        if rule_id not in self.bindings:
            found = service.binding_for_rule(rule_id)
            mine = found is not None and found.ws_connection_id == self.connection_id
            self.bindings[rule_id] = found if mine else None
        return self.bindings[rule_id]

    def frame(self, message: LiveMessage) -> dict[str, Any] | None:
        if message.type != "alert_created" or not message.data.get("rule_id"):
            return None
        if message.data.get("status") == "silenced":  # kept, not delivered: no frame
            return None
        try:
            binding = self.binding(message.data["rule_id"])
            if binding is None:
                return None
            event = db.session.get(Event, message.data["event_id"],
                                   options=[selectinload(Event.detections)])
            return None if event is None else payloads.alert_frame(binding, event_json(event))
        except Exception:  # one alert that cannot be shown must not end the connection
            log.exception("videodb: could not build the frame of alert %s",
                          message.data.get("id"))
            return None
        finally:
            db.session.close()


class _Relay:
    """This process's VideoDB clients and the one thread that makes their frames: it holds a
    hub subscription while any client is connected, and hands each frame to the live loop."""

    def __init__(self, app: Flask):
        self.app = app
        self.lock = threading.Lock()
        self.clients: dict[str, tuple[Connection, _Frames]] = {}
        self.subscription = None

    def add(self, connection_id: str, conn: Connection) -> None:
        """Subscribed when this returns: nothing bound to the connection can be missed."""
        with self.lock:
            self.clients[connection_id] = (conn, _Frames(connection_id))
            if self.subscription is None:
                self.subscription = hub(self.app).subscribe()
                threading.Thread(target=self._run, daemon=True,
                                 name="alerting-videodb-relay").start()

    def _clients(self) -> list[tuple[Connection, _Frames]] | None:
        """The clients still connected, or None (and unsubscribed) when there are none."""
        with self.lock:
            for connection_id in [c for c, (conn, _) in self.clients.items()
                                  if conn.done.is_set()]:
                del self.clients[connection_id]
            if self.subscription.dropped:  # fell behind: at-most-once, as on VideoDB
                log.warning("videodb: the relay fell behind; some alerts were not sent")
                self.subscription = hub(self.app).subscribe() if self.clients else None
            elif not self.clients:
                hub(self.app).unsubscribe(self.subscription)
                self.subscription = None
            return list(self.clients.values()) if self.subscription is not None else None

    def _run(self) -> None:
        with self.app.app_context():
            live_loop = loop(self.app)
            while (clients := self._clients()) is not None:
                for message in self.subscription.take(POLL_SECONDS):
                    for conn, frames in clients:
                        frame = frames.frame(message)
                        if frame is not None:
                            live_loop.send_texts(conn, [json.dumps(frame,
                                                                   separators=(",", ":"))])


_relay_lock = threading.Lock()


def _relay() -> _Relay:
    with _relay_lock:
        return current_app.extensions.setdefault("alerting.videodb.relay",
                                                 _Relay(current_app._get_current_object()))


@sock.route("/ws/videodb", bp=bp)
@public  # the token checked in _admit is the credential
def alerts_socket(ws):
    connection_id = service.new_id("conn")
    conn = hand_over(ws, None)
    if conn is None:
        return
    _relay().add(connection_id, conn)
    loop().send_texts(conn, [json.dumps({"connection_id": connection_id})])
    release_request(conn)
