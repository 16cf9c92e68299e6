"""VideoDB's WebSocket: GET /collection/{cid}/websocket hands out a URL with a short-lived
token; /ws/videodb sends {"connection_id": ...} first, then an alert frame for each alert
created for a VideoDB alert bound to that connection id.

The SDK opens the URL with no headers, so the credential is the token: signed with the app's
SECRET_KEY, valid for TOKEN_SECONDS, naming the key that asked for it (a key revoked since is
refused). Like /ws/events, each connection is a bounded hub subscription drained by its own
handler thread, the only writer to its socket; a client that falls too far behind is dropped.
Delivery here is at-most-once, as on VideoDB: a client that reconnects gets a new connection
id and the alerts it should receive must be bound to it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket as sockets
from collections.abc import Callable
from typing import Any

from flask import current_app, g, jsonify, request, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import selectinload

from ..auth import ANONYMOUS_ADMIN, auth_enabled, public
from ..extensions import db, sock
from ..live import LiveMessage, hub, origin_allowed
from ..models import ApiKey, Event
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


def _shut_down(ws) -> Callable[[], None]:
    def shut() -> None:
        # Wakes the handler if it is stuck sending to a client that stopped reading.
        with contextlib.suppress(OSError):
            ws.sock.shutdown(sockets.SHUT_RDWR)

    return shut


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


@sock.route("/ws/videodb", bp=bp)
@public  # the token checked in _admit is the credential
def alerts_socket(ws):
    connection_id = service.new_id("conn")
    frames = _Frames(connection_id)
    # Subscribed before the client learns its id: nothing bound to it can be missed.
    subscription = hub().subscribe(on_drop=_shut_down(ws))
    try:
        ws.send(json.dumps({"connection_id": connection_id}))
        while ws.connected and not subscription.dropped:
            message = subscription.get(POLL_SECONDS)
            if ws.input_buffer:  # clients have nothing to tell us
                ws.input_buffer.clear()
            frame = None if message is None else frames.frame(message)
            if frame is not None:
                ws.send(json.dumps(frame, separators=(",", ":")))
    except OSError:
        pass  # the client went away, or was dropped and its socket shut down
    finally:
        hub().unsubscribe(subscription)
