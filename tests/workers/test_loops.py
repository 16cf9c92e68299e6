"""The supervised loops: a database error anywhere never ends the matcher or the dispatcher;
a loop that keeps failing says so on /api/health (since when), logs each error once, and
recovers by itself."""

import logging
import time

import pytest

from alerting import workers
from alerting.extensions import db
from alerting.notify.dispatcher import Dispatcher
from alerting.workers.matcher_loop import Matcher
from tests.support.app import make_app, make_key
from tests.support.factories import break_matching_for, create_rule, post_event, run_matcher
from tests.support.faults import ERRORS, StatementFaults

UNPROCESSED = "WHERE events.processed_at IS NULL ORDER BY events.id"
NEXT_DUE = "min(deliveries.next_attempt_at)"


def engine_of(app):
    with app.app_context():
        return db.engine


def wait(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def alert_cameras(client, headers):
    return sorted(a["camera_id"] for a in client.get("/api/alerts", headers=headers).json["alerts"])


def test_the_matcher_survives_a_database_error_after_a_bad_event(
        app, client, admin_headers, monkeypatch):
    create_rule(client, admin_headers, camera_ids=None)
    break_matching_for(monkeypatch)
    post_event(client, admin_headers, camera_id="poison")
    matcher = Matcher(app, poll_seconds=0.05)
    # The batch after the bad event (once the matcher isolated it) meets a database error.
    with StatementFaults(engine_of(app), at=(2,), only=UNPROCESSED,
                         threads=("alerting-matcher",)) as faults:
        matcher.start()
        try:
            assert wait(lambda: faults.total == 1)
            post_event(client, admin_headers, camera_id="after")
            assert wait(lambda: alert_cameras(client, admin_headers) == ["after"])
            assert matcher.alive
        finally:
            matcher.stop()


@pytest.fixture
def webhook_app(tmp_path):
    return make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"],
                    RETRY_SCHEDULE=[0.05, 0.05, 0.05])


def test_the_dispatcher_survives_a_database_error_while_waiting(webhook_app, httpserver):
    app = webhook_app
    headers = {"x-access-token": make_key(app)}
    client = app.test_client()
    httpserver.expect_request("/hook").respond_with_data("ok")
    client.put("/api/notification/config", json={"default_webhook_url":
                                                 httpserver.url_for("/hook")}, headers=headers)
    create_rule(client, headers, channels=["webhook"])
    dispatcher = Dispatcher(app, poll_seconds=0.05)
    workers.register(app, dispatcher)
    with StatementFaults(engine_of(app), at=(1,), only=NEXT_DUE,
                         threads=("alerting-dispatcher",)) as faults:
        dispatcher.start()
        try:
            assert wait(lambda: faults.total == 1)
            post_event(client, headers)
            run_matcher(app)
            assert wait(lambda: len(httpserver.log) == 1)
            assert dispatcher.alive
            assert wait(lambda: client.get("/api/health").json["status"] == "ok")
        finally:
            dispatcher.stop()


def test_a_loop_that_keeps_failing_says_since_when_logs_once_and_recovers(
        app, client, admin_headers, caplog, monkeypatch):
    # (alembic's fileConfig, run by an earlier test's upgrade, disables existing loggers)
    monkeypatch.setattr(logging.getLogger("alerting.workers.loop"), "disabled", False)
    create_rule(client, admin_headers)
    matcher = Matcher(app, poll_seconds=0.02, backoff_max=0.05)
    workers.register(app, matcher)
    kind = (ERRORS[engine_of(app).dialect.name][0],)
    try:
        with caplog.at_level(logging.INFO, logger="alerting.workers.loop"):
            with StatementFaults(engine_of(app), fail_all=True, kinds=kind,
                                 threads=("alerting-matcher",)) as faults:
                matcher.start()
                assert wait(lambda: faults.total >= 5)
                health = client.get("/api/health").json
                state = health["workers"]["matcher"]
                assert health["status"] == "degraded"
                assert state["alive"] and state["state"] == "failing"
                assert state["failing_since"].endswith("Z") and state["failures"] >= 5
                assert state["last_error"] == "OperationalError"  # no message: health is public
            errors = [r for r in caplog.records if r.levelno == logging.ERROR]
            assert len(errors) == 1  # one distinct error, however many times it failed
            post_event(client, admin_headers)
            assert wait(lambda: alert_cameras(client, admin_headers) == ["back-door"])
            # A real "database is locked" between the test's writes and the matcher may make
            # it fail once more on its own: what counts is that it is running again.
            assert wait(lambda: client.get("/api/health").json["status"] == "ok")
        health = client.get("/api/health").json
        assert health["workers"]["matcher"] == {"alive": True, "expected": True,
                                                "state": "running"}
        assert any("recovered after" in r.getMessage() for r in caplog.records)
    finally:
        matcher.stop()


def test_a_stopped_loop_is_stopped_and_health_says_degraded(app, client):
    matcher = Matcher(app, poll_seconds=0.02)
    workers.register(app, matcher)
    matcher.start()
    matcher.stop()
    health = client.get("/api/health").json
    assert health["workers"]["matcher"]["state"] == "stopped"
    assert health["status"] == "degraded"


def test_launching_a_loop_again_stops_the_one_it_replaces(app):
    """Nothing else could stop the first: it would go on reading the database (a PostgreSQL
    schema a later test uses again took its events)."""
    [first] = workers.launch(app, ["matcher"])
    try:
        [second] = workers.launch(app, ["matcher"])
        assert app.extensions["alerting.matcher"] is second
        assert not first.thread.is_alive() and second.thread.is_alive()
    finally:
        workers.stop(app)
    assert not second.thread.is_alive()
