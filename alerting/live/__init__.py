"""Live alerts: the hub that fans messages out to connected clients, and `/ws/events`.

Every message is `{"type": ..., "data": {...}}` JSON (programs, `format=json`, the default)
or an htmx out-of-band HTML fragment (the live page, `format=html`):

- `alert_created`: data is the API's alert object;
- `alert_updated`: the same, after a status change (delivered, failed, acknowledged, dismissed);
- `event_created`: the API's event object, sent once the event is matched, right before
  its `alert_created`s (the event and its alerts reach a client in one write);
- `ready` (JSON only, sent once): the client is subscribed and caught up;
  `data.last_id` is the cursor to reconnect with.

Catch-up: `?last_id=N` first sends every alert with an id above N, oldest first, then the
live stream, with nothing lost and nothing twice in between.

Credentials: the browser's login session, or an API key (`read` or `admin` scope) in
`?access_token=`, in the `x-access-token` / `Authorization: Bearer` headers, or in
`Sec-WebSocket-Protocol: alerting, <key>` (answered with `alerting`). A handshake from a
browser page of another site (its `Origin` is not this host) is refused with 403.

Caps: past ALERTING_LIVE_MAX_CONNECTIONS open WebSockets in this process, or
ALERTING_LIVE_MAX_PER_PRINCIPAL for one key or user, a new one is accepted and closed at once
with code 1013 (try again later) and a reason saying which.

The hub sits behind publish / subscribe / unsubscribe so that a Redis pub/sub hub can serve
several processes: each subscription is a bounded queue. After its handshake a WebSocket
belongs to the live loop (`loop.py`): one thread per process, its socket's only reader and
writer, fed by one subscription per form for all its clients; the request thread is free
again. Publishing never blocks: a client that falls a queue's length behind is dropped (its
socket shut down) and may reconnect with its last id.

Cost per message matters: every event and every alert is a message. So a message is built
once for every client, only in the forms someone subscribed to (no HTML, count query or
template without a live page open), from plain rows rather than ORM objects; the loop joins
a batch's frames once for every client that takes them uncompressed, one write a client.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Protocol
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    has_app_context,
    has_request_context,
    jsonify,
    render_template,
    request,
    url_for,
)
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from .. import signals
from ..auth import ANONYMOUS_ADMIN, auth_enabled, presented_key, session_principal
from ..engine.event_record import identity_of
from ..extensions import db, sock
from ..models import Alert, AlertRule, Detection, Event
from ..services import keys
from ..services.alerts import alert_json, without_deliveries
from ..services.events import event_json
from ..services.keys import Principal
from .loop import TRY_AGAIN_LATER, Connection, LiveLoop, Refused

log = logging.getLogger(__name__)

EXTENSION = "alerting.live"
LOOP = "alerting.live.loop"
URLS = "alerting.live.urls"
SUBPROTOCOL = "alerting"
FORMATS = ("json", "html")
OPEN_STATUSES = ("pending", "delivered", "failed")  # not yet acknowledged or dismissed
DEFAULT_QUEUE_SIZE = 4096  # a full batch of 1,000 events and their alerts fits, twice over
PING_SECONDS = 25
CATCH_UP_PAGE = 500
RESYNC_LIMIT = 10_000  # alerts a reconnecting Redis listener re-sends, at most
CATCH_UP_WAIT = 30.0  # how long a catch-up waits for a page to reach a slow client
WRITE_BATCH = 64  # messages one take() returns by default, at most (bounds a write)

bp = Blueprint("live", __name__)


def text_frame(text: str) -> bytes:
    """`text` as one unmasked, unfragmented WebSocket text frame (RFC 6455 section 5.2).
    A server's frames are the same bytes for every client that did not ask for compression."""
    data = text.encode()
    size = len(data)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + data


@dataclass(frozen=True, slots=True)
class LiveMessage:
    """One message, its JSON and HTML forms (and their frames) built once for every client."""

    type: str
    data: dict[str, Any]
    text: str
    html: str = ""
    text_frame: bytes = b""
    html_frame: bytes = b""

    @classmethod
    def build(cls, type_: str, data: dict[str, Any], html: str = "") -> LiveMessage:
        text = json.dumps({"type": type_, "data": data}, separators=(",", ":"))
        return cls(type_, data, text, html, text_frame(text), text_frame(html) if html else b"")

    @property
    def alert_id(self) -> int | None:
        return self.data.get("id") if self.type == "alert_created" else None


