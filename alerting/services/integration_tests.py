"""Connection tests of the integration settings (POST /api/integrations/test, the Test
buttons of the Integrations page): Frigate's HTTP API under the media route's outgoing policy,
and the MQTT broker, reporting what each answered."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from flask import current_app

from ..extensions import db
from ..ingest.mqtt import broker
from ..notify.redact import redact_url
from ..schemas.common import validate
from ..schemas.integrations import IntegrationTest
from . import audit
from .integrations import ROW_ID, Effective, basic_auth, effective
from .media import MediaUnavailable, fetch_bytes, origin, policy_from

TOPIC_KINDS = ("events", "reviews", "available", "status")
# Frigate retains `<prefix>/available`: subscribing to this shows at once which prefixes the
# Frigate instances on a broker publish under (a wrong prefix is the usual silent mistake).
AVAILABLE_ANYWHERE = "+/available"
PREFIXES_SHOWN = 10
PROBE_SECONDS = 0.5  # retained messages arrive right after the subscription



def run_test(body: object, actor: str) -> dict[str, Any]:
    """POST /api/integrations/test: what a connection to Frigate or the broker saw."""
    data = validate(IntegrationTest, body)
    result = {"kind": data.kind, "ok": False, "message": "", "version": None, "cameras": None,
              "connected": None, "messages": None}
    now = effective()
    if data.kind == "frigate":
        result.update(_test_frigate(data, now))
    else:
        result.update(_test_mqtt(data, now))
    audit.record(actor, "integrations_test", "integration_settings", ROW_ID,
                 {"kind": data.kind, "prefix": data.prefix, "ok": result["ok"]})
    db.session.commit()
    return result


def _test_frigate(data: IntegrationTest, now: Effective) -> dict[str, Any]:
    stored = now.by_prefix().get(data.prefix)
    base = data.base_url or (stored.base_url if stored else None)
    if not base:
        return {"message": f"no base URL for the Frigate instance {data.prefix!r}"}
    username = data.username if data.username is not None else (
        stored.username if stored else None)
    password = data.password if data.password is not None else (
        stored.password if stored else None)
    policy = policy_from(current_app.config)
    headers = basic_auth(username, password)
    try:
        version = fetch_bytes(f"{base}/api/version", policy, headers=headers)
    except MediaUnavailable as exc:
        trusted = origin(base) in policy.trusted
        hint = "" if trusted else " (an unsaved base URL is under the outgoing policy: save it)"
        if exc.answered in (401, 403):
            hint = (f" ({'wrong' if username else 'no'} credentials: a proxy's HTTP basic auth "
                    "takes the username and password here; Frigate's own login, on its port "
                    "8971, is not basic auth: use its API port 5000 or such a proxy)")
        return {"message": f"{exc.reason}{hint}"}
    text = version.body.decode("utf-8", "replace").strip().strip('"')[:100]
    cameras = None
    try:
        config = json.loads(fetch_bytes(f"{base}/api/config", policy, headers=headers).body)
        if isinstance(config, dict) and isinstance(config.get("cameras"), dict):
            cameras = sorted(str(name) for name in config["cameras"])
    except (MediaUnavailable, ValueError):
        pass
    seen = f", cameras: {', '.join(cameras)}" if cameras else ""
    return {"ok": True, "version": text, "cameras": cameras,
            "message": f"Frigate {text} answered{seen}"}


def topic_kind(prefix: str, topic: str) -> str:
    """events, reviews, available, status (<prefix>/<camera>/status/...) or other."""
    rest = topic[len(prefix) + 1:] if topic.startswith(prefix + "/") else topic
    if rest in ("events", "reviews", "available"):
        return rest
    return "status" if "/status/" in f"/{rest}/" else "other"


def _test_mqtt(data: IntegrationTest, now: Effective) -> dict[str, Any]:
    import paho.mqtt.client as paho

    url = data.url or now.mqtt_url
    if not url:
        return {"connected": False, "message": "no MQTT URL: set one, or ALERTING_MQTT_URL"}
    where = broker(url)
    counts = dict.fromkeys((*TOPIC_KINDS, "other"), 0)
    connected = threading.Event()
    refused: list[str] = []
    elsewhere: set[str] = set()  # other prefixes with a Frigate `available` topic
    probing = threading.Event()  # the count is over: looking for those
    lock = threading.Lock()

    def on_connect(client, _userdata, _flags, reason, _properties):
        if reason.is_failure:
            refused.append(str(reason))
            return
        client.subscribe(f"{data.prefix}/#", 0)
        connected.set()

    def on_message(_client, _userdata, message):
        with lock:
            if probing.is_set():
                if not message.topic.startswith(data.prefix + "/"):
                    elsewhere.add(message.topic.rpartition("/")[0])
            else:
                counts[topic_kind(data.prefix, message.topic)] += 1

    client = paho.Client(paho.CallbackAPIVersion.VERSION2,
                         client_id=f"{now.client_id}-test-{uuid.uuid4().hex[:8]}")
    if where.username is not None:
        client.username_pw_set(where.username, where.password)
    if where.tls:
        client.tls_set()
    client.on_connect = on_connect
    client.on_message = on_message
    shown = redact_url(url)
    try:
        client.connect(where.host, where.port, keepalive=10)
    except (OSError, ValueError) as exc:
        return {"connected": False,
                "message": f"cannot connect to {shown}: {type(exc).__name__}"}
    client.loop_start()
    try:
        deadline = time.monotonic() + 5
        while not connected.is_set() and not refused and time.monotonic() < deadline:
            time.sleep(0.05)
        if not connected.is_set():
            why = f"refused: {refused[0]}" if refused else "no answer"
            return {"connected": False, "message": f"{shown}: {why}"}
        time.sleep(data.seconds)
        with lock:
            silent = not any(counts.values())
            if silent:
                probing.set()
        if silent:
            # Only now, not beside the first subscription: a broker sends a message that
            # matches two subscriptions once for each, and the count would double.
            client.subscribe(AVAILABLE_ANYWHERE, 0)
            time.sleep(PROBE_SECONDS)
    finally:
        client.disconnect()
        client.loop_stop()
    with lock:
        seen, others = dict(counts), sorted(elsewhere)
    total = sum(seen.values())
    detail = ", ".join(f"{kind} {n}" for kind, n in seen.items() if n) or "nothing yet"
    hint = ""
    if not total and others:
        hint = (f"; Frigate's available topic is on this broker under another prefix: "
                f"{', '.join(others[:PREFIXES_SHOWN])} (its mqtt topic_prefix)")
    return {"ok": True, "connected": True, "messages": seen,
            "message": f"connected to {shown}; {total} messages on {data.prefix}/# in "
                       f"{data.seconds} s ({detail}){hint}"}
