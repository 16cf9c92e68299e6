"""Frigate NVR: `<prefix>/events` (one event per tracked object, revised by each update) and
`<prefix>/reviews` (the review item kept on the events it bundles), and backfill from its
HTTP API after a reconnect (MQTT messages are not retained).

Payloads are read defensively: a field of the wrong type is left out, unknown fields are
ignored; a message without the object's id, camera or label, or of an unknown `type`, is
a BadPayload.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from ..engine.errors import ValidationError
from ..schemas.events import MAX_IDENTITY, MAX_SUMMARY
from ..services import ingest
from . import BadPayload, decode_json

log = logging.getLogger(__name__)

EVENT_TYPES = ("new", "update", "end")
REVIEW_TYPES = ("new", "update", "end", "genai")
# `<prefix>/tracked_object_update`: late enrichments of a tracked object. A `description`
# (GenAI, or an audio transcription) becomes the event's summary; face, plate and
# classification results also reach the object's `sub_label` and plate fields, which its
# `events` updates carry, so they are taken from there.
OBJECT_UPDATE_TYPES = ("description", "face", "lpr", "classification")
BACKFILL_TIMEOUT_SECONDS = 10
BACKFILL_LIMIT = 1000  # tracked objects asked for at once (newest first)
BACKFILL_OPEN = 200  # open objects asked for one by one (they may have ended meanwhile)
BACKFILL_OVERLAP = timedelta(minutes=1)  # asked again: a repeat costs nothing
BACKFILL_FIRST = timedelta(hours=1)  # how far back a first connection looks


def source(prefix: str) -> str:
    return f"frigate:{prefix}"


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _score(value: Any) -> float | None:
    number = _number(value)
    return number if number is not None and 0 <= number <= 1 else None


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str) and item.strip()]


def _time(value: Any) -> str | None:
    number = _number(value)
    if number is None or number <= 0:
        return None
    try:
        return datetime.fromtimestamp(number, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return None


def _identity(sub_label: Any) -> dict[str, Any] | None:
    """sub_label: null, "Bob", or ["Bob", 0.87]."""
    if isinstance(sub_label, list) and sub_label:
        name, score = _text(sub_label[0]), _score(sub_label[1]) if len(sub_label) > 1 else None
    else:
        name, score = _text(sub_label), None
    return None if name is None else {"name": name, "score": score}


def _detection_identity(identity: dict[str, Any] | None) -> dict[str, Any]:
    """The sub_label as the detection's `identity` and `identity_score` (the HTTP API's
    fields): none when there is none, or when the name is longer than a detection's
    identity may be (it stays in `attributes.identity`, which the tracks fall back to)."""
    if identity is None or len(identity["name"]) > MAX_IDENTITY:
        return {}
    return {"identity": identity["name"], "identity_score": identity["score"]}


def _description(value: Any) -> str | None:
    """A GenAI description as an event summary: cut to the longest summary there may be."""
    text = _text(value)
    if text is None or len(text) <= MAX_SUMMARY:
        return text
    return text[:MAX_SUMMARY - 1] + "\u2026"


def _attribute_scores(value: Any) -> dict[str, float | None]:
    """Frigate's `attributes` (face, license_plate, ...: name -> best score)."""
    if not isinstance(value, dict):
        return {}
    return {name.strip(): _score(score) for name, score in list(value.items())[:20]
            if isinstance(name, str) and name.strip() and len(name) <= 100}


def _bbox(box: Any) -> list[float] | None:
    """Frigate's [x1, y1, x2, y2] in pixels as our [x, y, width, height]."""
    if not isinstance(box, list) or len(box) != 4:
        return None
    numbers = [_number(v) for v in box]
    if any(n is None for n in numbers):
        return None
    x1, y1, x2, y2 = numbers
    return [x1, y1, x2 - x1, y2 - y1]


def media_of(base_url: str | None, object_id: str, after: dict[str, Any]) -> dict | None:
    """The object's pictures and clip on Frigate's HTTP API (the app's media route fetches
    them for its users): a thumbnail always, a snapshot and a clip when Frigate has them."""
    if not base_url:
        return None
    url = f"{base_url.rstrip('/')}/api/events/{quote(object_id, safe='')}"
    return {"snapshot_url": f"{url}/snapshot.jpg" if after.get("has_snapshot") is True else None,
            "thumbnail_url": f"{url}/thumbnail.jpg",
            "clip_url": f"{url}/clip.mp4" if after.get("has_clip") is True else None}


