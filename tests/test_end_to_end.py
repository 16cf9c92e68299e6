"""A real gunicorn server: events posted over HTTP become alerts with nothing called by hand,
and a server killed with SIGKILL matches every event exactly once after a restart."""

import sqlite3
import time

import requests

from tests.factories import event_body, rule_body
from tests.server import kill_hard, running_server

KEY = "e2e-admin-key-0123456789"


def wait_for(predicate, timeout=20.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def test_posted_event_becomes_alert_by_itself(tmp_path):
    headers = {"x-access-token": KEY}
    with running_server(tmp_path, ALERTING_BOOTSTRAP_API_KEY=KEY) as (url, _proc, _log):
        rule = requests.post(url + "/api/alerts/rules", json=rule_body(), headers=headers).json()
        started = time.monotonic()
        event = requests.post(url + "/api/events", json=event_body(), headers=headers).json()

        def alert():
            body = requests.get(url + "/api/alerts", headers=headers).json()
            return body["alerts"]

        [found] = wait_for(alert)
        assert time.monotonic() - started < 5
        assert found["rule_id"] == rule["id"] and found["event_id"] == event["id"]
        health = requests.get(url + "/api/health").json()
        assert health["workers"]["matcher"] == {"alive": True, "expected": True}
        assert health["backlog"]["events_unprocessed"] == 0


def counts(db_path):
    with sqlite3.connect(db_path) as conn:
        unprocessed = conn.execute(
            "SELECT count(*) FROM events WHERE processed_at IS NULL").fetchone()[0]
        alerts, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM alerts").fetchone()
    return unprocessed, alerts, distinct


def test_sigkill_between_ingest_and_matching_loses_nothing(tmp_path):
    headers = {"x-access-token": KEY}
    db_path = tmp_path / "server.db"
    total = 3000
    env = {"ALERTING_BOOTSTRAP_API_KEY": KEY}
    # 1. Ingest with the matcher off, then SIGKILL: events stored, none matched.
    with running_server(tmp_path, ALERTING_INPROCESS_WORKERS="off", **env) as (url, proc, _):
        requests.post(url + "/api/alerts/rules", json=rule_body(), headers=headers)
        for start in range(0, total, 500):
            batch = {"events": [event_body(external_id=f"e{i}", source="test")
                                for i in range(start, start + 500)]}
            assert requests.post(url + "/api/events", json=batch,
                                 headers=headers).status_code == 201
        kill_hard(proc)
    assert counts(db_path) == (total, 0, 0)
    # 2. Restart with the matcher on and SIGKILL it mid-way through the backlog.
    with running_server(tmp_path, migrate=False, **env) as (url, proc, _):
        wait_for(lambda: counts(db_path)[0] < total, interval=0.001)
        kill_hard(proc)
    unprocessed, alerts, distinct = counts(db_path)
    assert alerts == distinct == total - unprocessed  # nothing half-done
    # 3. Restart again: the rest is matched, every event exactly once.
    with running_server(tmp_path, migrate=False, **env):
        wait_for(lambda: counts(db_path)[0] == 0)
    assert counts(db_path) == (0, total, total)
