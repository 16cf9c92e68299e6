"""Frigate's health topics, for camera health (services/cameras.py):

- `<prefix>/available`: `online`, `stopped` or `offline` (the broker's last will when Frigate
  dies): Frigate itself. When it goes, every camera it reported goes offline with it; when
  it comes back they are online again (each camera's own topics and events say otherwise
  when one is not). Frigate retains it: the `online` the broker kept, delivered on each
  (re)connect of the subscriber, is no news and changes nothing (`on_retained`).
- `<prefix>/<camera>/status/<role>` (newer versions): `online`, `offline` or `disabled`, per
  ffmpeg role (`detect`, `record`, `audio`), each repeated every retry interval: a camera is
  offline while any of its roles last said so, else online while any is, else disabled (the
  roles are kept in the app, for the one subscriber of a deployment).

`handle` is a plain function of one message, called by the MQTT subscriber for these topics
in an app context; it never raises on what a message says, only on the database.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from flask import current_app

from ..services import cameras
from . import BadPayload

AVAILABLE = {"online": "online", "stopped": "offline", "offline": "offline"}
ROLES_KEY = "alerting.frigate_camera_roles"
_roles_guard = threading.Lock()
CAMERA_STATUS = {"online": "online", "offline": "offline", "disabled": "disabled"}
MAX_PAYLOAD = 64


def source_of(prefix: str) -> str:
    """The source a Frigate instance's cameras are reported by (its events' source too)."""
    return f"frigate:{prefix}"


def _parse(prefix: str, topic: str) -> tuple[str, str] | None:
    """("available", "") or ("status", camera) for the topics `handle` takes, else None."""
    base = prefix.strip("/").split("/")
    parts = topic.split("/")
    if parts[:len(base)] != base:
        return None
    rest = parts[len(base):]
    if rest == ["available"]:
        return "available", ""
    if len(rest) == 3 and rest[1] == "status" and rest[0] and rest[2]:
        return "status", rest[0]
    return None


def is_status_topic(prefix: str, topic: str) -> bool:
    """Whether `topic` is one `handle` takes, for the subscriber's routing."""
    return _parse(prefix, topic) is not None


def _word(payload: bytes | str) -> str | None:
    if isinstance(payload, bytes):
        if len(payload) > MAX_PAYLOAD:
            return None
        try:
            payload = payload.decode()
        except UnicodeDecodeError:
            return None
    return payload.strip().strip('"').lower()[:MAX_PAYLOAD] or None


def handle(prefix: str, topic: str, payload: bytes | str, now: datetime) -> str | None:
    """Apply one message of `prefix`'s Frigate to the cameras table; what it did
    ("<camera or *>:<status>"), or None when the topic or payload is not one it knows."""
    parsed = _parse(prefix, topic)
    if parsed is None:
        return None
    kind, camera = parsed
    word = _word(payload) or ""
    source = source_of(prefix)
    if len(camera) > 255 or "\x00" in camera:  # what no camera id is (events refuse it)
        return None
    if kind == "available":
        status = AVAILABLE.get(word)
        if status is None:
            return None
        _forget_roles(source)  # gone or (re)started: its cameras' roles are reported afresh
        cameras.report(cameras.cameras_of_source(source), status, now, source)
        return f"*:{status}"
    status = CAMERA_STATUS.get(word)
    if status is None:
        return None
    status = _camera_status(source, camera, topic.rpartition("/")[2], status)
    cameras.report([camera], status, now, source)
    return f"{camera}:{status}"


def _roles() -> dict[tuple[str, str], dict[str, str]]:
    """(source, camera) -> role -> its last status, in this app (the subscriber's process)."""
    return current_app.extensions.setdefault(ROLES_KEY, {})


def _camera_status(source: str, camera: str, role: str, status: str) -> str:
    """The camera's status once `role` says `status`: offline while any of its roles is
    (Frigate repeats each role's status in turn, so the last message alone would flap),
    else online while any is, else disabled."""
    with _roles_guard:
        known = _roles().setdefault((source, camera), {})
        known[role] = status
        said = set(known.values())
    return next(s for s in ("offline", "online", "disabled") if s in said)


def _forget_roles(source: str) -> None:
    with _roles_guard:
        roles = _roles()
        for key in [key for key in roles if key[0] == source]:
            del roles[key]


def on_message(prefix: str, topic: str, payload: bytes) -> str:
    """The subscriber's handler for `prefix`'s health topics: `handle` now; a payload it does
    not know is a BadPayload (counted and skipped)."""
    done = handle(prefix, topic, payload, datetime.now(UTC))
    if done is None:
        raise BadPayload(f"not a status message for this topic: {bytes(payload[:MAX_PAYLOAD])!r}")
    return done


def on_retained(prefix: str, topic: str, payload: bytes) -> str:
    """A retained `<prefix>/available`, which the broker hands to every (re)connect of the
    subscriber: `offline` or `stopped` (Frigate's last will) still says Frigate is gone, but
    `online` only says it was up when it connected, not that each of its cameras is alive
    now (one reported offline may still be): the cameras are left as they are, for their own
    status topics and events to say."""
    if _parse(prefix, topic) == ("available", "") and _word(payload) == "online":
        return "*:kept"
    return on_message(prefix, topic, payload)
