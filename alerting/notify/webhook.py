"""Signed webhooks (Standard Webhooks): POST the caller's JSON body, classify the response."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http.client
import io
import json
import math
import secrets
import select
import socket
import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from urllib.parse import unquote, urlsplit

from alerting.notify.base import ChannelSettings, Message, Outcome, unreadable_secret
from alerting.notify.redact import scrub
from alerting.notify.ssrf import (
    UnsafeURL,
    parse_allow_cidrs,
    pinned_connection,
    resolve_checked,
    split_url,
)

USER_AGENT = "alerting-webhook/1"
SECRET_PREFIX = "whsec_"
RETRYABLE_STATUSES = frozenset({408, 425, 429})
RETRY_AFTER_STATUSES = frozenset({429, 503})
MAX_RESPONSE_BYTES = 64 * 1024  # read this much for the error text; more is not kept
ERROR_SNIPPET_CHARS = 200
MAX_IDLE_CONNECTIONS = 16  # per sending thread

_local = threading.local()


def generate_secret() -> str:
    """A new signing secret: "whsec_" + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _secret_key(secret: str) -> bytes:
    encoded = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    return base64.b64decode(encoded, validate=True)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature value "v1,<base64 HMAC-SHA256 of id.timestamp.body>"."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now (delay-seconds or HTTP-date); None if absent or invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


# (scheme, host, port, allow-list): a connection is to an address of the host that the
# allow-list let through when the connection was made.
Key = tuple[str, str, int, tuple[str, ...]]


class _Pool:
    """This thread's kept-alive connections, by Key: keep-alive is most of the throughput,
    and a connection is used by one thread at a time. The least recently used is closed
    beyond MAX_IDLE_CONNECTIONS."""

    def __init__(self) -> None:
        self.connections: dict[Key, http.client.HTTPConnection] = {}

    def __del__(self) -> None:
        # The thread ended (its thread-local pool is collected): close, don't leak, sockets.
        for conn in self.connections.values():
            conn.close()

    def take(self, key: Key, timeout: float) -> http.client.HTTPConnection | None:
        """An idle connection for `key`, if there is one that the receiver has not closed."""
        conn = self.connections.pop(key, None)
        if conn is not None and conn.sock is not None and not _dropped(conn.sock):
            conn.timeout = timeout
            conn.sock.settimeout(timeout)
            return conn
        if conn is not None:
            conn.close()
        return None

    def give_back(self, key: Key, conn: http.client.HTTPConnection) -> None:
        self.connections[key] = conn
        if len(self.connections) > MAX_IDLE_CONNECTIONS:
            self.connections.pop(next(iter(self.connections))).close()


def _pool() -> _Pool:
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = _Pool()
    return pool


def _dropped(sock: socket.socket) -> bool:
    # An idle kept-alive socket with something to read has been closed (or spoken on) by the
    # receiver: it cannot carry the next request.
    # (poll, not select: select() fails on descriptors above 1024, which a busy server has.)
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _read_limited(response: http.client.HTTPResponse) -> tuple[bytes, bool]:
    """The body, cut at MAX_RESPONSE_BYTES, and whether the connection can be used again:
    a small body is read whole so it can; a huge one is cut and its connection closed."""
    try:
        body = response.read(MAX_RESPONSE_BYTES + 1)
    except (OSError, http.client.HTTPException):
        return b"", False
    return body[:MAX_RESPONSE_BYTES], response.isclosed() and not response.will_close


def _snippet(body: bytes) -> str:
    text = body[: ERROR_SNIPPET_CHARS * 4].decode("utf-8", "replace")
    text = " ".join(text.split())
    return text[:ERROR_SNIPPET_CHARS]


def _classify(response: http.client.HTTPResponse, body: bytes) -> Outcome:
    status = response.status
    if 200 <= status < 300:
        return Outcome(ok=True, status_code=status)
    if 300 <= status < 400:
        location = response.headers.get("Location", "(no Location)")[:500]
        return Outcome(
            ok=False,
            retryable=False,
            status_code=status,
            error=f"HTTP {status} redirect to {location} not followed",
        )
    retry_after = None
    if status in RETRY_AFTER_STATUSES:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
    snippet = _snippet(body)
    return Outcome(
        ok=False,
        retryable=status in RETRYABLE_STATUSES or status >= 500,
        status_code=status,
        error=f"HTTP {status}" + (f": {snippet}" if snippet else ""),
        retry_after=retry_after,
    )


