"""Background threads (matcher, dispatcher) an app runs, and their liveness for /api/health."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import Flask, current_app

EXTENSION = "alerting.workers"


@dataclass
class WorkerState:
    """A named background loop: its thread, and whether this process is meant to run it."""

    name: str
    thread: threading.Thread | None
    expected: bool = True

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


def register(app: Flask, name: str, thread: threading.Thread | None, *,
             expected: bool = True) -> None:
    app.extensions.setdefault(EXTENSION, {})[name] = WorkerState(name, thread, expected)


def status() -> dict[str, dict]:
    """Liveness of each worker this app knows of."""
    states = current_app.extensions.get(EXTENSION, {})
    return {
        name: {"alive": state.alive, "expected": state.expected}
        for name, state in sorted(states.items())
    }


_start_lock = threading.Lock()


def start(app: Flask) -> None:
    """Start this process's background workers once (gunicorn's post_worker_init, or the
    first request under another server). Off when ALERTING_INPROCESS_WORKERS is off."""
    if not app.config.get("INPROCESS_WORKERS", True):
        return
    with _start_lock:
        if app.extensions.get("alerting.started"):
            return
        app.extensions["alerting.started"] = True
        from .matcher import Matcher
        from .notify.dispatcher import Dispatcher

        matcher = Matcher(app)
        app.extensions["alerting.matcher"] = matcher
        register(app, "matcher", matcher.start())
        dispatcher = Dispatcher(app)
        app.extensions["alerting.dispatcher"] = dispatcher
        register(app, "dispatcher", dispatcher.start())


def stop(app: Flask) -> None:
    """Stop the background workers this app started (tests, graceful shutdown)."""
    for name in ("alerting.matcher", "alerting.dispatcher"):
        worker = app.extensions.pop(name, None)
        if worker is not None:
            worker.stop()
    app.extensions.pop("alerting.started", None)
