"""The background loops an app runs (matcher, dispatcher, mode scheduler, camera health, the
track timer, the notification groups' flusher, escalation, digests, and the MQTT subscriber
when ALERTING_MQTT_URL is set), each a SupervisedLoop, and their state for /api/health."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from flask import Flask, current_app

from .loop import SupervisedLoop

EXTENSION = "alerting.workers"
# The loops every app runs, in the order they start, and what each does (the help of
# `flask worker --<name>/--no-<name>`, cli.py).
ABOUT = {
    "matcher": "Match new events into alerts.",
    "dispatcher": "Send due deliveries.",
    "modes": "Apply the weekly mode schedule.",
    "camera_health": "Mark silent cameras offline and run camera_offline rules.",
    "tracks": "Re-match tracks when a dwell or stationary criterion comes due.",
    "groups": "Flush notification groups when due.",
    "escalation": "Send unacknowledged alerts to their rules' escalation targets.",
    "digests": "Send the notification digests at their times.",
}
NAMES = tuple(ABOUT)
ALL = (*NAMES, "mqtt")


def register(app: Flask, loop: SupervisedLoop) -> None:
    app.extensions.setdefault(EXTENSION, {})[loop.name] = loop


def status() -> dict[str, dict]:
    """The state of each loop this app runs (see SupervisedLoop.state)."""
    loops = current_app.extensions.get(EXTENSION, {})
    return {name: loop.state() for name, loop in sorted(loops.items())}


def launch(app: Flask, names: Iterable[str] = NAMES) -> list[SupervisedLoop]:
    """Create, register and start the named loops in this process (`flask worker` too)."""
    from ..notify.dispatcher import Dispatcher
    from .camera_health_loop import CameraHealth
    from .digest_loop import DigestLoop
    from .escalation_loop import EscalationLoop
    from .groups_loop import GroupFlusher
    from .matcher_loop import Matcher
    from .mode_schedule_loop import ModeScheduler
    from .mqtt_loop import Subscriber
    from .track_timer_loop import TrackTimer

    kinds = {"matcher": Matcher, "dispatcher": Dispatcher, "modes": ModeScheduler,
             "camera_health": CameraHealth, "mqtt": Subscriber, "tracks": TrackTimer,
             "groups": GroupFlusher, "escalation": EscalationLoop, "digests": DigestLoop}
    started = []
    for name in names:
        running = app.extensions.get(f"alerting.{name}")
        if running is not None:  # replaced, not left running where nothing can stop it
            running.stop()
        loop = kinds[name](app)
        app.extensions[f"alerting.{name}"] = loop
        register(app, loop)
        loop.start()
        started.append(loop)
    return started


_start_lock = threading.Lock()


def start(app: Flask) -> None:
    """Start this process's background workers once (gunicorn's post_worker_init, or the
    first request under another server). Off when ALERTING_INPROCESS_WORKERS is off."""
    if not app.config["INPROCESS_WORKERS"]:
        return
    with _start_lock:
        if app.extensions.get("alerting.started"):
            return
        app.extensions["alerting.started"] = True
        mqtt = app.config.get("MQTT_INPROCESS") and _mqtt_configured(app)
        launch(app, (*NAMES, "mqtt") if mqtt else NAMES)


def _mqtt_configured(app: Flask) -> bool:
    """A broker URL is set: ALERTING_MQTT_URL, or one saved on the Integrations page."""
    if app.config.get("MQTT_URL"):
        return True
    from ..extensions import db
    from ..services import integrations

    with app.app_context():
        try:
            return bool(integrations.effective().mqtt_url)
        except Exception:  # a stored URL the secret key cannot read: no subscriber
            logging.getLogger(__name__).exception("mqtt: the stored MQTT URL is unreadable")
            return False
        finally:
            db.session.remove()


def mqtt_settings_saved(app: Flask) -> None:
    """After the integration settings are saved: a broker set for the first time starts this
    process's subscriber (a running one notices the change itself and reconnects)."""
    if not (app.config.get("INPROCESS_WORKERS") and app.config.get("MQTT_INPROCESS")
            and app.extensions.get("alerting.started")) or app.extensions.get("alerting.mqtt"):
        return
    with _start_lock:
        if app.extensions.get("alerting.mqtt") is None and _mqtt_configured(app):
            launch(app, ["mqtt"])


def stop(app: Flask) -> None:
    """Stop the background workers this app started (tests, graceful shutdown)."""
    for name in ALL:
        loop = app.extensions.pop(f"alerting.{name}", None)
        if loop is not None:
            loop.stop()
    app.extensions.pop(EXTENSION, None)
    app.extensions.pop("alerting.started", None)