class WebhookNotifier:
    """POST `message.webhook_body` to a URL, signed the Standard Webhooks way."""

    name = "webhook"

    def send(self, message: Message, target: str, settings: ChannelSettings) -> Outcome:
        """Deliver once; every failure comes back classified, never raised."""
        started = time.perf_counter()
        outcome = self._send(message, target.strip(), settings)
        outcome.error = scrub(outcome.error, target)  # a receiver may echo the password
        outcome.duration_ms = (time.perf_counter() - started) * 1000.0
        return outcome

    def _send(self, message: Message, url: str, settings: ChannelSettings) -> Outcome:
        failed = unreadable_secret(settings, "webhook_secret")  # never sent unsigned instead
        if failed:
            return failed
        try:
            scheme, host, port = split_url(url)
        except UnsafeURL as exc:
            return Outcome(ok=False, retryable=False, error=f"unsafe URL: {exc.reason}")
        body = json.dumps(message.webhook_body, separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": message.delivery_id,
            "webhook-timestamp": str(timestamp),
        }
        if settings.webhook_secret:
            try:
                headers["webhook-signature"] = sign(
                    settings.webhook_secret, message.delivery_id, timestamp, body
                )
            except (binascii.Error, ValueError):
                return Outcome(
                    ok=False, retryable=False, error="webhook secret is not valid whsec_<base64>"
                )
        parts = urlsplit(url)
        headers["Host"] = parts.netloc.rpartition("@")[2]
        if parts.username is not None:  # user:password@ in the URL, as requests sent it
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return _post((scheme, host, port, tuple(settings.webhook_allow_cidrs)), path, body,
                     headers, settings.webhook_timeout_seconds)


def _checked_connection(key: Key, timeout: float) -> http.client.HTTPConnection | Outcome:
    """A new connection to the host's address, resolved and checked against the allow-list
    now, or the failure. (Only new connections are checked: a kept-alive one is to an
    address that passed when it was made, so the name is not resolved again per request.)"""
    scheme, host, port, allow = key
    try:
        parse_allow_cidrs(allow)
    except ValueError as exc:
        return Outcome(ok=False, retryable=False, error=f"bad webhook_allow_cidrs: {exc}")
    try:
        address = resolve_checked(host, port, allow)[0]
    except UnsafeURL as exc:
        return Outcome(ok=False, retryable=False, error=f"unsafe URL: {exc.reason}")
    except (OSError, UnicodeError) as exc:
        return Outcome(ok=False, retryable=True,
                       error=f"connection error: cannot resolve {host!r}: {_reason(exc)}")
    return pinned_connection(scheme, address, port, host, timeout)


def _post(key: Key, path: str, body: bytes, headers: dict[str, str],
          timeout: float) -> Outcome:
    """POST on this thread's kept-alive connection for `key`, or a new one, all of it (connect,
    send, the answer's status, headers and body) within `timeout` seconds. A kept-alive
    connection the receiver closed just as the request went out is retried once on a new
    one, within the same deadline: nothing was answered, and receivers de-duplicate on
    webhook-id anyway."""
    deadline = time.monotonic() + timeout
    timed_out = Outcome(ok=False, retryable=True, error=f"timed out after {timeout:g}s")
    pool = _pool()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return timed_out
        conn = pool.take(key, left)
        reused = conn is not None
        if conn is None:
            conn = _checked_connection(key, left)
            if isinstance(conn, Outcome):
                return conn
        conn.response_class = partial(_deadline_response, deadline=deadline)
        try:
            if conn.sock is None:
                conn.connect()
            conn.sock.settimeout(_time_left(deadline))
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
        except http.client.InvalidURL as exc:
            conn.close()
            return Outcome(ok=False, retryable=False, error=f"invalid URL: {exc}")
        except TimeoutError:
            conn.close()
            return timed_out
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if reused and isinstance(exc, ConnectionError | http.client.BadStatusLine):
                continue
            return Outcome(ok=False, retryable=True, error=f"connection error: {_reason(exc)}")
        data, reusable = _read_limited(response)
        if reusable:
            pool.give_back(key, conn)
        else:
            conn.close()
        return _classify(response, data)


def _time_left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the send's deadline has passed")
    return left


class _DeadlineReader(io.RawIOBase):
    """The socket as an HTTPResponse reads it, each read given only the time left before
    the send's deadline: a socket timeout alone bounds each read, so a receiver trickling
    its answer a byte at a time could hold a send (and its lease) for ever."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self.sock, self.deadline = sock, deadline
        # As HTTPResponse's own reader, it keeps the socket open until the answer is read,
        # even when the connection is closed first (an answer with Connection: close).
        self.raw = sock.makefile("rb", buffering=0)

    def makefile(self, _mode: str) -> io.BufferedReader:  # what HTTPResponse calls
        return io.BufferedReader(self)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self.sock.settimeout(_time_left(self.deadline))
        return self.raw.readinto(buffer)

    def close(self) -> None:
        self.raw.close()
        super().close()


def _deadline_response(sock: socket.socket, *args, deadline: float,
                       **kwargs) -> http.client.HTTPResponse:
    return http.client.HTTPResponse(_DeadlineReader(sock, deadline), *args, **kwargs)


def _reason(exc: BaseException) -> str:
    # Report the innermost cause (an SSL error wraps the OS one, for instance).
    inner: BaseException = exc
    seen = {id(exc)}
    while True:
        nxt = getattr(inner, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = inner.__cause__ or next(
                (a for a in inner.args if isinstance(a, BaseException)), None
            )
        if not isinstance(nxt, BaseException) or id(nxt) in seen:
            break
        seen.add(id(nxt))
        inner = nxt
    text = str(inner) or type(inner).__name__
    return f"{type(inner).__name__}: {text}"[:300]
