"""The camera health timer: every ALERTING_CAMERA_CHECK_SECONDS, silent cameras are marked
offline and the camera_offline rules run (services/cameras.check). Several processes may
run it at once: the database decides who raises each outage (see services/cameras.py)."""

from __future__ import annotations

from flask import Flask

from ..extensions import db
from ..services import cameras
from .loop import SupervisedLoop


class CameraHealth(SupervisedLoop):
    """Runs cameras.check in its own app context, then waits the check interval."""

    def __init__(self, app: Flask, *, interval: float | None = None):
        super().__init__("camera_health")
        self.app = app
        self.interval = interval or float(app.config["CAMERA_CHECK_SECONDS"])

    def run_once(self) -> dict[str, int]:
        with self.app.app_context():
            try:
                return cameras.check()
            finally:
                db.session.remove()

    def cycle(self) -> None:
        self.run_once()
        self._wake.wait(self.interval)
        self._wake.clear()
