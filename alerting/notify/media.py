"""An event's media in notifications: signed expiring links and the snapshot a channel carries.

Webhooks get links to our own media route (/media/events/<id>/<name>?exp=..&sig=..), never
bytes: `sign_media_path` signs the path and its expiry with the app's secret key (HMAC-SHA256),
and the route accepts a link that `verify_media_path` passes without a session. Email and push
carry the snapshot itself: a `Snapshot` is fetched by the channel that sends it (under the
media route's outgoing policy, a size cap and a time budget); when it cannot be, the message
goes without it and says so (`SnapshotResult.note`).
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

SIGNING_SALT = b"alerting.media-link.v1"
JPEG_MAGIC = b"\xff\xd8\xff"


def _key(secret_key: str) -> bytes:
    # A key for this use only, derived from the app's secret key.
    return hmac.new(secret_key.encode(), SIGNING_SALT, hashlib.sha256).digest()


def media_signature(secret_key: str, path: str, expires: int) -> str:
    """The signature of `path` valid until `expires` (Unix seconds): base64url, no padding."""
    digest = hmac.new(_key(secret_key), f"{path}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sign_media_path(secret_key: str, path: str, lifetime: float,
                    now: float | None = None) -> str:
    """`path` with `?exp=..&sig=..`, valid for `lifetime` seconds from `now`."""
    expires = int((time.time() if now is None else now) + lifetime)
    return f"{path}?exp={expires}&sig={media_signature(secret_key, path, expires)}"


def verify_media_path(secret_key: str, path: str, exp: str | None, sig: str | None,
                      now: float | None = None) -> bool:
    """Whether `exp` and `sig` are a valid, unexpired signature of `path`."""
    if not exp or not sig or not exp.isdigit() or len(exp) > 12:
        return False
    if int(exp) < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(media_signature(secret_key, path, int(exp)), sig)


class SnapshotUnavailable(Exception):
    """The snapshot could not be fetched; the message names why (never the URL)."""


@dataclass(frozen=True)
class Snapshot:
    """One alert's snapshot, to be fetched by the channel: `fetch` returns the JPEG bytes (or
    raises SnapshotUnavailable) within the notification budget; `link` is its signed URL."""

    event_id: int
    fetch: Callable[[], bytes] = field(compare=False, repr=False)
    link: str | None = None

    @property
    def cid(self) -> str:
        """The Content-ID an email's HTML refers to it by."""
        return f"snapshot-{self.event_id}@alerting.local"

    @property
    def filename(self) -> str:
        return f"snapshot-{self.event_id}.jpg"


@dataclass
class SnapshotResult:
    """The snapshots fetched, as (snapshot, bytes), and a note on those that were not."""

    fetched: list[tuple[Snapshot, bytes]]
    note: str | None = None


def fetch_snapshots(snapshots: Sequence[Snapshot]) -> SnapshotResult:
    """Fetch each snapshot; one that fails (too big, too slow, not a JPEG, none) is left out
    and named in the note. A list, so an email of several grouped alerts shows a strip."""
    fetched: list[tuple[Snapshot, bytes]] = []
    failures: list[str] = []
    for snapshot in snapshots:
        try:
            body = snapshot.fetch()
        except SnapshotUnavailable as exc:
            failures.append(f"event {snapshot.event_id}: {exc}")
            continue
        if not body.startswith(JPEG_MAGIC):
            failures.append(f"event {snapshot.event_id}: not a JPEG image")
            continue
        fetched.append((snapshot, body))
    note = ("snapshot not attached (" + "; ".join(failures) + ")") if failures else None
    return SnapshotResult(fetched, note)


def embed_snapshots(raw: bytes, fetched: Sequence[tuple[Snapshot, bytes]]) -> bytes:
    """The email `raw` with each snapshot inline in its HTML part (multipart/related, by the
    Content-ID the HTML refers to) and attached as a file as well."""
    msg = email.message_from_bytes(raw, policy=email.policy.SMTP)
    html = msg.get_body(preferencelist=("html",))
    if html is None:  # no HTML part to show them in: attached only
        html = msg
    elif html is not msg:
        for snapshot, body in fetched:
            html.add_related(body, "image", "jpeg", cid=f"<{snapshot.cid}>",
                             disposition="inline", filename=snapshot.filename)
    for snapshot, body in fetched:
        msg.add_attachment(body, "image", "jpeg", filename=snapshot.filename)
    return msg.as_bytes()
