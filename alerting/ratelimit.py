"""Rate limits on single views, counted in fixed windows in this process or in Redis.

This replaces Flask-Limiter, which cost 0.3-0.5 ms of CPU per request: it checked twice (an
app-wide before_request and the view decorator), and its memory storage started a timer thread
from request threads. Here a limited view costs one dict update under a lock (or two Redis
calls), with Flask-Limiter's windows, Redis keys, headers and 429 answers, so processes of both
kinds count together during an upgrade.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable

from flask import Flask, after_this_request, current_app, request
from flask.typing import ResponseReturnValue
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)
EXTENSION = "alerting.ratelimit"
# After a storage error, count in this process for this long before trying Redis again.
REDIS_RETRY_SECONDS = 30.0
SWEEP_SECONDS = 60.0


def client_address() -> str:
    """The client's address (the proxy's X-Forwarded-For under ALERTING_TRUST_PROXY)."""
    return request.remote_addr or "127.0.0.1"


@functools.lru_cache(maxsize=32)
def limits_in(text: str) -> tuple[RateLimitItem, ...]:
    """The limits in a setting ("10 per minute; 100 per hour"), shortest window first."""
    return tuple(sorted(parse_many(text)))


class MemoryWindows:
    """Fixed windows in this process: (count, end) per key under one lock; no timer thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, float]] = {}
        self._sweep_at = 0.0

    def hit(self, key: str, seconds: int) -> tuple[int, float]:
        """Count one hit: the count so far in the key's window, and when the window ends."""
        now = time.time()
        with self._lock:
            if now >= self._sweep_at:  # else ended windows pile up, one per client address
                self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
                self._sweep_at = now + SWEEP_SECONDS
            count, ends = self._windows.get(key, (0, 0.0))
            if ends <= now:
                count, ends = 0, now + seconds
            self._windows[key] = (count + 1, ends)
        return count + 1, ends


class Windows:
    """Fixed windows in Redis when there is one, so every process counts together.

    A Redis error must not fail the request: the window is counted in this process instead
    (a failing Redis thus allows each process its own full allowance) for a while.
    """

    def __init__(self, redis_url: str | None) -> None:
        self.memory = MemoryWindows()
        self.redis = storage_from_string(redis_url) if redis_url else None
        self._redis_retry_at = 0.0

    def hit(self, key: str, seconds: int) -> tuple[int, float]:
        if self.redis is not None and time.monotonic() >= self._redis_retry_at:
            try:
                return self.redis.incr(key, seconds), self.redis.get_expiry(key)
            except self.redis.base_exceptions:
                log.warning("rate limit storage unreachable: counting in this process for %d s",
                            REDIS_RETRY_SECONDS, exc_info=True)
                self._redis_retry_at = time.monotonic() + REDIS_RETRY_SECONDS
        return self.memory.hit(key, seconds)


class Limiter:
    """The extension: `limit` decorates views, `init_app` gives each app its windows."""

    def init_app(self, app: Flask) -> None:
        # A mistyped limit has stopped the start already, with its name (alerting/config.py).
        app.extensions[EXTENSION] = Windows(app.config["REDIS_URL"])

    def limit(self, setting: str, key_func: Callable[[], str] = client_address,
              methods: Iterable[str] | None = None) -> Callable:
        """Limit a view to the limits in config[setting], counted per key_func() (which runs
        after authentication, so only accepted requests count)."""
        only = frozenset(methods or ())

        def decorate(view: Callable[..., ResponseReturnValue]) -> Callable:
            @functools.wraps(view)
            def limited(*args, **kwargs) -> ResponseReturnValue:
                if not only or request.method in only:
                    check(current_app.config[setting], key_func())
                return view(*args, **kwargs)

            return limited

        return decorate


def check(text: str, key: str) -> None:
    """Count this request against each limit, shortest window first, up to the first one
    exceeded (then 429). The answer reports that limit, else the shortest."""
    windows: Windows = current_app.extensions[EXTENSION]
    reported = None
    for item in limits_in(text):
        count, ends = windows.hit(item.key_for(key, request.endpoint), item.get_expiry())
        if count > item.amount:
            log.info("rate limit %s (%s) exceeded at %s", item, key, request.endpoint)
            after_this_request(_headers(item, count, ends))
            raise TooManyRequests(str(item))
        reported = reported or (item, count, ends)
    if reported:
        after_this_request(_headers(*reported))


def _headers(item: RateLimitItem, count: int, ends: float) -> Callable[[Response], Response]:
    reset_at = int(ends + 1)

    def add(response: Response) -> Response:
        response.headers["X-RateLimit-Limit"] = str(item.amount)
        response.headers["X-RateLimit-Remaining"] = str(max(0, item.amount - count))
        response.headers["X-RateLimit-Reset"] = str(reset_at)
        response.headers["Retry-After"] = str(int(reset_at - time.time()))
        return response

    return add
