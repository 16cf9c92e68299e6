"""Adapters that turn what detectors publish into events, all through services.ingest:
MQTT (the subscriber and its topic table, mqtt.py), Frigate (frigate.py) and our own event
JSON on any topic (generic.py)."""

from __future__ import annotations

import json
from typing import Any

# The largest MQTT payload read: a Frigate message is a few kilobytes, a batch of our events
# well under this. A larger one is counted as bad and skipped unread.
MAX_PAYLOAD_BYTES = 512 * 1024


class BadPayload(Exception):
    """A message that is not what its topic carries: counted, logged with its topic, skipped."""


def decode_json(payload: bytes) -> Any:
    """The JSON document of an MQTT payload: UTF-8, at most MAX_PAYLOAD_BYTES."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise BadPayload(f"payload of {len(payload)} bytes, over {MAX_PAYLOAD_BYTES}")
    try:
        return json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadPayload("payload is not UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise BadPayload(f"payload is not JSON ({type(exc).__name__})") from None