def event_of(prefix: str, after: Any, base_url: str | None = None) -> dict[str, Any] | None:
    """Our event for a tracked object's state (`after`), or None for a false positive;
    with the Frigate instance's base URL, its media."""
    if not isinstance(after, dict):
        raise BadPayload("`after` is not an object")
    if after.get("false_positive") is True:
        return None
    object_id, camera, label = (_text(after.get(k)) for k in ("id", "camera", "label"))
    if object_id is None or camera is None or label is None:
        raise BadPayload("`after` lacks a string id, camera or label")
    identity = _identity(after.get("sub_label"))
    plate = _text(after.get("recognized_license_plate"))
    entered = _texts(after.get("entered_zones"))
    frigate = {
        "label": label,
        "current_zones": _texts(after.get("current_zones")),
        "entered_zones": entered,
        "stationary": after.get("stationary") if isinstance(after.get("stationary"), bool)
        else None,
        "has_snapshot": after.get("has_snapshot") is True,
        "has_clip": after.get("has_clip") is True,
        "attributes": _attribute_scores(after.get("attributes")),
    }
    attributes: dict[str, Any] = {"frigate": frigate}
    if identity:
        attributes["identity"] = identity
    if plate:
        attributes["plate"] = {"value": plate,
                               "score": _score(after.get("recognized_license_plate_score"))}
    description = _description(after.get("description"))
    return {
        **({"summary": description} if description else {}),  # (left out: the stored stands)
        "camera_id": camera,
        "started_at": _time(after.get("start_time")),
        "ended_at": _time(after.get("end_time")),
        "labels": [label] + ([identity["name"]] if identity else []),
        "detections": [{"object_type": label, "confidence": _score(after.get("top_score")),
                        "zone_ids": entered, "bbox": _bbox(after.get("box")),
                        "track_id": object_id, **_detection_identity(identity)}],
        "source": source(prefix),
        "external_id": object_id,
        "attributes": attributes,
        "media": media_of(base_url, object_id, after),
    }


def store(prefix: str, after: Any, base_url: str | None = None) -> int | None:
    """Store (create or revise) a tracked object's state; its event id, None when skipped."""
    event = event_of(prefix, after, base_url)
    if event is None:
        return None
    try:
        _status, body = ingest.ingest(event, expect_repeats=True, answer=False)
    except ValidationError as exc:
        raise BadPayload(f"invalid object: {', '.join(sorted(exc.fields)) or exc.message}") \
            from None
    return body["id"]


def _after(payload: bytes) -> Any:
    message = decode_json(payload)
    if not isinstance(message, dict) or message.get("type") not in EVENT_TYPES:
        raise BadPayload("not a Frigate event message (type new, update or end)")
    return message.get("after")


def on_event(prefix: str, base_url: str | None, _topic: str, payload: bytes) -> int | None:
    """`<prefix>/events`: {"type": new|update|end, "before": {...}, "after": {...}}."""
    return store(prefix, _after(payload), base_url)


def on_events(prefix: str, base_url: str | None, messages: list[tuple[str, bytes]]
              ) -> list[int | BadPayload | None]:
    """A burst of `<prefix>/events` messages stored in one transaction (in order: an
    object's last state in the burst is what is stored and matched). Per message its event
    id, None (a false positive) or its BadPayload."""
    outcomes: list[int | BadPayload | None] = [None] * len(messages)
    items: list[tuple[int, dict[str, Any]]] = []
    for index, (_topic, payload) in enumerate(messages):
        try:
            event = event_of(prefix, _after(payload), base_url)
        except BadPayload as exc:
            outcomes[index] = exc
            continue
        if event is not None:
            items.append((index, event))
    if items:
        _status, body = ingest.ingest({"events": [event for _i, event in items]},
                                      expect_repeats=True)
        for (index, _event), result in zip(items, body["results"], strict=True):
            outcomes[index] = result.get("id") if result["status"] != 422 else BadPayload(
                f"invalid object: {', '.join(sorted(result['fields'])) or result['message']}")
    return outcomes


def review_of(after: Any) -> tuple[list[str], dict[str, Any]]:
    """The object ids a review item bundles, and what is kept of it on their events."""
    if not isinstance(after, dict) or _text(after.get("id")) is None:
        raise BadPayload("`after` is not a review item with an id")
    data = after.get("data") if isinstance(after.get("data"), dict) else {}
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    severity = after.get("severity")
    review = {
        "id": after["id"].strip(),
        "severity": severity if severity in ("alert", "detection") else None,
        "title": _text(metadata.get("title")),
        "summary": _text(metadata.get("shortSummary")) or _text(metadata.get("scene")),
        "threat_level": _number(metadata.get("potential_threat_level")),
    }
    return _texts(data.get("detections")), review


