"""The MQTT side of ingest: the table of topics this deployment subscribes to, each with
its handler, and the counters /api/health shows. The connection itself is the supervised
loop of workers/mqtt_loop.py.

Adding a topic is one line in `routes()`: a topic filter (MQTT wildcards `+` and `#`
allowed) and a handler `(topic, payload bytes) -> None` that raises BadPayload for a
message it cannot take. A route may also take a burst of its messages at once (`batch`:
[(topic, payload), ...] -> one outcome each, a BadPayload for a bad one), stored in one
transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from paho.mqtt.client import topic_matches_sub

from ..engine.timeparse import isoformat_z
from . import frigate, frigate_status, generic, modes

Handler = Callable[[str, bytes], Any]
BatchHandler = Callable[[list[tuple[str, bytes]]], list[Any]]
MAX_TOPICS_COUNTED = 100  # bad payloads are counted per topic for this many, then "(other)"


@dataclass(frozen=True)
class Route:
    """Messages on topics matching `pattern` go to `handler`; `kind` names the route's
    topics in metrics (never the full topic)."""

    pattern: str
    handler: Handler
    batch: BatchHandler | None = None
    kind: str = "events"
    retained: Handler | None = None  # for a retained message (what the broker kept), if not
    # `handler`: one the broker hands to every new subscription is not news


def frigate_instances(config: dict[str, Any]) -> dict[str, str | None]:
    """prefix -> Frigate base URL (None: no backfill), from ALERTING_FRIGATE_PREFIXES
    (`prefix` or `prefix=http://host:5000`); the bare prefix `frigate`, or the only prefix
    when it is bare (one Frigate with a `topic_prefix` of its own), takes
    ALERTING_FRIGATE_URL. A URL may carry `user:pass@` (see without_credentials)."""
    instances: dict[str, str | None] = {}
    for entry in config.get("FRIGATE_PREFIXES") or []:
        prefix, _, url = entry.partition("=")
        prefix = prefix.strip().strip("/")
        if prefix:
            instances[prefix] = url.strip() or None
    default = "frigate" if "frigate" in instances else (
        next(iter(instances)) if len(instances) == 1 else None)
    if default is not None and instances[default] is None:
        instances[default] = config.get("FRIGATE_URL") or None
    return instances


def without_credentials(url: str) -> tuple[str, str | None, str | None]:
    """A Frigate base URL's `user:pass@` taken out: (the URL without it, the user name,
    the password). They are sent as HTTP basic auth, never kept in an event's links."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url.rstrip("/"), None, None
    host = parts.netloc.rpartition("@")[2]
    bare = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return (bare.rstrip("/"), unquote(parts.username or ""),
            unquote(parts.password) if parts.password is not None else None)


def routes(config: dict[str, Any]) -> list[Route]:
    """Every topic this deployment takes in, and who handles it."""
    instances = {prefix: url and without_credentials(url)[0]
                 for prefix, url in frigate_instances(config).items()}
    return routes_of(instances, config.get("MQTT_TOPICS") or [], config.get("MQTT_MODE_TOPIC"))


def routes_of(instances: dict[str, str | None], topics: Any,
              mode_topic: str | None = None) -> list[Route]:
    """The routes of these Frigate instances (prefix -> base URL), the arming mode topic
    and the generic topics."""
    table: list[Route] = []
    for prefix, base_url in instances.items():
        table.append(Route(f"{prefix}/events", partial(frigate.on_event, prefix, base_url),
                           partial(frigate.on_events, prefix, base_url)))
        table.append(Route(f"{prefix}/reviews", partial(frigate.on_review, prefix),
                           kind="reviews"))
        table.append(Route(f"{prefix}/tracked_object_update",
                           partial(frigate.on_object_update, prefix),
                           kind="tracked_object_update"))
        status = partial(frigate_status.on_message, prefix)
        table.append(Route(f"{prefix}/available", status, kind="available",
                           retained=partial(frigate_status.on_retained, prefix)))
        table.append(Route(f"{prefix}/+/status/+", status, kind="camera_status"))
    if mode_topic:
        table.append(Route(mode_topic, modes.on_set, kind="mode"))
    for topic in topics:
        table.append(Route(topic, generic.on_json, kind="generic"))
    return table


def topic_kind(table: list[Route], topic: str) -> str:
    """The metrics' name for a topic: its route's kind ("unrouted" for none)."""
    route = route_for(table, topic)
    return "unrouted" if route is None else route.kind


def route_for(table: list[Route], topic: str) -> Route | None:
    """The first route whose pattern matches the topic."""
    for route in table:
        if route.pattern == topic or topic_matches_sub(route.pattern, topic):
            return route
    return None


def handler_for(table: list[Route], topic: str) -> Handler | None:
    """The handler of the first route whose pattern matches the topic."""
    route = route_for(table, topic)
    return None if route is None else route.handler


@dataclass(frozen=True)
class Broker:
    """Where ALERTING_MQTT_URL points."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None


def broker(url: str) -> Broker:
    parts = urlsplit(url)
    tls = parts.scheme == "mqtts"
    return Broker(host=parts.hostname or "", port=parts.port or (8883 if tls else 1883),
                  tls=tls, username=unquote(parts.username) if parts.username else None,
                  password=unquote(parts.password) if parts.password else None)


class Stats:
    """What the subscriber has seen, for /api/health (counts and times, no payloads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.connected = False
        self.connects = 0
        self.messages = 0
        self.bad: dict[str, int] = {}
        self.last_message_at: datetime | None = None
        self.backfilled = 0
        self.backfill_failures = 0

    def message(self) -> None:
        with self._lock:
            self.messages += 1
            self.last_message_at = datetime.now(UTC)

    def bad_payload(self, topic: str) -> None:
        with self._lock:
            key = topic if topic in self.bad or len(self.bad) < MAX_TOPICS_COUNTED else "(other)"
            self.bad[key] = self.bad.get(key, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"connected": self.connected, "connects": self.connects,
                    "messages": self.messages, "bad_payloads": dict(self.bad),
                    "bad_payloads_total": sum(self.bad.values()),
                    "last_message_at": isoformat_z(self.last_message_at)
                    if self.last_message_at else None,
                    "backfilled": self.backfilled, "backfill_failures": self.backfill_failures}
