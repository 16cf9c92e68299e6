"""The camera health timer runs as a supervised loop (tests/workers/test_loops.py covers
the supervision itself): it raises a camera_offline alert on its own and shows in
/api/health."""

from __future__ import annotations

import time
from datetime import timedelta

from alerting import workers
from alerting.extensions import db
from alerting.models import Alert, utcnow
from alerting.services import cameras
from alerting.workers.camera_health_loop import CameraHealth
from tests.support.app import make_app, make_key
from tests.support.factories import create_rule


def _wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_loop_raises_the_alert_and_shows_in_health(tmp_path):
    app = make_app(tmp_path, CAMERA_CHECK_SECONDS=0.05)
    headers = {"x-access-token": make_key(app)}
    client = app.test_client()
    create_rule(client, headers, name="Unplugged", kind="camera_offline",
                camera_ids=["porch"], offline_after_seconds=10)
    with app.app_context():  # Frigate said so 11 seconds ago
        cameras.report(["porch"], "offline", utcnow() - timedelta(seconds=11), "frigate:f")
    [loop] = workers.launch(app, ["camera_health"])
    try:
        assert isinstance(loop, CameraHealth)

        def raised() -> bool:
            with app.app_context():
                try:
                    return db.session.query(Alert).count() == 1
                finally:
                    db.session.remove()

        _wait_for(raised)
        health = client.get("/api/health").json
        assert health["workers"]["camera_health"]["state"] == "running"
    finally:
        workers.stop(app)
    assert not loop.alive
