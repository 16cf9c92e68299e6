"""POST /api/events when the database fails for a moment: 503 with Retry-After, never 500."""

import pytest

from alerting.extensions import db
from tests.support.factories import event_body
from tests.support.faults import ERRORS, StatementFaults


def engine_of(app):
    with app.app_context():
        return db.engine


@pytest.mark.parametrize("kind", ["locked", "serialization", "lock_timeout", "dropped"])
def test_a_transient_database_error_on_ingest_is_a_503_with_retry_after(
        app, client, admin_headers, kind):
    engine = engine_of(app)
    if kind not in ERRORS[engine.dialect.name]:
        pytest.skip(f"{kind} is not an error of {engine.dialect.name}")
    with StatementFaults(engine, fail_all=True, threads=("MainThread",),
                         only="INSERT INTO events", kinds=(kind,)) as faults:
        response = client.post("/api/events", json=event_body(), headers=admin_headers)
    assert faults.total >= 1
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["error"] == "service_unavailable"
    assert "Traceback" not in response.get_data(as_text=True)
    # The detector posts it again, and it is stored.
    again = client.post("/api/events", json=event_body(), headers=admin_headers)
    assert again.status_code == 201, again.json


def test_a_batch_during_a_transient_error_is_a_503(app, client, admin_headers):
    engine = engine_of(app)
    batch = {"events": [event_body(source="t", external_id=str(i)) for i in range(3)]}
    with StatementFaults(engine, fail_all=True, threads=("MainThread",),
                         only="INSERT INTO events"):
        response = client.post("/api/events", json=batch, headers=admin_headers)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert client.post("/api/events", json=batch, headers=admin_headers).status_code == 201
