"""The live hub across processes: messages go through a Redis pub/sub channel, and each
process fans what it hears out to its own WebSocket clients (alerting.live.LocalHub).

A worker process with no clients still publishes; a web process publishes too, and hears
its own messages back like everyone else's, so every client sees one order per channel.

`subscribe` returns once the listener is subscribed to the channel, so a client that connects
and then reads its catch-up from the database misses nothing published after. When the
listener loses Redis and subscribes again, it first re-sends (through `resync`) the alerts
created after the last one it heard: what was published while it was away is not lost. An
alert heard twice (re-sent, then heard on the channel too) reaches the clients once.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence

import redis

from . import FORMATS, LiveMessage, LocalHub, Subscription

log = logging.getLogger(__name__)

CHANNEL = "alerting:live"
SUBSCRIBE_SECONDS = 5.0  # how long a new client waits for the listener to subscribe
REMEMBERED = 10_000  # alert ids remembered to deliver each one once


class RedisHub:
    """Hub interface of alerting.live, backed by Redis pub/sub.

    `latest()` gives the newest alert id (where the listener starts) and `resync(after)` the
    alert_created messages of every alert after that id; both run in the listener thread."""

    def __init__(self, url: str, local: LocalHub, channel: str = CHANNEL,
                 latest: Callable[[], int] | None = None,
                 resync: Callable[[int], list[LiveMessage]] | None = None,
                 client_name: str = "alerting-live"):
        self.local = local
        self.channel = channel
        self._latest = latest
        self._resync = resync
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5,
                                           health_check_interval=30, client_name=client_name)
        self._listener: threading.Thread | None = None
        self._listen_lock = threading.Lock()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._cursor: int | None = None  # the newest alert id heard (None: not started)
        self._seen: set[int] = set()
        self._seen_order: deque[int] = deque()

    @property
    def formats(self) -> frozenset[str]:
        # Other processes may have clients of either kind: always build both and publish.
        return frozenset(FORMATS)

    @property
    def queue_size(self) -> int:
        return self.local.queue_size

    def __len__(self) -> int:
        return len(self.local)

    def publish(self, message: LiveMessage | Sequence[LiveMessage]) -> None:
        """Send to every process, a group as one Redis message (so each client's handler
        still wakes once for it). Never raises: a Redis outage must not stop the matcher."""
        group = [message] if isinstance(message, LiveMessage) else list(message)
        if not group:
            return
        payload = json.dumps({"messages": [{"type": m.type, "data": m.data, "html": m.html}
                                           for m in group]}, separators=(",", ":"))
        try:
            self._redis.publish(self.channel, payload)
        except redis.RedisError:
            log.exception("live: Redis publish failed; delivering to this process only")
            self.local.publish(group)

    def subscribe(self, on_drop: Callable[[], None] | None = None, fmt: str = "json",
                  size: int | None = None,
                  on_offer: Callable[[], None] | None = None) -> Subscription:
        self._ensure_listener()
        if not self._subscribed.wait(SUBSCRIBE_SECONDS):
            log.warning("live: Redis is not answering; this client may miss alerts until it "
                        "reconnects")
        return self.local.subscribe(on_drop, fmt, size, on_offer)

    def unsubscribe(self, subscription: Subscription) -> None:
        self.local.unsubscribe(subscription)

    def close(self) -> None:
        self._stop.set()

    def _ensure_listener(self) -> None:
        # Only processes with clients listen: a worker process never starts this thread.
        with self._listen_lock:
            if self._listener is None or not self._listener.is_alive():
                self._listener = threading.Thread(target=self._listen, daemon=True,
                                                  name="alerting-live-redis")
                self._listener.start()

    def _listen(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            pubsub = self._redis.pubsub()
            try:
                pubsub.subscribe(self.channel)
                self._confirm(pubsub)
                self._catch_up()
                self._subscribed.set()
                backoff = 0.1
                while not self._stop.is_set():
                    item = pubsub.get_message(timeout=1.0)
                    if item is None or item["type"] != "message":
                        continue
                    body = json.loads(item["data"])
                    self._deliver([LiveMessage.build(m["type"], m["data"], m.get("html", ""))
                                   for m in body["messages"]])
            except (redis.RedisError, ValueError, KeyError):
                log.exception("live: Redis subscription failed; reconnecting")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception:  # the resync's database, say: try again, never die
                log.exception("live: the Redis listener failed; reconnecting")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                try:
                    pubsub.close()
                except redis.RedisError:
                    pass

    def _confirm(self, pubsub) -> None:
        """Wait for Redis to confirm the subscription: from then on nothing is missed."""
        for _ in range(int(SUBSCRIBE_SECONDS) * 2):
            item = pubsub.get_message(timeout=0.5)
            if item is not None and item["type"] == "subscribe":
                return
        raise redis.TimeoutError("no subscription confirmation from Redis")

    def _catch_up(self) -> None:
        if self._cursor is None:  # the first subscription: start from now
            self._cursor = self._latest() if self._latest is not None else 0
        elif self._resync is not None:
            messages = self._resync(self._cursor)
            if messages:
                log.info("live: re-sent %d alerts created while Redis was away",
                         len(messages))
                self._deliver(messages)

    def _deliver(self, messages: list[LiveMessage]) -> None:
        fresh = []
        for message in messages:
            alert_id = message.alert_id
            if alert_id is not None:
                if alert_id in self._seen:
                    continue
                self._remember(alert_id)
                self._cursor = max(self._cursor or 0, alert_id)
            fresh.append(message)
        if fresh:
            self.local.publish(fresh)

    def _remember(self, alert_id: int) -> None:
        self._seen.add(alert_id)
        self._seen_order.append(alert_id)
        if len(self._seen_order) > REMEMBERED:
            self._seen.discard(self._seen_order.popleft())
