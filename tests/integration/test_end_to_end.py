"""A real gunicorn server: events posted over HTTP become alerts with nothing called by hand,
and a server killed with SIGKILL matches every event exactly once after a restart."""


import requests
from sqlalchemy import create_engine, text

from tests.support.databases import TempDatabase
from tests.support.factories import event_body, rule_body
from tests.support.server import kill_hard, running_server, wait_for

KEY = "e2e-admin-key-0123456789"


def test_posted_event_becomes_alert_by_itself(tmp_path):
    headers = {"x-access-token": KEY}
    with running_server(tmp_path, ALERTING_BOOTSTRAP_API_KEY=KEY) as (url, _proc, _log):
        rule = requests.post(url + "/api/alerts/rules", json=rule_body(), headers=headers).json()
        event = requests.post(url + "/api/events", json=event_body(), headers=headers).json()

        def alert():
            body = requests.get(url + "/api/alerts", headers=headers).json()
            return body["alerts"]

        [found] = wait_for(alert)  # nothing but the server's own threads made it
        assert found["rule_id"] == rule["id"] and found["event_id"] == event["id"]
        health = requests.get(url + "/api/health").json()
        assert health["workers"]["matcher"] == {"alive": True, "expected": True,
                                                "state": "running"}
        assert health["backlog"]["events_unprocessed"] == 0


def counts(database):
    engine = create_engine(database.url)
    try:
        with engine.connect() as conn:
            unprocessed = conn.execute(text(
                "SELECT count(*) FROM events WHERE processed_at IS NULL")).scalar()
            alerts, distinct = conn.execute(text(
                "SELECT count(*), count(DISTINCT event_id) FROM alerts")).one()
    finally:
        engine.dispose()
    return unprocessed, alerts, distinct


def test_sigkill_between_ingest_and_matching_loses_nothing(tmp_path):
    headers = {"x-access-token": KEY}
    database = TempDatabase(tmp_path, "crash")
    total = 3000
    env = {"ALERTING_BOOTSTRAP_API_KEY": KEY}
    # 1. Ingest with the matcher off, then SIGKILL: events stored, none matched.
    with running_server(tmp_path, database=database, ALERTING_INPROCESS_WORKERS="off",
                        **env) as (url, proc, _):
        requests.post(url + "/api/alerts/rules", json=rule_body(), headers=headers)
        for start in range(0, total, 500):
            batch = {"events": [event_body(external_id=f"e{i}", source="test")
                                for i in range(start, start + 500)]}
            assert requests.post(url + "/api/events", json=batch,
                                 headers=headers).status_code == 201
        kill_hard(proc)
    assert counts(database) == (total, 0, 0)
    # 2. Restart with the matcher on and SIGKILL it mid-way through the backlog.
    with running_server(tmp_path, migrate=False, database=database, **env) as (url, proc, _):
        wait_for(lambda: counts(database)[0] < total, interval=0.001)
        kill_hard(proc)
    unprocessed, alerts, distinct = counts(database)
    assert alerts == distinct == total - unprocessed  # nothing half-done
    # 3. Restart again: the rest is matched, every event exactly once.
    with running_server(tmp_path, migrate=False, database=database, **env):
        wait_for(lambda: counts(database)[0] == 0)
    assert counts(database) == (0, total, total)
    database.drop()
