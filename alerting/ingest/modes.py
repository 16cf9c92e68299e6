"""The arming-mode command topic (ALERTING_MQTT_MODE_TOPIC, default `alerting/mode/set`):
a message's payload is a mode's name, as plain text (`away`) or JSON (`{"mode": "away"}`),
made current through services.modes like any other change (source `mqtt`, actor
`mqtt:<topic>`). An unknown mode is a bad payload. The subscriber publishes the current mode,
retained, on the state topic (`state_topic`) whenever it changes, whoever changed it."""

from __future__ import annotations

import json

from ..engine.errors import ValidationError
from ..services import modes
from . import BadPayload

MAX_PAYLOAD = 1024


def state_topic(command_topic: str) -> str:
    """`alerting/mode/set` -> `alerting/mode/state`; a topic not ending in `/set` gets
    `/state` appended."""
    base = command_topic[:-len("/set")] if command_topic.endswith("/set") else command_topic
    return f"{base}/state"


def mode_name(payload: bytes) -> str:
    """The mode a command names: plain text or {"mode": name}."""
    if len(payload) > MAX_PAYLOAD:
        raise BadPayload(f"payload of {len(payload)} bytes, over {MAX_PAYLOAD}")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise BadPayload("payload is not UTF-8") from None
    if text.startswith(("{", "[", '"')):
        try:
            document = json.loads(text)
        except ValueError:
            raise BadPayload("payload is neither a mode's name nor JSON") from None
        if isinstance(document, dict):
            document = document.get("mode")
        if not isinstance(document, str):
            raise BadPayload('payload must be a mode\'s name or {"mode": name}')
        text = document.strip()
    if not text:
        raise BadPayload("payload names no mode")
    return text


def on_set(topic: str, payload: bytes) -> None:
    """Make the named mode current (nothing recorded when it already is)."""
    name = mode_name(payload)
    try:
        modes.set_current(name, actor=f"mqtt:{topic}", source="mqtt")
    except ValidationError as exc:
        raise BadPayload(f"mode {name[:64]!r}: {exc.fields.get('mode') or exc.message}") \
            from None
