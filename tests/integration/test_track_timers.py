"""Track timers across `flask worker` processes: two workers fire a pending dwell once, and a
worker restarted while a dwell is pending fires it once, at its time (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from alerting import create_app
from alerting.engine.timeparse import ensure_utc
from alerting.extensions import db
from alerting.services import ingest as ingest_service
from alerting.services import rules as rules_service
from tests.support.databases import TempDatabase
from tests.support.server import BIN, ROOT, server_env, upgrade, wait_for

DWELL = 3
LOG_DIR = ROOT / "test-artifacts"
LOG_DIR.mkdir(exist_ok=True)


@pytest.fixture
def database(tmp_path):
    database = TempDatabase(tmp_path, "tracks")
    upgrade(server_env(database.url))
    yield database
    database.drop()


def start_workers(database, n):
    """n `flask worker` processes (matcher and track timer), once each says it runs."""
    env = server_env(database.url)
    path = LOG_DIR / f"track-workers-{time.monotonic_ns()}.log"
    log = open(path, "ab")  # noqa: SIM115
    try:
        processes = [subprocess.Popen(
            [str(BIN / "flask"), "worker", "--no-dispatcher", "--no-modes",
             "--no-camera-health"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            for _ in range(n)]
    finally:
        log.close()
    wait_for(lambda: path.read_text().count("running: matcher, tracks") == n, timeout=60,
             interval=0.1)
    return processes


def stop(processes):
    for proc in processes:
        proc.terminate()
    for proc in processes:
        proc.wait(timeout=20)


def seed(database, dwell=DWELL):
    """A dwell rule, and a person entering the gate now (HTTP, track p1)."""
    app = create_app({"DATABASE_URL": database.url, "SECRET_KEY": "x", "BOOTSTRAP": False,
                      "INPROCESS_WORKERS": False})
    with app.app_context():
        rules_service.create_rule({"name": "loitering", "severity": "high",
                                   "zone_ids": ["gate"], "min_dwell_seconds": dwell}, "test")
        ingest_service.ingest({"camera_id": "cam", "detections": [
            {"object_type": "person", "zone_ids": ["gate"], "track_id": "p1"}]})
        db.session.remove()
        db.engine.dispose()


def query(database, sql):
    engine = create_engine(database.url)
    with engine.connect() as conn:
        rows = list(conn.execute(text(sql)))
    engine.dispose()
    return rows


def entered_at(database):
    [(state,)] = query(database, "SELECT state FROM tracks")
    state = json.loads(state) if isinstance(state, str) else state
    return state["visits"][0][1]


def alert_times(database):
    """When each alert was made (SQLite answers text, PostgreSQL datetimes)."""
    return [ensure_utc(datetime.fromisoformat(created) if isinstance(created, str)
                       else created).timestamp()
            for (created,) in query(database, "SELECT created_at FROM alerts")]


def test_two_workers_fire_a_pending_dwell_once_on_time(database):
    workers = start_workers(database, 2)
    try:
        seed(database)
        due = entered_at(database) + DWELL
        [fired] = wait_for(lambda: alert_times(database), timeout=DWELL + 15)
        time.sleep(1.5)
        assert len(alert_times(database)) == 1
    finally:
        stop(workers)
    assert 0 <= fired - due < 1.0, fired - due


def test_a_restart_while_a_dwell_is_pending_fires_it_once_at_its_time(database):
    # Long enough for one worker to stop and another to start (a few seconds each on a
    # busy machine).
    dwell = 20
    [first] = start_workers(database, 1)
    try:
        seed(database, dwell)
        due = entered_at(database) + dwell
        # The worker matched the event and wrote the track's due time; then it goes.
        wait_for(lambda: query(database, "SELECT due_at FROM tracks WHERE due_at IS NOT NULL"),
                 timeout=10)
    finally:
        stop([first])
    assert time.time() < due, "the worker took too long to start: nothing was pending"
    assert alert_times(database) == []
    workers = start_workers(database, 1)
    try:
        [fired] = wait_for(lambda: alert_times(database), timeout=dwell + 15)
        time.sleep(1.0)
        assert len(alert_times(database)) == 1
    finally:
        stop(workers)
    assert 0 <= fired - due < 1.0, fired - due
