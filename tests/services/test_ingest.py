"""Ingest: matching in the transaction that stores the events never commits them without
their alerts."""

import pytest
from sqlalchemy import event

from alerting.extensions import db
from alerting.models import Alert, Delivery, Event
from tests.support.factories import create_rule, event_body, run_matcher


class InsertFails:
    """A before_cursor_execute hook: the INSERT into `table` raises an error that is not the
    database's (a bug in what builds the rows), after the events were marked processed."""

    def __init__(self, engine, table):
        self.engine = engine
        self.statement = f"INSERT INTO {table.upper()}"
        self.raised = 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._hook)
        return self

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self._hook)

    def _hook(self, _conn, _cursor, statement, parameters, _context, _executemany):
        if statement.lstrip().upper().startswith(self.statement):
            self.raised += 1
            raise RuntimeError("a bug while storing the alerts")
        return statement, parameters


@pytest.mark.parametrize("table", ["alerts", "deliveries"])
def test_matching_on_ingest_that_fails_storing_the_alerts_leaves_the_event_to_the_matcher(
        app, client, admin_headers, table):
    from alerting.workers.matcher_loop import Matcher

    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("matching on ingest is for SQLite")
    app.extensions["alerting.matcher"] = Matcher(app)  # a process that runs the matcher
    create_rule(client, admin_headers, channels=["email"],
                targets={"email_recipients": ["guard@example.com"]})
    with InsertFails(engine, table) as fault:
        response = client.post("/api/events", json=event_body(), headers=admin_headers)
    assert fault.raised == 1
    assert response.status_code == 201  # stored: the detector need not post it again
    with app.app_context():
        stored = db.session.get(Event, response.json["id"])
        assert stored.processed_at is None  # not committed as processed without its alert
        assert db.session.query(Alert).count() == 0  # nor an alert without its deliveries
        assert db.session.query(Delivery).count() == 0
    assert run_matcher(app) == 1
    alerts = client.get("/api/alerts", headers=admin_headers).json["alerts"]
    assert [a["event_id"] for a in alerts] == [response.json["id"]]
    with app.app_context():
        assert db.session.query(Delivery).count() == 1