def on_review(prefix: str, _topic: str, payload: bytes) -> None:
    """`<prefix>/reviews`: {"type": new|update|end|genai, "before", "after"}."""
    message = decode_json(payload)
    if not isinstance(message, dict) or message.get("type") not in REVIEW_TYPES:
        raise BadPayload("not a Frigate review message (type new, update, end or genai)")
    object_ids, review = review_of(message.get("after"))
    ingest.annotate_review(source(prefix), object_ids, review)


def on_object_update(prefix: str, _topic: str, payload: bytes) -> None:
    """`<prefix>/tracked_object_update`: {"type": description|face|lpr|classification,
    "id": <the object's id>, ...}. A description becomes the summary of the object's event
    (a revision: rules on `summary` see it); the other types are known and skipped."""
    message = decode_json(payload)
    if not isinstance(message, dict) or message.get("type") not in OBJECT_UPDATE_TYPES:
        raise BadPayload("not a Frigate tracked object update (type description, face, lpr "
                         "or classification)")
    object_id = _text(message.get("id"))
    if object_id is None:
        raise BadPayload("a tracked object update without a string id")
    if message["type"] == "description":
        description = _description(message.get("description"))
        if description is not None:
            ingest.annotate_summary(source(prefix), object_id, description)


# -- backfill ---------------------------------------------------------------------------------

def _from_api(event: Any) -> Any:
    """A tracked object of GET /api/events in the shape of an MQTT `after`."""
    if not isinstance(event, dict):
        return event
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    return {
        "id": event.get("id"), "camera": event.get("camera"), "label": event.get("label"),
        "sub_label": event.get("sub_label"),
        "top_score": data.get("top_score", event.get("top_score")),
        "start_time": event.get("start_time"), "end_time": event.get("end_time"),
        "false_positive": event.get("false_positive"),
        "entered_zones": event.get("zones"), "current_zones": [],
        "has_snapshot": event.get("has_snapshot"), "has_clip": event.get("has_clip"),
        "recognized_license_plate": data.get("recognized_license_plate"),
        "recognized_license_plate_score": data.get("recognized_license_plate_score"),
        "description": data.get("description"),
        # The API's box is relative [x, y, w, h]: not the MQTT pixels, so left out.
    }


def backfill(prefix: str, base_url: str, http: Any = requests,
             auth: tuple[str, str] | None = None) -> int:
    """Ask Frigate's HTTP API for the tracked objects missed while away: those started
    since the newest stored (a minute of overlap), and each stored one not ended yet.
    Stores them as MQTT would have; returns how many objects were read."""
    base = base_url.rstrip("/")
    latest = ingest.latest_start(source(prefix))
    since = (latest - BACKFILL_OVERLAP) if latest else datetime.now(UTC) - BACKFILL_FIRST
    response = http.get(f"{base}/api/events", timeout=BACKFILL_TIMEOUT_SECONDS, auth=auth,
                        params={"after": since.timestamp(), "limit": BACKFILL_LIMIT})
    response.raise_for_status()
    events = response.json()
    if not isinstance(events, list):
        raise BadPayload("GET /api/events did not answer a list")
    seen = {e.get("id") for e in events if isinstance(e, dict)}
    # (GET /api/events filters on start_time > after: an object that started before and
    # ended while away is only found by asking for it.)
    for object_id in ingest.open_external_ids(source(prefix), BACKFILL_OPEN):
        if object_id in seen:
            continue
        one = http.get(f"{base}/api/events/{quote(object_id, safe='')}",
                       timeout=BACKFILL_TIMEOUT_SECONDS, auth=auth)
        if one.status_code == 404:
            continue  # Frigate no longer keeps it
        one.raise_for_status()
        events.append(one.json())
    events = [e for e in events if isinstance(e, dict)]
    done = ingest.ended_external_ids(source(prefix), [str(e.get("id")) for e in events])
    events.sort(key=lambda e: _number(e.get("start_time")) or 0)
    for event in events:
        if event.get("id") in done:
            continue  # its end came over MQTT: that state is the more complete one
        try:
            store(prefix, _from_api(event), base)
        except BadPayload as exc:
            log.warning("frigate backfill (%s): skipped an object: %s", prefix, exc)
    return len(events)
