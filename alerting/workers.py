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
