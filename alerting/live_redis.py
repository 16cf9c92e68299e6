"""The live hub across processes: messages go through a Redis pub/sub channel, and each
process fans what it hears out to its own WebSocket clients (alerting.live.LocalHub).

A worker process with no clients still publishes; a web process publishes too, and hears
its own messages back like everyone else's, so every client sees one order per channel.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence

import redis

from .live import FORMATS, LiveMessage, LocalHub, Subscription

log = logging.getLogger(__name__)

CHANNEL = "alerting:live"


class RedisHub:
    """Hub interface of alerting.live, backed by Redis pub/sub."""

    def __init__(self, url: str, local: LocalHub, channel: str = CHANNEL):
        self.local = local
        self.channel = channel
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5,
                                           health_check_interval=30)
        self._listener: threading.Thread | None = None
        self._listen_lock = threading.Lock()
        self._stop = threading.Event()

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

    def subscribe(self, on_drop: Callable[[], None] | None = None,
                  fmt: str = "json") -> Subscription:
        self._ensure_listener()
        return self.local.subscribe(on_drop, fmt)

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
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                backoff = 0.1
                while not self._stop.is_set():
                    item = pubsub.get_message(timeout=1.0)
                    if item is None:
                        continue
                    body = json.loads(item["data"])
                    self.local.publish([LiveMessage.build(m["type"], m["data"], m.get("html", ""))
                                        for m in body["messages"]])
            except (redis.RedisError, ValueError, KeyError):
                log.exception("live: Redis subscription failed; reconnecting")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                try:
                    pubsub.close()
                except redis.RedisError:
                    pass
