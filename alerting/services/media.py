"""An event's media (snapshot, thumbnail, clip), fetched from the detector for our users.

The URLs come from detectors (the event's `media`), so fetching them is an outgoing request
like a webhook: the name is resolved once and every address checked against the outgoing
policy (notify/ssrf.py, with the allow-list every channel uses: ALERTING_WEBHOOK_ALLOW_CIDRS
and the Notifications page's, services/notification_targets.allow_cidrs), then the
connection goes to the address that passed. The one exception is the configured Frigate
instances (ALERTING_FRIGATE_URL, and each `prefix=url` of ALERTING_FRIGATE_PREFIXES): URLs on
their scheme, host and port are allowed wherever their host resolves, as the person who runs
the app named them. No redirect is followed, the answer is read up to a size cap within one
deadline, and what was fetched is kept for a short time in this process, so a page of
thumbnails does not ask the detector again on every load.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from flask import current_app, has_app_context

from ..notify.ssrf import (
    UnsafeURL,
    parse_allow_cidrs,
    pinned_connection,
    resolve_checked,
    split_url,
)
from .notification_targets import allow_cidrs

# The media an event may have: the route's file name -> (the `media` key, the content type
# served when the detector's is not of the expected kind, the kind it must be).
KINDS: dict[str, tuple[str, str, str]] = {
    "snapshot.jpg": ("snapshot_url", "image/jpeg", "image/"),
    "thumbnail.jpg": ("thumbnail_url", "image/jpeg", "image/"),
    "clip.mp4": ("clip_url", "video/mp4", "video/"),
}
CHUNK = 64 * 1024
# The in-process cache: at most this many bytes in all, an item at most an eighth of it.
CACHE_BYTES = 64 * 1024 * 1024
CACHE_KEY = "alerting.media_cache"
_cache_guard = threading.Lock()


class MediaUnavailable(Exception):
    """The detector did not give the media: `status` is 404 when it says it has none, 502
    when it failed or was refused; `reason` never contains the URL (it may hide secrets)."""

    def __init__(self, status: int, reason: str, answered: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.answered = answered  # the detector's HTTP status, when it answered one


@dataclass(frozen=True)
class Media:
    """Fetched bytes and the content type to serve them with."""

    body: bytes
    content_type: str


@dataclass(frozen=True)
class FetchPolicy:
    """What a fetch may do: the size cap, the whole deadline, the allow-list, and the origins
    ((scheme, host, port), lowercase) allowed whatever their addresses."""

    max_bytes: int
    timeout: float
    allow_cidrs: tuple[str, ...] = ()
    trusted: frozenset[tuple[str, str, int]] = frozenset()


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, lowercase, the port made explicit."""
    scheme, host, port = split_url(url)
    return scheme, host.lower(), port


def _origin_or_none(url: str) -> tuple[str, str, int] | None:
    try:
        return origin(url)
    except UnsafeURL:  # not an http(s) URL: trusts nothing
        return None


def policy_from(config: Mapping[str, Any]) -> FetchPolicy:
    """The fetch policy of the app's settings. In an app context (the media route, a
    notification's snapshot, the integration test) its allow-list is the one of every
    channel, the environment's entries and the stored ones; without one, `config`'s."""
    # Imported here: ingest/ builds media links with this module, and the integration
    # settings read ingest's.
    from ..ingest.mqtt import frigate_instances
    from .integrations import trusted_base_urls

    urls = [config.get("FRIGATE_URL"), *frigate_instances(config).values(),
            *trusted_base_urls()]
    trusted = frozenset(found for url in urls if url and (found := _origin_or_none(url)))
    allow = allow_cidrs() if has_app_context() else tuple(config.get("WEBHOOK_ALLOW_CIDRS") or ())
    return FetchPolicy(max_bytes=int(config["MEDIA_MAX_BYTES"]),
                       timeout=float(config["MEDIA_TIMEOUT_SECONDS"]),
                       allow_cidrs=allow, trusted=trusted)


def _addresses(host: str, port: int, trusted: bool, allow: tuple[str, ...]) -> list[str]:
    if not trusted:
        return resolve_checked(host, port, allow)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]


