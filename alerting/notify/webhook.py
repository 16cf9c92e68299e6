"""Signed webhooks (Standard Webhooks): POST the caller's JSON body, classify the response."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

from alerting.notify.base import ChannelSettings, Message, Outcome
from alerting.notify.ssrf import UnsafeURL, guarded_session, split_url

USER_AGENT = "alerting-webhook/1"
SECRET_PREFIX = "whsec_"
RETRYABLE_STATUSES = frozenset({408, 425, 429})
RETRY_AFTER_STATUSES = frozenset({429, 503})
MAX_RESPONSE_BYTES = 64 * 1024  # read this much for the error text; more is not kept
ERROR_SNIPPET_CHARS = 200

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


def _session(allow_cidrs: tuple[str, ...]) -> requests.Session:
    # One pooled session per thread and allow-list: keep-alive is most of the throughput, and
    # requests.Session is not documented as thread-safe.
    sessions: dict[tuple[str, ...], requests.Session] | None = getattr(_local, "sessions", None)
    if sessions is None:
        sessions = _local.sessions = {}
    session = sessions.get(allow_cidrs)
    if session is None:
        session = sessions[allow_cidrs] = guarded_session(allow_cidrs)
    return session


def _read_limited(response: requests.Response) -> bytes:
    # Reading the whole (small) body lets the connection go back to the pool; a huge one is
    # cut and its connection closed rather than buffered.
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(8192):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                break
    except requests.RequestException:
        pass
    finally:
        response.close()
    return b"".join(chunks)


def _snippet(body: bytes) -> str:
    text = body[: ERROR_SNIPPET_CHARS * 4].decode("utf-8", "replace")
    text = " ".join(text.split())
    return text[:ERROR_SNIPPET_CHARS]


def _classify(response: requests.Response, body: bytes) -> Outcome:
    status = response.status_code
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
        outcome.duration_ms = (time.perf_counter() - started) * 1000.0
        return outcome

    def _send(self, message: Message, url: str, settings: ChannelSettings) -> Outcome:
        try:
            split_url(url)
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
        try:
            session = _session(tuple(settings.webhook_allow_cidrs))
        except ValueError as exc:
            return Outcome(ok=False, retryable=False, error=f"bad webhook_allow_cidrs: {exc}")
        timeout = settings.webhook_timeout_seconds
        try:
            response = session.post(
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
        except UnsafeURL as exc:
            return Outcome(ok=False, retryable=False, error=f"unsafe URL: {exc.reason}")
        except requests.Timeout:
            return Outcome(ok=False, retryable=True, error=f"timed out after {timeout:g}s")
        except requests.ConnectionError as exc:
            return Outcome(ok=False, retryable=True, error=f"connection error: {_reason(exc)}")
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as exc:
            return Outcome(ok=False, retryable=False, error=f"invalid URL: {exc}")
        except requests.RequestException as exc:
            return Outcome(ok=False, retryable=True, error=f"request failed: {_reason(exc)}")
        return _classify(response, _read_limited(response))


def _reason(exc: BaseException) -> str:
    # requests nests urllib3's MaxRetryError around the OS error: report the innermost cause.
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
