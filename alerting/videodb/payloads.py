"""The JSON of the VideoDB API: the objects the SDK reads, the body posted to an alert's
callback_url, and the WebSocket alert frame. Plain functions of rows and dicts; no queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..engine.timeparse import ensure_utc, isoformat_z
from ..models import AlertRule, Event, VideodbAlert, VideodbEvent, VideodbSceneIndex, VideodbStream


@dataclass(frozen=True, slots=True)
class Binding:
    """What a firing of a VideoDB alert needs to know about the alert."""

    alert_id: str
    event_id: str
    label: str
    rtstream_id: str
    rtstream_index_id: str
    callback_url: str
    ws_connection_id: str | None


def collection_json(collection_id: str) -> dict[str, Any]:
    return {"id": collection_id, "name": collection_id,
            "description": "The one collection of this alerting server", "is_public": False}


def stream_json(stream: VideodbStream) -> dict[str, Any]:
    """An RTStream. There is no playback here: stream_url and player_url are null."""
    return {
        "id": stream.id,
        "name": stream.name,
        "collection_id": stream.collection_id,
        "created_at": isoformat_z(stream.created_at),
        "sample_rate": stream.sample_rate,
        "status": stream.status,
        "stream_url": None,
        "player_url": None,
        "url": stream.url,
        "media_types": stream.media_types or [],
        "store": stream.store,
        "enable_transcript": stream.enable_transcript,
    }


def scene_index_json(index: VideodbSceneIndex) -> dict[str, Any]:
    return {
        "rtstream_index_id": index.id,
        "rtstream_id": index.stream_id,
        "extraction_type": index.extraction_type,
        "extraction_config": index.extraction_config,
        "prompt": index.prompt,
        "model_name": index.model_name,
        "model_config": index.model_config,
        "name": index.name,
        "status": index.status,
        "created_at": isoformat_z(index.created_at),
    }


def _epoch(value: datetime) -> float:
    return ensure_utc(value).timestamp()


def scene_record_json(event: Event) -> dict[str, Any]:
    """A scene record: an event posted with this stream's id and this index's id."""
    return {
        "id": event.id,
        "start": _epoch(event.started_at),
        "end": _epoch(event.ended_at or event.started_at),
        "description": event.summary,
        "labels": event.labels or [],
        "metadata": event.attributes,
    }


def event_definition_json(event: VideodbEvent) -> dict[str, Any]:
    """A VideoDB event (a detection definition; not one of this app's detection events)."""
    return {"event_id": event.id, "event_prompt": event.event_prompt, "label": event.label,
            "created_at": isoformat_z(event.created_at)}


def alert_json(binding: VideodbAlert, rule: AlertRule, event: VideodbEvent) -> dict[str, Any]:
    return {
        "alert_id": binding.id,
        "event_id": event.id,
        "label": event.label,
        "prompt": event.event_prompt,
        "callback_url": binding.callback_url,
        "ws_connection_id": binding.ws_connection_id,
        "status": "enabled" if rule.enabled else "disabled",
        "rtstream_id": binding.stream_id,
        "rtstream_index_id": binding.scene_index_id,
        "rule_id": rule.id,
        "created_at": isoformat_z(binding.created_at),
    }


# --- a firing: from the API's event object (services.events.event_json) ----------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value <= 1 else None


def confidence(label: str, event_body: dict[str, Any]) -> float | None:
    """`attributes.confidence` when the detector sent one (0..1); else the best confidence
    of the detections whose object type is the label; else of any detection; else null."""
    attributes = event_body.get("attributes") or {}
    given = _number(attributes.get("confidence")) if isinstance(attributes, dict) else None
    if given is not None:
        return given
    scored = [(str(d.get("object_type", "")).casefold(), _number(d.get("confidence")))
              for d in event_body.get("detections") or []]
    scored = [(kind, value) for kind, value in scored if value is not None]
    named = [value for kind, value in scored if kind == label.casefold()]
    return max(named or [value for _, value in scored], default=None)


def _explanation(event_body: dict[str, Any]) -> str:
    attributes = event_body.get("attributes") or {}
    given = attributes.get("explanation") if isinstance(attributes, dict) else None
    if isinstance(given, str) and given.strip():
        return given
    return event_body.get("summary") or ""


def _times(event_body: dict[str, Any]) -> tuple[str, float, float]:
    started = event_body["started_at"]
    start = datetime.fromisoformat(started).timestamp()
    ended = event_body.get("ended_at")
    end = datetime.fromisoformat(ended).timestamp() if ended else start
    return started, start, end


def webhook_body(binding: Binding, event_body: dict[str, Any]) -> dict[str, Any]:
    """The body posted to callback_url: VideoDB's documented fields, then extra keys.
    start_time / end_time are Unix seconds (a live camera has no video offset)."""
    timestamp, start, end = _times(event_body)
    return {
        "event_id": binding.event_id,
        "label": binding.label,
        "confidence": confidence(binding.label, event_body),
        "explanation": _explanation(event_body),
        "timestamp": timestamp,
        "start_time": start,
        "end_time": end,
        "stream_url": None,
        "player_url": None,
        "alert_id": binding.alert_id,
        "rtstream_id": binding.rtstream_id,
        "rtstream_index_id": binding.rtstream_index_id,
        "event_label": binding.label,
        "text": event_body.get("summary") or "",
    }


def alert_frame(binding: Binding, event_body: dict[str, Any]) -> dict[str, Any]:
    """The WebSocket alert frame; start / end are Unix milliseconds."""
    timestamp, start, end = _times(event_body)
    return {
        "channel": "alert",
        "rtstream_id": binding.rtstream_id,
        "data": {
            "alert_id": binding.alert_id,
            "event_id": binding.event_id,
            "label": binding.label,
            "event_label": binding.label,
            "triggered": True,
            "confidence": confidence(binding.label, event_body),
            "text": event_body.get("summary") or "",
            "explanation": _explanation(event_body),
            "timestamp": timestamp,
            "start": round(start * 1000),
            "end": round(end * 1000),
            "rtstream_index_id": binding.rtstream_index_id,
        },
    }