def fetch_bytes(url: str, policy: FetchPolicy, *, expect: str = "",
                headers: Mapping[str, str] | None = None) -> Media:
    """GET `url` under `policy`: the body (at most policy.max_bytes) and its content type.

    `expect` is the start of the content type wanted ("image/"): any other answer is served
    as that kind's default instead, so a detector cannot make us serve HTML. Raises
    MediaUnavailable (404 when the detector answers 404, else 502)."""
    deadline = time.monotonic() + policy.timeout
    try:
        scheme, host, port = origin(url)
        parse_allow_cidrs(policy.allow_cidrs)
        addresses = _addresses(host, port, (scheme, host, port) in policy.trusted,
                               policy.allow_cidrs)
    except UnsafeURL as exc:
        raise MediaUnavailable(502, f"refused by the outgoing policy: {exc.reason}") from None
    except (OSError, UnicodeError):
        raise MediaUnavailable(502, f"cannot resolve the detector's host {host!r}") from None
    except ValueError as exc:
        raise MediaUnavailable(502, f"bad webhook_allow_cidrs: {exc}") from None
    if not addresses:
        raise MediaUnavailable(502, f"the detector's host {host!r} has no address")
    parts = urlsplit(url.strip())
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn = None
    try:
        conn = _connected(scheme, addresses, port, host, deadline)
        conn.request("GET", path, headers={"Host": parts.netloc.rpartition("@")[2],
                                           "Accept": f"{expect}*" if expect else "*/*",
                                           "User-Agent": "alerting-media",
                                           **(headers or {})})
        _remaining(conn, deadline)
        response = conn.getresponse()
        if response.status == 404:
            raise MediaUnavailable(404, "the detector has no such media")
        if response.status != 200:
            raise MediaUnavailable(502, f"the detector answered HTTP {response.status}",
                                   response.status)
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > policy.max_bytes:
            raise MediaUnavailable(502, f"the media is larger than {policy.max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            _remaining(conn, deadline)
            chunk = response.read1(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > policy.max_bytes:
                raise MediaUnavailable(502, f"the media is larger than {policy.max_bytes} bytes")
            chunks.append(chunk)
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
    except TimeoutError:
        raise MediaUnavailable(502, f"the detector did not answer within {policy.timeout:g}s") \
            from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        # ValueError: a URL or host http.client cannot send (non-ASCII, control characters).
        raise MediaUnavailable(502, f"cannot reach the detector: {type(exc).__name__}") \
            from None
    finally:
        if conn is not None:
            conn.close()
    return Media(b"".join(chunks), content_type)


def _connected(scheme: str, addresses: list[str], port: int, host: str,
               deadline: float) -> http.client.HTTPConnection:
    """A connection to the first of the checked addresses that takes it (a name may answer
    ::1 first for a detector listening on 127.0.0.1 only), within the deadline."""
    failure: OSError | None = None
    for address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        conn = pinned_connection(scheme, address, port, host, left)
        try:
            conn.connect()
            return conn
        except TimeoutError:
            conn.close()
            raise
        except OSError as exc:
            conn.close()
            failure = exc
    raise failure or OSError("no address to connect to")


def _remaining(conn: http.client.HTTPConnection, deadline: float) -> None:
    # One deadline for the whole fetch: each socket wait gets only what is left of it.
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    if conn.sock is not None:
        conn.sock.settimeout(left)


class MediaCache:
    """Fetched media by URL for `ttl` seconds, least recently used dropped past CACHE_BYTES."""

    def __init__(self, ttl: float, max_bytes: int = CACHE_BYTES) -> None:
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.items: OrderedDict[str, tuple[float, Media]] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    def get(self, url: str) -> Media | None:
        with self.lock:
            found = self.items.get(url)
            if found is None:
                return None
            if found[0] <= time.monotonic():
                self._drop(url)
                return None
            self.items.move_to_end(url)
            return found[1]

    def put(self, url: str, media: Media) -> None:
        if self.ttl <= 0 or len(media.body) > self.max_bytes // 8:
            return
        with self.lock:
            if url in self.items:
                self._drop(url)
            self.items[url] = (time.monotonic() + self.ttl, media)
            self.size += len(media.body)
            while self.size > self.max_bytes:
                self._drop(next(iter(self.items)))

    def _drop(self, url: str) -> None:
        _, media = self.items.pop(url)
        self.size -= len(media.body)


def _cache() -> MediaCache:
    app = current_app._get_current_object()
    cache = app.extensions.get(CACHE_KEY)
    if cache is None:
        with _cache_guard:
            cache = app.extensions.setdefault(
                CACHE_KEY, MediaCache(float(app.config["MEDIA_CACHE_SECONDS"])))
    return cache


def event_media(media: Mapping[str, Any] | None, name: str) -> Media:
    """The media `name` (a KINDS key) of an event whose `media` is given, from the cache or
    the detector, under the app's policy. MediaUnavailable(404) when the event has none."""
    key, default_type, expect = KINDS[name]
    url = (media or {}).get(key)
    if not url:
        raise MediaUnavailable(404, "this event has no such media")
    cache = _cache()
    found = cache.get(url)
    if found is None:
        from .integrations import auth_headers

        found = fetch_bytes(url, policy_from(current_app.config), expect=expect,
                            headers=auth_headers(url))
        if not found.content_type.startswith(expect):
            found = Media(found.body, default_type)
        cache.put(url, found)
    return found


def available(media: Mapping[str, Any] | None) -> Iterable[str]:
    """The KINDS names an event's `media` has a URL for."""
    return [name for name, (key, _, _) in KINDS.items() if (media or {}).get(key)]


def frigate_media(base_url: str, object_id: str, *, has_snapshot: bool = True,
                  has_clip: bool = False) -> dict[str, str | None]:
    """An event's `media` for a Frigate tracked object: its HTTP API's paths under the
    instance's base URL (ALERTING_FRIGATE_URL for the default one). The thumbnail is always
    there; the snapshot and the clip when Frigate says so (`has_snapshot`, `has_clip`)."""
    events = f"{base_url.rstrip('/')}/api/events/{quote(object_id, safe='')}"
    return {"snapshot_url": f"{events}/snapshot.jpg" if has_snapshot else None,
            "thumbnail_url": f"{events}/thumbnail.jpg",
            "clip_url": f"{events}/clip.mp4" if has_clip else None}