def _size_of(item: LiveMessage | tuple[LiveMessage, ...]) -> int:
    return 1 if isinstance(item, LiveMessage) else len(item)


class Subscription:
    """One client's bounded queue, and the form (`json` or `html`) it is sent messages in.
    `dropped` is set when the client fell too far behind.

    An item of the queue is one message or a group of them (an event and its alerts): a
    group wakes its reader (the live loop, or a test) once, not once per message."""

    __slots__ = ("_queue", "_pending", "_queued", "_count_lock", "_size", "_on_drop",
                 "_on_offer", "format", "dropped")

    def __init__(self, size: int, on_drop: Callable[[], None] | None = None,
                 fmt: str = "json", on_offer: Callable[[], None] | None = None):
        # SimpleQueue: put and get are C calls, cheaper per message than queue.Queue.
        self._queue: queue.SimpleQueue[LiveMessage | tuple[LiveMessage, ...]] = \
            queue.SimpleQueue()
        self._pending: deque[LiveMessage] = deque()  # the group being read
        self._queued = 0  # messages not yet read (the bound counts messages, not groups)
        self._count_lock = threading.Lock()
        self._size = size
        self._on_drop = on_drop
        self._on_offer = on_offer  # told after each offer (wakes a reader that selects)
        self.format = fmt
        self.dropped = False

    def offer(self, item: LiveMessage | tuple[LiveMessage, ...]) -> bool:
        """Queue a message or a group without waiting; False when it would take the queue
        past `size` messages (a group larger than that still goes into an empty queue)."""
        count = _size_of(item)
        with self._count_lock:
            if self._queued and self._queued + count > self._size:
                return False
            self._queued += count
        self._queue.put(item)
        if self._on_offer is not None:
            self._on_offer()
        return True

    def get(self, timeout: float) -> LiveMessage | None:
        """The next message, or None after `timeout` seconds without one. One reader per
        subscription, so the rest of a group can wait in a plain deque."""
        if not self._pending:
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                return None
            self._pending.extend((item,) if isinstance(item, LiveMessage) else item)
        with self._count_lock:  # counted out one by one: what waits here is queued too
            self._queued -= 1
        return self._pending.popleft()

    def take(self, timeout: float, limit: int = WRITE_BATCH) -> list[LiveMessage]:
        """The next message and whatever else is queued behind it (up to `limit`), oldest
        first; [] after `timeout` seconds without one. A client that fell behind is caught up
        with one wake-up and one write instead of one per message."""
        first = self.get(timeout)
        if first is None:
            return []
        taken = [first]
        while len(taken) < limit and (message := self.get(0)) is not None:
            taken.append(message)
        return taken

    def drop(self) -> None:
        self.dropped = True
        if self._on_drop is not None:
            try:
                self._on_drop()
            except Exception:
                log.exception("live: dropping a client failed")


class Hub(Protocol):
    """What the rest of the app needs from a live hub (in-process, or through Redis)."""

    @property
    def formats(self) -> frozenset[str]:
        """The forms a message published now would be sent in: build only those (none: skip
        the message)."""

    def publish(self, message: LiveMessage | Sequence[LiveMessage]) -> None: ...

    def subscribe(self, on_drop: Callable[[], None] | None = None, fmt: str = "json",
                  size: int | None = None,
                  on_offer: Callable[[], None] | None = None) -> Subscription: ...

    def unsubscribe(self, subscription: Subscription) -> None: ...


