"""Our own event JSON on an MQTT topic (ALERTING_MQTT_TOPICS): one event or {"events": [...]},
exactly what POST /api/events takes, for any detector that speaks MQTT."""

from __future__ import annotations

from ..engine.errors import ValidationError
from ..services import ingest
from . import BadPayload, decode_json


def on_json(topic: str, payload: bytes) -> None:
    """Store the event(s) of one message. Invalid: BadPayload (a batch stores its valid
    items and counts as bad only when none was)."""
    try:
        status, body = ingest.ingest(decode_json(payload))
    except ValidationError as exc:
        raise BadPayload(f"invalid event: {', '.join(sorted(exc.fields)) or exc.message}") \
            from None
    if status == 422:
        raise BadPayload("no event of the batch was valid")
