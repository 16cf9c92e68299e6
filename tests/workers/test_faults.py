"""Fault injection: every distinct statement of the ingest, matching and delivery paths fails
in turn (locked / dropped on SQLite; serialization, lock timeout, dropped on PostgreSQL),
and nothing is lost, nothing doubled, no loop dies. The full run is bench/faults.py."""

from tests.support.app import make_app, make_key
from tests.support.faults import run_faults


def test_database_errors_at_every_statement_lose_nothing(tmp_path):
    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], RETRY_SCHEDULE=[0.05] * 5,
                   RATE_LIMIT_INGEST="100000 per second")
    result = run_faults(app, {"x-access-token": make_key(app)}, events=60, timeout=60)
    assert result["problems"] == [], result
    assert result["injected_total"] >= result["statements"] > 10
    assert result["statements_faulted"] == result["statements"]
    assert {state["state"] for state in result["loops"].values()} == {"running"}