class LocalHub:
    """The in-process hub: one bounded queue per subscriber, in this process only."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE):
        self.queue_size = queue_size
        self.dropped_total = 0
        self._lock = threading.Lock()
        # Both replaced, never mutated, so publish can read them without the lock.
        self._subscriptions: tuple[Subscription, ...] = ()
        self._formats: frozenset[str] = frozenset()

    @property
    def formats(self) -> frozenset[str]:
        return self._formats

    def __len__(self) -> int:
        return len(self._subscriptions)

    def subscribe(self, on_drop: Callable[[], None] | None = None, fmt: str = "json",
                  size: int | None = None,
                  on_offer: Callable[[], None] | None = None) -> Subscription:
        subscription = Subscription(size or self.queue_size, on_drop, fmt, on_offer)
        with self._lock:
            self._replace((*self._subscriptions, subscription))
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._replace(tuple(s for s in self._subscriptions if s is not subscription))

    def _replace(self, subscriptions: tuple[Subscription, ...]) -> None:
        self._subscriptions = subscriptions
        self._formats = frozenset(s.format for s in subscriptions)

    def publish(self, message: LiveMessage | Sequence[LiveMessage]) -> None:
        """Queue a message, or a group of them as one item, for every subscriber; never
        waits for any of them."""
        item = message if isinstance(message, LiveMessage) else tuple(message)
        if not item:
            return
        for subscription in self._subscriptions:
            if not subscription.offer(item):
                self.unsubscribe(subscription)
                self.dropped_total += 1
                log.warning("live: a client fell %d messages behind and was dropped",
                            self.queue_size)
                subscription.drop()


def init_app(app: Flask) -> None:
    """Give `app` its hub, the `/ws/events` route, and the signals that feed the hub."""
    app.config.setdefault("SOCK_SERVER_OPTIONS", {
        "subprotocols": [SUBPROTOCOL],
        "thread_class": _NotStarted,  # the live loop reads and writes after the handshake
    })
    local = LocalHub(app.config.get("LIVE_QUEUE_SIZE", DEFAULT_QUEUE_SIZE))
    if app.config["REDIS_URL"]:
        from .redis_hub import RedisHub  # several processes: fan out through Redis

        app.extensions[EXTENSION] = RedisHub(app.config["REDIS_URL"], local,
                                             latest=_in_context(app, latest_alert_id),
                                             resync=_in_context(app, alerts_created_after))
    else:
        app.extensions[EXTENSION] = local
    app.extensions[LOOP] = LiveLoop(
        lambda **options: hub(app).subscribe(**options),
        lambda subscription: hub(app).unsubscribe(subscription),
        queue_size=local.queue_size,
        max_connections=app.config["LIVE_MAX_CONNECTIONS"],
        max_per_principal=app.config["LIVE_MAX_PER_PRINCIPAL"],
        ping_seconds=PING_SECONDS)
    app.add_template_filter(detected_objects)
    app.add_template_global(alert_action_url)
    app.add_template_global(page_url)
    app.extensions[URLS] = app.url_map.bind(
        "localhost", script_name=app.config.get("APPLICATION_ROOT") or "/")
    app.register_blueprint(bp)
    signals.events_matched.connect(_on_events_matched, sender=app)
    signals.alert_updated.connect(_on_alert_updated, sender=app)


def hub(app: Flask | None = None) -> Hub:
    return (app or current_app).extensions[EXTENSION]


# -- what the pages and the hub show -------------------------------------------------------


def detected_objects(event: Event | None) -> str:
    """Template filter: "person 91%, car 80%" (each object type once, its best confidence)."""
    if event is None:
        return ""
    best: dict[str, float | None] = {}
    for detection in event.detections:
        seen = best.get(detection.object_type)
        conf = detection.confidence
        if detection.object_type not in best or (conf is not None and (seen or 0) < conf):
            best[detection.object_type] = conf
    return ", ".join(f"{kind} {round(conf * 100)}%" if conf is not None else kind
                     for kind, conf in best.items())


def page_url(endpoint: str, **values: Any) -> str:
    """Template global: url_for that works in rows rendered in the matcher thread too, where
    there is no request to build from (the hub's bound URL map builds it there)."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.extensions[URLS].build(endpoint, values)


def alert_action_url(alert_id: int, action: str) -> str:
    """Template global: the URL of a row's acknowledge / dismiss button."""
    return page_url(f"web.{action}", alert_id=alert_id)


def _with_event():
    return joinedload(Alert.event).joinedload(Event.detections)


def load_alerts(ids: Iterable[int]) -> list[Alert]:
    """Alerts by id, oldest first, with their event and detections loaded for display."""
    ids = list(ids)
    if not ids:
        return []
    return list(db.session.scalars(
        select(Alert).where(Alert.id.in_(ids)).options(_with_event()).order_by(Alert.id))
        .unique())


def recent_alerts(limit: int, query: Any = None) -> list[Alert]:
    """The newest alerts (of `query`, a select of Alert, else all), newest first, ready for
    display."""
    query = select(Alert) if query is None else query
    return list(db.session.scalars(
        query.options(_with_event()).order_by(Alert.id.desc()).limit(limit)).unique())


def alerts_after(last_id: int, limit: int) -> list[Alert]:
    return list(db.session.scalars(
        select(Alert).where(Alert.id > last_id).options(_with_event())
        .order_by(Alert.id).limit(limit)).unique())


_UNACKNOWLEDGED = select(func.count()).select_from(Alert).where(Alert.status.in_(OPEN_STATUSES))


def unacknowledged_count() -> int:
    # On the session's connection, past the ORM layer: this runs once per alert published.
    return db.session.connection().scalar(_UNACKNOWLEDGED) or 0


def latest_alert_id() -> int:
    return db.session.scalar(select(func.max(Alert.id))) or 0


# The hub loads every new event and alert as plain rows: through the ORM (identity map,
# building objects, joined eager loading) the same took three to five times as long.
# Each alert with its rule's sound (what the page plays for it; "default" once the rule is
# gone).
_WITH_SOUND = select(Alert.__table__, AlertRule.sound).outerjoin(
    AlertRule, AlertRule.id == Alert.rule_id)
_ALERT_ROWS = (_WITH_SOUND.where(Alert.id.in_(bindparam("ids", expanding=True)))
               .order_by(Alert.id))
# Each event and its detections in one statement (an event without any comes once, its
# detection columns NULL): a publish is on the way of every event to the clients, and a
# statement costs more than the rows it returns.
_EVENT_NAMES = tuple(column.name for column in Event.__table__.c)
_DETECTION_NAMES = tuple(column.name for column in Detection.__table__.c)
_EVENT_ID = _EVENT_NAMES.index("id")
_DETECTION_ID = len(_EVENT_NAMES) + _DETECTION_NAMES.index("id")
_EVENT_ROWS = (select(Event.__table__, Detection.__table__)
               .outerjoin(Detection, Detection.event_id == Event.id)
               .where(Event.id.in_(bindparam("ids", expanding=True)))
               .order_by(Event.id, Detection.id))


def event_views(ids: Iterable[int], connection: Any = None) -> list[SimpleNamespace]:
    """Events by id, oldest first, each with its `detections`: the attributes event_json and
    the templates read, from plain rows (on `connection`, else the session's)."""
    connection = connection if connection is not None else db.session.connection()
    views: list[SimpleNamespace] = []
    view = None
    for row in connection.execute(_EVENT_ROWS, {"ids": list(ids)}):
        if view is None or view.id != row[_EVENT_ID]:
            view = SimpleNamespace(**dict(zip(_EVENT_NAMES, row, strict=False)),
                                   detections=[])
            views.append(view)
        if row[_DETECTION_ID] is not None:  # else the outer join's NULLs: no detection
            view.detections.append(SimpleNamespace(**dict(zip(
                _DETECTION_NAMES, row[len(_EVENT_NAMES):], strict=True))))
    for view in views:
        view.identity = identity_of(view.attributes, view.detections)
    return views


def alert_views(ids: Iterable[int], connection: Any = None) -> list[Any]:
    """Alerts by id, oldest first, as plain rows (what alert_json reads)."""
    connection = connection if connection is not None else db.session.connection()
    return connection.execute(_ALERT_ROWS, {"ids": list(ids)}).all()


_ALERTS_AFTER = (_WITH_SOUND.where(Alert.id > bindparam("after"))
                 .order_by(Alert.id).limit(RESYNC_LIMIT))


def alerts_created_after(after: int) -> list[LiveMessage]:
    """alert_created messages, both forms, for the alerts after id `after` (at most
    RESYNC_LIMIT): what a Redis listener that was away re-sends to its clients."""
    rows = db.session.connection().execute(_ALERTS_AFTER, {"after": after}).all()
    return alert_messages("alert_created", rows, frozenset(FORMATS))


def _in_context(app: Flask, function: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        with app.app_context():
            return function(*args)

    return call


def _fragment(kind: str, **context: Any) -> str:
    return render_template("_live_message.html", kind=kind, **context)


def _with_sound(row: Any) -> dict[str, Any]:
    """The alert's JSON and `sound`: its rule's choice (engine.vocabulary.SOUNDS)."""
    return {**alert_json(row), "sound": getattr(row, "sound", None) or "default"}


def alert_messages(kind: str, rows: list[Any], formats: frozenset[str],
                   events: dict[int, Any] | None = None) -> list[LiveMessage]:
    """`kind` messages for these alert rows; the HTML row (with its event, from `events`
    when the caller has it already) and the open count only for a page."""
    if "html" not in formats:
        return [LiveMessage.build(kind, _with_sound(row)) for row in rows]
    events = dict(events or {})
    missing = {row.event_id for row in rows} - events.keys()
    events.update((event.id, event) for event in event_views(missing) if missing)
    count = unacknowledged_count()
    no_channels = without_deliveries(rows)
    return [LiveMessage.build(kind, _with_sound(row), _fragment(
                kind, alert=SimpleNamespace(**row._asdict(), event=events.get(row.event_id)),
                fresh=kind == "alert_created", count=count, no_channels=no_channels))
            for row in rows]


# -- publishing: from whichever thread sent the signal, after its commit --------------------


@contextlib.contextmanager
def _rendering(app: Flask) -> Iterator[None]:
    """An app context to query and render in: the sender's own when it has one."""
    if has_app_context() and current_app._get_current_object() is app:
        yield
    else:
        with app.app_context():
            yield


def _publish_safely(app: Flask,
                    build: Callable[[frozenset[str]], Iterable[LiveMessage]]) -> None:
    # A failure here must never reach the sender: the matcher has committed already.
    target = app.extensions.get(EXTENSION)
    formats = target.formats if target is not None else frozenset()
    if not formats:
        return
    try:
        with _rendering(app):
            target.publish(build(formats))
    except Exception:
        log.exception("live: could not publish")


def _on_events_matched(app: Flask, event_ids: Iterable[int] = (),
                       alert_ids: Iterable[int] = (), **_: Any) -> None:
    """A matched batch: each event's `event_created` followed by its `alert_created`s, as
    one group, so that a client's handler wakes once for all of it."""
    event_ids, alert_ids = sorted(event_ids), list(alert_ids)

    def build(formats: frozenset[str]) -> list[LiveMessage]:
        connection = db.session.connection()
        rows = alert_views(alert_ids, connection) if alert_ids else []
        # The page shows only the latest event: a batch needs one fragment, not 1,000; a
        # page alone needs only the events that made alerts (for their rows), and the latest.
        wanted = event_ids if "json" in formats else sorted(
            {*(row.event_id for row in rows), *event_ids[-1:]})
        events = event_views(wanted, connection)
        alerts: dict[int, list[LiveMessage]] = {}
        for message in alert_messages("alert_created", rows, formats,
                                      {event.id: event for event in events}):
            alerts.setdefault(message.data["event_id"], []).append(message)
        messages = []
        for event in events:
            messages.append(LiveMessage.build(
                "event_created", event_json(event),
                _fragment("event_created", event=event)
                if "html" in formats and event is events[-1] else ""))
            messages.extend(alerts.pop(event.id, ()))
        for rest in alerts.values():  # (an alert's event is always in its batch)
            messages.extend(rest)
        return messages

    _publish_safely(app, build)


def _on_alert_updated(app: Flask, alert_id: int, **_: Any) -> None:
    _publish_safely(app, lambda formats: alert_messages("alert_updated",
                                                         alert_views([alert_id]), formats))


# -- the WebSocket route ---------------------------------------------------------------------


def _without_default_port(netloc: str) -> str:
    netloc = netloc.strip().lower()
    for default in (":80", ":443"):
        if netloc.endswith(default):
            return netloc[: -len(default)]
    return netloc


def origin_allowed(origin: str | None, host: str) -> bool:
    """No Origin (a program, not a browser), or a page of this very host:port."""
    if origin is None:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False  # includes "null" (sandboxed frames, file: pages)
    return _without_default_port(parts.netloc) == _without_default_port(host)


def _offered_protocols() -> list[str]:
    header = request.headers.get("Sec-WebSocket-Protocol", "")
    return [p.strip() for p in header.split(",") if p.strip()]


def _refuse(status: int, code: str, message: str):
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    return response


@bp.before_request
def _admit():
    """Refuse the handshake before upgrading: a foreign page, no credentials, bad options."""
    if not origin_allowed(request.headers.get("Origin"), request.host):
        return _refuse(403, "forbidden", "WebSocket connections from other sites are refused")
    offered = _offered_protocols()
    protocol_keys = [p for p in offered if p != SUBPROTOCOL]
    if offered and SUBPROTOCOL not in offered:
        return _refuse(400, "bad_request",
                       f"Offer the '{SUBPROTOCOL}' subprotocol along with an API key")
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        return _refuse(400, "bad_request", "format must be json or html")
    last_id = request.args.get("last_id")
    if last_id is not None and not last_id.isdigit():
        return _refuse(400, "bad_request", "last_id must be a whole number")
    if not auth_enabled():
        principal = ANONYMOUS_ADMIN
    else:
        raw = request.args.get("access_token") or presented_key() or next(
            iter(protocol_keys), None)
        principal = keys.authenticate(raw) if raw else session_principal()
        if principal is None:
            return _refuse(401, "unauthorized", "Log in, or present an API key")
        if not principal.allows("read"):
            return _refuse(403, "forbidden",
                           f"This key's scope '{principal.scope}' may not read alerts")
    g.principal = principal
    g.live_format = fmt
    g.live_last_id = int(last_id) if last_id is not None else None


class _NotStarted:
    """simple-websocket's reader thread, never started: after the handshake the live loop
    (alerting.live.loop) is the socket's only reader and writer."""

    name = "alerting-live-handshake"

    def __init__(self, target: Callable[[], None] | None = None):
        self.target = target

    def start(self) -> None:
        pass


def loop(app: Flask | None = None) -> LiveLoop:
    return (app or current_app).extensions[LOOP]


def stats(app: Flask | None = None) -> dict[str, int]:
    """This process's open WebSockets and what was refused or dropped (for /api/health)."""
    return loop(app).stats()


def _principal_key(principal: Principal) -> str | None:
    # Capped per key and per user; with authentication off everyone is the same anonymous
    # admin, so only the process cap applies.
    return None if principal.kind == ANONYMOUS_ADMIN.kind else f"{principal.kind}:{principal.id}"


def hand_over(ws, fmt: str | None) -> Connection | None:
    """Give this WebSocket, past its handshake, to the live loop: None when a cap refuses it
    (closed with 1013, "try again later"). Under gunicorn the socket is detached from the
    request, whose thread is then free; under another server the caller waits on the
    connection's `done` (see `release_request`)."""
    live_loop = loop()
    principal = _principal_key(g.principal)
    try:
        live_loop.admit(principal)
    except Refused as refused:
        log.warning("live: refused a WebSocket: %s", refused.reason)
        ws.close(TRY_AGAIN_LATER, refused.reason)
        return None
    sock = ws.sock
    try:
        if request.environ.get("gunicorn.socket") is sock:
            sock = socket.socket(fileno=sock.detach())  # gunicorn no longer closes it
            g.live_detached = True
        ws.connected = False  # flask-sock's close() after the route must not write to it
        compressed = "permessage-deflate" in request.headers.get("Sec-WebSocket-Extensions",
                                                                   "")
        return live_loop.attach(sock, ws.ws, fmt, compressed, principal)
    except Exception:
        live_loop.release(principal)
        if g.get("live_detached"):  # nobody else will close it now
            with contextlib.suppress(OSError):
                sock.close()
        raise


def release_request(conn: Connection) -> None:
    """Return from the route: at once under gunicorn, else when the connection ends (a
    server that closes the request's socket when the view returns must not close it)."""
    if not g.get("live_detached"):
        conn.done.wait()


def _catch_up(conn: Connection, fmt: str, last_id: int) -> tuple[set[int], int]:
    """Send every alert after `last_id`, oldest first. Returns (ids sent, new cursor)."""
    sent: set[int] = set()
    cursor = last_id
    while not conn.done.is_set():
        page = alerts_after(cursor, CATCH_UP_PAGE)
        if not page:
            break
        if fmt == "html":
            no_channels = without_deliveries(page)
            texts = [_fragment("alert_created", alert=alert, fresh=True, count=None,
                               no_channels=no_channels) for alert in page]
        else:
            texts = [LiveMessage.build("alert_created", alert_json(alert)).text
                     for alert in page]
        loop().send_texts(conn, texts)
        sent.update(alert.id for alert in page)
        cursor = page[-1].id
        db.session.expunge_all()
        if len(page) < CATCH_UP_PAGE:
            break
        conn.drained.wait(CATCH_UP_WAIT)  # one page in memory at a time, or about
    return sent, cursor


@sock.route("/ws/events", bp=bp)
def events(ws):
    """The live stream: alerts and events as JSON, or as htmx fragments for the live page."""
    fmt = g.live_format
    conn = hand_over(ws, fmt)  # subscribed from here on: the catch-up misses nothing
    if conn is None:
        return
    try:
        if g.live_last_id is not None:
            already, cursor = _catch_up(conn, fmt, g.live_last_id)
        else:
            already, cursor = set(), latest_alert_id()
        first = [LiveMessage.build("ready", {"last_id": cursor}).text] if fmt == "json" else \
            [_fragment("count", count=unacknowledged_count())] if g.live_last_id is not None \
            else []
    except Exception:
        loop().close(conn, 1011, "Internal error")
        raise
    finally:
        db.session.close()  # hold no connection (or SQLite read snapshot) while streaming
    loop().go_live(conn, already, first)
    release_request(conn)
