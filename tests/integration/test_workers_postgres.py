"""Several `flask worker` processes on PostgreSQL: exactly one worker's alerts, nothing lost."""

import os
import random
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from alerting import create_app
from alerting.extensions import db
from alerting.services import ingest as ingest_service
from alerting.services import rules as rules_service
from tests.support.databases import TempDatabase, postgres_base
from tests.support.server import BIN, ROOT, server_env, upgrade

pytestmark = pytest.mark.skipif(
    postgres_base() is None,
    reason="needs PostgreSQL: set ALERTING_TEST_DATABASE_URL=postgresql+psycopg://... "
           "(.ci/run does)")

COOLDOWN = 300
LOG_DIR = ROOT / "test-artifacts"
LOG_DIR.mkdir(exist_ok=True)


@pytest.fixture
def database(tmp_path):
    database = TempDatabase(tmp_path, "workers")
    upgrade(server_env(database.url))
    yield database
    database.drop()


def seed(database, count, seed_value=7):
    """One rule whose dedup key is the same for every event, and `count` events whose
    spacing makes the cooldown matter; returns the event ids one sequential worker fires."""
    app = create_app({"DATABASE_URL": database.url, "SECRET_KEY": "x", "BOOTSTRAP": False,
                      "INPROCESS_WORKERS": False})
    rng = random.Random(seed_value)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    times = []
    for _ in range(count):
        when += timedelta(seconds=rng.choice([5, 60, 200, 290, 310, 600]))
        times.append(when)
    with app.app_context():
        rules_service.create_rule({"name": "one key", "severity": "high",
                                   "dedup_key_template": "{rule_id}",
                                   "cooldown_seconds": COOLDOWN}, "test")
        ids = []
        for start in range(0, count, 1000):
            batch = {"events": [{"camera_id": f"cam-{i % 4}",
                                 "started_at": t.isoformat()}
                                for i, t in enumerate(times[start:start + 1000], start)]}
            _, body = ingest_service.ingest(batch)
            ids.extend(r["id"] for r in body["results"])
        db.session.remove()
        db.engine.dispose()
    expected, last = [], None
    for event_id, t in zip(ids, times, strict=True):
        if last is None or (t - last).total_seconds() >= COOLDOWN:
            expected.append(event_id)
            last = t
    return expected


def start_workers(database, n, **env):
    env = server_env(database.url, ALERTING_MATCH_BATCH_SIZE="50", **env)
    log = open(LOG_DIR / f"workers-{time.monotonic_ns()}.log", "ab")  # noqa: SIM115
    try:
        return [subprocess.Popen([str(BIN / "flask"), "worker", "--no-dispatcher"], cwd=ROOT,
                                 env=env, stdout=log, stderr=subprocess.STDOUT)
                for _ in range(n)]
    finally:
        log.close()


def state(database):
    engine = create_engine(database.url)
    with engine.connect() as conn:
        unprocessed = conn.execute(text(
            "SELECT count(*) FROM events WHERE processed_at IS NULL")).scalar()
        fired = list(conn.execute(text("SELECT event_id FROM alerts ORDER BY event_id")).scalars())
    engine.dispose()
    return unprocessed, fired


def wait_processed(database, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        unprocessed, fired = state(database)
        if unprocessed == 0:
            return fired
        time.sleep(0.1)
    raise AssertionError(f"{unprocessed} events still unprocessed")


def stop(processes):
    for proc in processes:
        proc.terminate()
    for proc in processes:
        proc.wait(timeout=20)


def test_three_workers_fire_exactly_what_one_would(database):
    expected = seed(database, 3000)
    workers = start_workers(database, int(os.environ.get("NWORKERS", "3")))
    try:
        fired = wait_processed(database)
    finally:
        stop(workers)
    assert len(fired) == len(set(fired))  # no duplicate alert
    assert fired == expected


def test_worker_killed_mid_batch_loses_nothing(database):
    expected = seed(database, 3000, seed_value=11)
    [victim] = start_workers(database, 1)
    deadline = time.monotonic() + 60
    while state(database)[0] == 3000 and time.monotonic() < deadline:
        time.sleep(0.005)
    victim.kill()
    victim.wait()
    assert state(database)[0] > 0, "the worker finished before it could be killed"
    workers = start_workers(database, 2)
    try:
        fired = wait_processed(database)
    finally:
        stop(workers)
    assert fired == expected
